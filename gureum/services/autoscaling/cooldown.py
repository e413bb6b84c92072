"""When: cooldowns and instance warm-up.  Pure; times are epoch seconds passed in.

EC2 Auto Scaling (user guide, "Scaling cooldowns", "Instance warmup"):

* **Simple scaling** waits: after a simple policy (or a manual change with
  ``HonorCooldown``) changes capacity, further simple-policy alarms are
  ignored until the scaling activity has finished *and* the cooldown has
  passed since then.  The cooldown is the policy's ``Cooldown``, else the
  group's ``DefaultCooldown`` (300 s).
* **Step and target tracking** policies keep reacting, but an instance that
  is launching or still warming up does not count in the current capacity
  when scaling out (so the same breach does not add twice), and no scale-in
  happens while instances warm up.  The warm-up is the group's
  ``DefaultInstanceWarmup``, else the policy's ``EstimatedInstanceWarmup``,
  else the group's ``DefaultCooldown``.

Application Auto Scaling (API reference, ``ScaleOutCooldown`` /
``ScaleInCooldown`` / step ``Cooldown``):

* during a scale-out cooldown another scale-out is computed from the
  capacity before the scale-out that started the cooldown (what it added
  counts as already there), so it only proceeds when it asks for more, and
  it does not extend that cooldown;
* no scale-in during a scale-in cooldown, nor during a scale-out cooldown;
* a scale-out during a scale-in cooldown proceeds at once and ends it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

DEFAULT_COOLDOWN = 300
AAS_DEFAULT_COOLDOWN = 300  # ECS services, Spot Fleets, EMR, AppStream, custom resources…


class Direction(StrEnum):
    OUT = "out"
    IN = "in"


def direction(current: int, wanted: int) -> Direction | None:
    if wanted > current:
        return Direction.OUT
    if wanted < current:
        return Direction.IN
    return None


# -- EC2 Auto Scaling ------------------------------------------------------------------------


def cooldown_seconds(policy_cooldown: int | None, group_default: int | None) -> int:
    if policy_cooldown is not None:
        return int(policy_cooldown)
    return DEFAULT_COOLDOWN if group_default is None else int(group_default)


def warmup_seconds(group_warmup: int | None, policy_warmup: int | None, group_cooldown: int | None) -> int:
    for value in (group_warmup, policy_warmup):
        if value is not None and value >= 0:
            return int(value)
    return DEFAULT_COOLDOWN if group_cooldown is None else int(group_cooldown)


def simple_wait(settled_at: float | None, seconds: int, activity_running: bool, now: float) -> float | None:
    """Seconds a simple policy must still wait (``math.inf``: until the activity ends), or None.

    ``settled_at`` is when the last cooldown-starting activity finished (None
    while it runs or when there never was one and ``activity_running`` is False).
    """
    if activity_running:
        return math.inf
    if settled_at is None:
        return None
    left = settled_at + seconds - now
    return left if left > 0 else None


def is_warming(in_service_at: float | None, warmup: int, now: float) -> bool:
    """An instance launching (no InService time yet) or InService for less than the warm-up."""
    return in_service_at is None or now < in_service_at + warmup


# -- Application Auto Scaling ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cooldowns:
    """The cooldown state of one scalable target."""

    out_until: float = -math.inf
    out_base: int | None = None  # capacity before the scale-out that started the cooldown
    in_until: float = -math.inf

    def to_doc(self) -> dict[str, float | int | None]:
        return {
            "outUntil": None if self.out_until == -math.inf else self.out_until,
            "outBase": self.out_base,
            "inUntil": None if self.in_until == -math.inf else self.in_until,
        }

    @staticmethod
    def from_doc(doc: dict[str, float | int | None] | None) -> Cooldowns:
        doc = doc or {}
        out_until, in_until = doc.get("outUntil"), doc.get("inUntil")
        base = doc.get("outBase")
        return Cooldowns(
            -math.inf if out_until is None else float(out_until),
            None if base is None else int(base),
            -math.inf if in_until is None else float(in_until),
        )


@dataclass(frozen=True, slots=True)
class Gate:
    allowed: bool
    base: int  # the capacity the adjustment is computed from
    reason: str = ""


def gate(state: Cooldowns, way: Direction, current: int, now: float) -> Gate:
    """May a scaling in ``way`` happen now, and from which capacity is it computed."""
    if way is Direction.OUT:
        if now < state.out_until and state.out_base is not None:
            return Gate(True, min(current, state.out_base))
        return Gate(True, current)
    if now < state.in_until:
        return Gate(False, current, "scale-in cooldown")
    if now < state.out_until:
        return Gate(False, current, "scale-out cooldown")
    return Gate(True, current)


def after_scaling(state: Cooldowns, way: Direction, before: int, seconds: int, now: float) -> Cooldowns:
    """The state after a scaling in ``way`` from capacity ``before`` happened at ``now``."""
    if way is Direction.OUT:
        if now < state.out_until and state.out_base is not None:
            # An escalation within the cooldown of the scale-out that started it: that
            # cooldown and its base stand (one batch per cooldown, never stuck at a base).
            return replace(state, in_until=-math.inf)
        return Cooldowns(now + seconds, before, -math.inf)  # a scale-out ends a scale-in cooldown
    return replace(state, in_until=now + seconds)
