"""What one policy does when its alarm calls: the new desired capacity, or why nothing.  Pure.

Shared by EC2 Auto Scaling and Application Auto Scaling; the caller says what
"current" means for each direction (:class:`Capacity`):

* ``base_out`` — the capacity a scale-out is computed from: EC2 leaves out
  instances still launching or warming up; Application Auto Scaling uses the
  capacity before the scale-out whose cooldown is running (:mod:`cooldown`).
  A scale-out never lowers the desired capacity, so a repeated breach of the
  same step adds nothing more.
* ``in_blocked`` — why a scale-in may not happen now (instances warming up,
  a cooldown), or None.
* ``simple_blocked`` — why a simple policy must ignore the alarm (activity in
  progress or cooldown), or None.

Policy types (``PolicyType``):

* SimpleScaling — one adjustment;
* StepScaling — the step holding ``metric − threshold`` (:func:`scaling_math.pick_step`);
* TargetTrackingScaling — ⌈current × metric / target⌉, never a scale-in with
  ``DisableScaleIn``.

Only an alarm in ALARM scales (never INSUFFICIENT_DATA or OK).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gureum.services.autoscaling import scaling_math
from gureum.services.autoscaling.scaling_math import AdjustmentType, Step

SIMPLE, STEP, TARGET = "SimpleScaling", "StepScaling", "TargetTrackingScaling"


@dataclass(frozen=True, slots=True)
class PolicySpec:
    kind: str
    adjustment_type: str = AdjustmentType.CHANGE.value
    adjustment: int | None = None
    min_magnitude: int | None = None
    steps: tuple[Step, ...] = ()
    target: float | None = None
    disable_scale_in: bool = False


@dataclass(frozen=True, slots=True)
class Capacity:
    desired: int
    min_size: int
    max_size: int
    base_out: int | None = None  # None: the desired capacity
    in_blocked: str | None = None
    simple_blocked: str | None = None


@dataclass(frozen=True, slots=True)
class Trigger:
    state: str = "ALARM"
    metric: float | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    desired: int | None  # None: no change
    reason: str = ""
    step: Step | None = field(default=None)

    @property
    def changed(self) -> bool:
        return self.desired is not None


def _none(reason: str, step: Step | None = None) -> Outcome:
    return Outcome(None, reason, step)


def _settle(cap: Capacity, wanted: int, step: Step | None = None) -> Outcome:
    """Clamp ``wanted`` and apply the direction rules."""
    wanted = scaling_math.clamp(wanted, cap.min_size, cap.max_size)
    if wanted > cap.desired:
        return Outcome(wanted, "scale out", step)
    if wanted < cap.desired:
        if cap.in_blocked:
            return _none(f"no scale-in: {cap.in_blocked}", step)
        return Outcome(wanted, "scale in", step)
    return _none("the desired capacity is already where the policy wants it", step)


_KINDS = frozenset(k.value for k in AdjustmentType)
_EXACT = AdjustmentType.EXACT.value


def _adjusted(cap: Capacity, kind: str, adjustment: int, min_magnitude: int | None, step: Step | None) -> Outcome:
    if kind not in _KINDS:
        AdjustmentType(kind)  # refused as before
    if kind == _EXACT:
        return _settle(cap, adjustment, step)
    if adjustment > 0:
        base = cap.desired if cap.base_out is None else cap.base_out
        wanted = scaling_math.apply_adjustment(base, kind, adjustment, min_magnitude)
        return _settle(cap, max(cap.desired, wanted), step)
    if adjustment < 0:
        return _settle(cap, scaling_math.apply_adjustment(cap.desired, kind, adjustment, min_magnitude), step)
    return _none("the adjustment is zero", step)


def decide(policy: PolicySpec, cap: Capacity, trigger: Trigger) -> Outcome:
    if trigger.state != "ALARM":
        return _none(f"the alarm is in {trigger.state}")
    if policy.kind == SIMPLE:
        if cap.simple_blocked:
            return _none(cap.simple_blocked)
        return _adjusted(cap, policy.adjustment_type, int(policy.adjustment or 0), policy.min_magnitude, None)
    if policy.kind == STEP:
        if trigger.metric is None or trigger.threshold is None:
            return _none("no metric value to compare with the step bounds")
        step = scaling_math.pick_step(policy.steps, trigger.metric, trigger.threshold)
        if step is None:
            return _none(f"no step adjustment holds the metric value {trigger.metric}")
        return _adjusted(cap, policy.adjustment_type, step.adjustment, policy.min_magnitude, step)
    if policy.kind == TARGET:
        if trigger.metric is None or policy.target is None:
            return _none("no metric value")
        if trigger.metric > policy.target:
            base = cap.desired if cap.base_out is None else cap.base_out
            wanted = scaling_math.target_capacity(base, trigger.metric, policy.target)
            return _settle(cap, max(cap.desired, wanted))
        if trigger.metric < policy.target and not policy.disable_scale_in:
            return _settle(cap, scaling_math.target_capacity(cap.desired, trigger.metric, policy.target))
        return _none("the metric is on target" if trigger.metric == policy.target else "scale-in is disabled")
    return _none(f"policy type {policy.kind} does not scale on alarms")
