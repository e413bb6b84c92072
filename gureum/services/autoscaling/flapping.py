"""The thrashing guard (beyond AWS): detecting a capacity that flaps, and saying why.  Pure.

Every Auto Scaling group and every scalable target keeps the changes of its
desired capacity (:class:`Change`).  A *flap* is a change of direction: a
scale-out followed by a scale-in, or the other way round.  More than
``threshold`` flaps within the last ``window`` seconds is thrashing
(:func:`observe` says when to warn — at most once per window).

Defaults (:data:`DEFAULT`): more than **4** direction changes within
**3600 s**.  Set them for the whole server with the environment variables
``GUREUM_FLAP_THRESHOLD`` / ``GUREUM_FLAP_WINDOW``, and for one Auto Scaling
group with its tags ``gureum:flap-threshold`` / ``gureum:flap-window`` (a
tag wins over the environment; a value that is not a positive integer is
ignored) — see :func:`settings_from`.

:func:`diagnose_flapping` names the policy settings that make a group flap,
from facts the services gather about their policies and alarms
(:class:`PolicyFacts`, :class:`AlarmFacts`):

* a scale-in threshold at or above, or within 10 % of, the scale-out
  threshold on the same metric;
* alarms that act on a single datapoint on both sides;
* a cooldown shorter than the instance warm-up, or shorter than the time the
  alarm needs to see the effect of the last change (Period × EvaluationPeriods).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

ENV_THRESHOLD, ENV_WINDOW = "GUREUM_FLAP_THRESHOLD", "GUREUM_FLAP_WINDOW"
TAG_THRESHOLD, TAG_WINDOW = "gureum:flap-threshold", "gureum:flap-window"
NEAR = 0.10  # thresholds closer than this fraction of the scale-out threshold
OUT_OPS = frozenset({"GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "GreaterThanUpperThreshold"})
IN_OPS = frozenset({"LessThanThreshold", "LessThanOrEqualToThreshold", "LessThanLowerThreshold"})


@dataclass(frozen=True, slots=True)
class FlapSettings:
    threshold: int = 4
    window: int = 3600


DEFAULT = FlapSettings()


class Change(NamedTuple):
    """One change of the desired capacity (a named tuple: a group's window of them is made on every change)."""

    at: float
    before: int
    after: int

    @property
    def up(self) -> bool:
        return self.after > self.before


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What matters about one policy.  ``direction``: "out", "in" or "both" (target tracking)."""

    name: str
    direction: str
    cooldown: int | None = None  # seconds it waits after scaling (None: no cooldown applies)
    warmup: int | None = None  # seconds a new instance needs before it counts


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    name: str
    policy: str  # the policy it calls
    metric: str
    comparison: str
    threshold: float
    period: int = 60
    evaluation_periods: int = 1
    datapoints: int | None = None


def _positive(value: Any) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if n > 0 else None


def settings_from(env: Mapping[str, str], tags: Mapping[str, str] | None = None) -> FlapSettings:
    """The flap settings: tags over environment over :data:`DEFAULT`."""
    tags = tags or {}
    threshold = _positive(tags.get(TAG_THRESHOLD)) or _positive(env.get(ENV_THRESHOLD)) or DEFAULT.threshold
    window = _positive(tags.get(TAG_WINDOW)) or _positive(env.get(ENV_WINDOW)) or DEFAULT.window
    return FlapSettings(threshold, window)


# -- detection -----------------------------------------------------------------------------------


def recent(history: Iterable[Change], now: float, window: float) -> list[Change]:
    """The changes within ``(now - window, now]``, oldest first."""
    return sorted((c for c in history if now - window < c.at <= now and c.after != c.before), key=lambda c: c.at)


def count_flaps(history: Iterable[Change], now: float, window: float) -> int:
    """Direction changes among the changes of the last ``window`` seconds."""
    moves = recent(history, now, window)
    return sum(1 for a, b in zip(moves, moves[1:], strict=False) if a.up != b.up)


def observe(history: Sequence[Change], warned_at: float | None, change: Change, settings: FlapSettings
            ) -> tuple[tuple[Change, ...], int, bool]:
    """Add ``change``: (the history to keep, the flap count, whether to warn now).

    One warning per window: not again until ``window`` seconds after the last."""
    kept = tuple(recent([*history, change], change.at, settings.window))
    flaps = sum(1 for a, b in zip(kept, kept[1:], strict=False) if a.up != b.up)  # count_flaps (kept: its recent)
    quiet = warned_at is None or change.at - warned_at >= settings.window
    return kept, flaps, flaps > settings.threshold and quiet


# -- diagnosis -----------------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:g}"


def _threshold_hints(outs: list[AlarmFacts], ins: list[AlarmFacts]) -> list[str]:
    hints = []
    for o in outs:
        for i in ins:
            if o.metric != i.metric:
                continue
            where = f"(alarms {i.name} and {o.name} on {o.metric})"
            if i.threshold >= o.threshold:
                hints.append(f"scale-in threshold {_num(i.threshold)} is not below scale-out threshold "
                             f"{_num(o.threshold)} {where}")
            elif o.threshold - i.threshold <= NEAR * abs(o.threshold):
                hints.append(f"scale-in threshold {_num(i.threshold)} is within {int(NEAR * 100)}% of scale-out "
                             f"threshold {_num(o.threshold)} {where}")
            if (i.datapoints or i.evaluation_periods) == 1 and (o.datapoints or o.evaluation_periods) == 1:
                hints.append(f"alarms {o.name} and {i.name} act on a single datapoint (EvaluationPeriods 1): "
                             "one noisy period scales the group")
    return hints


def _cooldown_hints(policies: Sequence[PolicyFacts], alarms: Sequence[AlarmFacts]) -> list[str]:
    hints = []
    for p in policies:
        if p.cooldown is None:
            continue
        if p.warmup is not None and p.cooldown < p.warmup:
            hints.append(f"cooldown {p.cooldown} s is shorter than instance warm-up {p.warmup} s (policy {p.name})")
            continue
        for a in alarms:
            sees = a.period * a.evaluation_periods
            if a.policy == p.name and p.direction != "both" and p.cooldown < sees:
                hints.append(f"cooldown {p.cooldown} s is shorter than the {sees} s alarm {a.name} needs to see "
                             f"the effect of a change (Period {a.period} × EvaluationPeriods "
                             f"{a.evaluation_periods}) (policy {p.name})")
                break
    return hints


def diagnose_flapping(policies: Sequence[PolicyFacts], alarms: Sequence[AlarmFacts],
                      history: Sequence[Change]) -> list[str]:
    """The policy settings that explain the flapping, most telling first (never empty)."""
    direction = {p.name: p.direction for p in policies}

    def side(a: AlarmFacts, way: str, ops: frozenset[str]) -> bool:
        return direction.get(a.policy) in (way, "both") and a.comparison in ops

    outs = [a for a in alarms if side(a, "out", OUT_OPS)]
    ins = [a for a in alarms if side(a, "in", IN_OPS)]
    hints = _threshold_hints(outs, ins) + _cooldown_hints(policies, alarms)
    if hints:
        return hints
    values = sorted({v for c in history for v in (c.before, c.after)})
    span = f" between {values[0]} and {values[-1]}" if values else ""
    return [f"no policy setting explains the desired capacity going up and down{span}: look at scheduled actions "
            "and SetDesiredCapacity calls"]


def cause(flaps: int, settings: FlapSettings, hints: Sequence[str]) -> str:
    return (f"The desired capacity changed direction {flaps} times within {settings.window} s (more than "
            f"{settings.threshold}): " + "; ".join(hints) + ".")


def description(flaps: int, settings: FlapSettings) -> str:
    return (f"Thrashing detected: {flaps} scale-out/scale-in direction changes within {settings.window} s "
            f"(threshold {settings.threshold}).")


def to_doc(history: Iterable[Change]) -> list[list[float]]:
    return [[c.at, c.before, c.after] for c in history]


def from_doc(rows: Iterable[Sequence[float]] | None) -> list[Change]:
    return [Change(float(at), int(before), int(after)) for at, before, after in rows or []]
