"""The pipeline controller: moves every execution of a pipeline along.

Registered on ``app.runner`` as ``codepipeline.pipeline``; keys are
``<account>|<region>|<pipeline>``; the work list is the pipelines with
non-terminal executions (``codepipeline.active``), resynced every
:data:`RESYNC` seconds, so executions left in progress by a previous Gureum
go on after a restart.  A reconcile repeats, until nothing is left to do:

1. **plan** — read the pipeline and its active executions, let the pure
   :func:`~.execution_plan.advance` decide (enter stages, start the next
   runOrder group, finish stages and executions, supersede, stop), record
   its effects in one transaction;
2. **start** every action run recorded InProgress but not started yet
   (``started`` is set *before* the provider's ``start`` — at most once; a
   restart in between fails the action with "interrupted", never a stuck
   one); **poll** every run whose ``nextPoll`` or ``deadline`` has come.
   Provider results are recorded with a fresh read (:func:`.executions.mutate`):
   a run abandoned meanwhile keeps its status.

It then asks to be woken at the next poll or deadline.  Job results and
approvals (API handlers) make a run due and wake the key at once, so the next
action starts within the same reconcile as the report that finished the
previous one (benchmarks/codepipeline_transition.py measures it).
"""

from __future__ import annotations

import functools
import logging
from types import ModuleType
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.codepipeline import execution_plan as plan
from gureum.services.codepipeline import executions, providers, records, source_watch
from gureum.services.codepipeline.artifacts import ArtifactRef
from gureum.services.codepipeline.providers.base import (
    FAILED,
    IN_PROGRESS,
    SUCCEEDED,
    ActionCall,
    Outcome,
    failed,
)
from gureum.services.codepipeline.records import Doc

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codepipeline")

CONTROLLER = executions.CONTROLLER
RESYNC = 5.0
ROUNDS = 200


def register(app: App) -> None:
    app.runner.register(CONTROLLER, functools.partial(reconcile, app), list_keys=functools.partial(_keys, app), period=RESYNC)
    source_watch.register(app)


def _keys(app: App) -> list[str]:
    return [records.runner_key(scope, name) for scope in app.store.list_scopes(records.ACTIVE) for name, _ in app.store.list(records.ACTIVE, scope)]


def _scale(app: App) -> float:
    return float(getattr(app.settings, "time_scale", 1.0) or 1.0)


async def reconcile(app: App, key: str) -> Requeue | None:
    scope, name = records.split_runner_key(key)
    for _ in range(ROUNDS):
        for eid, rid in plan_round(app, scope, name):
            _abandon(app, scope, name, eid, rid)
        work = due_work(app, scope, name)
        if not work:
            return next_wake(app, scope, name)
        for eid, rid, phase in work:
            await run_action(app, scope, name, eid, rid, phase)
    return Requeue(0.0)


def _active_docs(app: App, scope: Scope, name: str) -> list[Doc]:
    docs = [app.store.get(records.EXECUTION, scope, records.execution_key(name, eid)) for eid in records.active_ids(app.store, scope, name)]
    return [d for d in docs if d is not None]


def plan_round(app: App, scope: Scope, name: str) -> list[tuple[str, str]]:
    """Decide and record the next steps; returns the runs that were abandoned."""
    abandoned: list[tuple[str, str]] = []
    with app.store.transaction():
        pdoc = app.store.get(records.PIPELINE, scope, name)
        if pdoc is None:
            app.store.delete(records.ACTIVE, scope, name)
            return []
        docs = _active_docs(app, scope, name)
        _, effects = plan.advance(executions.pipeline_state(pdoc, docs))
        if not effects:
            return []
        now = app.clock.now()
        by_id = {d["pipelineExecutionId"]: d for d in docs}
        touched: set[str] = set()
        for eff in effects:
            doc = by_id[eff.execution]
            if isinstance(eff, plan.AbandonAction):
                run = executions.current_runs(doc).get(eff.action)
                if run is not None:
                    abandoned.append((eff.execution, run["id"]))
            executions.apply_effect(app, scope, pdoc, doc, eff, now)
            touched.add(eff.execution)
        for eid in touched:
            by_id[eid]["lastUpdateTime"] = now
            app.store.put(records.EXECUTION, scope, records.execution_key(name, eid), by_id[eid])
        app.store.put(records.PIPELINE, scope, name, pdoc)
        done = {e.execution for e in effects if isinstance(e, plan.FinishExecution)}
        if done:
            records.set_active(app.store, scope, name, [i for i in records.active_ids(app.store, scope, name) if i not in done])
    return abandoned


