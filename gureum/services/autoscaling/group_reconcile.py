"""What a group must do to reach its desired capacity.  Pure.

:func:`decide` looks at the group's settings and its members and returns a
:class:`Plan`: instances to launch (with their zone) and instances to take
out of service (with the reason).  The controller applies it; taking an
instance out means moving it to ``Terminating`` — :mod:`lifecycle` does the
rest.

Rules (EC2 Auto Scaling user guide, "Health checks", "Suspend processes",
"Rebalancing activities"):

1. An unhealthy member is taken out (and so replaced by rule 2) unless the
   ``ReplaceUnhealthy`` or ``Terminate`` process is suspended.
2. Members in Pending, Pending:Wait, Pending:Proceed and InService count
   toward the desired capacity; missing ones are launched (unless ``Launch``
   is suspended), each in the zone that has the fewest members, ties broken
   by the group's zone order.
3. Extra members are taken out (unless ``Terminate`` is suspended), chosen by
   :mod:`termination` — instances in zones the group no longer uses first.
   Protected instances stay, even if the group then stays above desired.
4. When nothing else is to do, every member is InService and the zones differ
   by more than one instance (or members sit in zones the group no longer
   uses), one instance is launched in the emptiest zone (unless
   ``AZRebalance`` is suspended); once it is InService rule 3 removes one
   from the busiest zone.  Launching first may exceed the maximum by 10 %
   (at least one instance), as AWS allows while rebalancing.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from gureum.services.autoscaling import termination
from gureum.services.autoscaling.lifecycle import ACTIVE_STATES, LAUNCH_STATES, LState


class Why(StrEnum):
    CAPACITY = "capacity"  # a difference between desired and actual capacity
    UNHEALTHY = "unhealthy"
    REBALANCE = "rebalance"


class Member(NamedTuple):
    """One member as :func:`decide` sees it (a named tuple: made for every member on every reconcile)."""

    instance_id: str
    zone: str
    state: str
    healthy: bool = True
    protected: bool = False
    launched_at: float = 0.0
    config: termination.Config | None = None
    launched_for: str = Why.CAPACITY.value


@dataclass(frozen=True, slots=True)
class GroupSpec:
    desired: int
    max_size: int
    zones: tuple[str, ...]
    suspended: frozenset[str] = frozenset()
    termination_policies: tuple[str, ...] = ("Default",)
    current: termination.Config | None = None


@dataclass(frozen=True, slots=True)
class Launch:
    zone: str
    why: Why = Why.CAPACITY


@dataclass(frozen=True, slots=True)
class Removal:
    instance_id: str
    why: Why


@dataclass(frozen=True, slots=True)
class Plan:
    launches: tuple[Launch, ...] = ()
    removals: tuple[Removal, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.launches and not self.removals


def _zone_counts(members: Sequence[Member], zones: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(zones, 0)
    for m in members:
        counts[m.zone] = counts.get(m.zone, 0) + 1
    return counts


def spread(n: int, zones: Sequence[str], counts: Mapping[str, int]) -> list[str]:
    """Zones for ``n`` new instances, each in the zone with the fewest (zone order breaks ties)."""
    left = dict(counts)
    out = []
    for _ in range(n):
        zone = min(zones, key=lambda z: (left.get(z, 0), zones.index(z)))
        out.append(zone)
        left[zone] = left.get(zone, 0) + 1
    return out


def _rebalance(spec: GroupSpec, active: Sequence[Member]) -> Launch | None:
    if "AZRebalance" in spec.suspended or "Launch" in spec.suspended or not spec.zones:
        return None
    if any(m.state != LState.IN_SERVICE for m in active) or len(active) != spec.desired:
        return None
    if len(active) + 1 > spec.max_size + max(1, math.ceil(spec.max_size * 0.1)):
        return None
    misplaced = [m for m in active if m.zone not in spec.zones and not m.protected]
    counts = _zone_counts([m for m in active if m.zone in spec.zones], spec.zones)
    busiest = max(counts.values())
    # Only when an instance could then go from the busiest zone: else it would be a loop.
    movable = [m for m in active if not m.protected and counts.get(m.zone) == busiest]
    if misplaced or (movable and busiest - min(counts.values()) > 1):
        return Launch(spread(1, spec.zones, counts)[0], Why.REBALANCE)
    return None


def _victims(spec: GroupSpec, active: Sequence[Member], excess: int, now: float,
             rng: random.Random) -> list[str]:
    misplaced = [m for m in active if m.zone not in spec.zones and not m.protected]
    chosen = [m.instance_id for m in sorted(misplaced, key=lambda m: m.launched_at)[:excess]]
    rest = [m for m in active if m.instance_id not in chosen]
    cands = [termination.Candidate(m.instance_id, m.zone, m.launched_at, m.config, m.protected) for m in rest]
    counts = Counter(_zone_counts(rest, ()))
    chosen += termination.choose_victims(cands, excess - len(chosen), spec.termination_policies, spec.current,
                                         now, rng, zone_counts=counts)
    return chosen


def decide(spec: GroupSpec, members: Sequence[Member], now: float, rng: random.Random | None = None) -> Plan:
    rng = rng or random.Random()
    removals: list[Removal] = []
    can_terminate = "Terminate" not in spec.suspended
    if can_terminate and "ReplaceUnhealthy" not in spec.suspended:
        removals += [Removal(m.instance_id, Why.UNHEALTHY) for m in members
                     if not m.healthy and m.state in ACTIVE_STATES]
    gone = {r.instance_id for r in removals}
    active = [m for m in members if m.state in ACTIVE_STATES and m.instance_id not in gone]
    launches: list[Launch] = []
    if len(active) < spec.desired and "Launch" not in spec.suspended and spec.zones:
        counts = _zone_counts([m for m in active if m.zone in spec.zones], spec.zones)
        launches = [Launch(z) for z in spread(spec.desired - len(active), spec.zones, counts)]
    elif len(active) > spec.desired and can_terminate:
        waiting = any(m.launched_for == Why.REBALANCE and m.state in LAUNCH_STATES for m in active)
        if not waiting:  # a rebalancing launch first comes into service, then one goes
            removals += [Removal(i, Why.CAPACITY) for i in _victims(spec, active, len(active) - spec.desired, now, rng)]
    elif not removals:
        extra = _rebalance(spec, active)
        if extra is not None:
            launches = [extra]
    return Plan(tuple(launches), tuple(removals))
