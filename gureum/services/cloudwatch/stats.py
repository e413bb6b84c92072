"""Metric statistics: samples in, one datapoint per period out.  Pure.

A :class:`Sample` is what one PutMetricData datum becomes: a single
``Value`` (count 1), ``Values`` with ``Counts`` (each value repeated count
times), or a ``StatisticValues`` set (count/sum/min/max without the
distribution).  :func:`aggregate` groups samples into periods
``[start + k·period, start + (k+1)·period)`` and computes, per non-empty
period:

* ``SampleCount`` – the number of values (Σ counts, Σ set sample counts),
* ``Sum``, ``Minimum``, ``Maximum``, ``Average`` = Sum / SampleCount,
* ``pNN`` / ``pNN.NN`` percentiles, nearest-rank over the values weighted by
  their counts.  A period holding a statistic set has no distribution, so
  its percentiles are left out (CloudWatch cannot give them either).

:func:`align_start` rounds a query's start time as CloudWatch does, by the
age of the start and the period (GetMetricStatistics, GetMetricData docs).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

STANDARD_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 20, 30)
DAY = 86_400

_PERCENTILE_RE = re.compile(r"p(\d{1,3}(?:\.\d{1,2})?)")


class Sample(NamedTuple):
    """One stored datum.  (A NamedTuple, not a frozen dataclass: one is made for every value published
    and every one read, and a frozen dataclass takes over three times as long to make.)"""

    ts: float
    count: float  # type: ignore[assignment]  # (shadows tuple.count, which no caller of a Sample wants)
    total: float
    minimum: float
    maximum: float
    # (value, count) pairs for percentiles; empty for a statistic set.
    values: tuple[tuple[float, float], ...] = ()
    unit: str = "None"


def from_value(ts: float, value: float, unit: str = "None") -> Sample:
    return Sample(ts, 1.0, value, value, value, ((value, 1.0),), unit)


def from_values(ts: float, values: Sequence[float], counts: Sequence[float] | None = None, unit: str = "None") -> Sample:
    weights = list(counts) if counts else [1.0] * len(values)
    pairs = tuple((float(v), float(c)) for v, c in zip(values, weights, strict=True) if c > 0)
    if not pairs:
        raise ValueError("no values with a positive count")
    vs = [v for v, _ in pairs]
    cs = [c for _, c in pairs]
    return Sample(ts, sum(cs), sum(map(operator.mul, vs, cs)), min(vs), max(vs), pairs, unit)


def from_statistic_set(
    ts: float, sample_count: float, total: float, minimum: float, maximum: float, unit: str = "None"
) -> Sample:
    return Sample(ts, sample_count, total, minimum, maximum, (), unit)


def parse_percentile(name: str) -> float | None:
    """``"p99"`` → 99.0, ``"p99.9"`` → 99.9; None if not a percentile in [0, 100]."""
    m = _PERCENTILE_RE.fullmatch(name)
    if m is None:
        return None
    p = float(m.group(1))
    return p if 0.0 <= p <= 100.0 else None


def percentile(pairs: Iterable[tuple[float, float]], p: float) -> float:
    """Nearest-rank percentile of values weighted by counts (p in [0, 100])."""
    ordered = sorted(pairs)
    total = sum(c for _, c in ordered)
    if not ordered or total <= 0:
        raise ValueError("no values")
    rank = max(p / 100.0 * total, 0.0)
    seen = 0.0
    for value, count in ordered:
        seen += count
        if seen >= rank - 1e-9:
            return value
    return ordered[-1][0]


@dataclass(frozen=True, slots=True)
class Bucket:
    start: float
    stats: dict[str, float] = field(default_factory=dict)
    unit: str = "None"


def align_start(start: float, period: int, now: float) -> float:
    """Round ``start`` down as CloudWatch does before cutting periods."""
    age = now - start
    if period < 60:
        step = period
    elif age <= 15 * DAY:
        step = 60
    elif age <= 63 * DAY:
        step = 300
    else:
        step = 3600
    return math.floor(start / step) * step


def aggregate(
    samples: Iterable[Sample],
    start: float,
    end: float,
    period: int,
    statistics: Sequence[str] = STANDARD_STATISTICS,
    extended: Sequence[str] = (),
) -> list[Bucket]:
    """One :class:`Bucket` per non-empty period in ``[start, end)``, oldest first."""
    if period <= 0:
        raise ValueError("period must be positive")
    groups: dict[int, list[Sample]] = {}
    for s in samples:
        if start <= s.ts < end:
            groups.setdefault(int((s.ts - start) // period), []).append(s)
    return [_bucket(start + k * period, groups[k], statistics, extended) for k in sorted(groups)]


def _bucket(at: float, group: list[Sample], statistics: Sequence[str], extended: Sequence[str]) -> Bucket:
    count = sum(s.count for s in group)
    total = sum(s.total for s in group)
    computed = {
        "SampleCount": count,
        "Sum": total,
        "Minimum": min(s.minimum for s in group),
        "Maximum": max(s.maximum for s in group),
        "Average": total / count if count else 0.0,
    }
    out = {name: computed[name] for name in statistics if name in computed}
    if extended and all(s.values for s in group):
        pairs = [pair for s in group for pair in s.values]
        for name in extended:
            p = parse_percentile(name)
            if p is not None:
                out[name] = percentile(pairs, p)
    units = {s.unit for s in group}
    return Bucket(at, out, units.pop() if len(units) == 1 else "None")
