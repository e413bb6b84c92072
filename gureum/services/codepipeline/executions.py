"""The execution document: making one, reading it as the planner's
:class:`~.execution_plan.Execution`, and recording the planner's effects.

An execution carries a copy of the pipeline declaration it started with
(``declaration``, ``pipelineVersion``), where it is (``index``, ``entered``),
each stage's record (``stages[<name>]``: status, attempt, entry number and
the action run of each action in the current attempt), every action run
(``runs[<actionExecutionId>]``, kept across retries for
ListActionExecutions), the artifacts produced so far (``artifacts``) and the
variables (``namespaces``).  Writes go through :func:`mutate`: read, change
and write in one store transaction with no ``await`` in between, so the
controller and the API handlers never lose each other's updates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum.core.ids import uuid4
from gureum.core.store import Scope
from gureum.services.codepipeline import execution_plan as plan
from gureum.services.codepipeline import records, variables
from gureum.services.codepipeline.artifacts import ArtifactRef, new_location
from gureum.services.codepipeline.records import Doc

if TYPE_CHECKING:
    from gureum.app import App

CONTROLLER = "codepipeline.pipeline"


def layout(declaration: Doc) -> tuple[plan.StageLayout, ...]:
    return tuple(
        plan.StageLayout(s["name"], tuple((a["name"], int(a.get("runOrder", 1))) for a in s["actions"]))
        for s in declaration["stages"]
    )


def create(
    app: App,
    scope: Scope,
    name: str,
    trigger: dict[str, str],
    *,
    values: dict[str, str] | None = None,
    overrides: dict[str, dict[str, str]] | None = None,
) -> Doc:
    """Record a new execution of pipeline ``name`` and wake the controller.

    ``values`` are the V2 pipeline variables (None: the declared defaults);
    ``overrides`` maps a source action to the revision it must fetch.
    """
    now = app.clock.now()
    with app.store.transaction():
        pdoc = records.get_pipeline(app.store, scope, name)
        seq = int(pdoc.get("_seq", 0)) + 1
        pdoc["_seq"] = seq
        decl = pdoc["declaration"]
        eid = uuid4()
        given = values if values is not None else variables.pipeline_values(decl.get("variables") or [], None)[0]
        doc: Doc = {
            "pipelineExecutionId": eid,
            "pipelineName": name,
            "pipelineVersion": decl["version"],
            "seq": seq,
            "status": plan.ExecStatus.IN_PROGRESS.value,
            "startTime": now,
            "lastUpdateTime": now,
            "trigger": trigger,
            "executionMode": decl.get("executionMode", "SUPERSEDED"),
            "executionType": "STANDARD",
            "declaration": decl,
            "index": 0,
            "entered": False,
            "stop": None,
            "outdated": False,
            "stages": {},
            "runs": {},
            "artifacts": {},
            "namespaces": {variables.SYSTEM: {"PipelineExecutionId": eid}, variables.PIPELINE: dict(given)},
            "variables": [{"name": k, "resolvedValue": v} for k, v in given.items()],
            "sourceOverrides": overrides or {},
            "sourceRevisions": [],
            "artifactRevisions": [],
        }
        app.store.put(records.EXECUTION, scope, records.execution_key(name, eid), doc)
        app.store.put(records.PIPELINE, scope, name, pdoc)
        records.set_active(app.store, scope, name, [*records.active_ids(app.store, scope, name), eid])
    wake(app, scope, name)
    return doc


def wake(app: App, scope: Scope, name: str) -> None:
    if CONTROLLER in app.runner.controllers:
        app.runner.enqueue(CONTROLLER, records.runner_key(scope, name))


def mutate(app: App, scope: Scope, name: str, eid: str, change: Callable[[Doc], Any]) -> Any:
    """Apply ``change`` to the execution document in one transaction; returns its result (None if gone)."""
    key = records.execution_key(name, eid)
    with app.store.transaction():
        doc = app.store.get(records.EXECUTION, scope, key)
        if doc is None:
            return None
        out = change(doc)
        doc["lastUpdateTime"] = app.clock.now()
        app.store.put(records.EXECUTION, scope, key, doc)
    return out


# -- the planner's view -------------------------------------------------------------------------


def current_runs(doc: Doc) -> dict[str, Doc]:
    """Action name → its run in the current attempt of the execution's current stage."""
    stage = doc["declaration"]["stages"][doc["index"]]["name"]
    rec = doc["stages"].get(stage) or {}
    return {a: doc["runs"][rid] for a, rid in (rec.get("actions") or {}).items() if rid in doc["runs"]}


def as_plan(doc: Doc) -> plan.Execution:
    lay = layout(doc["declaration"])
    stage = lay[doc["index"]]
    rec = doc["stages"].get(stage.name) or {}
    runs = current_runs(doc) if doc["entered"] else {}
    actions: tuple[tuple[str, plan.ActionStatus | None], ...] = ()
    if doc["entered"]:
        actions = tuple((a, plan.ActionStatus(runs[a]["status"]) if a in runs else None) for a, _ in stage.actions)
    return plan.Execution(
        id=doc["pipelineExecutionId"],
        seq=int(doc["seq"]),
        layout=lay,
        status=plan.ExecStatus(doc["status"]),
        index=int(doc["index"]),
        entered=bool(doc["entered"]),
        stage_status=plan.StageStatus(rec["status"]) if doc["entered"] and rec.get("status") else None,
        actions=actions,
        stop=plan.Stop(doc["stop"]) if doc.get("stop") else None,
        outdated=bool(doc.get("outdated")),
    )


