"""AttachInstances: running EC2 instances join a group.

Rules (EC2 Auto Scaling API reference "AttachInstances", user guide "Attach
EC2 instances to your Auto Scaling group"):

* each instance must exist, be ``running``, belong to no Auto Scaling group
  (this one included) and sit in one of the group's Availability Zones;
* the desired capacity grows by the number attached, and the request fails
  (nothing attached) when that would exceed ``MaxSize``;
* an attached instance is tagged ``aws:autoscaling:groupName`` and gets an
  ``Attaching an existing EC2 instance: i-…`` activity whose cause is AWS's
  "an instance was added in response to user request.  Keeping the capacity
  at the new N.";
* it then goes the way of a launched instance: it enters as ``Pending``, so
  launch lifecycle hooks hold it (AWS applies them to attached instances),
  and on entering service it registers with the group's target groups and
  its activity succeeds (:mod:`member_steps`).

The handler records the members and wakes the controller; it never waits.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.autoscaling import activities, lifecycle, names, records
from gureum.services.autoscaling.fleet import GROUP_TAG, Fleet, fleet_for

Doc = dict[str, Any]
MAX_IDS = 20


def _owner_of(ctx: RequestContext, instance_id: str) -> str | None:
    for doc in records.all_groups(ctx.store, ctx.scope):
        rec = (doc.get("_instances") or {}).get(instance_id)
        if rec is not None and rec["LifecycleState"] != lifecycle.LState.TERMINATED:
            return str(doc["AutoScalingGroupName"])
    return None


def _check_instance(ctx: RequestContext, fleet: Fleet, group: Doc, iid: str) -> Doc:
    """What EC2 says about an instance that may join ``group`` (ValidationError when it may not)."""
    shown = fleet.describe_instance(ctx.scope, iid)
    if shown is None:
        raise names.invalid(f"Instance Id not found - The instance ID '{iid}' does not exist")
    owner = _owner_of(ctx, iid) or shown["Tags"].get(GROUP_TAG)
    if owner:
        raise names.invalid(f"The instance {iid} is already part of the Auto Scaling group {owner}.")
    if shown["State"] != "running":
        raise names.invalid(f"Instance {iid} is not in the running state (it is {shown['State']}); only running "
                            "instances can be attached to an Auto Scaling group.")
    zones = list(group.get("AvailabilityZones") or [])
    if shown["AvailabilityZone"] not in zones:
        raise names.invalid(f"The instance {iid} is in Availability Zone {shown['AvailabilityZone']}, which is not "
                            f"one of the Availability Zones of the Auto Scaling group "
                            f"{group['AutoScalingGroupName']} ({', '.join(zones)}).")
    return shown


def attach_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["AutoScalingGroupName"]
    group = records.require_group(ctx.store, ctx.scope, name)
    if group.get("_deleting"):
        raise names.activity_in_progress(f"The group {name} is being deleted.")
    ids = list(dict.fromkeys(req.get("InstanceIds") or []))
    if len(ids) > MAX_IDS:
        raise names.invalid(f"The number of instance ids that may be passed in is limited to {MAX_IDS}.")
    if not ids:
        return {}
    fleet = fleet_for(ctx.app)
    found = {iid: _check_instance(ctx, fleet, group, iid) for iid in ids}
    desired = int(group["DesiredCapacity"]) + len(ids)
    if desired > int(group["MaxSize"]):
        raise names.invalid(f"Desired capacity:{desired} must be between the specified min size:{group['MinSize']} "
                            f"and max size:{group['MaxSize']}")
    now = ctx.clock.now()
    with ctx.store.transaction():  # the tags, the activities and the members: all or nothing
        for iid, shown in found.items():
            fleet.tag(ctx.scope, iid, {GROUP_TAG: name})
            zone = shown["AvailabilityZone"]
            key = activities.start(ctx.store, ctx.scope, group, f"Attaching an existing EC2 instance: {iid}",
                                   activities.attach_sentence(desired, now), now, details={"Availability Zone": zone},
                                   progress=50)
            group.setdefault("_instances", {})[iid] = {
                "InstanceId": iid, "AvailabilityZone": zone, "LifecycleState": lifecycle.LState.PENDING.value,
                "HealthStatus": "Healthy", "ProtectedFromScaleIn": bool(group.get("NewInstancesProtectedFromScaleIn")),
                "InstanceType": shown.get("InstanceType") or "m1.small", "_launchedAt": now, "_launchedFor": "attach",
                "_subnet": shown.get("SubnetId") or "", "_activity": key,
            }
        group["DesiredCapacity"] = desired
        records.save_group(ctx.store, ctx.scope, group)
    records.enqueue(ctx.app, ctx.scope, name)
    return {}


OPERATIONS = {"AttachInstances": attach_instances}
