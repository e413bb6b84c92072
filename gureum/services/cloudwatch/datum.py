"""PutMetricData input rules: one ``MetricDatum`` → one :class:`~stats.Sample`.

Checks CloudWatch makes beyond the model's shape (PutMetricData API
reference), with messages naming the member as the query protocol spells it
(``MetricData.member.3.Value``), which is how CloudWatch reports them on
every protocol:

* at most 1,000 data in one call, at most 30 dimensions per datum, no
  dimension name twice;
* exactly one of ``Value``, ``Values`` or ``StatisticValues``; ``Counts`` as
  long as ``Values`` (at most 150 values); a statistic set complete with
  SampleCount > 0 and Minimum ≤ Maximum;
* finite numbers only (no NaN or ±Infinity) within ±2^360;
* ``StorageResolution`` 1 or 60 (default 60);
* ``Timestamp`` (default now) no more than two weeks back or two hours ahead.

The sample's time is truncated to the minute (standard resolution) or the
second (high resolution): that is the granularity CloudWatch stores.
Pure: ``now`` is passed in.
"""

from __future__ import annotations

import math
import operator
from datetime import datetime
from typing import Any, NamedTuple

from gureum.core.errors import ServiceError
from gureum.services.cloudwatch import stats

MAX_DATA = 1000
MAX_DIMENSIONS = 30
MAX_VALUES = 150
MAX_MAGNITUDE = 2.0**360
MAX_AGE = 14 * 86_400
MAX_AHEAD = 2 * 3_600

Dimensions = tuple[tuple[str, str], ...]


class Point(NamedTuple):
    """One checked datum.  (A NamedTuple: one is made for every datum put.)"""

    metric_name: str
    dimensions: Dimensions
    sample: stats.Sample
    resolution: int


def invalid_value(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message, 400, sender_fault=True)


def missing(member: str) -> ServiceError:
    return ServiceError("MissingParameter", f"The parameter {member} is required.", 400, sender_fault=True)


def combination(message: str) -> ServiceError:
    return ServiceError("InvalidParameterCombination", message, 400, sender_fault=True)


def epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def dimensions(raw: list[dict[str, Any]] | None, member: str) -> Dimensions:
    if raw is not None and len(raw) == 1:  # the usual one dimension: nothing to sort or compare
        name, value = raw[0].get("Name"), raw[0].get("Value")
        if name and value:
            return ((str(name), str(value)),)
    dims = [(str(d.get("Name") or ""), str(d.get("Value") or "")) for d in raw or []]
    if len(dims) > MAX_DIMENSIONS:
        raise invalid_value(f"The collection {member} must not have a size greater than {MAX_DIMENSIONS}.")
    names = [n for n, _ in dims]
    for i, (name, value) in enumerate(dims, start=1):
        if not name:
            raise missing(f"{member}.member.{i}.Name")
        if not value:
            raise missing(f"{member}.member.{i}.Value")
        if names.count(name) > 1:
            raise invalid_value(f"The collection {member} must not contain duplicate dimension names ({name}).")
    return tuple(sorted(dims))


def _number(value: Any, member: str) -> float:
    x = float(value)
    if not math.isfinite(x) or abs(x) > MAX_MAGNITUDE:
        raise invalid_value(f"The value {value} for parameter {member} is invalid.")
    return x


def _numbers(values: list[Any], member: str) -> list[float]:
    """:func:`_number` of each (the member named only when one is refused)."""
    out = [float(v) for v in values]
    # A finite sum means no NaN or infinity among them (then min and max are the true ones).
    if out and math.isfinite(sum(out)) and -MAX_MAGNITUDE <= min(out) and max(out) <= MAX_MAGNITUDE:
        return out
    for v, x in zip(values, out, strict=True):
        if not math.isfinite(x) or abs(x) > MAX_MAGNITUDE:
            raise invalid_value(f"The value {v} for parameter {member} is invalid.")
    return out


def _timestamp(datum: dict[str, Any], member: str, now: float) -> float:
    if datum.get("Timestamp") is None:
        return now
    ts = epoch(datum["Timestamp"])
    if ts < now - MAX_AGE:
        raise invalid_value(f"The parameter {member}.Timestamp must specify a time no more than two weeks in the past.")
    if ts > now + MAX_AHEAD:
        raise invalid_value(f"The parameter {member}.Timestamp must specify a time no more than two hours in the future.")
    return ts


