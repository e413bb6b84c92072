"""ECS blue/green deployments: a replacement task set behind the second
target group, traffic moved to it by the listeners, the original removed.

:func:`step` is one synchronous pass over a deployment (the controller calls
it; it never waits, it says when to look again).  The lifecycle events of
the ECS target, in order (AWS's)::

    BeforeInstall         hook
    Install               CreateTaskSet (the appspec's task definition, the
                          other target group of the pair, scale 100 %), then
                          wait until the set is stable (STEADY_STATE)
    AfterInstall          hook
    AllowTestTraffic      the test listener forwards to the replacement
                          (Skipped without a test listener)
    AfterAllowTestTraffic hook
      (Ready)             with deploymentReadyOption STOP_DEPLOYMENT: wait for
                          ContinueDeployment, stop after waitTimeInMinutes
    BeforeAllowTraffic    hook
    AllowTraffic          production listener weights follow the
                          configuration's traffic plan (traffic_plan); at 100 %
                          the replacement becomes the PRIMARY task set
    AfterAllowTraffic     hook
      (Baking)            terminationWaitTimeInMinutes, then DeleteTaskSet of
                          the original; the deployment Succeeded

Every rule of a listener (the default one included) whose forward action
names only the pair's target groups is rewritten with weighted target
groups ``(original, replacement) = (100 - p, p)``.

A failed hook, an install that does not become stable within an hour, a
StopDeployment or an alarm end the deployment (Failed or Stopped); with
automatic rollback a ``codeDeployRollback`` deployment is started whose
"replacement" is the original task set: it gets all the traffic back at once,
becomes PRIMARY again, and the failed replacement is deleted.  Run state
lives in ``_run.ecs`` of the deployment (so a restart carries on).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.codedeploy import controller, hooks, links, steps
from gureum.services.codedeploy import lifecycle_status as ls
from gureum.services.codedeploy.appspec import AppSpecError, parse_ecs
from gureum.services.codedeploy.records import DEPLOYMENT, TARGET, Doc, target_key
from gureum.services.codedeploy.revisions import RevisionError, appspec_text
from gureum.services.codedeploy.traffic_plan import ALL_AT_ONCE, plan_for, weights

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codedeploy.ecs")

INSTALL_TIMEOUT = 3600.0
POLL = 2.0
MAX_STEPS = 20


Problem = controller.Problem


# -- one pass ------------------------------------------------------------------------------------


def step(app: App, scope: Scope, doc: Doc) -> Requeue | None:
    if not controller.begin(app, scope, doc, _prepare):
        return None
    now = app.clock.now()
    ecs = doc["_run"]["ecs"]
    tkey = target_key(doc["deploymentId"], ecs["targetId"])
    target = app.store.get(TARGET, scope, tkey)
    if target is None:  # written with the deployment's start; gone only if the store was edited
        controller.finish(app, scope, doc, ls.FAILED, "INTERNAL_ERROR", "The deployment's ECS target record is missing.")
        return None
    stop = controller.stop_reason(app, scope, doc)
    if stop is not None:
        code, message, rollback = stop
        _close_target(app, scope, target, now)
        controller.finish(app, scope, doc, ls.STOPPED, code, message, rollback=rollback, rollback_run=ecs)
        return None
    events = target["lifecycleEvents"]
    for _ in range(MAX_STEPS):
        ev = steps.current(events)
        if ev is None:
            break
        if ev["lifecycleEventName"] == "BeforeAllowTraffic" and ev["status"] == ls.PENDING:
            try:
                ready = _ready_wait(doc, now)
            except Problem as p:
                _close_target(app, scope, target, now)
                controller.finish(app, scope, doc, ls.STOPPED, p.code, p.message, rollback=True, rollback_run=ecs)
                return None
            if ready is not None:
                return _save(app, scope, doc, target, ready, now)
        steps.begin(ev, now)
        result = _event(app, scope, doc, target, ev, now)
        if result.kind == "wait":
            return _save(app, scope, doc, target, result.after, now)
        steps.finish(ev, result, now)
        if result.kind == "fail":
            _close_target(app, scope, target, now)
            controller.finish(app, scope, doc, ls.FAILED, result.code, result.message, rollback_run=ecs)
            return None
    if steps.current(events) is not None:
        return _save(app, scope, doc, target, 0.0, now)
    return _terminate(app, scope, doc, target, now)


def _save(app: App, scope: Scope, doc: Doc, target: Doc, after: float | None, now: float) -> Requeue | None:
    target["status"] = ls.target_status(target["lifecycleEvents"])
    target["lastUpdatedAt"] = now
    with app.store.transaction():
        app.store.put(TARGET, scope, target_key(doc["deploymentId"], target["targetId"]), target)
        app.store.put(DEPLOYMENT, scope, doc["deploymentId"], doc)
    return None if after is None else Requeue(after)


def _close_target(app: App, scope: Scope, target: Doc, now: float) -> None:
    steps.skip_rest(target["lifecycleEvents"], now)
    target["status"] = ls.target_status(target["lifecycleEvents"])
    target["lastUpdatedAt"] = now
    app.store.put(TARGET, scope, target_key(target["deploymentId"], target["targetId"]), target)


# -- preparing -------------------------------------------------------------------------------------


def _prepare(app: App, scope: Scope, doc: Doc, now: float) -> None:
    group = doc["_group"]
    svc_ref = group["ecsServices"][0]
    pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
    ecs: Doc = {
        "cluster": svc_ref["clusterName"],
        "service": svc_ref["serviceName"],
        "prod": list((pair.get("prodTrafficRoute") or {}).get("listenerArns") or []),
        "test": list((pair.get("testTrafficRoute") or {}).get("listenerArns") or []),
        "weight": 0,
    }
    svc = links.ecs().service(app, scope, ecs["cluster"], ecs["service"])
    if svc is None or svc.get("status") != "ACTIVE":
        raise Problem("INVALID_ECS_SERVICE", f"The ECS service {ecs['service']} was not found in cluster {ecs['cluster']}.")
    ecs["targetId"] = f"{ecs['cluster']}:{ecs['service']}"
    rollback_of = doc["_run"].get("rollbackOf")
    if rollback_of:
        _prepare_rollback(ecs, rollback_of)
    else:
        _prepare_forward(app, scope, doc, ecs, svc, pair)
    doc["_run"]["ecs"] = ecs
    target: Doc = {
        "deploymentId": doc["deploymentId"],
        "targetId": ecs["targetId"],
        "targetArn": svc["serviceArn"],
        "type": "ECSTarget",
        "status": ls.PENDING,
        "lastUpdatedAt": now,
        "lifecycleEvents": ls.new_events(ls.ECS_EVENTS),
    }
    app.store.put(TARGET, scope, target_key(doc["deploymentId"], ecs["targetId"]), target)


def _prepare_forward(app: App, scope: Scope, doc: Doc, ecs: Doc, svc: Doc, pair: Doc) -> None:
    try:
        spec = parse_ecs(appspec_text(app, doc["revision"]))
    except AppSpecError as exc:
        raise Problem("INVALID_REVISION", str(exc)) from None
    except RevisionError as exc:
        raise Problem(exc.code, exc.message) from None
    tgs = []
    for info in pair["targetGroups"]:
        tg = links.target_group_by_name(app, scope, info["name"])
        if tg is None:
            raise Problem("ELASTIC_LOAD_BALANCING_INVALID", f"The target group {info['name']} does not exist.")
        tgs.append(tg)
    primary = next((ts for ts in svc.get("taskSets") or [] if ts["status"] == "PRIMARY"), None)
    if primary is None:
        raise Problem("ECS_UPDATE_ERROR", f"The ECS service {ecs['service']} has no primary task set to replace.")
    current = ((primary.get("loadBalancers") or [{}])[0]).get("targetGroupArn") or tgs[0]["TargetGroupArn"]
    by_arn = {tg["TargetGroupArn"]: tg for tg in tgs}
    if current not in by_arn:
        raise Problem("ELASTIC_LOAD_BALANCING_INVALID", "The ECS service's target group is not one of the deployment group's target group pair.")
    other = next(tg for tg in tgs if tg["TargetGroupArn"] != current)
    ecs.update(
        blue=primary["id"], blueTg=current, blueTgName=by_arn[current]["TargetGroupName"],
        greenTg=other["TargetGroupArn"], greenTgName=other["TargetGroupName"], hooks=dict(spec.hooks),
        spec={
            "taskDefinition": spec.task_definition, "containerName": spec.container_name, "containerPort": spec.container_port,
            "platformVersion": spec.platform_version, "networkConfiguration": spec.network_configuration,
            "capacityProviderStrategy": list(spec.capacity_provider_strategy),
        },
    )  # fmt: skip
    for arn in ecs["prod"]:
        if not _routes(app, scope, arn, {current, other["TargetGroupArn"]}):
            raise Problem("ELASTIC_LOAD_BALANCING_INVALID", f"The production listener {arn} does not forward to the deployment group's target groups.")
    strays = [ts["id"] for ts in svc.get("taskSets") or [] if ts["status"] == "ACTIVE"]
    if strays:  # left over by a deployment stopped without rollback: all traffic back to the original first
        try:
            _route(app, scope, ecs, ecs["prod"] + ecs["test"], 0)
        except ServiceError as exc:
            raise Problem("ELASTIC_LOAD_BALANCING_INVALID", f"{exc.code}: {exc.message}") from None
        for set_id in strays:
            _delete_set(app, scope, ecs, set_id)


def _prepare_rollback(ecs: Doc, failed: Doc) -> None:
    """The original task set of the failed deployment is this one's replacement."""
    ecs.update(
        rollback=True, hooks={}, spec={},
        blue=failed.get("green"), blueTg=failed.get("greenTg"), blueTgName=failed.get("greenTgName"),
        green=failed.get("blue"), greenTg=failed.get("blueTg"), greenTgName=failed.get("blueTgName"),
        weight=100 - int(failed.get("weight") or 0),
    )  # fmt: skip