def pipeline_state(pdoc: Doc, execs: list[Doc]) -> plan.PipelineState:
    disabled = frozenset(s for s, t in (pdoc.get("transitions") or {}).items() if not t.get("enabled", True))
    mode = plan.Mode(pdoc["declaration"].get("executionMode") or "SUPERSEDED")
    return plan.PipelineState(mode, tuple(as_plan(d) for d in execs), disabled)


# -- recording effects ----------------------------------------------------------------------------


def apply_effect(app: App, scope: Scope, pdoc: Doc, doc: Doc, effect: plan.Effect, now: float) -> None:
    """Record one effect on the execution document ``doc`` (and ``pdoc``); the caller writes both."""
    if isinstance(effect, plan.Enter):
        rec = doc["stages"].get(effect.stage) or {}
        counter = int(pdoc.get("_enter", 0)) + 1
        pdoc["_enter"] = counter
        pdoc.setdefault("latest", {})[effect.stage] = doc["pipelineExecutionId"]
        doc["stages"][effect.stage] = {
            "status": plan.StageStatus.IN_PROGRESS.value, "attempt": int(rec.get("attempt", 0)) + 1,
            "entered": counter, "actions": {}, "startTime": now,
        }  # fmt: skip
        doc["entered"] = True
    elif isinstance(effect, plan.StartAction):
        new_run(doc, effect.stage, effect.action, now, scope)
    elif isinstance(effect, plan.AbandonAction):
        run = current_runs(doc).get(effect.action)
        if run is not None and run["status"] == plan.ActionStatus.IN_PROGRESS:
            run.update(status=plan.ActionStatus.ABANDONED.value, lastUpdateTime=now, summary=run.get("summary") or "Abandoned")
            run.pop("token", None)
    elif isinstance(effect, plan.FinishStage):
        doc["stages"][effect.stage]["status"] = effect.status.value
    elif isinstance(effect, plan.Advance):
        doc["index"] = int(doc["index"]) + 1
        doc["entered"] = False
    elif isinstance(effect, plan.FinishExecution):
        doc["status"] = effect.status.value
        doc["statusSummary"] = effect.summary
        doc["endTime"] = now


def new_run(doc: Doc, stage: str, action_name: str, now: float, scope: Scope) -> Doc:
    """Record a run of ``action_name`` in the current stage attempt: InProgress, inputs resolved.

    A configuration variable that cannot be resolved, or an input artifact no
    action produced in this execution, fails the run at once with the reason.
    """
    decl = records.find_action(doc["declaration"], stage, action_name)
    assert decl is not None
    rid = uuid4()
    config = dict(decl.get("configuration") or {})
    bucket = records.artifact_bucket(doc["declaration"], scope.region)
    run: Doc = {
        "id": rid, "stage": stage, "action": action_name, "attempt": doc["stages"][stage]["attempt"],
        "status": plan.ActionStatus.IN_PROGRESS.value, "startTime": now, "lastUpdateTime": now,
        "updatedBy": records.caller_arn(scope), "started": False, "state": {},
        "input": {"actionTypeId": decl["actionTypeId"], "configuration": config, "resolvedConfiguration": {},
                  "region": decl.get("region") or scope.region, "inputArtifacts": []},
        "output": {"outputArtifacts": [], "outputVariables": {}},
        "inputs": [], "outputs": [],
    }  # fmt: skip
    for k in ("roleArn", "namespace"):
        if decl.get(k):
            run["input"][k] = decl[k]
    doc["runs"][rid] = run
    doc["stages"][stage]["actions"][action_name] = rid
    try:
        run["input"]["resolvedConfiguration"] = variables.resolve_configuration(config, doc["namespaces"])
    except variables.UnresolvedVariable as exc:
        fail_run(run, "ConfigurationError", str(exc), now)
        return run
    for art in decl.get("inputArtifacts") or []:
        found = doc["artifacts"].get(art["name"])
        if found is None:
            fail_run(run, "ConfigurationError", f"Input artifact '{art['name']}' was not produced in this pipeline execution", now)
            return run
        run["inputs"].append(found)
    run["input"]["inputArtifacts"] = [ArtifactRef.from_doc(a).detail() for a in run["inputs"]]
    run["outputs"] = [new_location(bucket, doc["pipelineName"], a["name"]).to_doc() for a in decl.get("outputArtifacts") or []]
    return run


def fail_run(run: Doc, code: str, message: str, now: float) -> None:
    run.update(status=plan.ActionStatus.FAILED.value, lastUpdateTime=now, errorDetails={"code": code, "message": message[:5000]})
    run["started"] = True
    run.pop("token", None)
    run["output"]["executionResult"] = {**run["output"].get("executionResult", {}), "errorDetails": run["errorDetails"]}