def _resolution(datum: dict[str, Any], member: str) -> int:
    res = datum.get("StorageResolution")
    if res is None:
        return 60
    if res not in (1, 60):
        raise invalid_value(f"The value {res} for parameter {member}.StorageResolution is invalid.")
    return int(res)


def _sample(datum: dict[str, Any], member: str, ts: float, unit: str) -> stats.Sample:
    given = [k for k in ("Value", "Values", "StatisticValues") if datum.get(k) is not None]
    if len(given) > 1:
        raise combination(
            f"The parameters {member}.{given[0]} and {member}.{given[1]} are mutually exclusive "
            "and you have specified both."
        )
    if not given:
        raise missing(f"{member}.Value")
    if given[0] == "Value":
        return stats.from_value(ts, _number(datum["Value"], f"{member}.Value"), unit)
    if given[0] == "Values":
        return _values_sample(datum, member, ts, unit)
    return _set_sample(datum["StatisticValues"], f"{member}.StatisticValues", ts, unit)


def _values_sample(datum: dict[str, Any], member: str, ts: float, unit: str) -> stats.Sample:
    values = _numbers(datum["Values"], f"{member}.Values")
    counts = datum.get("Counts")
    if len(values) > MAX_VALUES:
        raise invalid_value(f"The collection {member}.Values must not have a size greater than {MAX_VALUES}.")
    if counts is not None and len(counts) != len(values):
        raise invalid_value(f"The parameters {member}.Values and {member}.Counts must be of the same size.")
    weights = _numbers(counts, f"{member}.Counts") if counts is not None else None
    if values and (weights is None or min(weights) > 0):  # stats.from_values of floats, none dropped
        weights = weights or [1.0] * len(values)
        return stats.Sample(ts, sum(weights), sum(map(operator.mul, values, weights)), min(values), max(values),
                            tuple(zip(values, weights, strict=True)), unit)
    if weights is not None and any(c < 0 for c in weights):
        raise invalid_value(f"The parameter {member}.Counts must not contain negative values.")
    try:
        return stats.from_values(ts, values, weights, unit)
    except ValueError as exc:
        raise invalid_value(f"The parameter {member}.Values must contain at least one value with a positive count.") from exc


def _set_sample(raw: dict[str, Any], member: str, ts: float, unit: str) -> stats.Sample:
    parts = {}
    for key in ("SampleCount", "Sum", "Minimum", "Maximum"):
        if raw.get(key) is None:
            raise missing(f"{member}.{key}")
        parts[key] = _number(raw[key], f"{member}.{key}")
    if parts["SampleCount"] <= 0:
        raise invalid_value(f"The parameter {member}.SampleCount must be greater than 0.")
    if parts["Minimum"] > parts["Maximum"]:
        raise invalid_value(f"The parameter {member}.Minimum must be less than or equal to {member}.Maximum.")
    return stats.from_statistic_set(ts, parts["SampleCount"], parts["Sum"], parts["Minimum"], parts["Maximum"], unit)


def to_point(datum: dict[str, Any], index: int, now: float) -> Point:
    """Check datum number ``index`` (1-based) and turn it into a stored point."""
    member = f"MetricData.member.{index}"
    name = datum.get("MetricName")
    if not name:
        raise missing(f"{member}.MetricName")
    dims = dimensions(datum.get("Dimensions"), f"{member}.Dimensions")
    resolution = _resolution(datum, member)
    ts = _timestamp(datum, member, now)
    ts = math.floor(ts) if resolution == 1 else math.floor(ts / 60) * 60
    sample = _sample(datum, member, float(ts), str(datum.get("Unit") or "None"))
    return Point(str(name), dims, sample, resolution)


def to_points(namespace: str, data: list[dict[str, Any]] | None, now: float) -> list[Point]:
    """All points of one PutMetricData call, or the first refusal."""
    if namespace.startswith("AWS/"):
        raise invalid_value(f"The value {namespace} for parameter Namespace is invalid.")
    if not data:
        raise missing("MetricData")
    if len(data) > MAX_DATA:
        raise invalid_value(f"The collection MetricData must not have a size greater than {MAX_DATA}.")
    return [to_point(d, i, now) for i, d in enumerate(data, start=1)]