# -- events ----------------------------------------------------------------------------------------


def _event(app: App, scope: Scope, doc: Doc, target: Doc, ev: Doc, now: float) -> steps.Step:
    ecs = doc["_run"]["ecs"]
    name = ev["lifecycleEventName"]
    try:
        if name == "Install":
            return _install(app, scope, doc, ecs, ev, now)
        if name == "AllowTestTraffic":
            if not ecs["test"]:
                return steps.SKIP
            _route(app, scope, ecs, ecs["test"], 100)
            return steps.DONE
        if name == "AllowTraffic":
            return _allow_traffic(app, scope, doc, ecs, now)
    except ServiceError as exc:
        code = "ELASTIC_LOAD_BALANCING_INVALID" if name != "Install" else "ECS_UPDATE_ERROR"
        return steps.fail(code, f"{name} failed: {exc.code}: {exc.message}")
    return hooks.hook_step(app, scope, doc, target, ev, ecs.get("hooks", {}).get(name), now)


def _install(app: App, scope: Scope, doc: Doc, ecs: Doc, ev: Doc, now: float) -> steps.Step:
    if ecs.get("rollback"):
        return steps.DONE if ecs.get("green") else steps.fail("ECS_UPDATE_ERROR", "The original task set to roll back to is gone.")
    if not ecs.get("green"):
        existing = next((ts for ts in links.ecs().task_sets(app, scope, ecs["cluster"], ecs["service"])
                         if ts.get("externalId") == doc["deploymentId"]), None)  # fmt: skip
        if existing is None:
            spec = ecs["spec"]
            existing = links.ecs().create_task_set(
                app, scope, ecs["cluster"], ecs["service"], spec["taskDefinition"],
                loadBalancers=[{"targetGroupArn": ecs["greenTg"], "containerName": spec["containerName"], "containerPort": spec["containerPort"]}],
                networkConfiguration=spec.get("networkConfiguration"), platformVersion=spec.get("platformVersion"),
                capacityProviderStrategy=spec.get("capacityProviderStrategy"), externalId=doc["deploymentId"], startedBy="CodeDeploy",
            )  # fmt: skip
        ecs["green"] = existing["id"]
    green = next((ts for ts in links.ecs().task_sets(app, scope, ecs["cluster"], ecs["service"]) if ts["id"] == ecs["green"]), None)
    if green is None:
        return steps.fail("ECS_UPDATE_ERROR", f"The replacement task set {ecs['green']} disappeared.")
    if green.get("stabilityStatus") == "STEADY_STATE":
        return steps.DONE
    if now - float(ev.get("startTime") or now) > INSTALL_TIMEOUT:
        return steps.fail(
            "ECS_UPDATE_ERROR",
            f"The replacement task set {ecs['green']} did not reach a steady state within {int(INSTALL_TIMEOUT / 60)} minutes "
            f"({green.get('runningCount')} of {green.get('computedDesiredCount')} tasks running).",
        )
    return steps.wait(POLL)