def due_work(app: App, scope: Scope, name: str) -> list[tuple[str, str, str]]:
    now = app.clock.now()
    work: list[tuple[str, str, str]] = []
    for doc in _active_docs(app, scope, name):
        if not doc["entered"]:
            continue
        for run in executions.current_runs(doc).values():
            if run["status"] != IN_PROGRESS:
                continue
            if not run.get("started"):
                work.append((doc["pipelineExecutionId"], run["id"], "start"))
            elif now >= min(_due(run), float(run.get("deadline", now))):
                work.append((doc["pipelineExecutionId"], run["id"], "poll"))
    return work


def _due(run: Doc) -> float:
    nxt = run.get("nextPoll")
    return float("inf") if nxt is None else float(nxt)


def next_wake(app: App, scope: Scope, name: str) -> Requeue | None:
    docs = _active_docs(app, scope, name)
    if not docs:
        return None
    now = app.clock.now()
    wake = now + RESYNC * _scale(app)
    for doc in docs:
        if doc["entered"]:
            for run in executions.current_runs(doc).values():
                if run["status"] == IN_PROGRESS and run.get("started"):
                    wake = min(wake, _due(run), float(run.get("deadline", wake)))
    return Requeue(max(0.0, wake - now))


# -- running a provider --------------------------------------------------------------------------------


def build_call(app: App, scope: Scope, name: str, doc: Doc, run: Doc) -> ActionCall:
    decl = records.find_action(doc["declaration"], run["stage"], run["action"]) or {}
    override = (doc.get("sourceOverrides") or {}).get(run["action"]) or {}
    return ActionCall(
        app=app, scope=scope, pipeline=name, pipeline_arn=records.pipeline_arn(scope, name),
        execution_id=doc["pipelineExecutionId"], stage=run["stage"], action=run["action"], run_id=run["id"],
        type_id=run["input"]["actionTypeId"], config=dict(run["input"]["resolvedConfiguration"]),
        inputs=[ArtifactRef.from_doc(a) for a in run["inputs"]], outputs=[ArtifactRef.from_doc(a) for a in run["outputs"]],
        state=dict(run.get("state") or {}), declaration=decl, started=float(run["startTime"]), override=dict(override),
    )  # fmt: skip


def _timeout_minutes(mod: ModuleType | None, call: ActionCall) -> float:
    if call.declaration.get("timeoutInMinutes"):
        return float(call.declaration["timeoutInMinutes"])
    if mod is not None and hasattr(mod, "timeout_minutes"):
        return float(mod.timeout_minutes(call.config))
    return float(getattr(mod, "TIMEOUT_MINUTES", 60.0))


def _load(app: App, scope: Scope, name: str, eid: str, rid: str) -> tuple[Doc, Doc] | None:
    doc = app.store.get(records.EXECUTION, scope, records.execution_key(name, eid))
    run = (doc or {}).get("runs", {}).get(rid)
    if doc is None or run is None or run["status"] != IN_PROGRESS:
        return None
    return doc, run


async def run_action(app: App, scope: Scope, name: str, eid: str, rid: str, phase: str) -> None:
    loaded = _load(app, scope, name, eid, rid)
    if loaded is None:
        return
    call = build_call(app, scope, name, *loaded)
    mod = providers.provider_for(call.type_id)
    now = app.clock.now()
    if phase == "start":
        deadline = now + 60.0 * _timeout_minutes(mod, call)
        executions.mutate(app, scope, name, eid, lambda d: d["runs"][rid].update(started=True, deadline=deadline, nextPoll=None))
    else:
        executions.mutate(app, scope, name, eid, lambda d: d["runs"][rid].update(nextPoll=None))
    if mod is None:
        outcome = failed("ConfigurationError", f"No provider for action type {call.type_id} is available in Gureum")
    elif phase == "poll" and now >= float(loaded[1].get("deadline", now + 1)):
        minutes = _timeout_minutes(mod, call)
        outcome = failed("JobFailed", f"The action did not complete within its timeout of {minutes:g} minutes")
        _call_abandon(mod, call)
    else:
        outcome = await _invoke(mod, call, phase)
    record_outcome(app, scope, name, eid, rid, outcome)


