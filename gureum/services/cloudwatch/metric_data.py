"""GetMetricData: many metric queries in one call, paged by datapoints.

Each ``MetricDataQuery`` with a ``MetricStat`` becomes one series of
(timestamp, value) from :func:`stats.aggregate`; queries with
``ReturnData: false`` are computed but not returned.  ``Expression`` queries
are metric math (:mod:`metric_math`) over the other queries of the request,
on the period of its MetricStats; an expression giving an array returns one
result per member, all with its Id.

Results come newest first (``ScanBy`` TimestampDescending, the default) or
oldest first.  ``MaxDatapoints`` (default 100,800) caps the datapoints of
one page across all results; the rest follows with ``NextToken``, and a
result cut short says ``StatusCode: PartialData``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import metric_math, metric_query, metrics, stats
from gureum.services.cloudwatch.datum import dimensions, epoch, missing
from gureum.services.cloudwatch.metric_handlers import (
    check_period,
    check_range,
    decode_token,
    encode_token,
)

MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800
_ID_RE = re.compile(r"[a-z][a-zA-Z0-9_]*")


def _invalid(message: str) -> ServiceError:
    return ServiceError("ValidationError", message, 400, sender_fault=True)


@dataclass
class _Result:
    id: str
    label: str
    points: list[tuple[float, float]]


def _stat_name(stat: str, member: str) -> str:
    if stat in stats.STANDARD_STATISTICS or stats.parse_percentile(stat) is not None:
        return stat
    raise _invalid(f"The value {stat} for parameter {member} is not supported by Gureum yet or is invalid.")


def _run_query(ctx: RequestContext, q: dict[str, Any], member: str, start: float, end: float) -> _Result:
    ms = q.get("MetricStat")
    if ms is None:
        raise missing(f"{member}.MetricStat")
    metric = ms.get("Metric") or {}
    for field in ("Namespace", "MetricName"):
        if not metric.get(field):
            raise missing(f"{member}.MetricStat.Metric.{field}")
    for field in ("Period", "Stat"):
        if ms.get(field) is None:
            raise missing(f"{member}.MetricStat.{field}")
    period = int(ms["Period"])
    check_period(period, f"{member}.MetricStat.Period")
    stat = _stat_name(ms["Stat"], f"{member}.MetricStat.Stat")
    dims = dimensions(metric.get("Dimensions"), f"{member}.MetricStat.Metric.Dimensions")
    aligned = stats.align_start(start, period, ctx.clock.now())
    samples = metrics.read_samples(ctx.store, ctx.scope, metric["Namespace"], metric["MetricName"], dims, aligned, end)
    if ms.get("Unit"):
        samples = [s for s in samples if s.unit == ms["Unit"]]
    standard = [stat] if stat in stats.STANDARD_STATISTICS else []
    extended = [] if standard else [stat]
    buckets = stats.aggregate(samples, aligned, end, period, standard, extended)
    points = [(b.start, b.stats[stat]) for b in buckets if stat in b.stats]
    return _Result(q["Id"], q.get("Label") or metric["MetricName"], points)


def _check_ids(queries: list[dict[str, Any]]) -> None:
    if not queries:
        raise missing("MetricDataQueries")
    if len(queries) > MAX_QUERIES:
        raise _invalid(f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}.")
    seen: set[str] = set()
    for i, q in enumerate(queries, start=1):
        qid = q.get("Id") or ""
        if not _ID_RE.fullmatch(qid):
            raise _invalid(
                f"The value {qid} for parameter MetricDataQueries.member.{i}.Id is invalid: it must start "
                "with a lowercase letter and hold only letters, digits and underscores."
            )
        if qid in seen:
            raise _invalid(f"The value {qid} for parameter MetricDataQueries.member.{i}.Id is not unique.")
        seen.add(qid)


def _ts(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def get_metric_data(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    queries = list(req["MetricDataQueries"])
    _check_ids(queries)
    start, end = epoch(req["StartTime"]), epoch(req["EndTime"])
    check_range(start, end)
    descending = (req.get("ScanBy") or "TimestampDescending") == "TimestampDescending"
    page_size = int(req.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS)
    offset = 0
    if req.get("NextToken"):
        offset = decode_token(req["NextToken"], "InvalidNextToken")
        if not isinstance(offset, int) or offset < 0:
            raise ServiceError("InvalidNextToken", "The specified NextToken is not valid.", 400, sender_fault=True)
    computed: dict[str, list[_Result]] = {}
    for i, q in enumerate(queries, start=1):
        member = f"MetricDataQueries.member.{i}"
        if q.get("Expression") is not None and q.get("MetricStat") is not None:
            raise _invalid(f"Exactly one of {member}.MetricStat and {member}.Expression must be specified.")
        if q.get("Expression") is None:
            computed[q["Id"]] = [_run_query(ctx, q, member, start, end)]
    if any(q.get("Expression") is not None for q in queries):
        computed.update(_run_expressions(ctx, queries, computed, start, end))
    results = []
    for q in queries:
        if q.get("ReturnData", True) is not False:
            for result in computed[q["Id"]]:
                if descending:
                    result.points.reverse()
                results.append(result)
    return _page(results, offset, page_size)


def _run_expressions(
    ctx: RequestContext, queries: list[dict[str, Any]], computed: dict[str, list[_Result]], start: float, end: float
) -> dict[str, list[_Result]]:
    exprs = [q for q in queries if q.get("Expression") is not None]
    for q in exprs:
        if str(q["Expression"]).lstrip().upper().startswith("SELECT "):
            raise _invalid(f"Metrics Insights queries are not supported by Gureum yet (query {q['Id']}).")
    out: dict[str, list[_Result]] = {}
    base = {qid: metric_math.Series(r[0].label, dict(r[0].points), qid) for qid, r in computed.items()}
    # Math works on the datapoints of the metrics; an expression's own Period
    # only matters when no MetricStat sets one (TIME_SERIES, constants).
    fallback = next((int(q["Period"]) for q in exprs if q.get("Period")), 60)
    period = metric_query.expression_period(queries, fallback)
    check_period(period, "Period")
    aligned = stats.align_start(start, period, ctx.clock.now())
    stamps = metric_query.grid(aligned, end, period)
    texts = [metric_math.Expression(e["Id"], str(e["Expression"])) for e in exprs]
    values = metric_math.evaluate_queries(texts, base, stamps, period)
    for q in exprs:
        label = q.get("Label") or q["Id"]
        series = metric_math.as_series(values[q["Id"]], label, stamps)
        out[q["Id"]] = [_Result(q["Id"], s.label, sorted(s.points.items())) for s in series]
    return out


def _page(results: list[_Result], offset: int, size: int) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    first = 0  # global index of the first point of the current result
    total = sum(len(r.points) for r in results)
    for r in results:
        lo = min(max(offset - first, 0), len(r.points))
        hi = min(max(offset + size - first, 0), len(r.points))
        chunk = r.points[lo:hi]
        out.append(
            {
                "Id": r.id,
                "Label": r.label,
                "Timestamps": [_ts(t) for t, _ in chunk],
                "Values": [v for _, v in chunk],
                "StatusCode": "PartialData" if hi < len(r.points) else "Complete",
                "Messages": [],
            }
        )
        first += len(r.points)
    response: dict[str, Any] = {"MetricDataResults": out, "Messages": []}
    if offset + size < total:
        response["NextToken"] = encode_token(offset + size)
    return response


OPERATIONS = {"GetMetricData": get_metric_data}