def _allow_traffic(app: App, scope: Scope, doc: Doc, ecs: Doc, now: float) -> steps.Step:
    plan = ALL_AT_ONCE if ecs.get("rollback") else plan_for(doc["_config"].get("trafficRoutingConfig"))
    start = ecs.setdefault("shiftStart", now)
    pct = plan.percent_at(now - float(start))
    if ecs.get("routed"):
        pct = max(pct, int(ecs.get("weight") or 0))  # never back: a restarted clock may read earlier than the shift began
    if pct != ecs.get("weight") or not ecs.get("routed"):
        _route(app, scope, ecs, ecs["prod"], pct)
        ecs["weight"], ecs["routed"] = pct, True
    if pct < 100:
        nxt = plan.next_change(now - float(start))
        return steps.wait(nxt if nxt is not None else POLL)
    if ecs.get("green"):
        links.ecs().update_primary(app, scope, ecs["cluster"], ecs["service"], ecs["green"])
    return steps.DONE


def _ready_wait(doc: Doc, now: float) -> float | None:
    """Seconds to wait in Ready before rerouting (None: go on); Problem when the wait ran out."""
    opt = (doc.get("blueGreenDeploymentConfiguration") or {}).get("deploymentReadyOption") or {}
    if doc["_run"]["ecs"].get("rollback") or opt.get("actionOnTimeout") != "STOP_DEPLOYMENT" or doc["_run"].get("continueReady"):
        if doc["status"] == ls.READY:
            controller.set_status(doc, ls.IN_PROGRESS)
        return None
    if doc["status"] != ls.READY:
        controller.set_status(doc, ls.READY)
        doc["_run"]["readySince"] = now
    left = float(doc["_run"]["readySince"]) + int(opt.get("waitTimeInMinutes") or 0) * 60 - now
    if left > 0:
        return left
    raise Problem("TIMEOUT", "The deployment was stopped: traffic was not rerouted (ContinueDeployment) within the wait time of the deployment group's deploymentReadyOption.")


