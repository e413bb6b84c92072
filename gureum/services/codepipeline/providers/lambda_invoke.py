"""Invoke: AWS Lambda — the function gets the ``CodePipeline.job`` event and reports back.

Starting the action makes a job and invokes the function in the background
with ``{"CodePipeline.job": {"id", "accountId", "data": {actionConfiguration
{configuration {FunctionName, UserParameters}}, inputArtifacts,
outputArtifacts, artifactCredentials, continuationToken?}}}``.  The function
reports with PutJobSuccessResult / PutJobFailureResult (boto3 inside it
reaches Gureum: ``AWS_ENDPOINT_URL`` is set).  A function that raises fails
the action with its error; one that returns without reporting leaves the
action waiting for a report until the action times out (as on AWS).  A
success with a ``continuationToken`` invokes the function again with it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.codepipeline import jobs, records
from gureum.services.codepipeline.providers.base import ActionCall, Outcome, running

log = logging.getLogger("gureum.codepipeline")

TIMEOUT_MINUTES = 60.0


async def start(call: ActionCall) -> Outcome:
    job = jobs.new_job(call.app, call, "lambda")
    _launch(call, job)
    return running(state={"job": job["id"], "waiting": None})


async def poll(call: ActionCall) -> Outcome:
    return jobs.follow(call, "lambda", _launch)


def abandon(call: ActionCall) -> None:
    jobs.end_for_run(call.app, call.scope, call, "Failed")


def _launch(call: ActionCall, job: records.Doc) -> None:
    payload = json.dumps(jobs.as_lambda_event(job)).encode()
    call.app.spawn(_invoke(call, call.scope, call.config["FunctionName"], payload, job["id"]))


async def _invoke(call: ActionCall, scope: Scope, function: str, payload: bytes, job_id: str) -> None:
    from gureum.services.lambda_.public import invoke

    app = call.app
    try:
        _, body, function_error, _ = await invoke(app, scope, function, payload)
    except ServiceError as exc:
        jobs.close(app, scope, job_id, "Failed", _failure(f"The AWS Lambda function {function} could not be invoked: {exc.message}"))
        return
    except Exception as exc:  # our bug: the action must still end
        log.exception("invoking %s for job %s failed", function, job_id)
        jobs.close(app, scope, job_id, "Failed", _failure(f"Invoking the AWS Lambda function {function} failed: {exc}"))
        return
    if function_error:
        jobs.close(app, scope, job_id, "Failed", _failure(f"The AWS Lambda function {function} failed: {_error_text(body)}"))
        return
    job = app.store.get(records.JOB, scope, job_id)
    if job is not None and job["status"] in jobs.OPEN:
        # Returned without reporting: say so while the action waits for a result.
        def note(doc: records.Doc) -> None:
            run = doc["runs"].get(job["runId"])
            if run is not None and run["state"].get("job") == job_id:
                run["state"]["waiting"] = (f"The AWS Lambda function {function} returned without calling PutJobSuccessResult "
                                           "or PutJobFailureResult; waiting for a result until the action times out")  # fmt: skip
                run["nextPoll"] = 0.0

        from gureum.services.codepipeline import executions

        executions.mutate(app, scope, job["pipeline"], job["execution"], note)
        executions.wake(app, scope, job["pipeline"])


def _failure(message: str) -> dict[str, Any]:
    return {"failureDetails": {"type": "JobFailed", "message": message[:5000]}}


def _error_text(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:1000]
    if isinstance(doc, dict):
        return f"{doc.get('errorType', 'Error')}: {doc.get('errorMessage', '')}"
    return str(doc)[:1000]
