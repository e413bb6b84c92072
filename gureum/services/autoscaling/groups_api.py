"""Group operations: CreateAutoScalingGroup, UpdateAutoScalingGroup,
DeleteAutoScalingGroup, DescribeAutoScalingGroups, DescribeAutoScalingInstances.

Handlers record intent and wake the group controller, which launches and
terminates the instances.  A change of the desired capacity leaves its
explanation on the group (``_cause``) for the activities the controller
records.  DeleteAutoScalingGroup refuses a group with instances or running
activities unless ``ForceDelete``; a forced delete shows the group as
"Delete in progress" until the controller has terminated every instance.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.autoscaling import activities, elb_link, names, records, validation
from gureum.services.autoscaling.fleet import TemplateRef, fleet_for

Doc = dict[str, Any]

_COPIED = ("HealthCheckType", "HealthCheckGracePeriod", "DefaultCooldown", "NewInstancesProtectedFromScaleIn",
           "DefaultInstanceWarmup", "MaxInstanceLifetime", "CapacityRebalance", "Context", "PlacementGroup")


def _service_role(ctx: RequestContext) -> str:
    return (f"arn:aws:iam::{ctx.account}:role/aws-service-role/autoscaling.amazonaws.com/"
            "AWSServiceRoleForAutoScaling")


def _set_source(doc: Doc, req: dict[str, Any], ref: TemplateRef | None) -> None:
    for key in ("LaunchTemplate", "LaunchConfigurationName", "MixedInstancesPolicy", "_template"):
        doc.pop(key, None)
    if req.get("LaunchConfigurationName"):
        doc["LaunchConfigurationName"] = req["LaunchConfigurationName"]
        return
    assert ref is not None
    spec = validation.template_spec(req) or {}
    shown = {"LaunchTemplateId": ref.template_id, "LaunchTemplateName": ref.name,
             "Version": str(spec.get("Version") or "$Default")}
    if req.get("MixedInstancesPolicy"):
        mixed = dict(req["MixedInstancesPolicy"])
        mixed["LaunchTemplate"] = {**mixed["LaunchTemplate"], "LaunchTemplateSpecification": shown}
        doc["MixedInstancesPolicy"] = mixed
    else:
        doc["LaunchTemplate"] = shown
    doc["_template"] = {"LaunchTemplateId": ref.template_id, "Version": ref.version}


def _check_target_groups(ctx: RequestContext, arns: list[str]) -> None:
    for arn in arns:
        if elb_link.target_group_exists(ctx.app, ctx.scope, arn) is False:
            raise names.invalid("Provided Target Groups may not be valid. Please ensure they exist and try again.")


def create_auto_scaling_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["AutoScalingGroupName"]
    if records.get_group(ctx.store, ctx.scope, name) is not None:
        raise names.already_exists(f"AutoScalingGroup by this name already exists - A group with the name {name} "
                                   "already exists")
    fleet = fleet_for(ctx.app)
    ref = validation.check_source(ctx.store, ctx.scope, fleet, req)
    min_size, max_size = int(req["MinSize"]), int(req["MaxSize"])
    desired = req.get("DesiredCapacity")
    validation.check_sizes(min_size, max_size, None if desired is None else int(desired))
    desired = min_size if desired is None else int(desired)
    zones, subnets = validation.check_zones(ctx.scope, fleet, req.get("AvailabilityZones"), req.get("VPCZoneIdentifier"))
    validation.check_options(req)
    target_groups = list(req.get("TargetGroupARNs") or [])
    _check_target_groups(ctx, target_groups)
    now = ctx.clock.now()
    doc: Doc = {
        "AutoScalingGroupName": name,
        "AutoScalingGroupARN": names.group_arn(ctx.scope, name),
        "MinSize": min_size, "MaxSize": max_size, "DesiredCapacity": desired,
        "DefaultCooldown": 300, "AvailabilityZones": zones, "VPCZoneIdentifier": subnets,
        "LoadBalancerNames": [], "TargetGroupARNs": target_groups,
        "HealthCheckType": "EC2", "HealthCheckGracePeriod": 0, "CreatedTime": now,
        "SuspendedProcesses": [], "EnabledMetrics": [],
        "Tags": validation.check_tags(name, list(req.get("Tags") or [])),
        "TerminationPolicies": list(req.get("TerminationPolicies") or ["Default"]),
        "NewInstancesProtectedFromScaleIn": False, "ServiceLinkedRoleARN": _service_role(ctx),
        "CapacityRebalance": False, "_instances": {},
    }
    doc.update({k: req[k] for k in _COPIED if req.get(k) is not None})
    _set_source(doc, req, ref)
    if desired:
        doc["_cause"] = activities.desired_cause("a user request created an AutoScalingGroup", 0, desired, now)
    records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, name)
    return {}


def _new_sizes(doc: Doc, req: dict[str, Any]) -> tuple[int, int, int]:
    min_size = int(req["MinSize"]) if req.get("MinSize") is not None else int(doc["MinSize"])
    max_size = int(req["MaxSize"]) if req.get("MaxSize") is not None else int(doc["MaxSize"])
    explicit = req.get("DesiredCapacity")
    validation.check_sizes(min_size, max_size, None if explicit is None else int(explicit))
    desired = int(explicit) if explicit is not None else max(min_size, min(max_size, int(doc["DesiredCapacity"])))
    return min_size, max_size, desired


def update_auto_scaling_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["AutoScalingGroupName"]
    doc = records.require_group(ctx.store, ctx.scope, name)
    if doc.get("_deleting"):
        raise names.activity_in_progress(f"The group {name} is being deleted.")
    fleet = fleet_for(ctx.app)
    if any(req.get(k) for k in ("LaunchTemplate", "LaunchConfigurationName", "MixedInstancesPolicy")):
        _set_source(doc, req, validation.check_source(ctx.store, ctx.scope, fleet, req))
    min_size, max_size, desired = _new_sizes(doc, req)
    if req.get("AvailabilityZones") or req.get("VPCZoneIdentifier"):
        zones, subnets = validation.check_zones(ctx.scope, fleet, req.get("AvailabilityZones"),
                                                req.get("VPCZoneIdentifier"))
        doc["AvailabilityZones"], doc["VPCZoneIdentifier"] = zones, subnets
    validation.check_options(req)
    if req.get("TerminationPolicies"):
        doc["TerminationPolicies"] = list(req["TerminationPolicies"])
    doc.update({k: req[k] for k in _COPIED if req.get(k) is not None})
    before = int(doc["DesiredCapacity"])
    doc.update(MinSize=min_size, MaxSize=max_size, DesiredCapacity=desired)
    if desired != before:
        who = "a user request " + activities.constraints(min_size, max_size, desired)
        doc["_cause"] = activities.desired_cause(who, before, desired, ctx.clock.now())
    records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, name)
    return {}


def delete_auto_scaling_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["AutoScalingGroupName"]
    doc = records.require_group(ctx.store, ctx.scope, name)
    force = bool(req.get("ForceDelete"))
    if doc.get("_deleting"):
        return {}
    if records.members(doc) and not force:
        raise names.in_use("You cannot delete an AutoScalingGroup while there are instances or pending Spot "
                           "instance request(s) still in the group.")
    if activities.in_progress(ctx.store, ctx.scope, name) and not force:
        raise names.activity_in_progress("You cannot delete an AutoScalingGroup while there are scaling "
                                         "activities in progress for that group.")
    if not records.members(doc):
        from gureum.services.autoscaling.controller import forget_group

        forget_group(ctx.app, ctx.scope, name)
        return {}
    doc.update(_deleting=True, MinSize=0, MaxSize=0, DesiredCapacity=0, _cause=None)
    records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, name)
    return {}


def _tag_filter(doc: Doc, filters: list[Doc]) -> bool:
    tags = {t["Key"]: t["Value"] for t in doc.get("Tags") or []}
    for f in filters:
        fname, values = f.get("Name", ""), list(f.get("Values") or [])
        if fname.startswith("tag:"):
            if tags.get(fname[4:]) not in values:
                return False
        elif fname == "tag-key":
            if not any(v in tags for v in values):
                return False
        elif fname == "tag-value":
            if not any(v in tags.values() for v in values):
                return False
        else:
            raise names.invalid(f"Filter name {fname} is not valid.")
    return True


def describe_auto_scaling_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    wanted = set(req.get("AutoScalingGroupNames") or [])
    docs = [d for d in records.all_groups(ctx.store, ctx.scope)
            if (not wanted or d["AutoScalingGroupName"] in wanted) and _tag_filter(d, list(req.get("Filters") or []))]
    items, token = names.page(docs, lambda d: d["AutoScalingGroupName"], req.get("MaxRecords"), req.get("NextToken"))
    out: dict[str, Any] = {"AutoScalingGroups": [records.group_view(d) for d in items]}
    if token:
        out["NextToken"] = token
    return out


def describe_auto_scaling_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    wanted = set(req.get("InstanceIds") or [])
    found: list[Doc] = []
    for doc in records.all_groups(ctx.store, ctx.scope):
        for rec in records.members(doc):
            if (wanted and rec["InstanceId"] not in wanted) or rec["LifecycleState"] == "Terminated":
                continue
            view = records.member_view(rec)
            view["AutoScalingGroupName"] = doc["AutoScalingGroupName"]
            view["HealthStatus"] = str(rec["HealthStatus"]).upper()  # HEALTHY here, Healthy in the group
            found.append(view)
    found.sort(key=lambda v: v["InstanceId"])
    items, token = names.page(found, lambda v: v["InstanceId"], req.get("MaxRecords"), req.get("NextToken"))
    out: dict[str, Any] = {"AutoScalingInstances": items}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS = {
    "CreateAutoScalingGroup": create_auto_scaling_group,
    "UpdateAutoScalingGroup": update_auto_scaling_group,
    "DeleteAutoScalingGroup": delete_auto_scaling_group,
    "DescribeAutoScalingGroups": describe_auto_scaling_groups,
    "DescribeAutoScalingInstances": describe_auto_scaling_instances,
}