def _terminate(app: App, scope: Scope, doc: Doc, target: Doc, now: float) -> Requeue | None:
    ecs = doc["_run"]["ecs"]
    option = (doc.get("blueGreenDeploymentConfiguration") or {}).get("terminateBlueInstancesOnDeploymentSuccess") or {}
    minutes = 0 if ecs.get("rollback") else int(option.get("terminationWaitTimeInMinutes") or 0)
    if option.get("action", "TERMINATE") == "TERMINATE" and ecs.get("blue"):
        if minutes > 0 and not doc["_run"].get("skipBake"):
            if doc["status"] != ls.BAKING:
                controller.set_status(doc, ls.BAKING)
                doc["instanceTerminationWaitTimeStarted"] = True
                ecs["bakeStart"] = now
            left = float(ecs["bakeStart"]) + minutes * 60 - now
            if left > 0:
                return _save(app, scope, doc, target, left, now)
        _delete_set(app, scope, ecs, ecs["blue"])
    target["status"] = ls.target_status(target["lifecycleEvents"])
    target["lastUpdatedAt"] = now
    app.store.put(TARGET, scope, target_key(doc["deploymentId"], target["targetId"]), target)
    controller.finish(app, scope, doc, ls.SUCCEEDED)
    return None


def _delete_set(app: App, scope: Scope, ecs: Doc, set_id: str) -> None:
    try:
        links.ecs().delete_task_set(app, scope, ecs["cluster"], ecs["service"], set_id)
    except ServiceError as exc:
        if exc.code not in ("TaskSetNotFoundException", "ServiceNotFoundException", "ServiceNotActiveException"):
            raise


# -- listeners ---------------------------------------------------------------------------------------


def _forward_groups(action: dict[str, Any]) -> list[str]:
    if action.get("Type") != "forward":
        return []
    groups = [t["TargetGroupArn"] for t in (action.get("ForwardConfig") or {}).get("TargetGroups") or []]
    return groups or ([action["TargetGroupArn"]] if action.get("TargetGroupArn") else [])


def _routes(app: App, scope: Scope, listener_arn: str, pair: set[str]) -> bool:
    rules = links.elb().listener_rules(app, scope, listener_arn)
    return any(set(g) <= pair and g for r in rules for g in (_forward_groups(a) for a in r.get("Actions") or []))


def _route(app: App, scope: Scope, ecs: Doc, listeners: list[str], percent: int) -> None:
    """Forward ``percent`` of each listener's pair traffic to the replacement's target group."""
    pair = {ecs["blueTg"], ecs["greenTg"]} - {None}
    old_w, new_w = weights(percent)
    for arn in listeners:
        for rule in links.elb().listener_rules(app, scope, arn):
            actions, changed = [], False
            for a in rule.get("Actions") or []:
                groups = _forward_groups(a)
                if not groups or not set(groups) <= pair:
                    actions.append(_input_action(a))
                    continue
                groups_w = [{"TargetGroupArn": tg, "Weight": w} for tg, w in ((ecs["blueTg"], old_w), (ecs["greenTg"], new_w)) if tg]
                sticky = (a.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {"Enabled": False}
                fwd: dict[str, Any] = {"Type": "forward", "ForwardConfig": {"TargetGroups": groups_w, "TargetGroupStickinessConfig": sticky}}
                if a.get("Order") is not None:
                    fwd["Order"] = a["Order"]
                changed = changed or groups_w != (a.get("ForwardConfig") or {}).get("TargetGroups")
                actions.append(fwd)
            if changed:
                links.elb().set_rule_actions(app, scope, rule["RuleArn"], actions)


def _input_action(a: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in a.items() if v is not None}
