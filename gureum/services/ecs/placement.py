"""Task placement on container instances (pure: no store, no I/O).

``place_tasks(instances, need, count, strategies, constraints, seed)`` places
``count`` tasks one at a time, as the ECS scheduler does:

1. **Filters** drop instances that cannot take the task, each rejection
   recorded with its reason: ``RESOURCE:CPU``, ``RESOURCE:MEMORY``,
   ``RESOURCE:PORTS`` (host port taken), ``ATTRIBUTE`` (a ``memberOf``
   expression is false), ``DistinctInstance`` (the instance already runs a
   task of the same group).
2. **Strategies** rank the survivors.  ECS applies them *in order, as
   tie-breakers* (a later strategy only decides between instances the earlier
   ones rank equal), so the ranking is a sort on one combined key, never an
   average of scores:

   * ``binpack`` on ``cpu``/``memory``: least remaining of that resource first;
   * ``spread`` on ``instanceId`` or ``attribute:<name>``: the value with the
     fewest tasks of this group first;
   * ``random``: a seeded shuffle (deterministic for tests).

   The instance id is the final tie-breaker, so results are reproducible.
3. The chosen instance's remaining resources, ports and task counts are
   updated before the next task is placed.

``memberOf`` understands a subset of the cluster query language: comparisons
``attribute:<name>``/``ec2InstanceId``/``agentConnected`` with ``==``, ``!=``,
``in [a, b]``, ``not_in [a, b]``, ``exists``, ``!exists`` and ``=~`` (``*``
wildcards), joined by ``and``/``or`` (``and`` binds tighter; no parentheses).
"""

from __future__ import annotations

import fnmatch
import random
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Rejection(StrEnum):
    CPU = "RESOURCE:CPU"
    MEMORY = "RESOURCE:MEMORY"
    PORTS = "RESOURCE:PORTS"
    ATTRIBUTE = "ATTRIBUTE"
    DISTINCT_INSTANCE = "DistinctInstance"


@dataclass(frozen=True, slots=True)
class InstanceView:
    id: str  # container instance id (or ARN)
    ec2_instance_id: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    remaining_cpu: int = 0
    remaining_memory: int = 0
    used_ports: frozenset[int] = frozenset()
    groups: tuple[str, ...] = ()  # group of each task placed on it
    connected: bool = True

    def attr(self, name: str) -> str | None:
        for k, v in self.attributes:
            if k == name:
                return v
        return None


@dataclass(frozen=True, slots=True)
class TaskNeed:
    cpu: int = 0
    memory: int = 0
    host_ports: frozenset[int] = frozenset()
    group: str = ""


@dataclass(frozen=True, slots=True)
class Strategy:
    type: str  # binpack | spread | random
    field: str = ""


@dataclass(frozen=True, slots=True)
class Constraint:
    type: str  # distinctInstance | memberOf
    expression: str = ""


@dataclass(frozen=True, slots=True)
class Placement:
    instance_ids: tuple[str, ...]  # one per placed task
    rejections: tuple[tuple[str, str], ...] = ()  # (instance id, reason), for the first unplaced task
    unplaced: int = 0
    notes: tuple[str, ...] = field(default=())


class ExpressionError(ValueError):
    pass


def place_tasks(
    instances: list[InstanceView],
    need: TaskNeed,
    count: int,
    strategies: list[Strategy] | None = None,
    constraints: list[Constraint] | None = None,
    seed: int = 0,
) -> Placement:
    pool = {i.id: i for i in instances}
    rng = random.Random(seed)
    chosen: list[str] = []
    for n in range(count):
        fits, rejected = filter_instances(list(pool.values()), need, constraints or [])
        if not fits:
            return Placement(tuple(chosen), tuple(rejected), count - n)
        ranked = rank_instances(fits, need, strategies or [], rng, everyone=list(pool.values()))
        best = ranked[0]
        chosen.append(best.id)
        pool[best.id] = replace(
            best,
            remaining_cpu=best.remaining_cpu - need.cpu,
            remaining_memory=best.remaining_memory - need.memory,
            used_ports=best.used_ports | need.host_ports,
            groups=(*best.groups, need.group),
        )
    return Placement(tuple(chosen))


