"""CloudWatch alarms end to end with boto3.

Evaluation scenarios run against a server started with ``--time-scale 60``:
one virtual minute passes every real second, so alarms are evaluated every
second and datapoints put without a Timestamp land one virtual minute apart
when put a real second apart.  API shape tests (every wire protocol
CloudWatch speaks) and GetMetricData expressions use the session server at
normal speed.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import create_loader
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e

CONFIG = Config(retries={"max_attempts": 1}, disable_request_compression=True)
ACCOUNT = "000000000000"
ASG = f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:scalingPolicy:5e1f:autoScalingGroupName/web:policyName/out"
SNS = f"arn:aws:sns:us-east-1:{ACCOUNT}:ops"


def _session(botocore_session: Any = None) -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1",
                                 botocore_session=botocore_session)


def _client(server: Server, protocol: str, root: Path) -> Any:
    """A CloudWatch client speaking ``protocol`` (a copy of botocore's model listing only it)."""
    if protocol == "json":
        return _session().client("cloudwatch", endpoint_url=server.endpoint, config=CONFIG)
    model = copy.deepcopy(create_loader().load_service_model("cloudwatch", "service-2"))
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    folder = root / protocol / "cloudwatch" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(root / protocol))
    return _session(session).client("cloudwatch", endpoint_url=server.endpoint, config=CONFIG)


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("alarms") / "data", "--time-scale", "60")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def cw(fast: Server, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _client(fast, "json", tmp_path_factory.mktemp("m"))


def wait_for(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {got!r})")
        time.sleep(every)


def state(cw: Any, name: str) -> str:
    out = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    return str((out["MetricAlarms"] + out["CompositeAlarms"])[0]["StateValue"])


def test_alarm_fires_and_recovers_on_real_time(cw: Any) -> None:
    ns, name = f"E2E/{uuid.uuid4().hex[:6]}", "cpu-high"
    cw.put_metric_alarm(AlarmName=name, Namespace=ns, MetricName="CPU", Statistic="Average", Period=60,
                        EvaluationPeriods=2, Threshold=50.0, ComparisonOperator="GreaterThanThreshold",
                        AlarmActions=[ASG, SNS], OKActions=[SNS], TreatMissingData="notBreaching")
    cw.get_waiter("alarm_exists").wait(AlarmNames=[name], WaiterConfig={"Delay": 1, "MaxAttempts": 10})

    def breach() -> bool:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "CPU", "Value": 90.0}])
        return state(cw, name) == "ALARM"

    wait_for(breach, every=0.3)
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateReason"].startswith("Threshold Crossed: 2 out of the last 2 datapoints [90.0 (")
    assert json.loads(alarm["StateReasonData"])["threshold"] == 50.0

    def asg_invocations() -> int:
        items = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
        return sum(1 for i in items if i["HistorySummary"] == f"Successfully executed action {ASG}")

    # Auto Scaling actions are invoked again every period while the alarm stays in ALARM
    wait_for(lambda: breach() and asg_invocations() >= 3, every=0.3)
    actions = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    sns = [json.loads(json.loads(i["HistoryData"])["publishedMessage"]) for i in actions if SNS in i["HistorySummary"]]
    # SNS on transitions only: OK when first evaluated (an OK action), then ALARM once
    assert [m["NewStateValue"] for m in sns] == ["ALARM", "OK"]
    assert sns[0]["OldStateValue"] == "OK" and sns[0]["Trigger"]["MetricName"] == "CPU"

    def recover() -> bool:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "CPU", "Value": 10.0}])
        return state(cw, name) == "OK"

    wait_for(recover, every=0.3)
    updates = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate",
                                        ScanBy="TimestampAscending")["AlarmHistoryItems"]
    # evaluated when created (no data, notBreaching: OK), then the breach, then the recovery
    assert [u["HistorySummary"] for u in updates] == ["Alarm updated from INSUFFICIENT_DATA to OK",
                                                      "Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK"]
    assert isinstance(updates[0]["Timestamp"], datetime)


