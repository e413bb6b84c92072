"""Operations on a group's capacity and members: SetDesiredCapacity,
TerminateInstanceInAutoScalingGroup, SetInstanceHealth, SetInstanceProtection,
Suspend/ResumeProcesses, Enable/DisableMetricsCollection, Attach/Detach/
DescribeLoadBalancerTargetGroups, and the static Describe*Types lists.

Rules (EC2 Auto Scaling API reference):

* SetDesiredCapacity stays within [MinSize, MaxSize]; with ``HonorCooldown``
  it is refused (ScalingActivityInProgress) while a simple-scaling cooldown
  or the activity before it runs.
* TerminateInstanceInAutoScalingGroup takes the instance out at once
  (Terminating, lifecycle hooks apply) and answers with the activity; with
  ``ShouldDecrementDesiredCapacity`` the desired capacity drops by one (not
  below MinSize), else a replacement is launched.
* SetInstanceHealth with ``ShouldRespectGracePeriod`` (the default) ignores
  an Unhealthy report during the health check grace period.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.autoscaling import activities, elb_link, lifecycle, names, records
from gureum.services.autoscaling.member_ops import take_out
from gureum.services.autoscaling.policy_exec import cooldown_block

Doc = dict[str, Any]


def set_desired_capacity(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    wanted = int(req["DesiredCapacity"])
    if wanted > int(doc["MaxSize"]):
        raise names.invalid(f"New SetDesiredCapacity value {wanted} is above max value {doc['MaxSize']} for the "
                            "AutoScalingGroup.")
    if wanted < int(doc["MinSize"]):
        raise names.invalid(f"New SetDesiredCapacity value {wanted} is below min value {doc['MinSize']} for the "
                            "AutoScalingGroup.")
    now = ctx.clock.now()
    if req.get("HonorCooldown"):
        blocked = cooldown_block(ctx.store, ctx.scope, doc, now)
        if blocked:
            raise names.activity_in_progress(blocked)
    before = int(doc["DesiredCapacity"])
    if wanted != before:
        doc["DesiredCapacity"] = wanted
        doc["_cause"] = activities.desired_cause("a user request explicitly set group desired capacity",
                                                 before, wanted, now)
        records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, doc["AutoScalingGroupName"])
    return {}


def _owner(ctx: RequestContext, instance_id: str) -> tuple[Doc, Doc]:
    for doc in records.all_groups(ctx.store, ctx.scope):
        rec = (doc.get("_instances") or {}).get(instance_id)
        if rec is not None and rec["LifecycleState"] != lifecycle.LState.TERMINATED:
            return doc, rec
    raise names.invalid(f"Instance Id not found - No managed instance found for instance ID: {instance_id}")


def terminate_instance_in_auto_scaling_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc, rec = _owner(ctx, req["InstanceId"])
    if rec["LifecycleState"] not in lifecycle.ACTIVE_STATES:
        raise names.activity_in_progress(f"Instance {rec['InstanceId']} is already being terminated.")
    decrement = bool(req["ShouldDecrementDesiredCapacity"])
    desired = int(doc["DesiredCapacity"])
    if decrement and desired - 1 < int(doc["MinSize"]):
        raise names.invalid(
            f"Currently, desiredSize equals minSize ({doc['MinSize']}). Terminating instance without replacement "
            "will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or "
            "lower group's min size.")
    now = ctx.clock.now()
    shrink = (desired, desired - 1) if decrement else None
    key = take_out(ctx.app, ctx.scope, doc, rec, activities.user_terminate_sentence(rec["InstanceId"], now, shrink), now)
    if decrement:
        doc["DesiredCapacity"] = desired - 1
    records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, doc["AutoScalingGroupName"])
    activity = ctx.store.get(names.ACTIVITY, ctx.scope, key) or {}
    return {"Activity": activity}


def set_instance_health(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc, rec = _owner(ctx, req["InstanceId"])
    status = req["HealthStatus"]
    if status not in ("Healthy", "Unhealthy"):
        raise names.invalid(f"Health status {status} is not valid. Valid values are Healthy and Unhealthy.")
    grace = int(doc.get("HealthCheckGracePeriod") or 0)
    started = rec.get("_inServiceAt") or rec.get("_launchedAt") or 0.0
    if status == "Unhealthy" and req.get("ShouldRespectGracePeriod", True) is not False \
            and ctx.clock.now() < float(started) + grace:
        return {}  # within the grace period: ignored, as AWS does
    rec["HealthStatus"] = status
    rec["_healthSource"] = "user" if status == "Unhealthy" else None
    records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, doc["AutoScalingGroupName"])
    return {}


def set_instance_protection(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    instances = doc.get("_instances") or {}
    for iid in req["InstanceIds"]:
        if iid not in instances:
            raise names.invalid(f"The instance {iid} is not part of Auto Scaling group "
                                f"{doc['AutoScalingGroupName']}.")
    for iid in req["InstanceIds"]:
        instances[iid]["ProtectedFromScaleIn"] = bool(req["ProtectedFromScaleIn"])
    records.save_group(ctx.store, ctx.scope, doc)
    return {}


def _processes(req: dict[str, Any]) -> list[str]:
    chosen = list(req.get("ScalingProcesses") or names.PROCESSES)
    for p in chosen:
        if p not in names.PROCESSES:
            raise names.invalid(f"Invalid scaling process: {p}. Valid processes are {', '.join(names.PROCESSES)}.")
    return chosen


def suspend_processes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    have = {p["ProcessName"]: p for p in doc.get("SuspendedProcesses") or []}
    reason = f"User suspended at {names.iso(ctx.clock.now())}"
    for p in _processes(req):
        have.setdefault(p, {"ProcessName": p, "SuspensionReason": reason})
    doc["SuspendedProcesses"] = list(have.values())
    records.save_group(ctx.store, ctx.scope, doc)
    return {}


def resume_processes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    gone = set(_processes(req))
    doc["SuspendedProcesses"] = [p for p in doc.get("SuspendedProcesses") or [] if p["ProcessName"] not in gone]
    records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, doc["AutoScalingGroupName"])
    return {}


def enable_metrics_collection(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    if req["Granularity"] != "1Minute":
        raise names.invalid(f"Invalid granularity: {req['Granularity']}. The only valid value is 1Minute.")
    metrics = list(req.get("Metrics") or names.METRICS)
    for m in metrics:
        if m not in names.METRICS:
            raise names.invalid(f"Invalid metric name: {m}.")
    have = {m["Metric"] for m in doc.get("EnabledMetrics") or []}
    doc["EnabledMetrics"] = [{"Metric": m, "Granularity": "1Minute"} for m in names.METRICS if m in have | set(metrics)]
    records.save_group(ctx.store, ctx.scope, doc)
    records.enqueue(ctx.app, ctx.scope, doc["AutoScalingGroupName"])
    return {}


def disable_metrics_collection(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    gone = set(req.get("Metrics") or names.METRICS)
    doc["EnabledMetrics"] = [m for m in doc.get("EnabledMetrics") or [] if m["Metric"] not in gone]
    records.save_group(ctx.store, ctx.scope, doc)
    return {}


def attach_load_balancer_target_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    new = [a for a in req["TargetGroupARNs"] if a not in (doc.get("TargetGroupARNs") or [])]
    for arn in new:
        if elb_link.target_group_exists(ctx.app, ctx.scope, arn) is False:
            raise names.invalid("Provided Target Groups may not be valid. Please ensure they exist and try again.")
    doc["TargetGroupARNs"] = list(doc.get("TargetGroupARNs") or []) + new
    for rec in records.members(doc):
        if rec["LifecycleState"] == lifecycle.LState.IN_SERVICE:
            elb_link.register(ctx.app, ctx.scope, new, rec["InstanceId"])
    records.save_group(ctx.store, ctx.scope, doc)
    return {}


def detach_load_balancer_target_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    gone = [a for a in req["TargetGroupARNs"] if a in (doc.get("TargetGroupARNs") or [])]
    doc["TargetGroupARNs"] = [a for a in doc.get("TargetGroupARNs") or [] if a not in gone]
    for rec in records.members(doc):
        elb_link.deregister(ctx.app, ctx.scope, gone, rec["InstanceId"])
    records.save_group(ctx.store, ctx.scope, doc)
    return {}


def describe_load_balancer_target_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    return {"LoadBalancerTargetGroups": [{"LoadBalancerTargetGroupARN": a, "State": "InService"}
                                         for a in doc.get("TargetGroupARNs") or []]}


def _static(**answer: Any) -> Any:
    def handler(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return dict(answer)

    return handler


OPERATIONS = {
    "SetDesiredCapacity": set_desired_capacity,
    "TerminateInstanceInAutoScalingGroup": terminate_instance_in_auto_scaling_group,
    "SetInstanceHealth": set_instance_health,
    "SetInstanceProtection": set_instance_protection,
    "SuspendProcesses": suspend_processes,
    "ResumeProcesses": resume_processes,
    "EnableMetricsCollection": enable_metrics_collection,
    "DisableMetricsCollection": disable_metrics_collection,
    "AttachLoadBalancerTargetGroups": attach_load_balancer_target_groups,
    "DetachLoadBalancerTargetGroups": detach_load_balancer_target_groups,
    "DescribeLoadBalancerTargetGroups": describe_load_balancer_target_groups,
    "DescribeScalingProcessTypes": _static(Processes=[{"ProcessName": p} for p in names.PROCESSES]),
    "DescribeMetricCollectionTypes": _static(Metrics=[{"Metric": m} for m in names.METRICS],
                                             Granularities=[{"Granularity": "1Minute"}]),
    "DescribeTerminationPolicyTypes": _static(TerminationPolicyTypes=[
        "ClosestToNextInstanceHour", "Default", "NewestInstance", "OldestInstance", "OldestLaunchConfiguration",
        "OldestLaunchTemplate", "AllocationStrategy"]),
    "DescribeAdjustmentTypes": _static(AdjustmentTypes=[{"AdjustmentType": t} for t in (
        "ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity")]),
    "DescribeLifecycleHookTypes": _static(LifecycleHookTypes=list(lifecycle.TRANSITIONS)),
    "DescribeAccountLimits": _static(MaxNumberOfAutoScalingGroups=500, MaxNumberOfLaunchConfigurations=200,
                                     NumberOfAutoScalingGroups=0, NumberOfLaunchConfigurations=0),
}
