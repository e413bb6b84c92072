"""Scaling policies: PutScalingPolicy, DescribePolicies, DeletePolicy, ExecutePolicy.

Rules (PutScalingPolicy API reference):

* ``PolicyType`` SimpleScaling (default), StepScaling or TargetTrackingScaling
  (PredictiveScaling is not supported by Gureum);
* simple: ``AdjustmentType`` and ``ScalingAdjustment``, optional ``Cooldown``;
* step: ``AdjustmentType`` and ``StepAdjustments`` (checked by
  :func:`scaling_math.check_steps`), optional ``MetricAggregationType`` and
  ``EstimatedInstanceWarmup``; no ``Cooldown``;
* ``MinAdjustmentMagnitude`` only with ``PercentChangeInCapacity``;
* target tracking: one of a predefined and a customized metric and a
  ``TargetValue``; ``ALBRequestCountPerTarget`` needs a ``ResourceLabel``
  naming a target group attached to the group ("Target group not attached
  to the Auto Scaling group" otherwise, as AWS); the policy creates its CloudWatch alarms
  (:mod:`target_tracking`) through CloudWatch's public functions and deletes
  them with the policy; ``Alarms`` of other policies are the alarms that call
  them.

Putting a policy that exists replaces it, keeping its ARN.  Nothing is
half-created: the alarms are made after every check passed.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.autoscaling import names, records, scaling_math, target_tracking
from gureum.services.autoscaling.policy_decide import SIMPLE, STEP, TARGET, Trigger
from gureum.services.autoscaling.policy_exec import cooldown_block, run_policy
from gureum.services.autoscaling.policy_memo import policies_changed
from gureum.services.cloudwatch import public as cloudwatch

Doc = dict[str, Any]
MAX_POLICIES = 50
AGGREGATIONS = ("Minimum", "Maximum", "Average")
_KEEP = ("AdjustmentType", "MinAdjustmentMagnitude", "ScalingAdjustment", "Cooldown", "StepAdjustments",
         "MetricAggregationType", "EstimatedInstanceWarmup", "TargetTrackingConfiguration")
PREDEFINED = {
    "ASGAverageCPUUtilization": ("AWS/EC2", "CPUUtilization", "Average"),
    "ASGAverageNetworkIn": ("AWS/EC2", "NetworkIn", "Average"),
    "ASGAverageNetworkOut": ("AWS/EC2", "NetworkOut", "Average"),
    "ALBRequestCountPerTarget": ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum"),
}


def _check_adjustment(req: dict[str, Any]) -> None:
    kind = req.get("AdjustmentType")
    if kind is None:
        raise names.invalid(f"AdjustmentType is required for a {req.get('PolicyType') or SIMPLE} policy.")
    if kind not in {t.value for t in scaling_math.AdjustmentType}:
        raise names.invalid(f"Invalid adjustment type: {kind}. Valid values are ChangeInCapacity, ExactCapacity "
                            "and PercentChangeInCapacity.")
    if req.get("MinAdjustmentMagnitude") is not None and kind != "PercentChangeInCapacity":
        raise names.invalid("MinAdjustmentMagnitude is only supported with the PercentChangeInCapacity "
                            "adjustment type.")


def _check_steps(req: dict[str, Any]) -> None:
    _check_adjustment(req)
    if req.get("Cooldown") is not None or req.get("ScalingAdjustment") is not None:
        raise names.invalid("Cooldown and ScalingAdjustment are only supported by SimpleScaling policies.")
    agg = req.get("MetricAggregationType")
    if agg is not None and agg not in AGGREGATIONS:
        raise names.invalid(f"Invalid metric aggregation type: {agg}.")
    try:
        scaling_math.parse_steps(req.get("StepAdjustments"))
    except scaling_math.StepError as exc:
        raise names.invalid(str(exc)) from None


def _check_attached(group: Doc, dims: tuple[tuple[str, str], ...]) -> None:
    """The ResourceLabel's target group must be one of the group's (``targetgroup/<name>/<id>``)."""
    wanted = dict(dims)["TargetGroup"]
    if not any(arn.endswith(":" + wanted) for arn in group.get("TargetGroupARNs") or []):
        raise names.invalid("Target group not attached to the Auto Scaling group")


def tracked_metric(group: Doc, config: dict[str, Any]) -> target_tracking.Metric | list[Doc]:
    own = (("AutoScalingGroupName", str(group["AutoScalingGroupName"])),)
    try:
        metric = target_tracking.tracked(config, PREDEFINED, lambda: own, "Unsupported predefined metric type: {kind}.")
    except target_tracking.TrackingError as exc:
        raise names.invalid(str(exc)) from None
    kind = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    if isinstance(metric, target_tracking.Metric) and kind == "ALBRequestCountPerTarget":
        _check_attached(group, metric.dimensions)
    return metric


def _check(req: dict[str, Any], group: Doc) -> target_tracking.Metric | list[Doc] | None:
    kind = req.get("PolicyType") or SIMPLE
    if kind == SIMPLE:
        _check_adjustment(req)
        if req.get("ScalingAdjustment") is None:
            raise names.invalid("ScalingAdjustment is required for a SimpleScaling policy.")
    elif kind == STEP:
        _check_steps(req)
    elif kind == TARGET:
        config = req.get("TargetTrackingConfiguration")
        if not config:
            raise names.invalid("TargetTrackingConfiguration is required for a TargetTrackingScaling policy.")
        if float(config["TargetValue"]) <= 0:
            raise names.invalid("The TargetValue must be greater than 0.")
        return tracked_metric(group, config)
    else:
        raise names.invalid(f"Policy type {kind} is not supported by Gureum (SimpleScaling, StepScaling and "
                            "TargetTrackingScaling are).")
    return None


def drop_alarms(ctx_app: Any, scope: Scope, policy: Doc) -> None:
    cloudwatch.delete_alarms(ctx_app, scope, [a["AlarmName"] for a in policy.get("Alarms") or []]
                             if policy["PolicyType"] == TARGET else [])


def put_scaling_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    name = req["PolicyName"]
    key = names.child_key(group["AutoScalingGroupName"], name)
    existing = ctx.store.get(names.POLICY, ctx.scope, key)
    if existing is None and ctx.store.count(names.POLICY, ctx.scope, f"{group['AutoScalingGroupName']}/") >= MAX_POLICIES:
        raise names.limit_exceeded(f"You have reached the limit of {MAX_POLICIES} scaling policies for this group.")
    metric = _check(req, group)
    kind = req.get("PolicyType") or SIMPLE
    arn = existing["PolicyARN"] if existing else names.policy_arn(ctx.scope, group["AutoScalingGroupName"], name)
    doc: Doc = {"AutoScalingGroupName": group["AutoScalingGroupName"], "PolicyName": name, "PolicyARN": arn,
                "PolicyType": kind, "Enabled": req.get("Enabled", True) is not False}
    doc.update({k: req[k] for k in _KEEP if req.get(k) is not None})
    if kind == STEP:
        doc.setdefault("MetricAggregationType", "Average")
    alarms: list[dict[str, str]] = []
    if kind == TARGET:
        assert metric is not None
        config = doc["TargetTrackingConfiguration"]
        config["DisableScaleIn"] = bool(config.get("DisableScaleIn"))
        wanted = target_tracking.alarm_requests(group["AutoScalingGroupName"], arn, metric,
                                                float(config["TargetValue"]), config["DisableScaleIn"],
                                                target_tracking.EC2_LOW_RATIO)
        made: list[str] = []
        for alarm in wanted:
            try:
                cloudwatch.put_metric_alarm(ctx.app, ctx.scope, alarm)
            except ServiceError as exc:
                cloudwatch.delete_alarms(ctx.app, ctx.scope, made)  # nothing half-created
                raise names.invalid(f"The target tracking alarm could not be created: {exc.message}") from None
            made.append(alarm["AlarmName"])
        if existing is not None:
            drop_alarms(ctx.app, ctx.scope, existing)
        alarms = [{"AlarmName": a["AlarmName"],
                   "AlarmARN": f"arn:aws:cloudwatch:{ctx.region}:{ctx.account}:alarm:{a['AlarmName']}"} for a in wanted]
        doc["Alarms"] = alarms
    elif existing is not None:
        drop_alarms(ctx.app, ctx.scope, existing)
    ctx.store.put(names.POLICY, ctx.scope, key, doc)
    policies_changed(ctx.store)
    return {"PolicyARN": arn, "Alarms": alarms}


def _view(ctx: RequestContext, doc: Doc) -> Doc:
    out = dict(doc)
    if doc["PolicyType"] != TARGET:
        out["Alarms"] = cloudwatch.alarms_with_action(ctx.app, ctx.scope, doc["PolicyARN"])
    return out


def describe_policies(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = req.get("AutoScalingGroupName")
    wanted = set(req.get("PolicyNames") or [])
    types = set(req.get("PolicyTypes") or [])
    docs = [d for _, d in ctx.store.list(names.POLICY, ctx.scope, prefix=f"{group}/" if group else "")
            if (not wanted or d["PolicyName"] in wanted or d["PolicyARN"] in wanted)
            and (not types or d["PolicyType"] in types)]
    items, token = names.page(docs, lambda d: f"{d['AutoScalingGroupName']}/{d['PolicyName']}",
                              req.get("MaxRecords"), req.get("NextToken"))
    out: dict[str, Any] = {"ScalingPolicies": [_view(ctx, d) for d in items]}
    if token:
        out["NextToken"] = token
    return out


def find(ctx: RequestContext, group: str | None, ref: str) -> tuple[str, Doc]:
    for key, doc in ctx.store.list(names.POLICY, ctx.scope, prefix=f"{group}/" if group else ""):
        if ref in (doc["PolicyName"], doc["PolicyARN"]):
            return key, doc
    if group is not None:
        records.require_group(ctx.store, ctx.scope, group)
    raise names.invalid(f"The policy {ref} does not exist" + (f" in the group {group}." if group else "."))


def delete_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    key, doc = find(ctx, req.get("AutoScalingGroupName"), req["PolicyName"])
    ctx.store.delete(names.POLICY, ctx.scope, key)
    policies_changed(ctx.store)
    drop_alarms(ctx.app, ctx.scope, doc)
    return {}


def execute_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, policy = find(ctx, req.get("AutoScalingGroupName"), req["PolicyName"])
    kind = policy["PolicyType"]
    if kind == TARGET:
        raise names.invalid("ExecutePolicy is not supported for a TargetTrackingScaling policy.")
    metric, threshold = req.get("MetricValue"), req.get("BreachThreshold")
    if kind == STEP and (metric is None or threshold is None):
        raise names.invalid("MetricValue and BreachThreshold are required to execute a StepScaling policy.")
    honor = bool(req.get("HonorCooldown"))
    if kind == SIMPLE and honor:
        group = records.require_group(ctx.store, ctx.scope, policy["AutoScalingGroupName"])
        blocked = cooldown_block(ctx.store, ctx.scope, group, ctx.clock.now())
        if blocked:
            raise names.activity_in_progress(blocked)
    run_policy(ctx.app, ctx.scope, policy, Trigger("ALARM", metric, threshold),
               who=f"a user request executed policy {policy['PolicyName']}", honor_cooldown=honor)
    return {}


def drop_group_policies(app: Any, scope: Scope, group: str) -> None:
    for key, doc in app.store.list(names.POLICY, scope, prefix=f"{group}/"):
        app.store.delete(names.POLICY, scope, key)
        policies_changed(app.store)
        drop_alarms(app, scope, doc)


OPERATIONS = {
    "PutScalingPolicy": put_scaling_policy,
    "DescribePolicies": describe_policies,
    "DeletePolicy": delete_policy,
    "ExecutePolicy": execute_policy,
}