def test_set_alarm_state_lasts_until_next_evaluation_and_composites_follow(cw: Any) -> None:
    a, b, both = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}", f"any-{uuid.uuid4().hex[:6]}"
    for n in (a, b):  # no data ever: INSUFFICIENT_DATA once evaluated
        cw.put_metric_alarm(AlarmName=n, Namespace="E2E/None", MetricName=n, Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.put_composite_alarm(AlarmName=both, AlarmRule=f'ALARM("{a}") OR ALARM({b})', AlarmActions=[SNS])
    cw.get_waiter("composite_alarm_exists").wait(AlarmNames=[both], AlarmTypes=["CompositeAlarm"],
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert state(cw, both) == "OK"
    cw.set_alarm_state(AlarmName=a, StateValue="ALARM", StateReason="drill")
    assert state(cw, both) == "ALARM"  # a composite follows its children at once
    composite = cw.describe_alarms(AlarmNames=[both], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]
    assert composite["StateReason"].startswith(f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{a} transitioned to ALARM")
    # the next evaluation (a virtual minute, a real second) puts the child back
    wait_for(lambda: state(cw, a) == "INSUFFICIENT_DATA")
    wait_for(lambda: state(cw, both) == "OK")
    history = cw.describe_alarm_history(AlarmName=both, AlarmTypes=["CompositeAlarm"])["AlarmHistoryItems"]
    assert any(h["HistoryItemType"] == "Action" and SNS in h["HistorySummary"] for h in history)
    with pytest.raises(ClientError) as exc:
        cw.delete_alarms(AlarmNames=[a])
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    cw.delete_alarms(AlarmNames=[both, a, b])
    assert cw.describe_alarms(AlarmNames=[a, b, both], AlarmTypes=["MetricAlarm", "CompositeAlarm"]) \
        ["MetricAlarms"] == []


def test_metric_math_alarm_on_real_time(cw: Any) -> None:
    ns, name = f"E2E/{uuid.uuid4().hex[:6]}", "error-rate"
    cw.put_metric_alarm(
        AlarmName=name, EvaluationPeriods=1, Threshold=10.0, ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {"Id": "errors", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Errors"}, "Period": 60,
                                            "Stat": "Sum"}, "ReturnData": False},
            {"Id": "requests", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Requests"}, "Period": 60,
                                              "Stat": "Sum"}, "ReturnData": False},
            {"Id": "rate", "Expression": "100 * errors / requests", "Label": "Error %"},
        ])

    def failing() -> bool:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Value": 30.0},
                                                     {"MetricName": "Requests", "Value": 100.0}])
        return state(cw, name) == "ALARM"

    wait_for(failing, every=0.3)
    data = json.loads(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateReasonData"])
    assert data["recentDatapoints"] and data["recentDatapoints"][-1] == pytest.approx(30.0, rel=0.5)


# -- API shapes on every protocol, at normal speed -----------------------------------------


@pytest.fixture(scope="module", params=("json", "smithy-rpc-v2-cbor", "query"))
def any_cw(request: pytest.FixtureRequest, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Any:
    c = _client(server, request.param, tmp_path_factory.mktemp("models"))
    assert c.meta.service_model.resolved_protocol == request.param
    return c


def test_alarm_api_shapes(any_cw: Any) -> None:
    cw = any_cw
    name = f"shape-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(AlarmName=name, Namespace="E2E/Shapes", MetricName="Latency", ExtendedStatistic="p99",
                        Dimensions=[{"Name": "Api", "Value": "get"}], Period=300, EvaluationPeriods=3,
                        DatapointsToAlarm=2, Threshold=0.5, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="ignore", EvaluateLowSampleCountPercentile="ignore",
                        AlarmDescription="slow", Tags=[{"Key": "team", "Value": "api"}])
    a = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert (a["ExtendedStatistic"], a["Period"], a["DatapointsToAlarm"], a["Threshold"]) == ("p99", 300, 2, 0.5)
    assert a["StateValue"] == "INSUFFICIENT_DATA" and a["StateReason"] == "Unchecked: Initial alarm creation"
    assert isinstance(a["AlarmConfigurationUpdatedTimestamp"], datetime) and a["ActionsEnabled"] is True
    assert a["Dimensions"] == [{"Name": "Api", "Value": "get"}] and a["EvaluateLowSampleCountPercentile"] == "ignore"
    found = cw.describe_alarms_for_metric(Namespace="E2E/Shapes", MetricName="Latency",
                                          Dimensions=[{"Name": "Api", "Value": "get"}])["MetricAlarms"]
    assert name in [f["AlarmName"] for f in found]
    cw.disable_alarm_actions(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is False
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="manual",
                       StateReasonData=json.dumps({"recentDatapoints": [0.9]}))
    items = cw.describe_alarm_history(AlarmName=name)["AlarmHistoryItems"]
    assert [i["HistoryItemType"] for i in items] == ["StateUpdate", "ConfigurationUpdate", "ConfigurationUpdate"]
    assert all(isinstance(i["Timestamp"], datetime) for i in items)
    assert json.loads(items[-1]["HistoryData"])["createdAlarm"]["extendedStatistic"] == "p99"
    tags = cw.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "api"}]
    with pytest.raises(ClientError) as exc:
        cw.put_metric_alarm(AlarmName=name + "-bad", Namespace="E2E", MetricName="m", Statistic="Sum", Period=45,
                            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    assert "Period must be 10, 20, 30 or a multiple of 60" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        cw.set_alarm_state(AlarmName=name + "-none", StateValue="OK", StateReason="x")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"
    cw.delete_alarms(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_describe_alarms_paginator(any_cw: Any) -> None:
    prefix = f"page-{uuid.uuid4().hex[:6]}-"
    for i in range(5):
        any_cw.put_metric_alarm(AlarmName=f"{prefix}{i}", Namespace="E2E", MetricName="m", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    pages = any_cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix, PaginationConfig={"PageSize": 2})
    names = [a["AlarmName"] for p in pages for a in p["MetricAlarms"]]
    assert names == [f"{prefix}{i}" for i in range(5)]
    any_cw.delete_alarms(AlarmNames=names)


def test_get_metric_data_expressions(any_cw: Any) -> None:
    ns = f"E2E/{uuid.uuid4().hex[:8]}"
    base = int(time.time() // 60) * 60 - 600
    for i in range(5):
        at = datetime.fromtimestamp(base + i * 60, UTC)
        any_cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": h}], "Value": float(v + i), "Timestamp": at}
            for h, v in (("a", 10), ("b", 20))])

    def stat(qid: str, host: str) -> dict[str, Any]:
        return {"Id": qid, "ReturnData": False, "MetricStat": {"Metric": {
            "Namespace": ns, "MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": host}]},
            "Period": 60, "Stat": "Sum"}}

    out = any_cw.get_metric_data(
        StartTime=datetime.fromtimestamp(base, UTC), EndTime=datetime.fromtimestamp(base + 300, UTC),
        ScanBy="TimestampAscending",
        MetricDataQueries=[stat("ha", "a"), stat("hb", "b"),
                           {"Id": "total", "Expression": "SUM(METRICS())", "Label": "Total"},
                           {"Id": "share", "Expression": "IF(total > 0, 100 * ha / total, 0)"},
                           {"Id": "gap", "Expression": "FILL(ha, 0) - ha"}])
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    assert set(results) == {"total", "share", "gap"}
    assert results["total"]["Label"] == "Total" and results["total"]["Values"] == [30.0, 32.0, 34.0, 36.0, 38.0]
    assert [int(t.timestamp()) - base for t in results["total"]["Timestamps"]] == [0, 60, 120, 180, 240]
    assert results["share"]["Values"][0] == pytest.approx(100 * 10 / 30)
    assert results["gap"]["Values"] == [0.0] * 5
    with pytest.raises(ClientError) as exc:
        any_cw.get_metric_data(StartTime=datetime.fromtimestamp(base, UTC), EndTime=datetime.fromtimestamp(base + 300, UTC),
                               MetricDataQueries=[stat("ha", "a"), {"Id": "bad", "Expression": "SUMM(ha)"}])
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    assert "Error in expression bad: Unknown function SUMM" in exc.value.response["Error"]["Message"]


def test_evaluator_resumes_after_restart(tmp_path: Path) -> None:
    """Alarms in the store start the evaluator at start-up, before any CloudWatch request."""
    import urllib.request

    data = tmp_path / "data"
    srv = start_server(data, "--time-scale", "60")
    try:
        cw = _client(srv, "json", tmp_path / "m")
        cw.put_metric_alarm(AlarmName="survivor", Namespace="E2E/None", MetricName="m", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
        wait_for(lambda: cw.describe_alarm_history(AlarmName="survivor", HistoryItemType="ConfigurationUpdate")
                 ["AlarmHistoryItems"])
    finally:
        stop_server(srv)
    srv = start_server(data, "--time-scale", "60", port=srv.port)
    try:
        with urllib.request.urlopen(srv.endpoint + "/_gureum/health", timeout=5) as resp:
            assert json.loads(resp.read())["services"]["cloudwatch"] == "running"
        cw = _client(srv, "json", tmp_path / "m2")
        cw.set_alarm_state(AlarmName="survivor", StateValue="ALARM", StateReason="before the next evaluation")
        wait_for(lambda: state(cw, "survivor") == "INSUFFICIENT_DATA")  # evaluated again after the restart
    finally:
        stop_server(srv)
