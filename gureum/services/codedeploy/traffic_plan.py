"""How traffic moves from the original to the replacement over time.  Pure.

A deployment configuration's ``trafficRoutingConfig`` becomes a
:class:`TrafficPlan`: a list of steps ``(offset seconds, percent to the
replacement)``, starting at offset 0.  AWS's rules:

* ``AllAtOnce`` — 100 % at once.
* ``TimeBasedCanary`` (``canaryPercentage`` P, ``canaryInterval`` N minutes)
  — P % at once, the remaining traffic N minutes later.
* ``TimeBasedLinear`` (``linearPercentage`` P, ``linearInterval`` N minutes)
  — P % at once, then P % more every N minutes until 100 % (the last step is
  clipped at 100: 30 % steps give 30, 60, 90, 100).

So ``ECSCanary10Percent5Minutes`` is ``[(0, 10), (300, 100)]`` and
``ECSLinear10PercentEvery1Minutes`` ten steps a minute apart.  A Server
configuration (no routing) is all at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class TrafficPlan:
    steps: tuple[tuple[float, int], ...]

    @property
    def duration(self) -> float:
        """Seconds from the first shift until all traffic has moved."""
        return self.steps[-1][0]

    def percent_at(self, elapsed: float) -> int:
        """Percent of traffic on the replacement ``elapsed`` seconds after the shift began."""
        if elapsed < 0:
            return 0
        pct = 0
        for offset, value in self.steps:
            if elapsed + 1e-9 >= offset:
                pct = value
        return pct

    def next_change(self, elapsed: float) -> float | None:
        """Seconds until the next step after ``elapsed``, or None when all traffic has moved."""
        for offset, _ in self.steps:
            if offset > elapsed + 1e-9:
                return offset - elapsed
        return None


ALL_AT_ONCE = TrafficPlan(((0.0, 100),))


def plan_for(routing: dict[str, Any] | None) -> TrafficPlan:
    """The plan of a ``trafficRoutingConfig`` (None or AllAtOnce: all at once)."""
    if not routing:
        return ALL_AT_ONCE
    kind = routing.get("type") or "AllAtOnce"
    if kind == "TimeBasedCanary":
        c = routing.get("timeBasedCanary") or {}
        pct, minutes = int(c.get("canaryPercentage") or 0), int(c.get("canaryInterval") or 0)
        return canary(pct, minutes)
    if kind == "TimeBasedLinear":
        c = routing.get("timeBasedLinear") or {}
        pct, minutes = int(c.get("linearPercentage") or 0), int(c.get("linearInterval") or 0)
        return linear(pct, minutes)
    return ALL_AT_ONCE


def canary(percent: int, minutes: int) -> TrafficPlan:
    if not 0 < percent < 100:
        return ALL_AT_ONCE
    return TrafficPlan(((0.0, percent), (minutes * MINUTE, 100)))


def linear(percent: int, minutes: int) -> TrafficPlan:
    if not 0 < percent < 100:
        return ALL_AT_ONCE
    n = math.ceil(100 / percent)
    steps = tuple((i * minutes * MINUTE, min(100, (i + 1) * percent)) for i in range(n))
    return TrafficPlan(steps)


def weights(percent: int) -> tuple[int, int]:
    """(original, replacement) listener weights for ``percent`` on the replacement."""
    percent = max(0, min(100, percent))
    return 100 - percent, percent
