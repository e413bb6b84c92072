"""EnterStandby, ExitStandby and DetachInstances: members leaving service without being terminated.

Rules (EC2 Auto Scaling user guide, "Temporarily remove instances from your
Auto Scaling group", "Detach EC2 instances from your Auto Scaling group"):

* only an InService member enters Standby; a Standby member is not counted in
  the desired capacity (nor health-checked) and is deregistered from the
  group's target groups.  With ``ShouldDecrementDesiredCapacity`` the desired
  capacity drops by one (not below MinSize), else a replacement is launched.
* ExitStandby raises the desired capacity by one (not above MaxSize) and the
  member goes back through Pending (launch lifecycle hooks apply) to
  InService, where it registers with the target groups again.
* DetachInstances takes an InService or Standby member out of the group; the
  EC2 instance keeps running.  Without ``ShouldDecrementDesiredCapacity`` a
  replacement is launched.

Each answer lists one activity per instance, with AWS's words.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.autoscaling import activities, elb_link, names, records
from gureum.services.autoscaling.lifecycle import LState
from gureum.services.autoscaling.names import iso

Doc = dict[str, Any]


def _members(doc: Doc, ids: list[str], allowed: frozenset[str], wanted: str) -> list[Doc]:
    instances = doc.get("_instances") or {}
    out = []
    for iid in ids:
        rec = instances.get(iid)
        if rec is None or rec["LifecycleState"] == LState.TERMINATED:
            raise names.invalid(f"The instance {iid} is not part of Auto Scaling group {doc['AutoScalingGroupName']}.")
        if rec["LifecycleState"] not in allowed:
            raise names.invalid(f"The instance {iid} is not in {wanted}.")
        out.append(rec)
    return out


def _shrunk(doc: Doc, count: int, decrement: bool) -> tuple[int, int]:
    desired = int(doc["DesiredCapacity"])
    if not decrement:
        return desired, desired
    if desired - count < int(doc["MinSize"]):
        raise names.invalid(
            f"The number of instances ({count}) would decrease the desired capacity below the minimum size "
            f"({doc['MinSize']}) of the Auto Scaling group {doc['AutoScalingGroupName']}.  Either set "
            "ShouldDecrementDesiredCapacity to false or lower the group's min size.")
    return desired, desired - count


def _done(ctx: RequestContext, doc: Doc, description: str, cause: str, status: str) -> Doc:
    now = ctx.clock.now()
    key = activities.start(ctx.store, ctx.scope, doc, description, cause, now, status=status)
    return ctx.store.get(names.ACTIVITY, ctx.scope, key) or {}


def _finish(ctx: RequestContext, doc: Doc, acts: list[Doc]) -> dict[str, Any]:
    records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, doc["AutoScalingGroupName"])
    return {"Activities": acts}


def enter_standby(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    recs = _members(doc, list(req.get("InstanceIds") or []), frozenset({LState.IN_SERVICE.value}), "InService")
    before, after = _shrunk(doc, len(recs), bool(req["ShouldDecrementDesiredCapacity"]))
    now, acts = ctx.clock.now(), []
    for rec in recs:
        rec["LifecycleState"] = LState.STANDBY.value
        elb_link.deregister(ctx.app, ctx.scope, doc.get("TargetGroupARNs") or [], rec["InstanceId"])
        how = f"shrinking the capacity from {before} to {after}" if before != after else \
            f"keeping the capacity at {before} (a replacement is launched)"
        acts.append(_done(ctx, doc, f"Moving EC2 instance to Standby: {rec['InstanceId']}",
                          f"At {iso(now)} instance {rec['InstanceId']} was moved to standby in response to a user "
                          f"request, {how}.", activities.SUCCESSFUL))
    doc["DesiredCapacity"] = after
    return _finish(ctx, doc, acts)


def exit_standby(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    recs = _members(doc, list(req.get("InstanceIds") or []), frozenset({LState.STANDBY.value}), "Standby")
    before = int(doc["DesiredCapacity"])
    after = before + len(recs)
    if after > int(doc["MaxSize"]):
        raise names.invalid(f"Cannot move instances out of Standby: the desired capacity {after} would be above the "
                            f"maximum size ({doc['MaxSize']}) of the Auto Scaling group "
                            f"{doc['AutoScalingGroupName']}.")
    now, acts = ctx.clock.now(), []
    for rec in recs:
        act = _done(ctx, doc, f"Moving EC2 instance out of Standby: {rec['InstanceId']}",
                    f"At {iso(now)} instance {rec['InstanceId']} was removed from standby in response to a user "
                    f"request, increasing the capacity from {before} to {after}.", activities.IN_PROGRESS)
        rec["LifecycleState"] = LState.PENDING.value
        rec["_activity"] = activities.activity_key(doc["AutoScalingGroupName"], now, act["ActivityId"])
        acts.append(act)
    doc["DesiredCapacity"] = after
    return _finish(ctx, doc, acts)


def detach_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    allowed = frozenset({LState.IN_SERVICE.value, LState.STANDBY.value})
    recs = _members(doc, list(req.get("InstanceIds") or []), allowed, "InService or Standby")
    in_service = sum(r["LifecycleState"] == LState.IN_SERVICE for r in recs)
    before, after = _shrunk(doc, in_service, bool(req["ShouldDecrementDesiredCapacity"]))
    now, acts = ctx.clock.now(), []
    for rec in recs:
        elb_link.deregister(ctx.app, ctx.scope, doc.get("TargetGroupARNs") or [], rec["InstanceId"])
        doc["_instances"].pop(rec["InstanceId"], None)
        acts.append(_done(ctx, doc, f"Detaching EC2 instance: {rec['InstanceId']}",
                          f"At {iso(now)} instance {rec['InstanceId']} was detached in response to a user request, "
                          f"shrinking the capacity from {before} to {after}.", activities.SUCCESSFUL))
    doc["DesiredCapacity"] = after
    return _finish(ctx, doc, acts)


OPERATIONS = {
    "EnterStandby": enter_standby,
    "ExitStandby": exit_standby,
    "DetachInstances": detach_instances,
}
