"""Custom action types and the job worker protocol (what Jenkins' CodePipeline plugin speaks).

* CreateCustomActionType / ListActionTypes / DeleteCustomActionType — owner
  ``Custom``; a deleted (category, provider, version) cannot be created
  again (AWS: bump the version).  ListActionTypes lists the AWS types Gureum
  runs and the custom ones.
* PollForJobs — only for a Custom type that exists; returns up to
  ``maxBatchSize`` queued jobs (oldest first) whose configuration matches
  ``queryParam`` (queryable properties only), each with a new nonce, now
  ``Dispatched``.
* AcknowledgeJob — with that nonce → ``InProgress``.
* GetJobDetails — the job's data again.
* PutJobSuccessResult / PutJobFailureResult — for a job that is Dispatched
  or InProgress (else InvalidJobStateException); the action follows
  (:func:`.jobs.follow`).  Lambda invoke jobs use the same two operations.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ValidationError
from gureum.services.api import RequestContext
from gureum.services.codepipeline import jobs, records
from gureum.services.codepipeline.action_types import BUILTIN, custom_spec
from gureum.services.codepipeline.pipelines_api import check_tags
from gureum.services.codepipeline.records import Doc, err

OPERATIONS, op = records.operations()
MAX_OUTPUT_VARIABLES_CHARS = 122_880



def _type_key(req: dict[str, Any]) -> str:
    return f"{req['category']}/{req['provider']}/{req['version']}"


@op("CreateCustomActionType")
def create_custom_action_type(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    props = req.get("configurationProperties") or []
    if len(props) > 10:
        raise ValidationError("A custom action type can have at most 10 configuration properties")
    if sum(1 for p in props if p.get("queryable")) > 1:
        raise ValidationError("A custom action type can have at most one queryable configuration property")
    for p in props:
        if p.get("queryable") and not (p.get("required") and not p.get("secret")):
            raise ValidationError(f"The queryable property '{p['name']}' must be required and not secret")
    key = _type_key(req)
    tags = check_tags(req.get("tags"))
    doc: Doc = {k: req[k] for k in ("category", "provider", "version", "inputArtifactDetails", "outputArtifactDetails") if k in req}
    doc.update(configurationProperties=props, settings=req.get("settings") or {}, tags=tags, owner="Custom")
    with ctx.store.transaction():
        old = ctx.store.get(records.ACTION_TYPE, ctx.scope, key)
        if old is not None and old.get("deleted"):
            raise ValidationError(f"Custom action type {key} was deleted and cannot be created again; use a new version")
        if old is not None:
            doc = old
        else:
            ctx.store.put(records.ACTION_TYPE, ctx.scope, key, doc)
    out: dict[str, Any] = {"actionType": custom_spec(doc).to_wire()}
    if doc.get("tags"):
        out["tags"] = doc["tags"]
    return out


@op("ListActionTypes")
def list_action_types(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    owner = req.get("actionOwnerFilter")
    types = [s.to_wire() for s in BUILTIN if owner in (None, "AWS")]
    if owner in (None, "Custom"):
        types += [custom_spec(d).to_wire() for _, d in ctx.store.list(records.ACTION_TYPE, ctx.scope) if not d.get("deleted")]
    return {"actionTypes": types}


@op("DeleteCustomActionType")
def delete_custom_action_type(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    key = _type_key(req)
    with ctx.store.transaction():
        doc = ctx.store.get(records.ACTION_TYPE, ctx.scope, key)
        if doc is None or doc.get("deleted"):
            raise err("ActionTypeNotFoundException", f"Custom action type {key} does not exist")
        doc["deleted"] = True
        ctx.store.put(records.ACTION_TYPE, ctx.scope, key, doc)
    return {}


@op("PollForJobs")
def poll_for_jobs(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    tid = req["actionTypeId"]
    if tid["owner"] != "Custom":
        raise ValidationError("PollForJobs is only for custom actions (owner Custom); AWS and ThirdParty jobs are not polled")
    doc = ctx.store.get(records.ACTION_TYPE, ctx.scope, f"{tid['category']}/{tid['provider']}/{tid['version']}")
    if doc is None or doc.get("deleted"):
        raise err("ActionTypeNotFoundException", f"Custom action type {records.type_key(tid)} does not exist")
    query = req.get("queryParam") or {}
    queryable = {p["name"] for p in doc.get("configurationProperties") or [] if p.get("queryable")}
    for k in query:
        if k not in queryable:
            raise ValidationError(f"'{k}' is not a queryable configuration property of the action type")
    batch = int(req.get("maxBatchSize") or 1)
    out: list[Doc] = []
    with ctx.store.transaction():
        for qkey, item in ctx.store.list(records.QUEUE, ctx.scope, prefix=records.type_key(tid) + "/"):
            if len(out) >= batch:
                break
            job = ctx.store.get(records.JOB, ctx.scope, item["job"])
            if job is None or job["status"] != "Queued":
                ctx.store.delete(records.QUEUE, ctx.scope, qkey)
                continue
            config = job["data"]["actionConfiguration"]["configuration"]
            if any(config.get(k) != v for k, v in query.items()):
                continue
            job.update(status="Dispatched", nonce=jobs.nonce(), dispatched=ctx.clock.now())
            job.pop("queueKey", None)
            ctx.store.delete(records.QUEUE, ctx.scope, qkey)
            ctx.store.put(records.JOB, ctx.scope, job["id"], job)
            out.append(jobs.wire_job(job, with_nonce=True))
    return {"jobs": out}


def _job(ctx: RequestContext, job_id: str) -> Doc:
    job = ctx.store.get(records.JOB, ctx.scope, job_id)
    if job is None:
        raise records.job_not_found(job_id)
    return job


@op("AcknowledgeJob")
def acknowledge_job(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        job = _job(ctx, req["jobId"])
        if not job.get("nonce") or job["nonce"] != req["nonce"]:
            raise err("InvalidNonceException", f"The nonce '{req['nonce']}' was not issued for job '{req['jobId']}'")
        if job["status"] == "Dispatched":
            job["status"] = "InProgress"
            ctx.store.put(records.JOB, ctx.scope, job["id"], job)
    return {"status": job["status"]}


@op("GetJobDetails")
def get_job_details(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    job = _job(ctx, req["jobId"])
    return {"jobDetails": jobs.wire_job(job, with_nonce=False)}


def _open(ctx: RequestContext, job_id: str) -> Doc:
    job = _job(ctx, job_id)
    if job["status"] not in ("Dispatched", "InProgress"):
        raise err("InvalidJobStateException", f"Job '{job_id}' is {job['status']}: only a dispatched or in-progress job can report a result")
    return job


@op("PutJobSuccessResult")
def put_job_success_result(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _open(ctx, req["jobId"])
    out_vars = req.get("outputVariables") or {}
    if sum(len(k) + len(v) for k, v in out_vars.items()) > MAX_OUTPUT_VARIABLES_CHARS:
        raise err("OutputVariablesSizeExceededException", "The output variables exceed the size limit of 122880 characters")
    result = {k: req[k] for k in ("continuationToken", "executionDetails", "outputVariables", "currentRevision") if req.get(k)}
    result["status"] = "Succeeded"
    jobs.close(ctx.app, ctx.scope, req["jobId"], "Succeeded", result)
    return {}


@op("PutJobFailureResult")
def put_job_failure_result(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _open(ctx, req["jobId"])
    jobs.close(ctx.app, ctx.scope, req["jobId"], "Failed", {"status": "Failed", "failureDetails": req["failureDetails"]})
    return {}
