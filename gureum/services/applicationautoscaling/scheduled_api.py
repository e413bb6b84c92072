"""Scheduled actions of scalable targets: PutScheduledAction, DescribeScheduledActions,
DeleteScheduledAction, and running them (:func:`run_due`, from the controller).

Rules (PutScheduledAction API reference): ``Schedule`` is ``at(…)``,
``rate(…)`` or ``cron(…)`` (:mod:`gureum.services.autoscaling.schedule`) in
``Timezone`` (UTC by default), between the optional ``StartTime`` and
``EndTime``; ``ScalableTargetAction`` sets MinCapacity and/or MaxCapacity.
Running one sets the target's bounds and brings the capacity inside them —
an activity caused by "scheduled action name <name> was triggered".  An
``at`` action is kept after it ran (as AWS does) but never runs again.
``ScheduledScalingSuspended`` holds them.  The next run is kept in ``_next``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.applicationautoscaling import activities, ecs_link, names, records
from gureum.services.autoscaling import schedule

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]


def _next(doc: Doc, after: float) -> float | None:
    start = float(doc.get("StartTime") or doc["CreationTime"])
    when = schedule.next_time(doc["Schedule"], max(after, start - 1e-6) if doc.get("StartTime") else after,
                              start=start, tz_name=doc.get("Timezone"))
    if when is not None and doc.get("EndTime") is not None and when > float(doc["EndTime"]):
        return None
    return when


def put_scheduled_action(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    target = records.require_target(ctx, req)
    tkey = names.target_key(target["ServiceNamespace"], target["ScalableDimension"], target["ResourceId"])
    key = names.child_key(tkey, req["ScheduledActionName"])
    existing = ctx.store.get(names.SCHEDULED, ctx.scope, key)
    doc: Doc = dict(existing or {
        "ScheduledActionName": req["ScheduledActionName"], "ServiceNamespace": target["ServiceNamespace"],
        "ResourceId": target["ResourceId"], "ScalableDimension": target["ScalableDimension"],
        "ScheduledActionARN": names.scheduled_arn(ctx.scope, target["ServiceNamespace"], target["ResourceId"],
                                                  req["ScheduledActionName"]),
        "CreationTime": ctx.clock.now(),
    })
    for k in ("Schedule", "Timezone", "StartTime", "EndTime", "ScalableTargetAction"):
        if req.get(k) is not None:
            doc[k] = req[k]
    if not doc.get("Schedule"):
        raise names.invalid("Schedule is required for a new scheduled action.")
    try:
        schedule.check_expression(doc["Schedule"])
        schedule.zone(doc.get("Timezone"))
    except schedule.ScheduleError as exc:
        raise names.invalid(str(exc)) from None
    action = doc.get("ScalableTargetAction") or {}
    lo, hi = action.get("MinCapacity"), action.get("MaxCapacity")
    if lo is not None and hi is not None and int(lo) > int(hi):
        raise names.invalid(f"Minimum capacity ({lo}) cannot be greater than maximum capacity ({hi}).")
    doc["_next"] = _next(doc, ctx.clock.now())
    ctx.store.put(names.SCHEDULED, ctx.scope, key, doc)
    records.enqueue(ctx.app, ctx.scope, tkey)
    return {}


def describe_scheduled_actions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    wanted = set(req.get("ScheduledActionNames") or [])
    docs = [d for _, d in ctx.store.list(names.SCHEDULED, ctx.scope, prefix=f"{req['ServiceNamespace']}|")
            if (not wanted or d["ScheduledActionName"] in wanted)
            and (not req.get("ResourceId") or d["ResourceId"] == req["ResourceId"])
            and (not req.get("ScalableDimension") or d["ScalableDimension"] == req["ScalableDimension"])]
    items, token = activities.page(docs, lambda d: d["ScheduledActionARN"], req.get("MaxResults"),
                                   req.get("NextToken"))
    out: dict[str, Any] = {"ScheduledActions": [records.public(d) for d in items]}
    if token:
        out["NextToken"] = token
    return out


def delete_scheduled_action(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    tkey = names.target_key(req["ServiceNamespace"], req["ScalableDimension"], req["ResourceId"])
    if not ctx.store.delete(names.SCHEDULED, ctx.scope, names.child_key(tkey, req["ScheduledActionName"])):
        raise names.not_found(f"No scheduled action found for service namespace: {req['ServiceNamespace']}, "
                              f"resource ID: {req['ResourceId']}, scalable dimension: {req['ScalableDimension']}, "
                              f"scheduled action name: {req['ScheduledActionName']}")
    return {}


def _run(app: App, scope: Scope, target: Doc, action: Doc) -> None:
    change = action.get("ScalableTargetAction") or {}
    if change.get("MinCapacity") is not None:
        target["MinCapacity"] = int(change["MinCapacity"])
    if change.get("MaxCapacity") is not None:
        target["MaxCapacity"] = int(change["MaxCapacity"])
    target["MaxCapacity"] = max(int(target["MaxCapacity"]), int(target["MinCapacity"]))
    current = ecs_link.current(app, scope, target["ResourceId"])
    if current is None:
        return
    inside = max(int(target["MinCapacity"]), min(int(target["MaxCapacity"]), current))
    if inside != current:
        activities.scale_to(app, scope, target, inside,
                            f"scheduled action name {action['ScheduledActionName']} was triggered")


def run_due(app: App, scope: Scope, tkey: str, now: float) -> float | None:
    """Run a target's due scheduled actions; when the next one is due (None: none is)."""
    target = app.store.get(names.TARGET, scope, tkey)
    if target is None or (target.get("SuspendedState") or {}).get("ScheduledScalingSuspended"):
        return None
    upcoming: list[float] = []
    for key, action in records.children(app, names.SCHEDULED, scope, tkey):
        due = action.get("_next")
        if due is None:
            continue
        if float(due) <= now:
            _run(app, scope, target, action)
            app.store.put(names.TARGET, scope, tkey, target)
            action["_next"] = _next(action, now)
            app.store.put(names.SCHEDULED, scope, key, action)
            due = action["_next"]
        if due is not None:
            upcoming.append(float(due))
    return min(upcoming) if upcoming else None


OPERATIONS = {
    "PutScheduledAction": put_scheduled_action,
    "DescribeScheduledActions": describe_scheduled_actions,
    "DeleteScheduledAction": delete_scheduled_action,
}
