"""Lambda deployments: an alias's traffic moved from one function version to another.

:func:`step` is one synchronous pass, like the ECS controller's.  The Lambda
target (``<function>:<alias>``) has three lifecycle events::

    BeforeAllowTraffic   hook (a Lambda function, as for ECS)
    AllowTraffic         the alias keeps ``CurrentVersion`` as its version and
                         sends p % to ``TargetVersion`` (RoutingConfig
                         AdditionalVersionWeights = p / 100), p following the
                         configuration's traffic plan; at 100 % the alias points
                         at ``TargetVersion`` alone
    AfterAllowTraffic    hook

The AppSpec names the function, alias and both versions; the alias must
point at ``CurrentVersion`` when the deployment starts
(``INVALID_LAMBDA_CONFIGURATION`` otherwise).  Failure, StopDeployment or an
alarm end the deployment; automatic rollback points the alias back at
``CurrentVersion`` (a ``codeDeployRollback`` deployment that moves all traffic
at once).  Run state lives in ``_run.lambda``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gureum.core.errors import ServiceError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.codedeploy import controller, hooks, links, steps
from gureum.services.codedeploy import lifecycle_status as ls
from gureum.services.codedeploy.appspec import AppSpecError, parse_lambda
from gureum.services.codedeploy.records import DEPLOYMENT, TARGET, Doc, target_key
from gureum.services.codedeploy.revisions import RevisionError, appspec_text
from gureum.services.codedeploy.traffic_plan import ALL_AT_ONCE, plan_for

if TYPE_CHECKING:
    from gureum.app import App

LAMBDA_EVENTS = ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
MAX_STEPS = 10


Problem = controller.Problem


def step(app: App, scope: Scope, doc: Doc) -> Requeue | None:
    if not controller.begin(app, scope, doc, _prepare):
        return None
    now = app.clock.now()
    run = doc["_run"]["lambda"]
    key = target_key(doc["deploymentId"], run["targetId"])
    target = app.store.get(TARGET, scope, key)
    if target is None:
        controller.finish(app, scope, doc, ls.FAILED, "INTERNAL_ERROR", "The deployment's Lambda target record is missing.")
        return None
    stop = controller.stop_reason(app, scope, doc)
    if stop is not None:
        _close(app, scope, target, now)
        controller.finish(app, scope, doc, ls.STOPPED, stop[0], stop[1], rollback=stop[2], rollback_run=run)
        return None
    for _ in range(MAX_STEPS):
        ev = steps.current(target["lifecycleEvents"])
        if ev is None:
            break
        steps.begin(ev, now)
        result = _event(app, scope, doc, target, ev, now)
        if result.kind == "wait":
            return _save(app, scope, doc, target, result.after, now)
        steps.finish(ev, result, now)
        if result.kind == "fail":
            _close(app, scope, target, now)
            controller.finish(app, scope, doc, ls.FAILED, result.code, result.message, rollback_run=run)
            return None
    if steps.current(target["lifecycleEvents"]) is not None:
        return _save(app, scope, doc, target, 0.0, now)
    _save(app, scope, doc, target, None, now)
    controller.finish(app, scope, doc, ls.SUCCEEDED)
    return None


def _save(app: App, scope: Scope, doc: Doc, target: Doc, after: float | None, now: float) -> Requeue | None:
    target["status"] = ls.target_status(target["lifecycleEvents"])
    target["lastUpdatedAt"] = now
    run = doc["_run"]["lambda"]
    target["lambdaFunctionInfo"] = {
        "functionName": run["function"], "functionAlias": run["alias"], "currentVersion": run["current"],
        "targetVersion": run["target"], "targetVersionWeight": int(run.get("weight") or 0) / 100,
    }  # fmt: skip
    with app.store.transaction():
        app.store.put(TARGET, scope, target_key(doc["deploymentId"], target["targetId"]), target)
        app.store.put(DEPLOYMENT, scope, doc["deploymentId"], doc)
    return None if after is None else Requeue(after)


def _close(app: App, scope: Scope, target: Doc, now: float) -> None:
    steps.skip_rest(target["lifecycleEvents"], now)
    target["status"] = ls.target_status(target["lifecycleEvents"])
    target["lastUpdatedAt"] = now
    app.store.put(TARGET, scope, target_key(target["deploymentId"], target["targetId"]), target)


def _prepare(app: App, scope: Scope, doc: Doc, now: float) -> None:
    failed = doc["_run"].get("rollbackOf")
    if failed:  # roll back: all traffic to the version the failed deployment started from
        run = {**failed, "current": failed["target"], "target": failed["current"], "hooks": {}, "rollback": True,
               "weight": 100 - int(failed.get("weight") or 0)}  # fmt: skip
    else:
        try:
            spec = parse_lambda(appspec_text(app, doc["revision"]))
        except AppSpecError as exc:
            raise Problem("INVALID_REVISION", str(exc)) from None
        except RevisionError as exc:
            raise Problem(exc.code, exc.message) from None
        alias = links.lambda_alias(app, scope, spec.name, spec.alias)
        if alias is None:
            raise Problem("INVALID_LAMBDA_FUNCTION", f"The alias {spec.alias} of Lambda function {spec.name} does not exist.")
        if alias["FunctionVersion"] != spec.current_version:
            raise Problem("INVALID_LAMBDA_CONFIGURATION",
                          f"The alias {spec.alias} points at version {alias['FunctionVersion']}, not at CurrentVersion {spec.current_version}.")  # fmt: skip
        if not links.lambda_version_exists(app, scope, spec.name, spec.target_version):
            raise Problem("INVALID_LAMBDA_FUNCTION", f"Version {spec.target_version} of Lambda function {spec.name} does not exist.")
        run = {"function": spec.name, "alias": spec.alias, "current": spec.current_version, "target": spec.target_version,
               "hooks": dict(spec.hooks), "weight": 0, "aliasArn": alias["AliasArn"]}  # fmt: skip
    run["targetId"] = f"{run['function']}:{run['alias']}"
    doc["_run"]["lambda"] = run
    target: Doc = {
        "deploymentId": doc["deploymentId"], "targetId": run["targetId"], "targetArn": run["aliasArn"], "type": "LambdaTarget",
        "status": ls.PENDING, "lastUpdatedAt": now, "lifecycleEvents": ls.new_events(LAMBDA_EVENTS),
    }  # fmt: skip
    app.store.put(TARGET, scope, target_key(doc["deploymentId"], run["targetId"]), target)


def _event(app: App, scope: Scope, doc: Doc, target: Doc, ev: Doc, now: float) -> steps.Step:
    run = doc["_run"]["lambda"]
    if ev["lifecycleEventName"] != "AllowTraffic":
        return hooks.hook_step(app, scope, doc, target, ev, run["hooks"].get(ev["lifecycleEventName"]), now)
    plan = ALL_AT_ONCE if run.get("rollback") else plan_for(doc["_config"].get("trafficRoutingConfig"))
    start = run.setdefault("shiftStart", now)
    pct = plan.percent_at(now - float(start))
    if run.get("routed"):
        pct = max(pct, int(run.get("weight") or 0))
    try:
        if pct != run.get("weight") or not run.get("routed"):
            if pct >= 100:
                links.set_lambda_alias(app, scope, run["function"], run["alias"], run["target"], {})
            else:
                links.set_lambda_alias(app, scope, run["function"], run["alias"], run["current"], {run["target"]: pct / 100})
            run["weight"], run["routed"] = pct, True
    except ServiceError as exc:
        return steps.fail("INVALID_LAMBDA_CONFIGURATION", f"Updating the alias failed: {exc.code}: {exc.message}")
    if pct < 100:
        nxt = plan.next_change(now - float(start))
        return steps.wait(nxt if nxt is not None else 1.0)
    return steps.DONE