def filter_instances(
    instances: list[InstanceView], need: TaskNeed, constraints: list[Constraint]
) -> tuple[list[InstanceView], list[tuple[str, str]]]:
    fits: list[InstanceView] = []
    rejected: list[tuple[str, str]] = []
    for inst in sorted(instances, key=lambda i: i.id):
        reason = _reject(inst, need, constraints)
        if reason is None:
            fits.append(inst)
        else:
            rejected.append((inst.id, reason))
    return fits, rejected


def _reject(inst: InstanceView, need: TaskNeed, constraints: list[Constraint]) -> str | None:
    for c in constraints:
        if c.type == "memberOf" and not evaluate(c.expression, inst):
            return Rejection.ATTRIBUTE.value
        if c.type == "distinctInstance" and need.group in inst.groups:
            return Rejection.DISTINCT_INSTANCE.value
    if inst.remaining_cpu < need.cpu:
        return Rejection.CPU.value
    if inst.remaining_memory < need.memory:
        return Rejection.MEMORY.value
    if need.host_ports & inst.used_ports:
        return Rejection.PORTS.value
    return None


def rank_instances(
    instances: list[InstanceView],
    need: TaskNeed,
    strategies: list[Strategy],
    rng: random.Random,
    everyone: list[InstanceView] | None = None,
) -> list[InstanceView]:
    """Instances best first: the strategies' keys in order, then the id.

    ``everyone`` (default: ``instances``) is what spread counts tasks on:
    a full instance still holds tasks of its zone.
    """
    shuffle = {i.id: rng.random() for i in sorted(instances, key=lambda i: i.id)}
    counted = instances if everyone is None else everyone
    spread_counts = {s.field: _spread_counts(counted, s.field, need.group) for s in strategies if s.type == "spread"}

    def key(inst: InstanceView) -> tuple[object, ...]:
        parts: list[object] = []
        for s in strategies:
            if s.type == "binpack":
                parts.append(inst.remaining_memory if s.field.lower() == "memory" else inst.remaining_cpu)
            elif s.type == "spread":
                parts.append(spread_counts[s.field].get(_spread_value(inst, s.field), 0))
            elif s.type == "random":
                parts.append(shuffle[inst.id])
        parts.append(inst.id)
        return tuple(parts)

    return sorted(instances, key=key)


def _spread_value(inst: InstanceView, fld: str) -> str:
    if fld in ("instanceId", "host"):
        return inst.id
    if fld.startswith("attribute:"):
        return inst.attr(fld[len("attribute:"):]) or ""
    return ""


def _spread_counts(instances: list[InstanceView], fld: str, group: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for inst in instances:
        v = _spread_value(inst, fld)
        counts[v] = counts.get(v, 0) + sum(1 for g in inst.groups if g == group)
    return counts


# -- memberOf expressions --------------------------------------------------------------

_CLAUSE = re.compile(
    r"^\s*(?P<lhs>[\w:.\-]+)\s*(?P<op>==|!=|=~|not_in|in|!exists|exists)\s*(?P<rhs>.*?)\s*$"
)


def evaluate(expression: str, inst: InstanceView) -> bool:
    """Whether ``inst`` satisfies a memberOf expression (subset; see module doc)."""
    ors = re.split(r"\s+or\s+|\s*\|\|\s*", expression.strip())
    return any(all(_clause(c, inst) for c in re.split(r"\s+and\s+|\s*&&\s*", part)) for part in ors)


def _lhs_value(lhs: str, inst: InstanceView) -> str | None:
    if lhs.startswith("attribute:"):
        return inst.attr(lhs[len("attribute:"):])
    if lhs == "ec2InstanceId":
        return inst.ec2_instance_id or None
    if lhs == "agentConnected":
        return "true" if inst.connected else "false"
    raise ExpressionError(f"unsupported attribute in expression: {lhs}")


def _clause(text: str, inst: InstanceView) -> bool:
    m = _CLAUSE.match(text)
    if m is None:
        raise ExpressionError(f"cannot parse expression clause: {text!r}")
    value = _lhs_value(m["lhs"], inst)
    op, rhs = m["op"], m["rhs"]
    if op == "exists":
        return value is not None
    if op == "!exists":
        return value is None
    if op in ("in", "not_in"):
        items = [x.strip() for x in rhs.strip().strip("[]").split(",") if x.strip()]
        return (value in items) == (op == "in")
    if op == "==":
        return value == rhs
    if op == "!=":
        return value != rhs
    return value is not None and fnmatch.fnmatchcase(value, rhs)  # =~
