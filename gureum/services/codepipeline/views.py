"""What the read operations return: executions, action executions and the pipeline state.

Shapes are botocore's (PipelineExecution, PipelineExecutionSummary,
ActionExecutionDetail, StageState/ActionState); internal fields of the
documents never leave this module.
"""

from __future__ import annotations

from typing import Any

from gureum.core.store import Scope
from gureum.services.codepipeline import records
from gureum.services.codepipeline.execution_plan import TERMINAL, ExecStatus
from gureum.services.codepipeline.records import Doc


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", [], {})}


def execution(doc: Doc) -> Doc:
    return _strip({
        "pipelineName": doc["pipelineName"], "pipelineVersion": doc["pipelineVersion"],
        "pipelineExecutionId": doc["pipelineExecutionId"], "status": doc["status"],
        "statusSummary": doc.get("statusSummary"), "artifactRevisions": doc.get("artifactRevisions"),
        "variables": doc.get("variables"), "trigger": doc["trigger"], "executionMode": doc["executionMode"],
        "executionType": doc["executionType"],
    })  # fmt: skip


def execution_summary(doc: Doc) -> Doc:
    out = _strip({
        "pipelineExecutionId": doc["pipelineExecutionId"], "status": doc["status"], "statusSummary": doc.get("statusSummary"),
        "startTime": doc["startTime"], "lastUpdateTime": doc["lastUpdateTime"], "sourceRevisions": doc.get("sourceRevisions"),
        "trigger": doc["trigger"], "executionMode": doc["executionMode"], "executionType": doc["executionType"],
    })  # fmt: skip
    if doc.get("stopReason") is not None:
        out["stopTrigger"] = {"reason": doc["stopReason"]}
    return out


def action_execution(doc: Doc, run: Doc) -> Doc:
    inp = _strip(dict(run["input"]))
    inp.setdefault("inputArtifacts", [])
    out = dict(run["output"])
    if run.get("errorDetails"):
        out["executionResult"] = {**out.get("executionResult", {}), "errorDetails": run["errorDetails"]}
    return _strip({
        "pipelineExecutionId": doc["pipelineExecutionId"], "actionExecutionId": run["id"],
        "pipelineVersion": doc["pipelineVersion"], "stageName": run["stage"], "actionName": run["action"],
        "startTime": run["startTime"], "lastUpdateTime": run["lastUpdateTime"], "updatedBy": run.get("updatedBy"),
        "status": run["status"], "input": inp, "output": _strip(out),
    })  # fmt: skip


def action_latest(run: Doc) -> Doc:
    return _strip({
        "actionExecutionId": run["id"], "status": run["status"], "summary": run.get("summary"),
        "lastStatusChange": run["lastUpdateTime"], "token": run.get("token") if run["status"] == "InProgress" else None,
        "lastUpdatedBy": run.get("updatedBy"), "externalExecutionId": run.get("externalExecutionId"),
        "externalExecutionUrl": run.get("externalExecutionUrl"), "percentComplete": run.get("percentComplete"),
        "errorDetails": run.get("errorDetails"),
    })  # fmt: skip


def _latest_run(doc: Doc, stage: str, action: str) -> Doc | None:
    runs = [r for r in doc["runs"].values() if r["stage"] == stage and r["action"] == action]
    return max(runs, key=lambda r: r["startTime"]) if runs else None


def pipeline_state(store: Any, scope: Scope, pdoc: Doc) -> Doc:
    name = pdoc["declaration"]["name"]
    active = [store.get(records.EXECUTION, scope, records.execution_key(name, i)) for i in records.active_ids(store, scope, name)]
    waiting = [d for d in active if d is not None and not d["entered"] and d["status"] not in TERMINAL]
    stages = []
    for stage in pdoc["declaration"]["stages"]:
        sname = stage["name"]
        t = (pdoc.get("transitions") or {}).get(sname) or {}
        st: Doc = {"stageName": sname, "inboundTransitionState": _strip({
            "enabled": t.get("enabled", True), "lastChangedBy": t.get("lastChangedBy"),
            "lastChangedAt": t.get("lastChangedAt"), "disabledReason": t.get("disabledReason")})}  # fmt: skip
        inbound = sorted((d for d in waiting if d["declaration"]["stages"][d["index"]]["name"] == sname), key=lambda d: d["seq"])
        if inbound:
            st["inboundExecution"] = {"pipelineExecutionId": inbound[-1]["pipelineExecutionId"], "status": ExecStatus.IN_PROGRESS.value}
            st["inboundExecutions"] = [{"pipelineExecutionId": d["pipelineExecutionId"], "status": ExecStatus.IN_PROGRESS.value} for d in inbound]
        latest_id = (pdoc.get("latest") or {}).get(sname)
        latest = store.get(records.EXECUTION, scope, records.execution_key(name, latest_id)) if latest_id else None
        actions = []
        for action in stage["actions"]:
            a: Doc = {"actionName": action["name"]}
            run = _latest_run(latest, sname, action["name"]) if latest else None
            if run is not None:
                a["latestExecution"] = action_latest(run)
                rev = run.get("currentRevision")
                if rev:
                    a["currentRevision"] = _strip({"revisionId": rev["revisionId"], "revisionChangeId": rev.get("changeIdentifier") or rev["revisionId"],
                                                   "created": rev.get("created")})  # fmt: skip
            actions.append(a)
        st["actionStates"] = actions
        if latest is not None and sname in latest["stages"]:
            st["latestExecution"] = {"pipelineExecutionId": latest["pipelineExecutionId"], "status": latest["stages"][sname]["status"]}
        stages.append(st)
    return {"pipelineName": name, "pipelineVersion": pdoc["declaration"]["version"], "stageStates": stages,
            "created": pdoc["created"], "updated": pdoc["updated"]}  # fmt: skip
