"""Scaling policies of scalable targets: PutScalingPolicy, DescribeScalingPolicies,
DeleteScalingPolicy.

Rules (Application Auto Scaling API reference):

* the target must be registered (ObjectNotFoundException otherwise);
* ``PolicyType`` StepScaling (the default) with a
  ``StepScalingPolicyConfiguration`` (``AdjustmentType``, steps checked by
  :func:`scaling_math.check_steps`, ``MinAdjustmentMagnitude`` only with
  percent, ``Cooldown``), or TargetTrackingScaling with a
  ``TargetTrackingScalingPolicyConfiguration`` (``TargetValue``, one of a
  predefined metric — ECSServiceAverageCPUUtilization,
  ECSServiceAverageMemoryUtilization, ALBRequestCountPerTarget — and a
  customized one, ``ScaleOutCooldown``/``ScaleInCooldown``, ``DisableScaleIn``);
* a target tracking policy creates its alarms (AlarmHigh and, unless scale-in
  is disabled, AlarmLow at 0.9 × target) through CloudWatch's public
  functions, and deleting the policy deletes them;
* putting an existing policy replaces it and keeps its ARN; at most 50 per target.

The pure rules shared with EC2 Auto Scaling (steps, alarms) come from
:mod:`gureum.services.autoscaling` — pure modules both scaling services own.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.applicationautoscaling import ecs_link, names, records
from gureum.services.autoscaling import scaling_math, target_tracking
from gureum.services.cloudwatch import public as cloudwatch

Doc = dict[str, Any]
STEP, TARGET = "StepScaling", "TargetTrackingScaling"
MAX_POLICIES = 50
PREDEFINED = {
    "ECSServiceAverageCPUUtilization": ("AWS/ECS", "CPUUtilization", "Average"),
    "ECSServiceAverageMemoryUtilization": ("AWS/ECS", "MemoryUtilization", "Average"),
    "ALBRequestCountPerTarget": ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum"),
}


def _check_step(cfg: dict[str, Any] | None) -> None:
    if not cfg:
        raise names.invalid("StepScalingPolicyConfiguration is required for a StepScaling policy.")
    kind = cfg.get("AdjustmentType")
    if kind not in {t.value for t in scaling_math.AdjustmentType}:
        raise names.invalid(f"Invalid AdjustmentType: {kind}. Valid values are ChangeInCapacity, ExactCapacity "
                            "and PercentChangeInCapacity.")
    if cfg.get("MinAdjustmentMagnitude") is not None and kind != "PercentChangeInCapacity":
        raise names.invalid("MinAdjustmentMagnitude may only be specified with PercentChangeInCapacity.")
    try:
        scaling_math.parse_steps(cfg.get("StepAdjustments"))
    except scaling_math.StepError as exc:
        raise names.invalid(str(exc)) from None


def _metric(resource_id: str, cfg: dict[str, Any]) -> target_tracking.Metric | list[Doc]:
    def service_dimensions() -> tuple[tuple[str, str], ...]:
        cluster, service = ecs_link.parse(resource_id) or ("", "")
        return (("ClusterName", cluster), ("ServiceName", service))

    try:
        return target_tracking.tracked(cfg, PREDEFINED, service_dimensions,
                                       "Unsupported predefined metric type {kind} for an ECS service.")
    except target_tracking.TrackingError as exc:
        raise names.invalid(str(exc)) from None


def _alarms(ctx: RequestContext, target: Doc, arn: str, cfg: dict[str, Any]) -> list[dict[str, str]]:
    if float(cfg["TargetValue"]) <= 0:
        raise names.invalid("TargetValue must be greater than 0.")
    metric = _metric(target["ResourceId"], cfg)
    wanted = target_tracking.alarm_requests(target["ResourceId"], arn, metric, float(cfg["TargetValue"]),
                                            bool(cfg.get("DisableScaleIn")), target_tracking.AAS_LOW_RATIO)
    made: list[str] = []
    for alarm in wanted:
        try:
            cloudwatch.put_metric_alarm(ctx.app, ctx.scope, alarm)
        except ServiceError as exc:
            cloudwatch.delete_alarms(ctx.app, ctx.scope, made)  # nothing half-created
            raise names.invalid(f"The target tracking alarm could not be created: {exc.message}") from None
        made.append(alarm["AlarmName"])
    return [{"AlarmName": n, "AlarmARN": f"arn:aws:cloudwatch:{ctx.region}:{ctx.account}:alarm:{n}"} for n in made]


def put_scaling_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    target = records.require_target(ctx, req)
    tkey = names.target_key(target["ServiceNamespace"], target["ScalableDimension"], target["ResourceId"])
    key = names.child_key(tkey, req["PolicyName"])
    existing = ctx.store.get(names.POLICY, ctx.scope, key)
    if existing is None and len(records.children(ctx.app, names.POLICY, ctx.scope, tkey)) >= MAX_POLICIES:
        raise names.limit_exceeded(f"You have reached the limit of {MAX_POLICIES} scaling policies per target.")
    kind = req.get("PolicyType") or STEP
    arn = existing["PolicyARN"] if existing else names.policy_arn(ctx.scope, target["ServiceNamespace"],
                                                                    target["ResourceId"], req["PolicyName"])
    doc: Doc = {"PolicyARN": arn, "PolicyName": req["PolicyName"], "ServiceNamespace": target["ServiceNamespace"],
                "ResourceId": target["ResourceId"], "ScalableDimension": target["ScalableDimension"],
                "PolicyType": kind, "CreationTime": existing["CreationTime"] if existing else ctx.clock.now(),
                "Alarms": []}
    if kind == STEP:
        cfg = req.get("StepScalingPolicyConfiguration")
        _check_step(cfg)
        doc["StepScalingPolicyConfiguration"] = {"MetricAggregationType": "Average", **(cfg or {})}
    elif kind == TARGET:
        cfg = req.get("TargetTrackingScalingPolicyConfiguration")
        if not cfg:
            raise names.invalid("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling "
                                "policy.")
        doc["TargetTrackingScalingPolicyConfiguration"] = {**cfg, "DisableScaleIn": bool(cfg.get("DisableScaleIn"))}
        doc["Alarms"] = _alarms(ctx, target, arn, cfg)
    else:
        raise names.invalid(f"Policy type {kind} is not supported by Gureum (StepScaling and TargetTrackingScaling "
                            "are).")
    if existing is not None:
        records.drop_alarms(ctx.app, ctx.scope, existing)
    ctx.store.put(names.POLICY, ctx.scope, key, doc)
    return {"PolicyARN": arn, "Alarms": doc["Alarms"]}


def _view(ctx: RequestContext, doc: Doc) -> Doc:
    out = dict(doc)
    if doc["PolicyType"] == STEP:
        out["Alarms"] = cloudwatch.alarms_with_action(ctx.app, ctx.scope, doc["PolicyARN"])
    return out


def describe_scaling_policies(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    wanted = set(req.get("PolicyNames") or [])
    docs = [d for _, d in ctx.store.list(names.POLICY, ctx.scope, prefix=f"{req['ServiceNamespace']}|")
            if (not wanted or d["PolicyName"] in wanted)
            and (not req.get("ResourceId") or d["ResourceId"] == req["ResourceId"])
            and (not req.get("ScalableDimension") or d["ScalableDimension"] == req["ScalableDimension"])]
    from gureum.services.applicationautoscaling.activities import page

    items, token = page(docs, lambda d: d["PolicyARN"], req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {"ScalingPolicies": [_view(ctx, d) for d in items]}
    if token:
        out["NextToken"] = token
    return out


def delete_scaling_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    tkey = names.target_key(req["ServiceNamespace"], req["ScalableDimension"], req["ResourceId"])
    key = names.child_key(tkey, req["PolicyName"])
    doc = ctx.store.get(names.POLICY, ctx.scope, key)
    if doc is None:
        raise names.not_found(f"No scaling policy found for service namespace: {req['ServiceNamespace']}, resource "
                              f"ID: {req['ResourceId']}, scalable dimension: {req['ScalableDimension']}, policy name: "
                              f"{req['PolicyName']}")
    ctx.store.delete(names.POLICY, ctx.scope, key)
    records.drop_alarms(ctx.app, ctx.scope, doc)
    return {}


OPERATIONS = {
    "PutScalingPolicy": put_scaling_policy,
    "DescribeScalingPolicies": describe_scaling_policies,
    "DeleteScalingPolicy": delete_scaling_policy,
}
