"""GetMetricData with metric math expressions, through the handler over a real store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.settings import Settings

NOW = 1_700_000_040.0
Call = Callable[..., dict[str, Any]]


@pytest.fixture
def call(tmp_path: Path) -> Iterator[Call]:
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    api = app.service_api("cloudwatch")
    assert api is not None

    def do(op: str, **req: Any) -> dict[str, Any]:
        ctx = RequestContext("cloudwatch", op, "123456789012", "us-east-1", "rid", app)
        return api.handlers[op](ctx, req)  # type: ignore[return-value]

    yield do
    app.store.close()


def dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def stat(qid: str, name: str, host: str | None = None, **extra: Any) -> dict[str, Any]:
    metric: dict[str, Any] = {"Namespace": "App", "MetricName": name}
    if host:
        metric["Dimensions"] = [{"Name": "Host", "Value": host}]
    return {"Id": qid, "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}, **extra}


@pytest.fixture
def data(call: Call) -> None:
    rows = {("Requests", "a"): [10, 20, 30], ("Requests", "b"): [1, None, 3], ("Errors", "a"): [1, 2, None]}
    for (name, host), values in rows.items():
        for i, v in enumerate(values):
            if v is not None:
                call("PutMetricData", Namespace="App", MetricData=[{
                    "MetricName": name, "Value": float(v), "Timestamp": dt(NOW - 180 + i * 60),
                    "Dimensions": [{"Name": "Host", "Value": host}]}])


def results(call: Call, queries: list[dict[str, Any]], **kw: Any) -> dict[str, list[tuple[float, float]]]:
    out = call("GetMetricData", StartTime=dt(NOW - 180), EndTime=dt(NOW), MetricDataQueries=queries,
               ScanBy="TimestampAscending", **kw)
    got: dict[str, list[tuple[float, float]]] = {}
    for r in out["MetricDataResults"]:
        got.setdefault(r["Id"], []).extend((t - NOW, v) for t, v in zip(r["Timestamps"], r["Values"], strict=True))
    return got


@pytest.mark.usefixtures("data")
def test_expressions_over_metric_stats(call: Call) -> None:
    got = results(call, [
        stat("ra", "Requests", "a", ReturnData=False),
        stat("rb", "Requests", "b", ReturnData=False),
        stat("ea", "Errors", "a", ReturnData=False),
        {"Id": "total", "Expression": "SUM(METRICS(\"r\"))", "Label": "All requests"},
        {"Id": "rate", "Expression": "100 * ea / ra"},
        {"Id": "filled", "Expression": "FILL(rb, REPEAT)"},
        {"Id": "busy", "Expression": "IF(total > 15, 1, 0)"},
        {"Id": "avg", "Expression": "AVG(ra)"},
    ])
    assert set(got) == {"total", "rate", "filled", "busy", "avg"}
    assert got["total"] == [(-180, 11.0), (-120, 20.0), (-60, 33.0)]
    assert got["rate"] == [(-180, 10.0), (-120, 10.0)]
    assert got["filled"] == [(-180, 1.0), (-120, 1.0), (-60, 3.0)]
    assert got["busy"] == [(-180, 0.0), (-120, 1.0), (-60, 1.0)]
    assert got["avg"] == [(-180, 20.0), (-120, 20.0), (-60, 20.0)]  # a scalar over the whole range


@pytest.mark.usefixtures("data")
def test_labels_arrays_order_and_periods(call: Call) -> None:
    out = call("GetMetricData", StartTime=dt(NOW - 180), EndTime=dt(NOW), MetricDataQueries=[
        stat("ra", "Requests", "a", ReturnData=False), stat("rb", "Requests", "b", ReturnData=False),
        {"Id": "each", "Expression": "METRICS() * 2"},
        {"Id": "total", "Expression": "SUM(METRICS())", "Label": "All"},
        {"Id": "flat", "Expression": "TIME_SERIES(PERIOD(ra))"},
    ])
    by = [(r["Id"], r["Label"], r["Values"]) for r in out["MetricDataResults"]]
    assert by == [
        ("each", "Requests", [60.0, 40.0, 20.0]),  # newest first by default
        ("each", "Requests", [6.0, 2.0]),
        ("total", "All", [33.0, 20.0, 11.0]),
        ("flat", "flat", [60.0, 60.0, 60.0]),
    ]


@pytest.mark.parametrize(
    ("queries", "needle"),
    [
        ([{"Id": "e1", "Expression": "ra +"}], "Error in expression e1: Syntax error"),
        ([{"Id": "e1", "Expression": "m9 * 2"}], "Unrecognized metric or expression id m9"),
        ([{"Id": "e1", "Expression": "e2"}, {"Id": "e2", "Expression": "e1"}], "Circular dependency"),
        ([{"Id": "e1", "Expression": "SELECT AVG(CPU) FROM App"}], "Metrics Insights queries are not supported"),
        ([{"Id": "e1", "Expression": "1", "MetricStat": stat("x", "Requests")["MetricStat"]}],
         "Exactly one of MetricDataQueries.member.1.MetricStat and MetricDataQueries.member.1.Expression"),
        ([{"Id": "e1", "Expression": "1", "Period": 45}], "Period must be 1, 5, 10, 20, 30, or a multiple of 60"),
        ([stat("ra", "Requests"), {"Id": "e1", "Expression": "METRICS() + METRICS()"}], "two arrays"),
    ],
)
def test_expression_errors(call: Call, queries: list[dict[str, Any]], needle: str) -> None:
    with pytest.raises(ServiceError) as info:
        call("GetMetricData", StartTime=dt(NOW - 180), EndTime=dt(NOW), MetricDataQueries=queries)
    assert needle in info.value.message and info.value.status == 400
