"""Jobs: the work item a custom action's job worker or a Lambda invoke action gets.

A job belongs to one action run.  Custom jobs start ``Queued`` and wait in
the queue index until a worker's PollForJobs takes them (``Dispatched``,
with a fresh nonce); AcknowledgeJob with that nonce makes them
``InProgress``.  Lambda jobs start ``InProgress`` (the function gets the job
in its event).  PutJobSuccessResult / PutJobFailureResult record the
``result`` and end the job (``Succeeded`` / ``Failed``); the action follows
(:func:`follow`).  A success with a ``continuationToken`` means "still
working": the action stays InProgress and a new job carrying the token is
made (queued again for a worker; the function invoked again for Lambda).

Each job carries ``artifactCredentials``: an access key that names the
account (Gureum reads the account from it), a secret and a session token —
any credentials work against Gureum's S3; these are what a worker should use.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from gureum.core.ids import access_key_id, uuid4
from gureum.core.store import Scope
from gureum.services.codepipeline import executions, records
from gureum.services.codepipeline.providers.base import (
    ActionCall,
    Outcome,
    failed,
    running,
    succeeded,
)
from gureum.services.codepipeline.records import Doc

if TYPE_CHECKING:
    from collections.abc import Callable

    from gureum.app import App

OPEN = ("Created", "Queued", "Dispatched", "InProgress")


def credentials(scope: Scope) -> dict[str, str]:
    return {"accessKeyId": access_key_id(scope.account), "secretAccessKey": secrets.token_hex(20), "sessionToken": secrets.token_urlsafe(48)}


def job_data(call: ActionCall, continuation: str | None) -> Doc:
    data: Doc = {
        "actionTypeId": call.type_id,
        "actionConfiguration": {"configuration": dict(call.config)},
        "pipelineContext": {
            "pipelineName": call.pipeline,
            "stage": {"name": call.stage},
            "action": {"name": call.action, "actionExecutionId": call.run_id},
            "pipelineArn": call.pipeline_arn,
            "pipelineExecutionId": call.execution_id,
        },
        "inputArtifacts": [a.job_artifact() for a in call.inputs],
        "outputArtifacts": [a.job_artifact() for a in call.outputs],
        "artifactCredentials": credentials(call.scope),
    }
    if continuation:
        data["continuationToken"] = continuation
    return data


def new_job(app: App, call: ActionCall, kind: str, continuation: str | None = None) -> Doc:
    now = app.clock.now()
    jid = uuid4()
    doc: Doc = {
        "id": jid, "accountId": call.scope.account, "kind": kind,
        "status": "Queued" if kind == "custom" else "InProgress", "nonce": "",
        "actionTypeId": call.type_id, "pipeline": call.pipeline, "execution": call.execution_id,
        "stage": call.stage, "action": call.action, "runId": call.run_id,
        "data": job_data(call, continuation), "created": now,
    }  # fmt: skip
    with app.store.transaction():
        if kind == "custom":
            doc["queueKey"] = f"{records.type_key(call.type_id)}/{int(now * 1e6):020d}/{jid}"
            app.store.put(records.QUEUE, call.scope, doc["queueKey"], {"job": jid})
        app.store.put(records.JOB, call.scope, jid, doc)
    return doc


def close(app: App, scope: Scope, job_id: str, status: str, result: Doc | None = None) -> Doc | None:
    """End an open job (``Succeeded``/``Failed``/``TimedOut``) and wake its pipeline; None if it was not open."""
    with app.store.transaction():
        job = app.store.get(records.JOB, scope, job_id)
        if job is None or job["status"] not in OPEN:
            return None
        job["status"] = status
        job["result"] = result or {}
        job["ended"] = app.clock.now()
        if job.get("queueKey"):
            app.store.delete(records.QUEUE, scope, job["queueKey"])
        app.store.put(records.JOB, scope, job_id, job)
    poke(app, scope, job)
    return job


def poke(app: App, scope: Scope, job: Doc) -> None:
    """Make the job's action run due for a poll now, and wake the controller."""

    def due(doc: Doc) -> None:
        run = doc["runs"].get(job["runId"])
        if run is not None:
            run["nextPoll"] = 0.0

    executions.mutate(app, scope, job["pipeline"], job["execution"], due)
    executions.wake(app, scope, job["pipeline"])


def follow(call: ActionCall, kind: str, relaunch: Callable[[ActionCall, Doc], None] | None = None) -> Outcome:
    """The action's outcome from its job's state."""
    job = call.app.store.get(records.JOB, call.scope, call.state.get("job", ""))
    if job is None:
        return failed("JobFailed", "The action's job no longer exists")
    if job["status"] in OPEN:
        return running(summary=call.state.get("waiting"))
    result = job.get("result") or {}
    if job["status"] == "Succeeded":
        details = result.get("executionDetails") or {}
        ext = {"summary": details.get("summary"), "external_id": details.get("externalExecutionId"), "percent": details.get("percentComplete")}
        if result.get("continuationToken"):
            nxt = new_job(call.app, call, kind, result["continuationToken"])
            if relaunch is not None:
                relaunch(call, nxt)
            return running(state={"job": nxt["id"], "waiting": None}, **ext)
        rev = result.get("currentRevision")
        revision = {"revisionId": rev["revision"], "changeIdentifier": rev["changeIdentifier"],
                    "created": rev.get("created"), "revisionSummary": rev.get("revisionSummary")} if rev else None  # fmt: skip
        return succeeded(variables=result.get("outputVariables") or {}, revision=revision, **ext)
    if job["status"] == "TimedOut":
        return failed("JobFailed", "The job timed out before a job worker completed it")
    fd = result.get("failureDetails") or {}
    return failed(fd.get("type", "JobFailed"), fd.get("message", "The job failed"), external_id=fd.get("externalExecutionId"))


def end_for_run(app: App, scope: Scope, call: ActionCall, status: str = "TimedOut") -> None:
    """The run was abandoned or timed out: its open job ends too (workers then get InvalidJobStateException)."""
    if call.state.get("job"):
        close(app, scope, call.state["job"], status)


def nonce() -> str:
    return str(secrets.randbelow(10**9))


def wire_job(job: Doc, with_nonce: bool) -> Doc:
    out: Doc = {"id": job["id"], "data": job["data"], "accountId": job["accountId"]}
    if with_nonce:
        out["nonce"] = job["nonce"]
    return out


def as_lambda_event(job: Doc) -> dict[str, Any]:
    data = dict(job["data"])
    data["actionConfiguration"] = {"configuration": {k: v for k, v in data["actionConfiguration"]["configuration"].items()
                                                      if k in ("FunctionName", "UserParameters")}}  # fmt: skip
    data.pop("actionTypeId", None)
    data.pop("pipelineContext", None)
    return {"CodePipeline.job": {"id": job["id"], "accountId": job["accountId"], "data": data}}
