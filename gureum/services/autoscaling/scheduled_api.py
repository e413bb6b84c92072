"""Scheduled actions: PutScheduledUpdateGroupAction, DescribeScheduledActions,
DeleteScheduledAction, and running them (:func:`run_due`, called by the
group controller).

Rules (PutScheduledUpdateGroupAction API reference): at least one of
MinSize, MaxSize, DesiredCapacity; a one-time action runs at ``StartTime``
(or the deprecated ``Time``) and is then deleted; with ``Recurrence`` (Unix
cron, in ``TimeZone``, UTC by default) it runs at ``StartTime`` if given and
then on the schedule until ``EndTime``.  Running one sets the sizes it names
(the desired capacity is kept within the new bounds) and, when the desired
capacity changes, leaves the cause "a scheduled action update of
AutoScalingGroup constraints to …".  Suspending ``ScheduledActions`` holds
them.  The next run time is kept in ``_next``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.autoscaling import activities, journal, names, records, schedule

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]
_SIZES = ("MinSize", "MaxSize", "DesiredCapacity")


def _first_run(req: dict[str, Any], now: float) -> float | None:
    start = req.get("StartTime") or req.get("Time")
    recurrence = req.get("Recurrence")
    try:
        if recurrence:
            schedule.parse_unix_cron(recurrence)
            schedule.zone(req.get("TimeZone"))
            if start is not None and float(start) > now:
                return float(start)
            return schedule.next_recurrence(recurrence, now, req.get("TimeZone"))
    except schedule.ScheduleError as exc:
        raise names.invalid(str(exc)) from None
    if start is None:
        raise names.invalid("A scheduled action needs a StartTime or a Recurrence.")
    if float(start) < now:
        raise names.invalid("Given start time is in the past")
    return float(start)


def put_scheduled_update_group_action(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    gname, name = group["AutoScalingGroupName"], req["ScheduledActionName"]
    if all(req.get(k) is None for k in _SIZES):
        raise names.invalid("At least one of MinSize, MaxSize and DesiredCapacity must be specified.")
    if req.get("EndTime") is not None and req.get("StartTime") is not None and req["EndTime"] <= req["StartTime"]:
        raise names.invalid("The EndTime must be after the StartTime.")
    now = ctx.clock.now()
    key = names.child_key(gname, name)
    existing = ctx.store.get(names.SCHEDULED, ctx.scope, key)
    doc: Doc = {"AutoScalingGroupName": gname, "ScheduledActionName": name,
                "ScheduledActionARN": existing["ScheduledActionARN"] if existing else names.scheduled_arn(ctx.scope, gname, name)}
    for k in (*_SIZES, "Recurrence", "EndTime", "TimeZone"):
        if req.get(k) is not None:
            doc[k] = req[k]
    first = _first_run(req, now)
    start = req.get("StartTime") or req.get("Time") or first
    doc["StartTime"] = doc["Time"] = start
    doc["_next"] = first
    ctx.store.put(names.SCHEDULED, ctx.scope, key, doc)
    journal.wrote(ctx.store, names.SCHEDULED, ctx.scope, gname)
    records.enqueue(ctx.app, ctx.scope, gname)
    return {}


def describe_scheduled_actions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = req.get("AutoScalingGroupName")
    wanted = set(req.get("ScheduledActionNames") or [])
    docs = [d for _, d in ctx.store.list(names.SCHEDULED, ctx.scope, prefix=f"{group}/" if group else "")
            if not wanted or d["ScheduledActionName"] in wanted]
    if req.get("StartTime") is not None:
        docs = [d for d in docs if float(d.get("_next") or d["StartTime"]) >= float(req["StartTime"])]
    if req.get("EndTime") is not None:
        docs = [d for d in docs if float(d.get("_next") or d["StartTime"]) <= float(req["EndTime"])]
    items, token = names.page(docs, lambda d: f"{d['AutoScalingGroupName']}/{d['ScheduledActionName']}",
                              req.get("MaxRecords"), req.get("NextToken"))
    out: dict[str, Any] = {"ScheduledUpdateGroupActions": [{k: v for k, v in d.items() if not k.startswith("_")}
                                                           for d in items]}
    if token:
        out["NextToken"] = token
    return out


def delete_scheduled_action(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    key = names.child_key(group["AutoScalingGroupName"], req["ScheduledActionName"])
    if not ctx.store.delete(names.SCHEDULED, ctx.scope, key):
        raise names.invalid(f"Scheduled action name not found - The scheduled action {req['ScheduledActionName']} "
                            "does not exist.")
    journal.wrote(ctx.store, names.SCHEDULED, ctx.scope, group["AutoScalingGroupName"])
    return {}


def _apply(group: Doc, action: Doc, now: float) -> None:
    lo = int(action["MinSize"] if action.get("MinSize") is not None else group["MinSize"])
    hi = max(lo, int(action["MaxSize"] if action.get("MaxSize") is not None else group["MaxSize"]))
    wanted = int(action["DesiredCapacity"] if action.get("DesiredCapacity") is not None else group["DesiredCapacity"])
    desired = max(lo, min(hi, wanted))
    before = int(group["DesiredCapacity"])
    group.update(MinSize=lo, MaxSize=hi, DesiredCapacity=desired)
    if desired != before:
        who = "a scheduled action " + activities.constraints(lo, hi, desired)
        group["_cause"] = activities.desired_cause(who, before, desired, now)


def run_due(app: App, scope: Scope, group: Doc, now: float) -> float | None:
    """Run the group's due actions (changing ``group`` in memory); when the next one is due."""
    if any(p["ProcessName"] == "ScheduledActions" for p in group.get("SuspendedProcesses") or []):
        return None
    upcoming: list[float] = []
    for key, action in app.store.list(names.SCHEDULED, scope, prefix=f"{group['AutoScalingGroupName']}/"):
        due = action.get("_next")
        if due is None:
            continue
        if float(due) > now:
            upcoming.append(float(due))
            continue
        _apply(group, action, now)
        following = None
        if action.get("Recurrence"):
            following = schedule.next_recurrence(action["Recurrence"], now, action.get("TimeZone"))
            if following is not None and action.get("EndTime") is not None and following > float(action["EndTime"]):
                following = None
        if following is None:
            app.store.delete(names.SCHEDULED, scope, key)
            journal.wrote(app.store, names.SCHEDULED, scope, group["AutoScalingGroupName"])
        else:
            action["_next"] = following
            app.store.put(names.SCHEDULED, scope, key, action)
            journal.wrote(app.store, names.SCHEDULED, scope, group["AutoScalingGroupName"])
            upcoming.append(following)
    return min(upcoming) if upcoming else None


OPERATIONS = {
    "PutScheduledUpdateGroupAction": put_scheduled_update_group_action,
    "DescribeScheduledActions": describe_scheduled_actions,
    "DeleteScheduledAction": delete_scheduled_action,
}
