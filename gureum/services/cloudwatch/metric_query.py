"""Reading datapoints for a query: one MetricStat, or a set of metric math
queries, over ``[start, end)`` cut into periods.

Shared by GetMetricData (:mod:`metric_data`) and the alarm evaluator
(:mod:`alarm_controller`): the numbers an alarm sees are the ones
GetMetricData shows for the same query.  ``start`` must already be aligned
(whole periods from it).  The evaluator passes its in-memory
:class:`~sample_window.SampleWindow`; GetMetricData reads the store.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.cloudwatch import metric_math, metrics, stats
from gureum.services.cloudwatch.alarm_eval import Datapoint
from gureum.services.cloudwatch.datum import Dimensions
from gureum.services.cloudwatch.sample_window import SampleWindow, Slide


@dataclass(frozen=True, slots=True)
class StatQuery:
    namespace: str
    name: str
    dimensions: Dimensions
    period: int
    stat: str  # a standard statistic or a percentile ("p99")
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Point:
    ts: float
    value: float
    sample_count: float


def stat_query(metric_stat: Mapping[str, Any]) -> StatQuery:
    """A checked ``MetricStat`` dict (model shape) as a :class:`StatQuery`."""
    metric = metric_stat.get("Metric") or {}
    return StatQuery(
        str(metric.get("Namespace")),
        str(metric.get("MetricName")),
        metrics.canonical(metric.get("Dimensions") or []),
        int(metric_stat["Period"]),
        str(metric_stat["Stat"]),
        metric_stat.get("Unit") or None,
    )


def read_points(
    store: Store, scope: Scope, q: StatQuery, start: float, end: float, window: SampleWindow | None = None
) -> list[Point]:
    """One point per non-empty period of ``[start, end)``, oldest first (samples from ``window`` if given)."""
    if window is not None:
        key = metrics.metric_key(q.namespace, q.name, q.dimensions)

        def one(samples: list[stats.Sample], at: float) -> Point | None:
            found = _points(q, samples, at, at + q.period)
            return found[0] if found else None

        points = window.periods(store, scope, key, start, end, q.period, (q.stat, q.unit), one)
        return [p for p in points if p is not None]
    samples = metrics.read_samples(store, scope, q.namespace, q.name, q.dimensions, start, end)
    return _points(q, samples, start, end)


def period_datapoints(
    store: Store, scope: Scope, q: StatQuery, key: str, start: float, end: float, window: SampleWindow
) -> list[Datapoint | None]:
    """The alarm evaluator's read: one datapoint per period of ``[start, end)`` (None: no samples).

    The same numbers as :func:`read_points` (``key`` is the query's metric key), memoized per
    period in ``window``; a standard statistic is computed directly, without :func:`stats.aggregate`.
    """
    how, compute = reader(q)
    return window.periods(store, scope, key, start, end, q.period, how, compute)


def slide_datapoints(
    store: Store, scope: Scope, q: StatQuery, key: str, start: float, count: int, window: SampleWindow,
    last: Slide | None,
) -> Slide:
    """:func:`period_datapoints` for ``count`` periods from ``start``, as a :class:`Slide` that the
    same reader hands back next time (the periods both ranges hold are not looked up again)."""
    how, compute = reader(q)
    return window.slide(store, scope, key, start, count, q.period, how, compute, last)


def reader(q: StatQuery) -> tuple[Hashable, Callable[[list[stats.Sample], float], Datapoint | None]]:
    """How the window memoizes ``q``'s datapoints, and the function computing one period's."""
    how = ("datapoint", q.stat, q.unit)
    compute = _COMPUTE.get((how, q.period))
    if compute is None:
        compute = _COMPUTE[(how, q.period)] = _datapoint_of(q)
    return how, compute


_COMPUTE: dict[tuple[tuple[str, str, str | None], int], Callable[[list[stats.Sample], float], Datapoint | None]] = {}


def _datapoint_of(q: StatQuery) -> Callable[[list[stats.Sample], float], Datapoint | None]:
    stat, unit = q.stat, q.unit
    if stat not in stats.STANDARD_STATISTICS:
        p = stats.parse_percentile(stat)

        def percentile(samples: list[stats.Sample], at: float) -> Datapoint | None:
            # stats.aggregate's bucket, for the one period the window hands over: a percentile only
            # when every sample kept its values.
            if unit:
                samples = [s for s in samples if s.unit == unit]
            if not samples or p is None or not all(s.values for s in samples):
                return None
            value = stats.percentile([pair for s in samples for pair in s.values], p)
            return Datapoint(at, value, sum(s.count for s in samples))

        return percentile

    def standard(samples: list[stats.Sample], at: float) -> Datapoint | None:
        if unit:
            samples = [s for s in samples if s.unit == unit]
        if len(samples) == 1:  # the usual period of one sample (0 + x: what sum() of one gives, -0.0 included)
            one = samples[0]
            count = 0 + one.count
            if stat == "Average":
                value = (0 + one.total) / count if count else 0.0
            elif stat == "SampleCount":
                value = count
            elif stat == "Sum":
                value = 0 + one.total
            else:
                value = one.minimum if stat == "Minimum" else one.maximum
            return Datapoint(at, value, count)
        if not samples:
            return None
        count = sum(s.count for s in samples)  # as stats.aggregate sums: exactly its numbers
        if stat == "SampleCount":
            value = count
        elif stat == "Average":
            value = sum(s.total for s in samples) / count if count else 0.0
        elif stat == "Sum":
            value = sum(s.total for s in samples)
        elif stat == "Minimum":
            value = min(s.minimum for s in samples)
        else:
            value = max(s.maximum for s in samples)
        return Datapoint(at, value, count)

    return standard


def _points(q: StatQuery, samples: list[stats.Sample], start: float, end: float) -> list[Point]:
    if q.unit:
        samples = [s for s in samples if s.unit == q.unit]
    standard = [q.stat] if q.stat in stats.STANDARD_STATISTICS else []
    extended = [] if standard else [q.stat]
    buckets = stats.aggregate(samples, start, end, q.period, [*standard, "SampleCount"], extended)
    return [Point(b.start, b.stats[q.stat], b.stats["SampleCount"]) for b in buckets if q.stat in b.stats]


def grid(start: float, end: float, period: int) -> list[float]:
    """Every period start in ``[start, end)``."""
    out = []
    t = start
    while t < end:
        out.append(t)
        t += period
    return out


def expression_period(queries: Sequence[Mapping[str, Any]], default: int = 60) -> int:
    """The period math expressions use: the first MetricStat's (they should all agree)."""
    for q in queries:
        if q.get("MetricStat"):
            return int(q["MetricStat"]["Period"])
    return default


def run_math(
    store: Store,
    scope: Scope,
    queries: Sequence[Mapping[str, Any]],
    start: float,
    end: float,
    period: int,
    window: SampleWindow | None = None,
) -> dict[str, list[metric_math.Series]]:
    """Every query of a request (MetricStat and Expression) → its series, by Id.

    A MetricStat gives one series; an expression may give an array (several).
    Raises :class:`metric_math.MathError` for a bad expression.
    """
    base: dict[str, metric_math.Series] = {}
    labels: dict[str, str] = {}
    exprs: list[metric_math.Expression] = []
    for q in queries:
        qid = str(q["Id"])
        if q.get("MetricStat"):
            sq = stat_query(q["MetricStat"])
            pts = read_points(store, scope, sq, start, end, window)
            base[qid] = metric_math.Series(q.get("Label") or sq.name, {p.ts: p.value for p in pts}, qid)
        else:
            exprs.append(metric_math.Expression(qid, str(q.get("Expression") or "")))
            labels[qid] = q.get("Label") or qid
    timestamps = grid(start, end, period)
    out: dict[str, list[metric_math.Series]] = {k: [v] for k, v in base.items()}
    for qid, value in metric_math.evaluate_queries(exprs, base, timestamps, period).items():
        out[qid] = metric_math.as_series(value, labels[qid], timestamps)
    return out
