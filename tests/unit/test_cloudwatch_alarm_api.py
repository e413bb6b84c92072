"""Alarm handlers and the evaluator engine over a real App and store, on a SimClock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import alarm_controller
from gureum.settings import Settings

NOW = 1_700_000_040.0  # a whole minute
ACCOUNT = "123456789012"
ASG = f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:scalingPolicy:1a2b:autoScalingGroupName/web:policyName/out"
SNS = f"arn:aws:sns:us-east-1:{ACCOUNT}:ops"
Call = Callable[..., dict[str, Any]]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW + alarm_controller.EVAL_DELAY))
    yield a
    a.store.close()


@pytest.fixture
def call(app: App) -> Call:
    api = app.service_api("cloudwatch")
    assert api is not None

    def do(op: str, **req: Any) -> dict[str, Any]:
        ctx = RequestContext("cloudwatch", op, ACCOUNT, "us-east-1", "rid", app)
        return api.handlers[op](ctx, req)  # type: ignore[return-value]

    return do


@pytest.fixture
def actions(app: App) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    app.bus.subscribe("cloudwatch.alarm_action", lambda _t, p: seen.append(p))
    return seen


def error(fn: Callable[[], Any]) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn()
    return info.value


def advance(app: App, seconds: float) -> float:
    asyncio.run(app.clock.advance(seconds))  # type: ignore[attr-defined]
    return app.clock.now()


def tick(app: App) -> int:
    return alarm_controller.engine(app).tick(app.clock.now())


def put(call: Call, value: float, at: float, name: str = "CPU", dims: dict[str, str] | None = None) -> None:
    datum: dict[str, Any] = {"MetricName": name, "Value": value, "Timestamp": datetime.fromtimestamp(at, UTC)}
    if dims:
        datum["Dimensions"] = [{"Name": k, "Value": v} for k, v in dims.items()]
    call("PutMetricData", Namespace="App", MetricData=[datum])


def alarm(call: Call, name: str = "high", **extra: Any) -> None:
    req: dict[str, Any] = dict(
        AlarmName=name, Namespace="App", MetricName="CPU", Statistic="Average", Period=60,
        EvaluationPeriods=3, Threshold=80.0, ComparisonOperator="GreaterThanThreshold",
    )
    req.update(extra)
    call("PutMetricAlarm", **req)


def describe(call: Call, name: str) -> dict[str, Any]:
    out = call("DescribeAlarms", AlarmNames=[name], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    [a] = out["MetricAlarms"] + out["CompositeAlarms"]
    return a


def history(call: Call, name: str, kind: str | None = None, **kw: Any) -> list[dict[str, Any]]:
    req: dict[str, Any] = {"AlarmName": name, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"], **kw}
    if kind:
        req["HistoryItemType"] = kind
    return call("DescribeAlarmHistory", **req)["AlarmHistoryItems"]


# -- validation -------------------------------------------------------------------------

BAD: list[tuple[dict[str, Any], str]] = [
    ({"Period": 45}, "Period must be 10, 20, 30 or a multiple of 60"),
    ({"Period": 3600, "EvaluationPeriods": 200}, "must not exceed 604800 seconds"),
    ({"Period": 600, "EvaluationPeriods": 145}, "must not exceed 86400 seconds (1 day)"),
    ({"DatapointsToAlarm": 4}, "DatapointsToAlarm (4) must be less than or equal to EvaluationPeriods (3)"),
    ({"ExtendedStatistic": "p99"}, "Exactly one of Statistic and ExtendedStatistic"),
    ({"Statistic": None}, "Exactly one of Statistic and ExtendedStatistic"),
    ({"Statistic": None, "ExtendedStatistic": "tm99"}, "ExtendedStatistic is not supported by Gureum yet"),
    ({"TreatMissingData": "sometimes"}, "Invalid value sometimes for TreatMissingData"),
    ({"EvaluateLowSampleCountPercentile": "ignore"}, "only be used with a percentile"),
    ({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, "Anomaly detection alarms"),
    ({"ComparisonOperator": None}, "Value null at 'comparisonOperator'"),
    ({"EvaluationPeriods": None}, "Value null at 'evaluationPeriods'"),
    ({"Threshold": None}, "Value null at 'threshold'"),
    ({"AlarmActions": ["not-an-arn"]}, "Invalid arn syntax: not-an-arn"),
    ({"Metrics": [{"Id": "m1", "Expression": "1"}]}, "Metrics and Namespace cannot both be specified"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_put_metric_alarm_refusals(call: Call, change: dict[str, Any], message: str) -> None:
    req: dict[str, Any] = dict(
        AlarmName="bad", Namespace="App", MetricName="CPU", Statistic="Average", Period=60,
        EvaluationPeriods=3, Threshold=80.0, ComparisonOperator="GreaterThanThreshold",
    )
    req.update(change)
    req = {k: v for k, v in req.items() if v is not None}
    err = error(lambda: call("PutMetricAlarm", **req))
    assert err.code == "ValidationError" and message in err.message
    assert call("DescribeAlarms")["MetricAlarms"] == []  # nothing half-created
    assert call("DescribeAlarmHistory")["AlarmHistoryItems"] == []


MATH = [
    {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"},
     "ReturnData": False},
    {"Id": "m2", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Requests"}, "Period": 60, "Stat": "Sum"},
     "ReturnData": False},
    {"Id": "e1", "Expression": "100 * m1 / m2", "Label": "Error rate"},
]


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ([{**q, "ReturnData": True} for q in MATH], "Exactly one element of the metrics list should return data."),
        ([MATH[0], {**MATH[1], "ReturnData": True}, {**MATH[2], "ReturnData": True}],
         "Exactly one element of the metrics list should return data."),
        ([*MATH[:2], {"Id": "e1", "Expression": "100 * m1 / m3"}], "Unrecognized metric or expression id m3"),
        ([*MATH[:2], {"Id": "e1", "Expression": "NOPE(m1)"}], "Error in expression e1: Unknown function NOPE"),
        ([MATH[0], {**MATH[1], "MetricStat": {**MATH[1]["MetricStat"], "Period": 300}}, MATH[2]],
         "same period"),
        ([*MATH[:2], MATH[2], {"Id": "m1", "Expression": "1", "ReturnData": False}], "must be unique"),
    ],
)
def test_metric_math_alarm_refusals(call: Call, metrics: list[dict[str, Any]], message: str) -> None:
    err = error(lambda: call("PutMetricAlarm", AlarmName="rate", Metrics=metrics, EvaluationPeriods=1,
                             Threshold=5.0, ComparisonOperator="GreaterThanThreshold"))
    assert err.code == "ValidationError" and message in err.message


def test_math_alarm_cannot_stop_instances(call: Call) -> None:
    err = error(lambda: call("PutMetricAlarm", AlarmName="rate", Metrics=MATH, EvaluationPeriods=1, Threshold=5.0,
                             ComparisonOperator="GreaterThanThreshold",
                             AlarmActions=["arn:aws:automate:us-east-1:ec2:stop"]))
    assert "cannot perform Amazon EC2 actions" in err.message


# -- lifecycle and evaluation ---------------------------------------------------------------


def test_new_alarm_starts_insufficient_and_evaluates(app: App, call: Call, actions: list[dict[str, Any]]) -> None:
    alarm(call, AlarmActions=[ASG], OKActions=[SNS], AlarmDescription="CPU too high", Tags=[{"Key": "team", "Value": "a"}])
    a = describe(call, "high")
    assert a["StateValue"] == "INSUFFICIENT_DATA" and a["StateReason"] == "Unchecked: Initial alarm creation"
    assert a["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:high" and a["ActionsEnabled"] is True
    for i in range(3):
        put(call, 90.0 + i, NOW - 180 + i * 60)
    assert tick(app) == 1
    a = describe(call, "high")
    assert a["StateValue"] == "ALARM" and a["StateReason"].startswith("Threshold Crossed: 3 out of the last 3 datapoints [92.0")
    assert json.loads(a["StateReasonData"])["recentDatapoints"] == [90.0, 91.0, 92.0]
    assert [p["arn"] for p in actions] == [ASG]
    assert actions[0]["value"] == 92.0 and actions[0]["state"] == "ALARM" and actions[0]["previousState"] == "INSUFFICIENT_DATA"
    assert actions[0]["account"] == ACCOUNT and actions[0]["region"] == "us-east-1" and actions[0]["repeat"] is False
    kinds = [(h["HistoryItemType"], h["HistorySummary"]) for h in history(call, "high")]
    assert kinds == [
        ("Action", f"Successfully executed action {ASG}"),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
        ("ConfigurationUpdate", 'Alarm "high" created'),
    ]
    data = json.loads(history(call, "high", "StateUpdate")[0]["HistoryData"])
    assert data["oldState"] == {"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"}
    assert data["newState"]["stateValue"] == "ALARM" and data["newState"]["stateReasonData"]["threshold"] == 80.0
    assert call("ListTagsForResource", ResourceARN=a["AlarmArn"])["Tags"] == [{"Key": "team", "Value": "a"}]
    # the same step is not evaluated twice
    assert tick(app) == 0


def test_autoscaling_actions_repeat_every_period_sns_only_on_transition(
    app: App, call: Call, actions: list[dict[str, Any]]
) -> None:
    alarm(call, EvaluationPeriods=1, AlarmActions=[ASG, SNS], OKActions=[SNS])
    t = NOW
    for _ in range(6):
        put(call, 95.0, t - 60)
        tick(app)
        t = advance(app, 60)
    assert [p["arn"] for p in actions].count(SNS) == 1
    assert [p["arn"] for p in actions].count(ASG) == 6
    assert [p["repeat"] for p in actions if p["arn"] == ASG] == [False] + [True] * 5
    published = [h for h in history(call, "high", "Action") if SNS in h["HistorySummary"]]
    assert json.loads(json.loads(published[0]["HistoryData"])["publishedMessage"])["NewStateValue"] == "ALARM"
    put(call, 10.0, t - 60)
    tick(app)
    assert actions[-1]["arn"] == SNS and actions[-1]["state"] == "OK"


def test_update_keeps_state_and_records_original(app: App, call: Call) -> None:
    alarm(call, EvaluationPeriods=1)
    put(call, 95.0, NOW - 60)
    tick(app)
    alarm(call, EvaluationPeriods=1, Threshold=99.0, Tags=[{"Key": "ignored", "Value": "x"}])
    a = describe(call, "high")
    assert a["StateValue"] == "ALARM" and a["Threshold"] == 99.0
    [update] = [h for h in history(call, "high", "ConfigurationUpdate") if "updated" in h["HistorySummary"]]
    data = json.loads(update["HistoryData"])
    assert data["type"] == "Update" and data["originalAlarm"]["threshold"] == 80.0 and data["updatedAlarm"]["threshold"] == 99.0
    assert call("ListTagsForResource", ResourceARN=a["AlarmArn"])["Tags"] == []
    tick(app)  # updating re-evaluates at once: 95 is not > 99
    assert describe(call, "high")["StateValue"] == "OK"


def test_set_alarm_state_holds_until_next_evaluation(app: App, call: Call, actions: list[dict[str, Any]]) -> None:
    alarm(call, EvaluationPeriods=1, AlarmActions=[SNS])
    put(call, 10.0, NOW - 60)
    tick(app)
    assert describe(call, "high")["StateValue"] == "OK"
    call("SetAlarmState", AlarmName="high", StateValue="ALARM", StateReason="testing",
         StateReasonData='{"recentDatapoints":[99.0]}')
    a = describe(call, "high")
    assert (a["StateValue"], a["StateReason"]) == ("ALARM", "testing")
    assert actions[-1]["arn"] == SNS and actions[-1]["value"] == 99.0
    tick(app)  # same minute: not evaluated again
    assert describe(call, "high")["StateValue"] == "ALARM"
    advance(app, 60)
    put(call, 10.0, app.clock.now() - 60)
    tick(app)
    assert describe(call, "high")["StateValue"] == "OK"
    assert error(lambda: call("SetAlarmState", AlarmName="nope", StateValue="OK", StateReason="x")).code == "ResourceNotFound"
    bad = error(lambda: call("SetAlarmState", AlarmName="high", StateValue="OK", StateReason="x", StateReasonData="{"))
    assert bad.code == "InvalidFormat"


def test_disabled_actions_do_not_fire(app: App, call: Call, actions: list[dict[str, Any]]) -> None:
    alarm(call, EvaluationPeriods=1, AlarmActions=[SNS])
    call("DisableAlarmActions", AlarmNames=["high"])
    assert describe(call, "high")["ActionsEnabled"] is False
    put(call, 95.0, NOW - 60)
    tick(app)
    assert describe(call, "high")["StateValue"] == "ALARM" and actions == []
    assert history(call, "high", "Action") == []
    call("EnableAlarmActions", AlarmNames=["high"])
    call("SetAlarmState", AlarmName="high", StateValue="OK", StateReason="reset")
    call("SetAlarmState", AlarmName="high", StateValue="ALARM", StateReason="again")
    assert [p["arn"] for p in actions] == [SNS]


def test_treat_missing_data_and_m_of_n_through_the_store(app: App, call: Call) -> None:
    alarm(call, "m_of_n", EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="breaching")
    put(call, 95.0, NOW - 60)
    tick(app)  # X with missing before it: 2 missing → breaching
    assert describe(call, "m_of_n")["StateValue"] == "ALARM"
    alarm(call, "nb", EvaluationPeriods=3, TreatMissingData="notBreaching")
    tick(app)
    assert describe(call, "nb")["StateValue"] == "OK"
    alarm(call, "ign", Namespace="Other", TreatMissingData="ignore")
    tick(app)
    assert describe(call, "ign")["StateValue"] == "INSUFFICIENT_DATA"


def test_percentile_and_dimensions(app: App, call: Call) -> None:
    alarm(call, "p90", Statistic=None, ExtendedStatistic="p90", EvaluationPeriods=1,
          Dimensions=[{"Name": "Host", "Value": "a"}])
    call("PutMetricData", Namespace="App", MetricData=[{
        "MetricName": "CPU", "Dimensions": [{"Name": "Host", "Value": "a"}], "Values": [10.0, 50.0, 99.0],
        "Counts": [80, 10, 10], "Timestamp": datetime.fromtimestamp(NOW - 60, UTC)}])
    put(call, 100.0, NOW - 60)  # no dimensions: another metric
    tick(app)
    a = describe(call, "p90")
    assert a["StateValue"] == "OK" and a["ExtendedStatistic"] == "p90"
    assert json.loads(a["StateReasonData"])["evaluatedDatapoints"][0]["value"] == 50.0


def test_metric_math_alarm(app: App, call: Call) -> None:
    call("PutMetricAlarm", AlarmName="rate", Metrics=MATH, EvaluationPeriods=2, Threshold=5.0,
         ComparisonOperator="GreaterThanThreshold")
    for i, (errors, requests) in enumerate([(1.0, 100.0), (10.0, 100.0), (20.0, 100.0)]):
        at = NOW - 180 + i * 60
        call("PutMetricData", Namespace="App", MetricData=[
            {"MetricName": "Errors", "Value": errors, "Timestamp": datetime.fromtimestamp(at, UTC)},
            {"MetricName": "Requests", "Value": requests, "Timestamp": datetime.fromtimestamp(at, UTC)}])
    tick(app)
    a = describe(call, "rate")
    assert a["StateValue"] == "ALARM" and "Statistic" not in a and a["Metrics"][2]["Expression"] == "100 * m1 / m2"
    data = json.loads(a["StateReasonData"])
    assert data["recentDatapoints"] == [10.0, 20.0] and "statistic" not in data


def test_describe_filters_and_pages(app: App, call: Call) -> None:
    for i in range(7):
        alarm(call, f"web-{i}", AlarmActions=[SNS] if i % 2 else [ASG])
    alarm(call, "db-1")
    call("SetAlarmState", AlarmName="web-3", StateValue="ALARM", StateReason="x")
    names = lambda out: [a["AlarmName"] for a in out["MetricAlarms"]]  # noqa: E731
    assert names(call("DescribeAlarms", AlarmNamePrefix="web-")) == [f"web-{i}" for i in range(7)]
    assert names(call("DescribeAlarms", StateValue="ALARM")) == ["web-3"]
    assert names(call("DescribeAlarms", ActionPrefix="arn:aws:sns")) == ["web-1", "web-3", "web-5"]
    assert names(call("DescribeAlarms", AlarmNames=["db-1", "web-0", "missing"])) == ["db-1", "web-0"]
    seen, token = [], None
    while True:
        out = call("DescribeAlarms", MaxRecords=3, **({"NextToken": token} if token else {}))
        seen += names(out)
        token = out.get("NextToken")
        if not token:
            break
    assert seen == ["db-1"] + [f"web-{i}" for i in range(7)]
    assert error(lambda: call("DescribeAlarms", AlarmNames=["a"], AlarmNamePrefix="a")).code == "InvalidParameterCombination"
    assert error(lambda: call("DescribeAlarms", NextToken="@@")).code == "InvalidNextToken"


def test_describe_alarms_for_metric(call: Call) -> None:
    alarm(call, "plain")
    alarm(call, "hosted", Dimensions=[{"Name": "Host", "Value": "a"}])
    alarm(call, "five", Period=300)
    call("PutMetricAlarm", AlarmName="math", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
         Metrics=[{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "CPU"}, "Period": 60,
                                              "Stat": "Average"}, "ReturnData": False},
                  {"Id": "e1", "Expression": "m1 * 2"}])
    found = lambda **kw: sorted(a["AlarmName"] for a in call("DescribeAlarmsForMetric", Namespace="App", MetricName="CPU", **kw)["MetricAlarms"])  # noqa: E731
    assert found() == ["five", "math", "plain"]
    assert found(Period=300) == ["five"]
    assert found(Dimensions=[{"Name": "Host", "Value": "a"}]) == ["hosted"]
    assert found(Statistic="Sum") == []


def test_delete_alarms(app: App, call: Call) -> None:
    alarm(call, "a")
    alarm(call, "b")
    call("PutCompositeAlarm", AlarmName="both", AlarmRule='ALARM("a") AND ALARM(b)')
    err = error(lambda: call("DeleteAlarms", AlarmNames=["a", "b"]))
    assert err.code == "ValidationError" and err.message == "Cannot delete a,b as there are composite alarm(s) depending on them."
    call("DeleteAlarms", AlarmNames=["both", "a", "b", "never-existed"])
    assert call("DescribeAlarms", AlarmTypes=["MetricAlarm", "CompositeAlarm"]) == {"MetricAlarms": [], "CompositeAlarms": []}
    deleted = history(call, "a", "ConfigurationUpdate")[0]
    assert deleted["HistorySummary"] == 'Alarm "a" deleted' and json.loads(deleted["HistoryData"])["type"] == "Delete"


def test_composite_alarms(app: App, call: Call, actions: list[dict[str, Any]]) -> None:
    alarm(call, "cpu", EvaluationPeriods=1)
    alarm(call, "mem", MetricName="Mem", EvaluationPeriods=1)
    call("PutCompositeAlarm", AlarmName="host sick", AlarmRule='ALARM(cpu) AND (ALARM("mem") OR NOT OK(mem))',
         AlarmActions=[SNS])
    c = describe(call, "host sick")
    assert c["StateValue"] == "OK"  # evaluated when saved: the children are INSUFFICIENT_DATA
    put(call, 95.0, NOW - 60)
    tick(app)
    c = describe(call, "host sick")
    assert c["StateValue"] == "ALARM", c  # cpu ALARM and mem not OK
    assert c["StateReason"].startswith(f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:cpu transitioned to ALARM at ")
    triggering = json.loads(c["StateReasonData"])["triggeringAlarms"]
    assert [t["arn"].rsplit(":", 1)[1] for t in triggering] == ["cpu"]
    assert actions[-1]["alarm"] == "host sick" and actions[-1]["alarmType"] == "CompositeAlarm"
    put(call, 10.0, NOW - 60, name="Mem")
    call("SetAlarmState", AlarmName="mem", StateValue="OK", StateReason="fine")
    assert describe(call, "host sick")["StateValue"] == "OK"
    parents = call("DescribeAlarms", ParentsOfAlarmName="mem")["CompositeAlarms"]
    assert [p["AlarmName"] for p in parents] == ["host sick"]
    kids = call("DescribeAlarms", ChildrenOfAlarmName="host sick")
    assert sorted(a["AlarmName"] for a in kids["MetricAlarms"]) == ["cpu", "mem"]
    assert [h["HistorySummary"] for h in history(call, "host sick", "StateUpdate")] == [
        "Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM", "Alarm updated from INSUFFICIENT_DATA to OK"]
    assert call("DescribeAlarmHistory", AlarmName="host sick")["AlarmHistoryItems"] == []  # metric alarms by default


def test_composite_refusals(call: Call) -> None:
    alarm(call, "a")
    assert "alarms [ghost] in the alarm rule do not exist" in error(
        lambda: call("PutCompositeAlarm", AlarmName="c", AlarmRule="ALARM(a) OR ALARM(ghost)")).message
    assert "Error in alarm rule" in error(lambda: call("PutCompositeAlarm", AlarmName="c", AlarmRule="ALARM(a) AND")).message
    assert "Error in alarm rule" in error(lambda: call("PutCompositeAlarm", AlarmName="c", AlarmRule="MAYBE(a)")).message
    assert "Auto Scaling" in error(
        lambda: call("PutCompositeAlarm", AlarmName="c", AlarmRule="ALARM(a)", AlarmActions=[ASG])).message
    call("PutCompositeAlarm", AlarmName="c1", AlarmRule="ALARM(a)")
    call("PutCompositeAlarm", AlarmName="c2", AlarmRule="ALARM(c1)")
    assert "refers to c1 itself" in error(lambda: call("PutCompositeAlarm", AlarmName="c1", AlarmRule="ALARM(c2)")).message
    assert "already exists as a composite alarm" in error(lambda: alarm(call, "c1")).message
    arn = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:a"
    call("PutCompositeAlarm", AlarmName="by-arn", AlarmRule=f"ALARM({arn}) OR TRUE")
    assert describe(call, "by-arn")["StateValue"] == "ALARM"


def test_history_filters_dates_order_and_pages(app: App, call: Call) -> None:
    alarm(call, "h", EvaluationPeriods=1)
    for i in range(6):
        call("SetAlarmState", AlarmName="h", StateValue="ALARM" if i % 2 == 0 else "OK", StateReason=f"r{i}")
        advance(app, 60)
    items = history(call, "h", "StateUpdate")
    assert [json.loads(i["HistoryData"])["newState"]["stateReason"] for i in items] == [f"r{i}" for i in range(5, -1, -1)]
    asc = history(call, "h", "StateUpdate", ScanBy="TimestampAscending")
    assert [i["Timestamp"] for i in asc] == sorted(i["Timestamp"] for i in items)
    first = NOW + alarm_controller.EVAL_DELAY  # items at first, first + 60, …
    window = history(call, "h", "StateUpdate", StartDate=datetime.fromtimestamp(first + 60, UTC),
                     EndDate=datetime.fromtimestamp(first + 180, UTC))  # both ends inclusive
    assert [i["Timestamp"] - first for i in window] == [180, 120, 60]
    got, token = [], None
    while True:
        out = call("DescribeAlarmHistory", AlarmName="h", MaxRecords=4, **({"NextToken": token} if token else {}))
        got += out["AlarmHistoryItems"]
        token = out.get("NextToken")
        if not token:
            break
    assert len(got) == 7 and got == history(call, "h")


def test_tags(call: Call) -> None:
    alarm(call, "t", Tags=[{"Key": "a", "Value": "1"}])
    arn = describe(call, "t")["AlarmArn"]
    call("TagResource", ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert call("ListTagsForResource", ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    call("UntagResource", ResourceARN=arn, TagKeys=["a"])
    assert call("ListTagsForResource", ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    missing = arn.replace(":alarm:t", ":alarm:none")
    assert error(lambda: call("ListTagsForResource", ResourceARN=missing)).code == "ResourceNotFoundException"


def test_high_resolution_alarm_evaluates_every_period(app: App, call: Call) -> None:
    alarm(call, "fast", Period=10, EvaluationPeriods=2, Statistic="Maximum")
    start = app.clock.now()
    for i in range(1, 7):  # high-resolution data every 10 s, breaching from the 3rd on
        call("PutMetricData", Namespace="App", MetricData=[{
            "MetricName": "CPU", "Value": 95.0 if i >= 3 else 5.0, "StorageResolution": 1,
            "Timestamp": datetime.fromtimestamp(start - 70 + i * 10, UTC)}])
    assert tick(app) == 1
    a = describe(call, "fast")
    assert a["StateValue"] == "ALARM" and json.loads(a["StateReasonData"])["period"] == 10
    advance(app, 10)
    assert tick(app) == 1  # a 10-second alarm is evaluated every 10 seconds
    assert tick(app) == 0


def test_public_functions_for_other_services(app: App, actions: list[dict[str, Any]]) -> None:
    from gureum.core.store import Scope
    from gureum.services.cloudwatch import alarms

    scope = Scope(ACCOUNT, "eu-west-1")
    alarms.put_metric_alarm(app, scope, AlarmName="TargetTracking-web-AlarmHigh-1", Namespace="AWS/EC2",
                            MetricName="CPUUtilization", Statistic="Average", Period=60, EvaluationPeriods=3,
                            Threshold=50.0, ComparisonOperator="GreaterThanThreshold", AlarmActions=[ASG])
    got = alarms.alarm(app, scope, "TargetTracking-web-AlarmHigh-1")
    assert got is not None and got["StateValue"] == "INSUFFICIENT_DATA"
    assert got["AlarmArn"] == f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:TargetTracking-web-AlarmHigh-1"
    alarms.call(app, scope, "SetAlarmState", AlarmName="TargetTracking-web-AlarmHigh-1", StateValue="ALARM",
                StateReason="test")
    assert actions[-1]["region"] == "eu-west-1" and "message" not in actions[-1]
    alarms.delete_alarms(app, scope, ["TargetTracking-web-AlarmHigh-1"])
    assert alarms.alarm(app, scope, "TargetTracking-web-AlarmHigh-1") is None
