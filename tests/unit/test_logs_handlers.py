"""Logs handlers called directly over a real App and store (no HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.settings import Settings

NOW = 1_700_000_000.0
NOW_MS = int(NOW * 1000)

Call = Callable[..., dict[str, Any]]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    yield a
    a.store.close()


@pytest.fixture
def call(app: App) -> Call:
    api = app.service_api("logs")
    assert api is not None

    def do(op: str, region: str = "us-east-1", **req: Any) -> dict[str, Any]:
        ctx = RequestContext("logs", op, "123456789012", region, "rid", app)
        return api.handlers[op](ctx, req)  # type: ignore[return-value]

    return do


def error(fn: Callable[[], Any]) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn()
    return info.value


def test_create_and_describe_group(call: Call) -> None:
    call("CreateLogGroup", logGroupName="/app/web", tags={"team": "a"})
    [g] = call("DescribeLogGroups")["logGroups"]
    assert g["logGroupName"] == "/app/web"
    assert g["creationTime"] == NOW_MS
    assert g["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/app/web:*"
    assert g["logGroupArn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/app/web"
    assert g["storedBytes"] == 0 and g["logGroupClass"] == "STANDARD"
    assert "retentionInDays" not in g
    err = error(lambda: call("CreateLogGroup", logGroupName="/app/web"))
    assert err.code == "ResourceAlreadyExistsException"
    # Regions are separate.
    assert call("DescribeLogGroups", region="eu-west-1")["logGroups"] == []


def test_group_name_pattern_is_checked(call: Call) -> None:
    err = error(lambda: call("CreateLogGroup", logGroupName="bad name"))
    assert err.code == "InvalidParameterException"
    assert "logGroupName" in err.message


def test_describe_groups_prefix_pattern_and_paging(call: Call) -> None:
    for name in ["a/1", "a/2", "a/3", "b/DataLogs", "c"]:
        call("CreateLogGroup", logGroupName=name)
    names = lambda out: [g["logGroupName"] for g in out["logGroups"]]  # noqa: E731
    assert names(call("DescribeLogGroups", logGroupNamePrefix="a/")) == ["a/1", "a/2", "a/3"]
    brief = call("DescribeLogGroups", logGroupNamePattern="Data")["logGroups"]
    assert [set(g) for g in brief] == [{"logGroupName", "arn", "creationTime"}]
    assert call("DescribeLogGroups", logGroupNamePattern="data")["logGroups"] == []
    err = error(lambda: call("DescribeLogGroups", logGroupNamePrefix="a", logGroupNamePattern="a"))
    assert err.code == "InvalidParameterException"
    page1 = call("DescribeLogGroups", limit=2)
    page2 = call("DescribeLogGroups", limit=2, nextToken=page1["nextToken"])
    page3 = call("DescribeLogGroups", limit=2, nextToken=page2["nextToken"])
    assert names(page1) + names(page2) + names(page3) == ["a/1", "a/2", "a/3", "b/DataLogs", "c"]
    assert "nextToken" not in page3
    assert error(lambda: call("DescribeLogGroups", nextToken="%%%")).code == "InvalidParameterException"


def test_retention_policy_values(call: Call) -> None:
    call("CreateLogGroup", logGroupName="g")
    call("PutRetentionPolicy", logGroupName="g", retentionInDays=7)
    assert call("DescribeLogGroups")["logGroups"][0]["retentionInDays"] == 7
    err = error(lambda: call("PutRetentionPolicy", logGroupName="g", retentionInDays=2))
    assert err.code == "InvalidParameterException" and "retentionInDays" in err.message
    call("DeleteRetentionPolicy", logGroupName="g")
    assert "retentionInDays" not in call("DescribeLogGroups")["logGroups"][0]
    err = error(lambda: call("PutRetentionPolicy", logGroupName="nope", retentionInDays=1))
    assert err.code == "ResourceNotFoundException"


def test_delete_group_drops_streams_and_events(call: Call, app: App) -> None:
    call("CreateLogGroup", logGroupName="g")
    call("CreateLogStream", logGroupName="g", logStreamName="s")
    call("PutLogEvents", logGroupName="g", logStreamName="s", logEvents=[{"timestamp": NOW_MS, "message": "hi"}])
    call("DeleteLogGroup", logGroupName="g")
    assert error(lambda: call("DeleteLogGroup", logGroupName="g")).code == "ResourceNotFoundException"
    call("CreateLogGroup", logGroupName="g")
    call("CreateLogStream", logGroupName="g", logStreamName="s")
    assert call("GetLogEvents", logGroupName="g", logStreamName="s")["events"] == []


def test_deletion_protection(call: Call) -> None:
    call("CreateLogGroup", logGroupName="g", deletionProtectionEnabled=True)
    assert error(lambda: call("DeleteLogGroup", logGroupName="g")).code == "ValidationException"
    call("PutLogGroupDeletionProtection", logGroupIdentifier="g", deletionProtectionEnabled=False)
    call("DeleteLogGroup", logGroupName="g")


def test_tags(call: Call) -> None:
    call("CreateLogGroup", logGroupName="g", tags={"a": "1"})
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:g"
    call("TagResource", resourceArn=arn, tags={"b": "2"})
    assert call("ListTagsForResource", resourceArn=arn)["tags"] == {"a": "1", "b": "2"}
    call("UntagResource", resourceArn=arn, tagKeys=["a"])
    assert call("ListTagsLogGroup", logGroupName="g")["tags"] == {"b": "2"}
    err = error(lambda: call("TagResource", resourceArn=arn, tags={f"k{i}": "v" for i in range(50)}))
    assert err.code == "TooManyTagsException"
    err = error(lambda: call("ListTagsForResource", resourceArn=arn.replace(":g", ":missing")))
    assert err.code == "ResourceNotFoundException"


def test_streams_order_and_paging(call: Call, app: App) -> None:
    call("CreateLogGroup", logGroupName="g")
    for name in ["b", "a", "c"]:
        call("CreateLogStream", logGroupName="g", logStreamName=name)
    err = error(lambda: call("CreateLogStream", logGroupName="g", logStreamName="a"))
    assert err.code == "ResourceAlreadyExistsException"
    err = error(lambda: call("CreateLogStream", logGroupName="nope", logStreamName="a"))
    assert err.code == "ResourceNotFoundException"
    call("PutLogEvents", logGroupName="g", logStreamName="c", logEvents=[{"timestamp": NOW_MS - 5000, "message": "x"}])
    call("PutLogEvents", logGroupName="g", logStreamName="a", logEvents=[{"timestamp": NOW_MS - 1000, "message": "y"}])
    names = lambda out: [s["logStreamName"] for s in out["logStreams"]]  # noqa: E731
    assert names(call("DescribeLogStreams", logGroupName="g")) == ["a", "b", "c"]
    assert names(call("DescribeLogStreams", logGroupName="g", descending=True)) == ["c", "b", "a"]
    by_time = call("DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", descending=True)
    assert names(by_time) == ["a", "c", "b"]
    p1 = call("DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", limit=2)
    p2 = call("DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", limit=2, nextToken=p1["nextToken"])
    assert names(p1) + names(p2) == ["b", "c", "a"] and "nextToken" not in p2
    err = error(lambda: call("DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", logStreamNamePrefix="a"))
    assert err.code == "InvalidParameterException"
    a = call("DescribeLogStreams", logGroupIdentifier="arn:aws:logs:us-east-1:123456789012:log-group:g:*", logStreamNamePrefix="a")
    [s] = a["logStreams"]
    assert s["firstEventTimestamp"] == s["lastEventTimestamp"] == NOW_MS - 1000
    assert s["lastIngestionTime"] == NOW_MS
    assert s["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:a"
    call("DeleteLogStream", logGroupName="g", logStreamName="a")
    assert names(call("DescribeLogStreams", logGroupName="g")) == ["b", "c"]
    assert error(lambda: call("DeleteLogStream", logGroupName="g", logStreamName="a")).code == "ResourceNotFoundException"


def _setup_stream(call: Call, n: int, group: str = "g", stream: str = "s") -> None:
    call("CreateLogGroup", logGroupName=group)
    call("CreateLogStream", logGroupName=group, logStreamName=stream)
    events = [{"timestamp": NOW_MS - 1000 * (n - i), "message": f"event {i}"} for i in range(n)]
    call("PutLogEvents", logGroupName=group, logStreamName=stream, logEvents=events)


def test_put_log_events_rejections_and_errors(call: Call) -> None:
    call("CreateLogGroup", logGroupName="g")
    call("CreateLogStream", logGroupName="g", logStreamName="s")
    day = 86_400_000
    out = call(
        "PutLogEvents",
        logGroupName="g",
        logStreamName="s",
        logEvents=[
            {"timestamp": NOW_MS - 15 * day, "message": "old"},
            {"timestamp": NOW_MS, "message": "ok"},
            {"timestamp": NOW_MS + 3 * 3_600_000, "message": "future"},
        ],
        sequenceToken="ignored",
    )
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2}
    assert out["nextSequenceToken"]
    assert [e["message"] for e in call("GetLogEvents", logGroupName="g", logStreamName="s")["events"]] == ["ok"]
    err = error(lambda: call("PutLogEvents", logGroupName="g", logStreamName="s", logEvents=[
        {"timestamp": NOW_MS, "message": "b"}, {"timestamp": NOW_MS - 1, "message": "a"}]))
    assert err.code == "InvalidParameterException" and "chronological" in err.message
    err = error(lambda: call("PutLogEvents", logGroupName="g", logStreamName="nope",
                             logEvents=[{"timestamp": NOW_MS, "message": "a"}]))
    assert err.code == "ResourceNotFoundException" and "log stream" in err.message
    assert call("DescribeLogGroups")["logGroups"][0]["storedBytes"] == 2


def test_get_log_events_tokens(call: Call) -> None:
    _setup_stream(call, 25)
    msgs = lambda out: [e["message"] for e in out["events"]]  # noqa: E731
    # Default: the newest `limit` events, oldest first.
    tail = call("GetLogEvents", logGroupName="g", logStreamName="s", limit=10)
    assert msgs(tail) == [f"event {i}" for i in range(15, 25)]
    assert tail["nextForwardToken"].startswith("f/") and tail["nextBackwardToken"].startswith("b/")
    back = call("GetLogEvents", logGroupName="g", logStreamName="s", limit=10, nextToken=tail["nextBackwardToken"])
    assert msgs(back) == [f"event {i}" for i in range(5, 15)]
    back2 = call("GetLogEvents", logGroupName="g", logStreamName="s", limit=10, nextToken=back["nextBackwardToken"])
    assert msgs(back2) == [f"event {i}" for i in range(0, 5)]
    end = call("GetLogEvents", logGroupName="g", logStreamName="s", limit=10, nextToken=back2["nextBackwardToken"])
    assert end["events"] == [] and end["nextBackwardToken"] == back2["nextBackwardToken"]
    # Forward at the end: same token back; then new events arrive.
    same = call("GetLogEvents", logGroupName="g", logStreamName="s", nextToken=tail["nextForwardToken"])
    assert same["events"] == [] and same["nextForwardToken"] == tail["nextForwardToken"]
    call("PutLogEvents", logGroupName="g", logStreamName="s", logEvents=[{"timestamp": NOW_MS, "message": "new"}])
    newer = call("GetLogEvents", logGroupName="g", logStreamName="s", nextToken=tail["nextForwardToken"], startFromHead=True)
    assert msgs(newer) == ["new"]


def test_get_log_events_from_head_and_time_range(call: Call) -> None:
    _setup_stream(call, 10)
    msgs = lambda out: [e["message"] for e in out["events"]]  # noqa: E731
    head = call("GetLogEvents", logGroupName="g", logStreamName="s", startFromHead=True, limit=4)
    assert msgs(head) == ["event 0", "event 1", "event 2", "event 3"]
    nxt = call("GetLogEvents", logGroupName="g", logStreamName="s", limit=4, nextToken=head["nextForwardToken"])
    assert msgs(nxt) == ["event 4", "event 5", "event 6", "event 7"]
    ranged = call("GetLogEvents", logGroupName="g", logStreamName="s", startFromHead=True,
                  startTime=NOW_MS - 8000, endTime=NOW_MS - 5000)
    assert msgs(ranged) == ["event 2", "event 3", "event 4"]  # start inclusive, end exclusive
    ev = ranged["events"][0]
    assert ev["timestamp"] == NOW_MS - 8000 and ev["ingestionTime"] == NOW_MS
    empty = call("GetLogEvents", logGroupName="g", logStreamName="s", startTime=NOW_MS + 1)
    assert empty["events"] == [] and empty["nextForwardToken"] and empty["nextBackwardToken"]
    assert error(lambda: call("GetLogEvents", logGroupName="g", logStreamName="s", nextToken="zz")).code == "InvalidParameterException"


def test_filter_log_events_interleaves_and_pages(call: Call) -> None:
    call("CreateLogGroup", logGroupName="g")
    for s in ("web-1", "web-2", "db"):
        call("CreateLogStream", logGroupName="g", logStreamName=s)
    for i in range(6):
        stream = ["web-1", "web-2", "db"][i % 3]
        level = "ERROR" if i % 2 else "INFO"
        call("PutLogEvents", logGroupName="g", logStreamName=stream,
             logEvents=[{"timestamp": NOW_MS - 10_000 + i, "message": f"{level} n{i}"}])
    out = call("FilterLogEvents", logGroupName="g")
    assert [e["message"] for e in out["events"]] == [f"{'ERROR' if i % 2 else 'INFO'} n{i}" for i in range(6)]
    assert [e["logStreamName"] for e in out["events"]][:3] == ["web-1", "web-2", "db"]
    assert len({e["eventId"] for e in out["events"]}) == 6 and "nextToken" not in out
    errors = call("FilterLogEvents", logGroupName="g", filterPattern="ERROR")
    assert [e["message"] for e in errors["events"]] == ["ERROR n1", "ERROR n3", "ERROR n5"]
    web = call("FilterLogEvents", logGroupName="g", logStreamNamePrefix="web", filterPattern="-ERROR")
    assert [e["message"] for e in web["events"]] == ["INFO n0", "INFO n4"]
    named = call("FilterLogEvents", logGroupName="g", logStreamNames=["db"])
    assert [e["message"] for e in named["events"]] == ["INFO n2", "ERROR n5"]
    seen: list[str] = []
    token = None
    while True:
        req: dict[str, Any] = {"logGroupName": "g", "limit": 2}
        if token:
            req["nextToken"] = token
        page = call("FilterLogEvents", **req)
        seen += [e["message"] for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == [e["message"] for e in out["events"]]
    err = error(lambda: call("FilterLogEvents", logGroupName="g", logStreamNames=["db"], logStreamNamePrefix="w"))
    assert err.code == "InvalidParameterException"
    err = error(lambda: call("FilterLogEvents", logGroupName="g", filterPattern="{ $.a = 1 }"))
    assert err.code == "InvalidParameterException"
    ranged = call("FilterLogEvents", logGroupName="g", startTime=NOW_MS - 10_000 + 2, endTime=NOW_MS - 10_000 + 4)
    assert [e["message"] for e in ranged["events"]] == ["INFO n2", "ERROR n3"]
