"""Running a target's policy when its CloudWatch alarm calls.

CloudWatch dispatches alarm actions on the bus (``cloudwatch.alarm_action``,
re-invoked every period while the alarm stays in ALARM); the ones whose ARN
is one of our policies (``…:scalingPolicy:…:resource/…``) run here:

1. the direction the policy asks for (the step's sign, or the metric against
   the target value) — never on INSUFFICIENT_DATA or OK;
2. the target's suspended state (``DynamicScalingOut/InSuspended``) and its
   cooldowns (:func:`cooldown.gate`: a scale-out during a scale-out cooldown
   counts from the capacity before it; no scale-in in any cooldown);
3. the pure :func:`policy_decide.decide` on the resource's current capacity
   (the ECS service's desiredCount) within [MinCapacity, MaxCapacity];
4. a change is made through :func:`activities.scale_to` (an activity) and
   the cooldown of its direction starts (step ``Cooldown``, or
   ``ScaleOutCooldown``/``ScaleInCooldown``; 300 s by default for ECS).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.applicationautoscaling import activities, ecs_link, names
from gureum.services.autoscaling import cooldown, scaling_math
from gureum.services.autoscaling.cooldown import Cooldowns, Direction
from gureum.services.autoscaling.policy_decide import Capacity, Outcome, PolicySpec, Trigger, decide

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.applicationautoscaling")

Doc = dict[str, Any]
ACTION_TOPIC = "cloudwatch.alarm_action"


def spec_of(policy: Doc) -> PolicySpec:
    if policy["PolicyType"] == "TargetTrackingScaling":
        cfg = policy["TargetTrackingScalingPolicyConfiguration"]
        return PolicySpec("TargetTrackingScaling", target=float(cfg["TargetValue"]),
                          disable_scale_in=bool(cfg.get("DisableScaleIn")))
    cfg = policy["StepScalingPolicyConfiguration"]
    steps = tuple(scaling_math.Step(s.get("MetricIntervalLowerBound"), s.get("MetricIntervalUpperBound"),
                                    int(s["ScalingAdjustment"])) for s in cfg.get("StepAdjustments") or [])
    return PolicySpec("StepScaling", cfg["AdjustmentType"], min_magnitude=cfg.get("MinAdjustmentMagnitude"),
                      steps=steps)


def wanted_direction(spec: PolicySpec, current: int, trigger: Trigger) -> Direction | None:
    if trigger.metric is None:
        return None
    if spec.kind == "TargetTrackingScaling":
        assert spec.target is not None
        if trigger.metric == spec.target:
            return None
        return Direction.OUT if trigger.metric > spec.target else Direction.IN
    if trigger.threshold is None:
        return None
    step = scaling_math.pick_step(spec.steps, trigger.metric, trigger.threshold)
    if step is None:
        return None
    if spec.adjustment_type == scaling_math.AdjustmentType.EXACT:
        return cooldown.direction(current, step.adjustment)
    return cooldown.direction(0, step.adjustment)


def cooldown_seconds(policy: Doc, way: Direction) -> int:
    if policy["PolicyType"] == "TargetTrackingScaling":
        cfg = policy["TargetTrackingScalingPolicyConfiguration"]
        value = cfg.get("ScaleOutCooldown" if way is Direction.OUT else "ScaleInCooldown")
    else:
        value = policy["StepScalingPolicyConfiguration"].get("Cooldown")
    return cooldown.AAS_DEFAULT_COOLDOWN if value is None else int(value)


def run_policy(app: App, scope: Scope, target: Doc, policy: Doc, trigger: Trigger, cause: str) -> Outcome:
    current = ecs_link.current(app, scope, target["ResourceId"])
    if current is None:
        return Outcome(None, "the resource is gone")
    spec = spec_of(policy)
    way = wanted_direction(spec, current, trigger)
    if way is None:
        return Outcome(None, "nothing to do")
    suspended = target.get("SuspendedState") or {}
    if suspended.get("DynamicScalingOutSuspended" if way is Direction.OUT else "DynamicScalingInSuspended"):
        return Outcome(None, f"dynamic scaling {way.value} is suspended")
    now = app.clock.now()
    state = Cooldowns.from_doc(target.get("_cooldowns"))
    gate = cooldown.gate(state, way, current, now)
    cap = Capacity(current, int(target["MinCapacity"]), int(target["MaxCapacity"]), base_out=gate.base,
                   in_blocked=None if gate.allowed else gate.reason)
    outcome = decide(spec, cap, trigger)
    if outcome.desired is None:
        return outcome
    if activities.scale_to(app, scope, target, outcome.desired, cause):
        target["_cooldowns"] = cooldown.after_scaling(state, way, current, cooldown_seconds(policy, way), now).to_doc()
        key = names.target_key(target["ServiceNamespace"], target["ScalableDimension"], target["ResourceId"])
        app.store.put(names.TARGET, scope, key, target)
    return outcome


def on_alarm_action(app: App, payload: dict[str, Any]) -> None:
    arn = str(payload.get("arn") or "")
    if ":scalingPolicy:" not in arn or ":resource/" not in arn:
        return
    scope = Scope(str(payload.get("account") or ""), str(payload.get("region") or ""))
    policy = next((d for _, d in app.store.list(names.POLICY, scope) if d["PolicyARN"] == arn), None)
    if policy is None:
        return
    key = names.target_key(policy["ServiceNamespace"], policy["ScalableDimension"], policy["ResourceId"])
    target = app.store.get(names.TARGET, scope, key)
    if target is None:
        return
    state = str(payload.get("state") or "")
    trigger = Trigger(state, payload.get("value"), payload.get("threshold"))
    cause = f"monitor alarm {payload.get('alarm')} in state {state} triggered policy {policy['PolicyName']}"
    outcome = run_policy(app, scope, target, policy, trigger, cause)
    log.debug("policy %s: %s", policy["PolicyName"], outcome)


def subscribe(app: App) -> None:
    app.bus.subscribe(ACTION_TOPIC, lambda _topic, payload: on_alarm_action(app, payload))
