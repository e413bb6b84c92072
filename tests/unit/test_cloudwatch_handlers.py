"""CloudWatch metric handlers called directly over a real App and store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import metrics
from gureum.settings import Settings

NOW = 1_700_000_040.0  # a whole minute
Call = Callable[..., dict[str, Any]]


def dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    yield a
    a.store.close()


@pytest.fixture
def call(app: App) -> Call:
    api = app.service_api("cloudwatch")
    assert api is not None

    def do(op: str, **req: Any) -> dict[str, Any]:
        ctx = RequestContext("cloudwatch", op, "123456789012", "us-east-1", "rid", app)
        return api.handlers[op](ctx, req)  # type: ignore[return-value]

    return do


def error(fn: Callable[[], Any]) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn()
    return info.value


def put(call: Call, name: str, value: float, at: float, dims: dict[str, str] | None = None, **extra: Any) -> None:
    datum = {"MetricName": name, "Value": value, "Timestamp": dt(at), **extra}
    if dims:
        datum["Dimensions"] = [{"Name": k, "Value": v} for k, v in dims.items()]
    call("PutMetricData", Namespace="App", MetricData=[datum])


def test_put_and_get_statistics(call: Call) -> None:
    for i, v in enumerate([1, 2, 3, 10]):
        put(call, "Latency", v, NOW - 600 + i * 60 + 7, {"Host": "a"})
    put(call, "Latency", 1000, NOW - 600, {"Host": "b"})  # another metric: not mixed in
    out = call(
        "GetMetricStatistics",
        Namespace="App",
        MetricName="Latency",
        Dimensions=[{"Name": "Host", "Value": "a"}],
        StartTime=dt(NOW - 600),
        EndTime=dt(NOW),
        Period=120,
        Statistics=["Sum", "Maximum", "SampleCount", "Average", "Minimum"],
    )
    assert out["Label"] == "Latency"
    points = [(p["Timestamp"] - NOW, p["Sum"], p["SampleCount"]) for p in out["Datapoints"]]
    assert points == [(-600, 3, 2), (-480, 13, 2)]
    assert out["Datapoints"][1]["Maximum"] == 10 and out["Datapoints"][1]["Unit"] == "None"
    # Dimensions must match exactly: none at all is another metric.
    none = call("GetMetricStatistics", Namespace="App", MetricName="Latency", StartTime=dt(NOW - 600),
                EndTime=dt(NOW), Period=60, Statistics=["Sum"])
    assert none["Datapoints"] == []


def test_extended_statistics_and_unit_filter(call: Call) -> None:
    call("PutMetricData", Namespace="App", MetricData=[
        {"MetricName": "T", "Values": [1, 2, 3, 100], "Counts": [50, 30, 19, 1], "Timestamp": dt(NOW - 30), "Unit": "Milliseconds"},
        {"MetricName": "T", "Value": 5000, "Timestamp": dt(NOW - 30), "Unit": "Seconds"},
    ])
    out = call("GetMetricStatistics", Namespace="App", MetricName="T", StartTime=dt(NOW - 60), EndTime=dt(NOW),
               Period=60, ExtendedStatistics=["p50", "p99", "p100"], Unit="Milliseconds")
    [p] = out["Datapoints"]
    assert p["ExtendedStatistics"] == {"p50": 1, "p99": 3, "p100": 100}
    assert p["Unit"] == "Milliseconds"


@pytest.mark.parametrize(
    ("req", "code", "needle"),
    [
        ({"Period": 45, "Statistics": ["Sum"]}, "InvalidParameterValue", "Period"),
        ({"Period": 60}, "MissingParameter", "Statistics"),
        ({"Period": 60, "Statistics": ["Sum"], "ExtendedStatistics": ["p9"]}, "InvalidParameterCombination", "not both"),
        ({"Period": 60, "ExtendedStatistics": ["p200"]}, "InvalidParameterValue", "ExtendedStatistics.member.1"),
        ({"Period": 1, "Statistics": ["Sum"]}, "InvalidParameterCombination", "1,440"),
    ],
)
def test_get_metric_statistics_refusals(call: Call, req: dict[str, Any], code: str, needle: str) -> None:
    err = error(lambda: call("GetMetricStatistics", Namespace="App", MetricName="X",
                             StartTime=dt(NOW - 3600), EndTime=dt(NOW), **req))
    assert err.code == code and needle in err.message


def test_start_must_precede_end(call: Call) -> None:
    err = error(lambda: call("GetMetricStatistics", Namespace="A", MetricName="X", StartTime=dt(NOW),
                             EndTime=dt(NOW), Period=60, Statistics=["Sum"]))
    assert err.code == "InvalidParameterValue" and "StartTime" in err.message


@pytest.mark.parametrize(
    ("namespace", "datum", "code", "member"),
    [
        ("AWS/EC2", {"MetricName": "m", "Value": 1}, "InvalidParameterValue", "Namespace"),
        ("App", {"MetricName": "m"}, "MissingParameter", "MetricData.member.1.Value"),
        ("App", {"MetricName": "m", "Value": 1, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}},
         "InvalidParameterCombination", "MetricData.member.1.Value"),
        ("App", {"MetricName": "m", "Values": [1, 2], "Counts": [1]}, "InvalidParameterValue", "MetricData.member.1.Counts"),
        ("App", {"MetricName": "m", "Value": 1, "StorageResolution": 30}, "InvalidParameterValue", "StorageResolution"),
        ("App", {"MetricName": "m", "Value": float("nan")}, "InvalidParameterValue", "MetricData.member.1.Value"),
        ("App", {"MetricName": "m", "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1}}, "MissingParameter",
         "MetricData.member.1.StatisticValues.Maximum"),
        ("App", {"MetricName": "m", "Value": 1, "Timestamp": dt(NOW - 15 * 86_400)}, "InvalidParameterValue", "Timestamp"),
        ("App", {"MetricName": "m", "Value": 1, "Timestamp": dt(NOW + 3 * 3600)}, "InvalidParameterValue", "Timestamp"),
        ("App", {"MetricName": "m", "Value": 1, "Dimensions": [{"Name": "a", "Value": "1"}, {"Name": "a", "Value": "2"}]},
         "InvalidParameterValue", "Dimensions"),
    ],
)
def test_put_metric_data_refusals(call: Call, namespace: str, datum: dict[str, Any], code: str, member: str) -> None:
    err = error(lambda: call("PutMetricData", Namespace=namespace, MetricData=[datum]))
    assert err.code == code and member in err.message


def test_entity_metric_data_is_stored_too(call: Call) -> None:
    call("PutMetricData", Namespace="App", EntityMetricData=[
        {"Entity": {"KeyAttributes": {"Type": "Service"}}, "MetricData": [{"MetricName": "E", "Value": 2}]}])
    assert [m["MetricName"] for m in call("ListMetrics", Namespace="App")["Metrics"]] == ["E"]


def test_put_metric_data_limits(call: Call) -> None:
    data = [{"MetricName": f"m{i}", "Value": 1} for i in range(1001)]
    err = error(lambda: call("PutMetricData", Namespace="App", MetricData=data))
    assert err.code == "InvalidParameterValue" and "1000" in err.message
    dims = [{"Name": f"d{i}", "Value": "v"} for i in range(31)]
    err = error(lambda: call("PutMetricData", Namespace="App", MetricData=[{"MetricName": "m", "Value": 1, "Dimensions": dims}]))
    assert "30" in err.message
    call("PutMetricData", Namespace="App", MetricData=data[:1000])  # exactly at the limit: fine


def test_list_metrics_filters(call: Call, app: App) -> None:
    put(call, "CPU", 1, NOW - 60, {"Cluster": "c1", "Service": "s1"})
    put(call, "CPU", 1, NOW - 60, {"Cluster": "c1"})
    put(call, "CPU", 1, NOW - 60, {"Cluster": "c2"})
    put(call, "Mem", 1, NOW - 60, {"Cluster": "c1"})
    call("PutMetricData", Namespace="Other", MetricData=[{"MetricName": "CPU", "Value": 1}])
    names = lambda out: sorted((m["Namespace"], m["MetricName"], tuple(d["Value"] for d in m["Dimensions"])) for m in out["Metrics"])  # noqa: E731
    assert len(call("ListMetrics")["Metrics"]) == 5
    assert names(call("ListMetrics", Namespace="App", MetricName="CPU", Dimensions=[{"Name": "Cluster", "Value": "c1"}])) == [
        ("App", "CPU", ("c1",)), ("App", "CPU", ("c1", "s1"))]
    assert names(call("ListMetrics", Dimensions=[{"Name": "Service"}])) == [("App", "CPU", ("c1", "s1"))]
    assert names(call("ListMetrics", MetricName="CPU", Namespace="Other")) == [("Other", "CPU", ())]
    # RecentlyActive: publish an old point through the internal API, then age it.
    metrics.publish(app.store, Scope("123456789012", "us-east-1"), "AWS/ECS", "CPUUtilization", 5.0,
                    dimensions={"ClusterName": "c"}, timestamp=NOW - 4 * 3600)
    assert names(call("ListMetrics", Namespace="AWS/ECS")) == [("AWS/ECS", "CPUUtilization", ("c",))]
    assert call("ListMetrics", Namespace="AWS/ECS", RecentlyActive="PT3H")["Metrics"] == []


def test_list_metrics_pages_of_500(call: Call) -> None:
    data = [{"MetricName": f"m{i:04d}", "Value": 1} for i in range(1000)]
    call("PutMetricData", Namespace="App", MetricData=data)
    call("PutMetricData", Namespace="App", MetricData=[{"MetricName": "zz", "Value": 1}])
    p1 = call("ListMetrics", Namespace="App")
    p2 = call("ListMetrics", Namespace="App", NextToken=p1["NextToken"])
    p3 = call("ListMetrics", Namespace="App", NextToken=p2["NextToken"])
    assert len(p1["Metrics"]) == 500 and len(p2["Metrics"]) == 500 and len(p3["Metrics"]) == 1
    assert "NextToken" not in p3
    assert len({m["MetricName"] for m in p1["Metrics"] + p2["Metrics"] + p3["Metrics"]}) == 1001


def _query(qid: str, stat: str, **extra: Any) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Req", "Dimensions": [{"Name": "Host", "Value": "a"}]},
                       "Period": 60, "Stat": stat},
        **extra,
    }


def test_get_metric_data(call: Call) -> None:
    for i in range(5):
        put(call, "Req", i + 1, NOW - 300 + i * 60, {"Host": "a"})
        put(call, "Req", 10 * (i + 1), NOW - 300 + i * 60 + 1, {"Host": "a"})
    out = call("GetMetricData", StartTime=dt(NOW - 300), EndTime=dt(NOW), MetricDataQueries=[
        _query("sum", "Sum"), _query("hidden", "Maximum", ReturnData=False), _query("p", "p50", Label="median")])
    assert [r["Id"] for r in out["MetricDataResults"]] == ["sum", "p"]
    s = out["MetricDataResults"][0]
    assert s["Label"] == "Req" and s["StatusCode"] == "Complete"
    assert s["Values"] == [55, 44, 33, 22, 11]  # newest first by default
    assert s["Timestamps"][0] == NOW - 60
    asc = call("GetMetricData", StartTime=dt(NOW - 300), EndTime=dt(NOW), ScanBy="TimestampAscending",
               MetricDataQueries=[_query("sum", "Sum")])
    assert asc["MetricDataResults"][0]["Values"] == [11, 22, 33, 44, 55]
    assert out["MetricDataResults"][1]["Label"] == "median"


def test_get_metric_data_pages(call: Call) -> None:
    for i in range(5):
        put(call, "Req", i + 1, NOW - 300 + i * 60, {"Host": "a"})
    got: list[tuple[str, float, str]] = []
    token = None
    while True:
        req: dict[str, Any] = {"StartTime": dt(NOW - 300), "EndTime": dt(NOW), "MaxDatapoints": 3,
                               "MetricDataQueries": [_query("a", "Sum"), _query("b", "SampleCount")]}
        if token:
            req["NextToken"] = token
        out = call("GetMetricData", **req)
        for r in out["MetricDataResults"]:
            got += [(r["Id"], v, r["StatusCode"]) for v in r["Values"]]
        token = out.get("NextToken")
        if not token:
            break
    assert [(i, v) for i, v, _ in got] == [("a", v) for v in [5, 4, 3, 2, 1]] + [("b", 1)] * 5
    assert got[0][2] == "PartialData" and got[-1][2] == "Complete"
    err = error(lambda: call("GetMetricData", StartTime=dt(NOW - 300), EndTime=dt(NOW), NextToken="!!",
                             MetricDataQueries=[_query("a", "Sum")]))
    assert err.code == "InvalidNextToken"


@pytest.mark.parametrize(
    ("queries", "needle"),
    [
        ([{"Id": "e1", "Expression": "FOO(METRICS())"}], "Error in expression e1: Unknown function FOO"),
        ([_query("Bad", "Sum")], "MetricDataQueries.member.1.Id"),
        ([_query("a", "Sum"), _query("a", "Sum")], "not unique"),
        ([_query("a", "TM(10%:90%)")], "MetricDataQueries.member.1.MetricStat.Stat"),
    ],
)
def test_get_metric_data_refusals(call: Call, queries: list[dict[str, Any]], needle: str) -> None:
    err = error(lambda: call("GetMetricData", StartTime=dt(NOW - 300), EndTime=dt(NOW), MetricDataQueries=queries))
    assert err.code == "ValidationError" and needle in err.message