async def _invoke(mod: ModuleType, call: ActionCall, phase: str) -> Outcome:
    try:
        result: Outcome = await (mod.start(call) if phase == "start" else mod.poll(call))
        return result
    except ServiceError as exc:
        return failed("JobFailed", f"{exc.code}: {exc.message}")
    except Exception as exc:  # a provider's bug must end the action, not the controller
        log.exception("pipeline %s action %s: provider %s failed", call.pipeline, call.action, phase)
        return failed("SystemUnavailable", f"Gureum could not run the action: {type(exc).__name__}: {exc}")


def _call_abandon(mod: ModuleType | None, call: ActionCall) -> None:
    if mod is None or not hasattr(mod, "abandon"):
        return
    try:
        mod.abandon(call)
    except Exception:
        log.exception("pipeline %s action %s: abandoning failed", call.pipeline, call.action)


def _abandon(app: App, scope: Scope, name: str, eid: str, rid: str) -> None:
    doc = app.store.get(records.EXECUTION, scope, records.execution_key(name, eid))
    run = (doc or {}).get("runs", {}).get(rid)
    if doc is not None and run is not None and run.get("started"):
        call = build_call(app, scope, name, doc, run)
        _call_abandon(providers.provider_for(call.type_id), call)


def record_outcome(app: App, scope: Scope, name: str, eid: str, rid: str, outcome: Outcome) -> None:
    scale = _scale(app)

    def change(doc: Doc) -> None:
        run = doc["runs"].get(rid)
        if run is None or run["status"] != IN_PROGRESS:
            return  # abandoned or stopped meanwhile
        _merge(run, outcome, app.clock.now(), scale)
        if outcome.status == SUCCEEDED:
            _succeed(doc, run, outcome)
        elif outcome.status == FAILED:
            code, message = outcome.error or ("JobFailed", "The action failed")
            executions.fail_run(run, code, message, app.clock.now())

    executions.mutate(app, scope, name, eid, change)


def _merge(run: Doc, outcome: Outcome, now: float, scale: float) -> None:
    if outcome.state:
        run["state"].update(outcome.state)
    for field, value in (("summary", outcome.summary), ("externalExecutionId", outcome.external_id),
                         ("externalExecutionUrl", outcome.url), ("percentComplete", outcome.percent)):  # fmt: skip
        if value is not None:
            run[field] = value
    if outcome.token:
        run["token"] = outcome.token
    run["lastUpdateTime"] = now
    result = {"externalExecutionId": run.get("externalExecutionId"), "externalExecutionSummary": run.get("summary"),
              "externalExecutionUrl": run.get("externalExecutionUrl")}  # fmt: skip
    run["output"]["executionResult"] = {k: v for k, v in result.items() if v is not None}
    if outcome.status == IN_PROGRESS and outcome.poll_after is not None:
        run["nextPoll"] = now + outcome.poll_after * scale


def _succeed(doc: Doc, run: Doc, outcome: Outcome) -> None:
    run["status"] = plan.ActionStatus.SUCCEEDED.value
    run.pop("token", None)
    rev = outcome.revision
    outs = []
    for o in run["outputs"]:
        ref = ArtifactRef.from_doc({**o, "revision": rev["revisionId"]} if rev else o)
        doc["artifacts"][ref.name] = ref.to_doc()
        outs.append(ref.detail())
        if rev:
            doc["artifactRevisions"].append(_strip({"name": ref.name, "revisionId": rev["revisionId"], "revisionChangeIdentifier": rev.get("changeIdentifier"),
                                                    "revisionSummary": rev.get("revisionSummary"), "created": rev.get("created")}))  # fmt: skip
    run["output"]["outputArtifacts"] = outs
    if rev:
        run["currentRevision"] = rev
        doc["sourceRevisions"].append(_strip({"actionName": run["action"], "revisionId": rev["revisionId"], "revisionSummary": rev.get("revisionSummary")}))
    variables = {str(k): str(v) for k, v in (outcome.variables or {}).items()}
    run["output"]["outputVariables"] = variables
    ns = run["input"].get("namespace")
    if ns:
        doc["namespaces"][ns] = variables


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
