"""Which instance goes on scale-in: termination policies.  Pure.

Rules (EC2 Auto Scaling user guide, "Work with Amazon EC2 Auto Scaling
termination policies"):

* Instances protected from scale-in are never chosen.
* Whatever the policies, the zone comes first: only instances of the
  Availability Zone(s) holding the most instances of the group (and at least
  one unprotected instance) are considered, so the group stays balanced.
* Then the group's ``TerminationPolicies`` filter the candidates in order,
  each one as a tie-breaker of the previous; ``Default`` is always the last:

  - ``OldestLaunchConfiguration`` — instances on a launch configuration other
    than the group's, the oldest configuration first;
  - ``OldestLaunchTemplate`` — instances on a launch template other than the
    group's, or an older version of it, the oldest first;
  - ``OldestInstance`` / ``NewestInstance`` — by launch time;
  - ``ClosestToNextInstanceHour`` — the instance whose running time is
    closest to a whole hour (the next billing hour);
  - ``AllocationStrategy`` — lines the group up with its mixed-instances
    allocation strategy; Gureum has no prices or Spot, so it keeps everyone;
  - ``Default`` — instances on a launch configuration when the group uses a
    template, then the oldest configuration/template, then
    ``ClosestToNextInstanceHour``, then one at random.

* Several victims are chosen one at a time, recounting zones after each.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Policy(StrEnum):
    DEFAULT = "Default"
    OLDEST_INSTANCE = "OldestInstance"
    NEWEST_INSTANCE = "NewestInstance"
    OLDEST_LAUNCH_CONFIGURATION = "OldestLaunchConfiguration"
    OLDEST_LAUNCH_TEMPLATE = "OldestLaunchTemplate"
    CLOSEST_TO_NEXT_INSTANCE_HOUR = "ClosestToNextInstanceHour"
    ALLOCATION_STRATEGY = "AllocationStrategy"


POLICIES = tuple(p.value for p in Policy)


@dataclass(frozen=True, slots=True)
class Config:
    """What an instance was launched from: a launch configuration or a template version."""

    kind: str  # "lc" | "lt"
    name: str  # configuration name or template id
    age: float  # configuration creation time, or template version number

    def same(self, other: Config | None) -> bool:
        return other is not None and (self.kind, self.name, self.age) == (other.kind, other.name, other.age)


@dataclass(frozen=True, slots=True)
class Candidate:
    instance_id: str
    zone: str
    launched_at: float
    config: Config | None = None
    protected: bool = False


Filter = Callable[[list[Candidate]], list[Candidate]]


def _oldest(cands: list[Candidate], current: Config | None, kind: str | None) -> list[Candidate]:
    outdated = [c for c in cands if c.config is not None and not c.config.same(current)
                and (kind is None or c.config.kind == kind)]
    if not outdated:
        return cands
    if kind is None and current is not None and current.kind == "lt":
        on_lc = [c for c in outdated if c.config is not None and c.config.kind == "lc"]
        outdated = on_lc or outdated
    oldest = min(c.config.age for c in outdated if c.config is not None)
    return [c for c in outdated if c.config is not None and c.config.age == oldest]


def _closest_to_hour(cands: list[Candidate], now: float) -> list[Candidate]:
    best = max((now - c.launched_at) % 3600 for c in cands)
    return [c for c in cands if (now - c.launched_at) % 3600 == best]


def _by_launch(cands: list[Candidate], newest: bool) -> list[Candidate]:
    pick = max if newest else min
    when = pick(c.launched_at for c in cands)
    return [c for c in cands if c.launched_at == when]


def _filters(policy: Policy, current: Config | None, now: float) -> list[Filter]:
    if policy is Policy.DEFAULT:
        return [lambda cs: _oldest(cs, current, None), lambda cs: _closest_to_hour(cs, now)]
    if policy is Policy.OLDEST_INSTANCE:
        return [lambda cs: _by_launch(cs, newest=False)]
    if policy is Policy.NEWEST_INSTANCE:
        return [lambda cs: _by_launch(cs, newest=True)]
    if policy is Policy.OLDEST_LAUNCH_CONFIGURATION:
        return [lambda cs: _oldest(cs, current, "lc")]
    if policy is Policy.OLDEST_LAUNCH_TEMPLATE:
        return [lambda cs: _oldest(cs, current, "lt")]
    if policy is Policy.CLOSEST_TO_NEXT_INSTANCE_HOUR:
        return [lambda cs: _closest_to_hour(cs, now)]
    return []  # AllocationStrategy: nothing to choose by here


def busiest_zones(cands: Sequence[Candidate], zone_counts: Counter[str]) -> list[Candidate]:
    """Candidates in the zone(s) with the most instances (among zones that have a candidate)."""
    zones = {c.zone for c in cands}
    most = max(zone_counts.get(z, 0) for z in zones)
    return [c for c in cands if zone_counts.get(c.zone, 0) == most]


def choose_one(cands: Sequence[Candidate], zone_counts: Counter[str], policies: Iterable[str],
               current: Config | None, now: float, rng: random.Random) -> Candidate | None:
    pool = [c for c in cands if not c.protected]
    if not pool:
        return None
    pool = busiest_zones(pool, zone_counts)
    order = [Policy(p) for p in policies if p != Policy.DEFAULT.value] + [Policy.DEFAULT]
    for policy in order:
        for keep in _filters(policy, current, now):
            if len(pool) == 1:
                return pool[0]
            pool = keep(pool) or pool
    pool.sort(key=lambda c: c.instance_id)
    return pool[0] if len(pool) == 1 else rng.choice(pool)


def choose_victims(cands: Sequence[Candidate], count: int, policies: Iterable[str], current: Config | None,
                   now: float, rng: random.Random | None = None, *,
                   zone_counts: Counter[str] | None = None) -> list[str]:
    """Up to ``count`` instance ids to terminate, in order (fewer when too many are protected).

    ``zone_counts`` counts every instance of the group per zone (protected ones
    included); by default the candidates themselves.
    """
    rng = rng or random.Random()
    policies = list(policies)
    counts = Counter(zone_counts) if zone_counts is not None else Counter(c.zone for c in cands)
    left = list(cands)
    out: list[str] = []
    for _ in range(max(0, count)):
        victim = choose_one(left, counts, policies, current, now, rng)
        if victim is None:
            break
        out.append(victim.instance_id)
        left.remove(victim)
        counts[victim.zone] -= 1
    return out
