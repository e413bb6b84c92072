"""Execution handlers: Start/Stop/GetPipelineExecution, ListPipelineExecutions,
GetPipelineState, ListActionExecutions, RetryStageExecution, PutApprovalResult.

Handlers record intent on the documents and wake the controller:

* StartPipelineExecution — a new execution (trigger ``StartPipelineExecution``);
  a repeated ``clientRequestToken`` returns the execution it made before;
  ``variables`` only on V2 pipelines; ``sourceRevisions`` pin an S3 source to
  an object version (``S3_OBJECT_VERSION_ID``) or key (``S3_OBJECT_KEY``, when
  the action allows it).
* StopPipelineExecution — ``stop`` = wait or abandon, status Stopping (an
  execution waiting at a transition stops at once); stop-and-wait twice is a
  DuplicatedStopRequestException, abandon may follow a wait.
* RetryStageExecution — only the stage where the execution failed or
  stopped, only while it is the latest execution to have entered that stage,
  and only if the pipeline has not been updated since the execution started.
* PutApprovalResult — the token of a manual approval that is waiting.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ValidationError
from gureum.services.api import RequestContext
from gureum.services.codepipeline import execution_plan as plan
from gureum.services.codepipeline import executions, records, variables, views
from gureum.services.codepipeline.records import Doc, err

OPERATIONS, op = records.operations()



def _overrides(decl: Doc, items: list[dict[str, str]] | None) -> dict[str, dict[str, str]]:
    sources = {a["name"]: a for a in decl["stages"][0]["actions"]}
    out: dict[str, dict[str, str]] = {}
    for item in items or []:
        action = sources.get(item["actionName"])
        if action is None:
            raise ValidationError(f"Source revision override names '{item['actionName']}', which is not a source action of the pipeline")
        kind = item["revisionType"]
        if action["actionTypeId"]["provider"] != "S3" or kind not in ("S3_OBJECT_VERSION_ID", "S3_OBJECT_KEY"):
            raise ValidationError(f"Revision type {kind} cannot override the source action '{item['actionName']}'")
        cfg = action.get("configuration") or {}
        if kind == "S3_OBJECT_KEY" and str(cfg.get("AllowOverrideForS3ObjectKey", "false")).lower() != "true":
            raise ValidationError(f"The source action '{item['actionName']}' does not allow overriding its object key (AllowOverrideForS3ObjectKey)")
        out.setdefault(item["actionName"], {})[kind] = item["revisionValue"]
    return out


@op("StartPipelineExecution")
def start_pipeline_execution(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["name"]
    decl = records.get_pipeline(ctx.store, ctx.scope, name)["declaration"]
    token = req.get("clientRequestToken")
    if token:
        seen = ctx.store.get(records.TOKEN, ctx.scope, f"{name}/{token}")
        if seen is not None:
            return {"pipelineExecutionId": seen["execution"]}
    if req.get("variables") and decl["pipelineType"] != "V2":
        raise ValidationError("Pipeline variables can only be used with V2 pipelines")
    values, problems = variables.pipeline_values(decl.get("variables") or [], req.get("variables"))
    if problems:
        raise ValidationError("; ".join(problems))
    overrides = _overrides(decl, req.get("sourceRevisions"))
    trigger = {"triggerType": "StartPipelineExecution", "triggerDetail": records.caller_arn(ctx.scope)}
    doc = executions.create(ctx.app, ctx.scope, name, trigger, values=values, overrides=overrides)
    if token:
        ctx.store.put(records.TOKEN, ctx.scope, f"{name}/{token}", {"execution": doc["pipelineExecutionId"]})
    return {"pipelineExecutionId": doc["pipelineExecutionId"]}


@op("StopPipelineExecution")
def stop_pipeline_execution(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name, eid = req["pipelineName"], req["pipelineExecutionId"]
    records.get_pipeline(ctx.store, ctx.scope, name)
    records.get_execution(ctx.store, ctx.scope, name, eid)
    mode = plan.Stop.ABANDON if req.get("abandon") else plan.Stop.WAIT

    def stop(doc: Doc) -> None:
        if doc["status"] in plan.TERMINAL:
            raise err("PipelineExecutionNotStoppableException", f"Unable to stop pipeline execution '{eid}': its status is {doc['status']}")
        if doc.get("stop") == plan.Stop.ABANDON or (doc.get("stop") == plan.Stop.WAIT and mode == plan.Stop.WAIT):
            raise err("DuplicatedStopRequestException", f"Pipeline execution '{eid}' is already being stopped")
        doc.update(stop=mode.value, status=plan.ExecStatus.STOPPING.value)
        if req.get("reason") or "stopReason" not in doc:
            doc["stopReason"] = req.get("reason", "")
        if doc["entered"]:
            stage = doc["declaration"]["stages"][doc["index"]]["name"]
            if doc["stages"][stage]["status"] == plan.StageStatus.IN_PROGRESS:
                doc["stages"][stage]["status"] = plan.StageStatus.STOPPING.value

    executions.mutate(ctx.app, ctx.scope, name, eid, stop)
    executions.wake(ctx.app, ctx.scope, name)
    return {"pipelineExecutionId": eid}


@op("GetPipelineExecution")
def get_pipeline_execution(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    records.get_pipeline(ctx.store, ctx.scope, req["pipelineName"])
    doc = records.get_execution(ctx.store, ctx.scope, req["pipelineName"], req["pipelineExecutionId"])
    return {"pipelineExecution": views.execution(doc)}


def _executions(ctx: RequestContext, name: str) -> list[Doc]:
    docs = [d for _, d in ctx.store.list(records.EXECUTION, ctx.scope, prefix=name + "/")]
    return sorted(docs, key=lambda d: d["seq"], reverse=True)


def _page(req: dict[str, Any], items: list[Any], default: int = 100) -> tuple[list[Any], str | None]:
    token = req.get("nextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise err("InvalidNextTokenException", "The next token is not valid") from None
    size = int(req.get("maxResults") or default)
    return items[start : start + size], (str(start + size) if start + size < len(items) else None)


@op("ListPipelineExecutions")
def list_pipeline_executions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["pipelineName"]
    records.get_pipeline(ctx.store, ctx.scope, name)
    docs = _executions(ctx, name)
    stage = ((req.get("filter") or {}).get("succeededInStage") or {}).get("stageName")
    if stage:
        docs = [d for d in docs if (d["stages"].get(stage) or {}).get("status") == plan.StageStatus.SUCCEEDED]
    page, token = _page(req, docs)
    out: dict[str, Any] = {"pipelineExecutionSummaries": [views.execution_summary(d) for d in page]}
    if token:
        out["nextToken"] = token
    return out


@op("GetPipelineState")
def get_pipeline_state(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return views.pipeline_state(ctx.store, ctx.scope, records.get_pipeline(ctx.store, ctx.scope, req["name"]))


@op("ListActionExecutions")
def list_action_executions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["pipelineName"]
    records.get_pipeline(ctx.store, ctx.scope, name)
    flt = req.get("filter") or {}
    eid = flt.get("pipelineExecutionId") or (flt.get("latestInPipelineExecution") or {}).get("pipelineExecutionId")
    docs = [records.get_execution(ctx.store, ctx.scope, name, eid)] if eid else _executions(ctx, name)
    items = [(d, r) for d in docs for r in d["runs"].values()]
    items.sort(key=lambda dr: (dr[0]["seq"], dr[1]["startTime"]), reverse=True)
    page, token = _page(req, items)
    out: dict[str, Any] = {"actionExecutionDetails": [views.action_execution(d, r) for d, r in page]}
    if token:
        out["nextToken"] = token
    return out


@op("RetryStageExecution")
def retry_stage_execution(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name, stage, eid = req["pipelineName"], req["stageName"], req["pipelineExecutionId"]
    pdoc = records.get_pipeline(ctx.store, ctx.scope, name)
    if stage not in records.stage_names(pdoc["declaration"]):
        raise records.stage_not_found(stage, name)
    records.get_execution(ctx.store, ctx.scope, name, eid)
    if (pdoc.get("latest") or {}).get(stage) != eid:
        raise err("NotLatestPipelineExecutionException",
                  f"The stage has failed in a later run of the pipeline and the pipelineExecutionId '{eid}' associated with the request is out of date")  # fmt: skip

    def retry(doc: Doc) -> None:
        cur = doc["declaration"]["stages"][doc["index"]]["name"] if doc["entered"] else None
        status = (doc["stages"].get(stage) or {}).get("status")
        if cur != stage or status not in (plan.StageStatus.FAILED, plan.StageStatus.STOPPED) or doc["status"] not in (plan.ExecStatus.FAILED, plan.ExecStatus.STOPPED):
            raise err("StageNotRetryableException", f"Unable to retry stage '{stage}': it has not failed or stopped in pipeline execution '{eid}'")
        if doc["pipelineVersion"] != pdoc["declaration"]["version"]:
            raise err("StageNotRetryableException", "Unable to retry. The pipeline structure has changed since this execution started")
        runs = executions.current_runs(doc)
        again = plan.retry(executions.as_plan(doc), plan.RetryMode(req["retryMode"]))
        keep = {n for n, s in again.actions if s is not None}
        doc["stages"][stage].update(status=plan.StageStatus.IN_PROGRESS.value, attempt=doc["stages"][stage]["attempt"] + 1,
                                    actions={n: runs[n]["id"] for n in keep if n in runs})  # fmt: skip
        doc.update(status=plan.ExecStatus.IN_PROGRESS.value, stop=None, statusSummary=None)
        doc.pop("stopReason", None)

    executions.mutate(ctx.app, ctx.scope, name, eid, retry)
    with ctx.store.transaction():
        ids = records.active_ids(ctx.store, ctx.scope, name)
        if eid not in ids:
            records.set_active(ctx.store, ctx.scope, name, [*ids, eid])
    executions.wake(ctx.app, ctx.scope, name)
    return {"pipelineExecutionId": eid}


@op("PutApprovalResult")
def put_approval_result(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name, stage, action, token = req["pipelineName"], req["stageName"], req["actionName"], req["token"]
    pdoc = records.get_pipeline(ctx.store, ctx.scope, name)
    if stage not in records.stage_names(pdoc["declaration"]):
        raise records.stage_not_found(stage, name)
    if records.find_action(pdoc["declaration"], stage, action) is None:
        raise err("ActionNotFoundException", f"Action '{action}' does not exist in stage '{stage}' of pipeline '{name}'")
    for eid in [*records.active_ids(ctx.store, ctx.scope, name), (pdoc.get("latest") or {}).get(stage)]:
        doc = ctx.store.get(records.EXECUTION, ctx.scope, records.execution_key(name, eid)) if eid else None
        run = _approval_run(doc, stage, action, token) if doc else None
        if doc is None or run is None:
            continue
        if run["status"] != plan.ActionStatus.IN_PROGRESS or run["state"].get("result"):
            raise err("ApprovalAlreadyCompletedException", f"The approval action '{action}' has already been completed")
        now = ctx.clock.now()
        result = {"status": req["result"]["status"], "summary": req["result"]["summary"], "by": records.caller_arn(ctx.scope)}

        def record(d: Doc, rid: str = run["id"], result: Doc = result) -> None:
            r = d["runs"][rid]
            r["state"].update(result=result, issued=token)
            r.update(nextPoll=0.0, updatedBy=result["by"])

        executions.mutate(ctx.app, ctx.scope, name, doc["pipelineExecutionId"], record)
        executions.wake(ctx.app, ctx.scope, name)
        return {"approvedAt": now}
    raise err("InvalidApprovalTokenException", f"The token '{token}' is not valid for the approval action '{action}'")


def _approval_run(doc: Doc, stage: str, action: str, token: str) -> Doc | None:
    for run in doc["runs"].values():
        state = run.get("state") or {}
        if run["stage"] == stage and run["action"] == action and token in (state.get("token"), state.get("issued")):
            return run  # type: ignore[no-any-return]
    return None
