"""How many: the arithmetic of scaling policies.  Pure; no I/O, no clock.

Shared by EC2 Auto Scaling and Application Auto Scaling (both services
document the same rules for adjustments, steps and target tracking).

Rules (EC2 Auto Scaling user guide, "Step and simple scaling policies";
Application Auto Scaling API reference, ``StepAdjustment``):

* **Adjustment types**: ``ChangeInCapacity`` adds the adjustment to the
  current capacity; ``ExactCapacity`` sets it; ``PercentChangeInCapacity``
  adds ``current × adjustment / 100`` rounded as AWS rounds: a value above 1
  rounds down (1.8 → 1), between 0 and 1 becomes 1, between −1 and 0 becomes
  −1, below −1 rounds toward zero (−1.8 → −1).  ``MinAdjustmentMagnitude``
  (percent only) raises a smaller change to that magnitude, with the sign of
  the adjustment.
* **Steps**: bounds are relative to the alarm threshold (``metric −
  threshold``).  Above the threshold a step matches ``lower ≤ d < upper``;
  below it ``lower < d ≤ upper``; a missing lower bound is −∞, a missing upper
  bound +∞.  Steps may not overlap or leave gaps; a positive upper bound needs
  a step with no upper bound, a negative lower bound a step with no lower one.
* **Target tracking**: desired = ⌈current × metric / target⌉ — rounding up is
  AWS's conservative choice in both directions (scale out by at least enough,
  scale in by at most enough).
* The result is always clamped to ``[min, max]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_STEPS = 20
_EPS = 1e-9


class AdjustmentType(StrEnum):
    CHANGE = "ChangeInCapacity"
    EXACT = "ExactCapacity"
    PERCENT = "PercentChangeInCapacity"


class StepError(ValueError):
    """A step adjustment set AWS refuses; the message is AWS's wording."""


@dataclass(frozen=True, slots=True)
class Step:
    lower: float | None
    upper: float | None
    adjustment: int


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def round_percent(change: float) -> int:
    """A percent change in instances, rounded the AWS way."""
    if change > 1:
        return math.floor(change)
    if 0 < change < 1:
        return 1
    if -1 < change < 0:
        return -1
    if change < -1:
        return math.ceil(change)
    return int(change)


def apply_adjustment(current: int, kind: AdjustmentType | str, adjustment: int,
                     min_magnitude: int | None = None) -> int:
    """The capacity an adjustment asks for (not clamped)."""
    kind = AdjustmentType(kind)
    if kind is AdjustmentType.EXACT:
        return adjustment
    if kind is AdjustmentType.CHANGE:
        return current + adjustment
    change = round_percent(current * adjustment / 100.0)
    if min_magnitude and adjustment != 0 and abs(change) < min_magnitude:
        change = min_magnitude if adjustment > 0 else -min_magnitude
    return current + change


def _lo(step: Step) -> float:
    return -math.inf if step.lower is None else step.lower


def _hi(step: Step) -> float:
    return math.inf if step.upper is None else step.upper


def check_steps(steps: Sequence[Step]) -> None:
    """Raise :class:`StepError` unless the steps form one interval without gaps or overlaps."""
    if not steps:
        raise StepError("At least one step adjustment is required for a step scaling policy.")
    if len(steps) > MAX_STEPS:
        raise StepError(f"There can be at most {MAX_STEPS} step adjustments per scaling policy.")
    for s in steps:
        if s.lower is None and s.upper is None and len(steps) > 1:
            raise StepError("Both lower and upper bounds of a step adjustment cannot be left unspecified")
        if _hi(s) <= _lo(s):
            raise StepError(f"The upper bound ({s.upper}) of a step adjustment must be greater than its "
                            f"lower bound ({s.lower}).")
    ordered = sorted(steps, key=_lo)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if _hi(a) > _lo(b):
            raise StepError(f"Step adjustments must not overlap: the interval ending at {a.upper} overlaps "
                            f"the one starting at {b.lower}.")
        if _hi(a) < _lo(b):
            raise StepError(f"Step adjustments must not have gaps: no step covers {a.upper} to {b.lower}.")
    if any(s.upper is not None and s.upper > 0 for s in steps) and ordered[-1].upper is not None:
        raise StepError("There must be a StepAdjustment with an unspecified upper bound (i.e., upper bound is "
                        "null) when one StepAdjustment has a positive upper bound")
    if any(s.lower is not None and s.lower < 0 for s in steps) and ordered[0].lower is not None:
        raise StepError("There must be a StepAdjustment with an unspecified lower bound (i.e., lower bound is "
                        "null) when one StepAdjustment has a negative lower bound")


def parse_steps(raw: Iterable[Mapping[str, Any]] | None) -> list[Step]:
    """The API's ``StepAdjustments`` as checked :class:`Step` s (:class:`StepError` as :func:`check_steps`)."""
    steps = [Step(s.get("MetricIntervalLowerBound"), s.get("MetricIntervalUpperBound"), int(s["ScalingAdjustment"]))
             for s in raw or []]
    check_steps(steps)
    return steps


def pick_step(steps: Sequence[Step], metric: float, threshold: float) -> Step | None:
    """The one step whose interval holds ``metric − threshold`` (None when none does)."""
    d = metric - threshold
    if d >= 0:
        for s in steps:
            if _lo(s) <= d < _hi(s):
                return s
    if d <= 0:
        for s in steps:
            if _lo(s) < d <= _hi(s):
                return s
    return None


def target_capacity(current: int, metric: float, target: float) -> int:
    """Target tracking's wish: ⌈current × metric / target⌉ (at least 1 when there is load and no capacity)."""
    if target <= 0:
        raise ValueError("target must be positive")
    if current <= 0:
        return 1 if metric > target else 0
    return max(0, math.ceil(current * metric / target - _EPS))
