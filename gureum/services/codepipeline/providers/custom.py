"""Custom actions: the work is done by an external job worker (a Jenkins-style runner).

Starting the action queues a job for the action type; a worker finds it
with PollForJobs, acknowledges it and reports PutJobSuccessResult (with a
``continuationToken`` to keep going) or PutJobFailureResult
(:mod:`..jobs`, :mod:`..jobs_api`).  The action's external execution URL
comes from the type's ``executionUrlTemplate`` (``{ExternalExecutionId}``
and ``{Config:<key>}`` are filled in).  A job nobody completes fails the
action after :data:`TIMEOUT_MINUTES` (or the action's ``timeoutInMinutes``).
"""

from __future__ import annotations

import re

from gureum.services.codepipeline import jobs, records
from gureum.services.codepipeline.providers.base import ActionCall, Outcome, running

TIMEOUT_MINUTES = 60.0


async def start(call: ActionCall) -> Outcome:
    job = jobs.new_job(call.app, call, "custom")
    return running(state={"job": job["id"], "waiting": "Waiting for a job worker to poll for the job"})


async def poll(call: ActionCall) -> Outcome:
    out = jobs.follow(call, "custom")
    url = _url(call, out.external_id)
    if url:
        from dataclasses import replace

        out = replace(out, url=url)
    return out


def abandon(call: ActionCall) -> None:
    jobs.end_for_run(call.app, call.scope, call, "Failed")


def _url(call: ActionCall, external_id: str | None) -> str | None:
    doc = call.app.store.get(records.ACTION_TYPE, call.scope, f"{call.type_id['category']}/{call.type_id['provider']}/{call.type_id['version']}")
    template = ((doc or {}).get("settings") or {}).get("executionUrlTemplate")
    if not template or not external_id:
        return None
    text = template.replace("{ExternalExecutionId}", external_id)
    return re.sub(r"\{Config:([A-Za-z0-9_-]+)\}", lambda m: call.config.get(m.group(1), ""), text)
