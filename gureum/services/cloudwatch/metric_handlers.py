"""PutMetricData, ListMetrics, GetMetricStatistics.

Handlers check what the model cannot (see :mod:`datum`), store samples via
:mod:`metrics` and leave the arithmetic to :mod:`stats`.  GetMetricStatistics
answers at most 1,440 datapoints, aligns periods to the (rounded) StartTime
and returns datapoints oldest first (AWS does not promise an order).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import metrics, stats
from gureum.services.cloudwatch.datum import (
    combination,
    dimensions,
    epoch,
    invalid_value,
    to_points,
)

LIST_PAGE = 500
MAX_DATAPOINTS = 1440
RECENTLY_ACTIVE_SECONDS = 3 * 3600


def check_period(period: int, member: str = "Period") -> None:
    if period in stats.HIGH_RESOLUTION_PERIODS or (period >= 60 and period % 60 == 0):
        return
    raise invalid_value(f"The parameter {member} must be 1, 5, 10, 20, 30, or a multiple of 60.")


def check_range(start: float, end: float) -> None:
    if start >= end:
        raise invalid_value("The parameter StartTime must be less than the parameter EndTime.")


def encode_token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def decode_token(token: str, code: str = "InvalidParameterValue") -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError) as exc:
        raise ServiceError(code, "The specified NextToken is not valid.", 400, sender_fault=True) from exc


def put_metric_data(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    now = ctx.clock.now()
    data = list(req.get("MetricData") or [])
    # EntityMetricData carries more data, each set tied to an entity (ignored here).
    for entity_data in req.get("EntityMetricData") or []:
        data += entity_data.get("MetricData") or []
    points = to_points(req["Namespace"], data, now)
    metrics.record_points(ctx.store, ctx.scope, req["Namespace"], points, now)
    return {}


def list_metrics(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    after = ""
    if req.get("NextToken"):
        after = str(decode_token(req["NextToken"]))
    active_since = None
    if req.get("RecentlyActive") == "PT3H":
        active_since = ctx.clock.now() - RECENTLY_ACTIVE_SECONDS
    found: list[tuple[str, dict[str, Any]]] = []
    more = False
    for key, doc in metrics.find_metrics(
        ctx.store,
        ctx.scope,
        namespace=req.get("Namespace"),
        name=req.get("MetricName"),
        dimension_filters=req.get("Dimensions") or (),
        active_since=active_since,
        start_after=after,
    ):
        if len(found) == LIST_PAGE:
            more = True
            break
        found.append((key, doc))
    out: dict[str, Any] = {
        "Metrics": [
            {"Namespace": d["Namespace"], "MetricName": d["MetricName"], "Dimensions": d["Dimensions"]}
            for _, d in found
        ]
    }
    if more:
        out["NextToken"] = encode_token(found[-1][0])
    return out


def _statistics(req: dict[str, Any]) -> tuple[list[str], list[str]]:
    standard = list(req.get("Statistics") or [])
    extended = list(req.get("ExtendedStatistics") or [])
    if not standard and not extended:
        raise ServiceError(
            "MissingParameter", "Must specify either Statistics or ExtendedStatistics.", 400, sender_fault=True
        )
    if standard and extended:
        raise combination("Must specify either Statistics or ExtendedStatistics, but not both.")
    for i, name in enumerate(extended, start=1):
        if stats.parse_percentile(name) is None:
            raise invalid_value(f"The value {name} for parameter ExtendedStatistics.member.{i} is invalid.")
    return standard, extended


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def get_metric_statistics(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    start, end = epoch(req["StartTime"]), epoch(req["EndTime"])
    check_range(start, end)
    period = int(req["Period"])
    check_period(period)
    standard, extended = _statistics(req)
    start = stats.align_start(start, period, ctx.clock.now())
    wanted = math.ceil((end - start) / period)
    if wanted > MAX_DATAPOINTS:
        raise combination(
            f"You have requested up to {wanted:,} datapoints, which exceeds the limit of {MAX_DATAPOINTS:,}. "
            "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )
    dims = dimensions(req.get("Dimensions"), "Dimensions")
    samples = metrics.read_samples(ctx.store, ctx.scope, req["Namespace"], req["MetricName"], dims, start, end)
    unit = req.get("Unit")
    if unit:
        samples = [s for s in samples if s.unit == unit]
    datapoints = []
    for b in stats.aggregate(samples, start, end, period, standard, extended):
        dp: dict[str, Any] = {"Timestamp": _number(b.start), "Unit": unit or b.unit}
        dp.update({k: v for k, v in b.stats.items() if k in stats.STANDARD_STATISTICS})
        ext = {k: v for k, v in b.stats.items() if k not in stats.STANDARD_STATISTICS}
        if ext:
            dp["ExtendedStatistics"] = ext
        datapoints.append(dp)
    return {"Label": req["MetricName"], "Datapoints": datapoints}


OPERATIONS = {
    "PutMetricData": put_metric_data,
    "ListMetrics": list_metrics,
    "GetMetricStatistics": get_metric_statistics,
}
