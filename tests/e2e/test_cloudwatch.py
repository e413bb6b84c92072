"""CloudWatch metrics through boto3 on each wire protocol CloudWatch speaks.

CloudWatch's model lists smithy-rpc-v2-cbor, json and query; botocore 1.43
resolves that to ``json`` (its own priority order), other SDKs to CBOR, and
older ones to query.  The default boto3 client covers json; the CBOR and
query clients are made from a copy of botocore's CloudWatch model whose
protocol list holds only that protocol, loaded ahead of botocore's own data
(a model override).

The clients send uncompressed bodies (``disable_request_compression``):
botocore gzips PutMetricData bodies over 10 KB and the gateway does not decode
``Content-Encoding: gzip`` yet — ``test_gzip_compressed_put`` keeps that
visible until it does.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import create_loader
from conftest import Server

pytestmark = pytest.mark.e2e

PROTOCOLS = ("json", "smithy-rpc-v2-cbor", "query")
CONFIG = Config(retries={"max_attempts": 1}, disable_request_compression=True)


def _session() -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")


def _client_for(server: Server, protocol: str, root: Path) -> Any:
    model = copy.deepcopy(create_loader().load_service_model("cloudwatch", "service-2"))
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    folder = root / protocol / "cloudwatch" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(root / protocol))
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1", botocore_session=session
    ).client("cloudwatch", endpoint_url=server.endpoint, config=CONFIG)


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw(request: pytest.FixtureRequest, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Any:
    protocol = request.param
    if protocol == "json":
        c = _session().client("cloudwatch", endpoint_url=server.endpoint, config=CONFIG)
    else:
        c = _client_for(server, protocol, tmp_path_factory.mktemp("models"))
    assert c.meta.service_model.resolved_protocol == protocol
    return c


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _minute(t: float) -> datetime:
    return datetime.fromtimestamp(int(t // 60) * 60, UTC)


def test_put_list_and_statistics(cw: Any) -> None:
    ns = f"E2E/{uuid.uuid4().hex[:8]}"
    base = time.time() - 600
    for i in range(5):
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}, {"Name": "Az", "Value": "1a"}],
             "Timestamp": _minute(base + i * 60), "Values": [i, 10 * i], "Counts": [1, 2], "Unit": "Milliseconds"},
            {"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": _minute(base + i * 60),
             "StatisticValues": {"SampleCount": 2, "Sum": 10, "Minimum": 4, "Maximum": 6}, "Unit": "Count"},
        ])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Requests", "Value": 1, "StorageResolution": 1}])

    listed = [m for p in cw.get_paginator("list_metrics").paginate(Namespace=ns) for m in p["Metrics"]]
    assert len(listed) == 3
    hosts = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "a"}])["Metrics"]
    assert sorted(m["MetricName"] for m in hosts) == ["Latency", "Requests"]
    assert len(cw.list_metrics(Namespace=ns, MetricName="Requests", RecentlyActive="PT3H")["Metrics"]) == 2

    out = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency",
        Dimensions=[{"Name": "Az", "Value": "1a"}, {"Name": "Host", "Value": "a"}],  # order does not matter
        StartTime=_minute(base), EndTime=_minute(base + 300), Period=60,
        Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"],
    )
    assert out["Label"] == "Latency"
    points = sorted(out["Datapoints"], key=lambda d: d["Timestamp"])
    assert [p["Sum"] for p in points] == [21.0 * i for i in range(5)]
    assert all(p["SampleCount"] == 3 and p["Unit"] == "Milliseconds" for p in points)
    assert points[1]["Minimum"] == 1 and points[1]["Maximum"] == 10 and points[1]["Average"] == 7
    assert points[0]["Timestamp"] == _minute(base)

    pct = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Host", "Value": "a"}, {"Name": "Az", "Value": "1a"}],
        StartTime=_minute(base), EndTime=_minute(base + 300), Period=300, ExtendedStatistics=["p50", "p99"])
    [p] = pct["Datapoints"]
    assert p["ExtendedStatistics"] == {"p50": 10.0, "p99": 40.0}

    data = cw.get_metric_data(
        StartTime=_minute(base), EndTime=_minute(base + 300),
        MetricDataQueries=[
            {"Id": "req", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Requests",
                                                    "Dimensions": [{"Name": "Host", "Value": "a"}]},
                                         "Period": 120, "Stat": "Sum"}, "Label": "requests"},
            {"Id": "hidden", "ReturnData": False, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Requests"},
                                                                 "Period": 60, "Stat": "Maximum"}},
        ],
    )
    [res] = data["MetricDataResults"]
    assert res["Id"] == "req" and res["Label"] == "requests" and res["StatusCode"] == "Complete"
    assert res["Values"] == [10.0, 20.0, 20.0]  # newest first
    assert res["Timestamps"][0] > res["Timestamps"][-1]


def test_get_metric_data_pagination(cw: Any) -> None:
    ns = f"E2E/{uuid.uuid4().hex[:8]}"
    base = time.time() - 900
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "M", "Value": float(i), "Timestamp": _minute(base + i * 60)} for i in range(10)])
    query = [{"Id": "m", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "M"}, "Period": 60, "Stat": "Average"}}]
    pages = cw.get_paginator("get_metric_data").paginate(
        StartTime=_minute(base), EndTime=_minute(base + 600), MetricDataQueries=query, ScanBy="TimestampAscending",
        MaxDatapoints=3)
    values = [v for p in pages for r in p["MetricDataResults"] for v in r["Values"]]
    assert values == [float(i) for i in range(10)]


@pytest.mark.parametrize(
    ("kwargs", "code", "needle"),
    [
        ({"Namespace": "AWS/EC2", "MetricData": [{"MetricName": "m", "Value": 1}]}, "InvalidParameterValue", "AWS/EC2"),
        ({"Namespace": "E2E", "MetricData": [{"MetricName": "m", "Value": 1, "StorageResolution": 5}]},
         "InvalidParameterValue", "MetricData.member.1.StorageResolution"),
        ({"Namespace": "E2E", "MetricData": [{"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]}]},
         "InvalidParameterValue", "MetricData.member.1.Counts"),
        ({"Namespace": "E2E", "MetricData": [{"MetricName": "m", "Value": 1,
                                               "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}]},
         "InvalidParameterCombination", "MetricData.member.1.Value"),
        ({"Namespace": "E2E", "MetricData": [{"MetricName": f"m{i}", "Value": 1} for i in range(1001)]},
         "InvalidParameterValue", "1000"),
    ],
)
def test_put_metric_data_errors(cw: Any, kwargs: dict[str, Any], code: str, needle: str) -> None:
    with pytest.raises(ClientError) as exc:
        cw.put_metric_data(**kwargs)
    assert _code(exc) == code
    assert needle in exc.value.response["Error"]["Message"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_query_errors(cw: Any) -> None:
    now = time.time()
    with pytest.raises(ClientError) as exc:
        cw.get_metric_statistics(Namespace="E2E", MetricName="m", StartTime=_minute(now - 60), EndTime=_minute(now),
                                 Period=45, Statistics=["Sum"])
    assert _code(exc) == "InvalidParameterValue" and "Period" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        cw.get_metric_statistics(Namespace="E2E", MetricName="m", StartTime=_minute(now - 86_400 * 3),
                                 EndTime=_minute(now), Period=60, Statistics=["Sum"])
    assert _code(exc) == "InvalidParameterCombination" and "1,440" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(StartTime=_minute(now - 60), EndTime=_minute(now),
                           MetricDataQueries=[{"Id": "e1", "Expression": "SUM(METRICS()"}])
    assert _code(exc) == "ValidationError" and "Error in expression e1" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(StartTime=_minute(now - 60), EndTime=_minute(now), NextToken="not-a-token",
                           MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {"Namespace": "E2E", "MetricName": "m"},
                                                                         "Period": 60, "Stat": "Sum"}}])
    assert _code(exc) == "InvalidNextToken"


def test_gzip_compressed_put(server: Server) -> None:
    # botocore's defaults: request bodies over 10 KB are gzipped.
    cw = _session().client("cloudwatch", endpoint_url=server.endpoint, config=Config(retries={"max_attempts": 1}))
    ns = f"E2E/{uuid.uuid4().hex[:8]}"
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": f"metric-{i:04d}", "Value": 1.0} for i in range(500)])
    assert len([m for p in cw.get_paginator("list_metrics").paginate(Namespace=ns) for m in p["Metrics"]]) == 500
