"""CloudWatch Logs through boto3 (JSON 1.1) against a real server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e


@pytest.fixture
def logs(client: Callable[..., Any]) -> Any:
    return client("logs")


@pytest.fixture
def prefix() -> str:
    return f"/e2e/{uuid.uuid4().hex[:8]}"


def now_ms() -> int:
    return int(time.time() * 1000)


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_groups_lifecycle_and_pagination(logs: Any, prefix: str) -> None:
    names = [f"{prefix}/g{i}" for i in range(5)]
    for n in names:
        logs.create_log_group(logGroupName=n, tags={"env": "test"}, logGroupClass="STANDARD")
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName=names[0])
    assert code(exc) == "ResourceAlreadyExistsException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    pages = logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 2}
    )
    seen = [g for page in pages for g in page["logGroups"]]
    assert [g["logGroupName"] for g in seen] == names
    g = seen[0]
    assert g["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{names[0]}:*"
    assert g["logGroupArn"] == g["arn"][:-2]
    assert abs(g["creationTime"] - now_ms()) < 60_000 and g["storedBytes"] == 0

    pattern = logs.describe_log_groups(logGroupNamePattern=prefix.split("/")[-1])["logGroups"]
    assert len(pattern) == 5 and set(pattern[0]) == {"logGroupName", "arn", "creationTime"}

    logs.put_retention_policy(logGroupName=names[0], retentionInDays=30)
    assert logs.describe_log_groups(logGroupNamePrefix=names[0])["logGroups"][0]["retentionInDays"] == 30
    with pytest.raises(ClientError) as exc:
        logs.put_retention_policy(logGroupName=names[0], retentionInDays=8)
    assert code(exc) == "InvalidParameterException" and "retentionInDays" in str(exc.value)
    logs.delete_retention_policy(logGroupName=names[0])
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=names[0])["logGroups"][0]

    arn = seen[1]["logGroupArn"]
    logs.tag_resource(resourceArn=arn, tags={"team": "core"})
    logs.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "core"}

    for n in names:
        logs.delete_log_group(logGroupName=n)
    with pytest.raises(ClientError) as exc:
        logs.delete_log_group(logGroupName=names[0])
    assert code(exc) == "ResourceNotFoundException"
    assert logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"] == []


def test_validation_names_the_member(logs: Any) -> None:
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="x" * 513)
    assert code(exc) == "InvalidParameterException"
    assert "logGroupName" in str(exc.value) and "512" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="has space")
    assert code(exc) == "InvalidParameterException" and "logGroupName" in str(exc.value)


def test_streams_events_and_tokens(logs: Any, prefix: str) -> None:
    group = f"{prefix}/app"
    logs.create_log_group(logGroupName=group)
    for s in ("web-1", "web-2", "worker"):
        logs.create_log_stream(logGroupName=group, logStreamName=s)
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName=group, logStreamName="web-1")
    assert code(exc) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName="nope", logEvents=[{"timestamp": now_ms(), "message": "x"}])
    assert code(exc) == "ResourceNotFoundException"

    t0 = now_ms() - 60_000
    for i in range(30):
        stream = ("web-1", "web-2", "worker")[i % 3]
        level = "ERROR" if i % 5 == 0 else "INFO"
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": t0 + i * 100, "message": f"{level} request {i}"}])

    out = logs.put_log_events(logGroupName=group, logStreamName="worker", sequenceToken="whatever", logEvents=[
        {"timestamp": now_ms() - 15 * 86_400_000, "message": "ancient"},
        {"timestamp": now_ms(), "message": "fresh"},
        {"timestamp": now_ms() + 3 * 3_600_000, "message": "future"},
    ])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2}
    assert out["nextSequenceToken"]
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName="worker", logEvents=[
            {"timestamp": t0 + 5, "message": "b"}, {"timestamp": t0, "message": "a"}])
    assert code(exc) == "InvalidParameterException" and "chronological" in str(exc.value)

    streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
    assert streams[0]["logStreamName"] == "worker"
    web1 = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="web-1")["logStreams"][0]
    assert web1["firstEventTimestamp"] == t0 and web1["lastEventTimestamp"] == t0 + 2700
    paged = logs.get_paginator("describe_log_streams").paginate(logGroupName=group, PaginationConfig={"PageSize": 1})
    assert [s["logStreamName"] for p in paged for s in p["logStreams"]] == ["web-1", "web-2", "worker"]

    # GetLogEvents: newest page first, then walk backward until the same token comes back.
    last = logs.get_log_events(logGroupName=group, logStreamName="web-1", limit=4)
    assert [e["message"] for e in last["events"]] == [f"{'ERROR' if i % 5 == 0 else 'INFO'} request {i}" for i in (18, 21, 24, 27)]
    assert last["nextForwardToken"].startswith("f/") and last["nextBackwardToken"].startswith("b/")
    collected, token = [], last["nextBackwardToken"]
    while True:
        page = logs.get_log_events(logGroupName=group, logStreamName="web-1", limit=4, nextToken=token)
        collected = [e["message"] for e in page["events"]] + collected
        if page["nextBackwardToken"] == token:
            break
        token = page["nextBackwardToken"]
    assert len(collected) == 6
    again = logs.get_log_events(logGroupName=group, logStreamName="web-1", nextToken=last["nextForwardToken"], startFromHead=True)
    assert again["events"] == [] and again["nextForwardToken"] == last["nextForwardToken"]
    head = logs.get_log_events(logGroupName=group, logStreamName="web-1", startFromHead=True, limit=2,
                               startTime=t0 + 300, endTime=t0 + 1000)
    assert [e["timestamp"] for e in head["events"]] == [t0 + 300, t0 + 600]

    # FilterLogEvents across streams, with patterns and pagination.
    errors = logs.filter_log_events(logGroupName=group, filterPattern="ERROR")["events"]
    assert [e["message"] for e in errors] == [f"ERROR request {i}" for i in (0, 5, 10, 15, 20, 25)]
    assert {e["logStreamName"] for e in errors} == {"web-1", "web-2", "worker"}
    assert all(e["eventId"] for e in errors)
    web = logs.filter_log_events(logGroupName=group, logStreamNamePrefix="web", filterPattern='?"request 1" ?"request 2" -ERROR')
    assert sorted(e["message"] for e in web["events"]) == sorted(
        f"INFO request {i}" for i in range(30) if i % 3 != 2 and i % 5 and str(i).startswith(("1", "2")))
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, logStreamNames=["web-2", "worker"], startTime=t0, endTime=t0 + 3000,
        PaginationConfig={"PageSize": 4})
    msgs = [e["message"] for p in pages for e in p["events"]]
    assert len(msgs) == 20 and msgs[0].endswith("request 1")
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName=group, logStreamNames=["web-1"], logStreamNamePrefix="w")
    assert code(exc) == "InvalidParameterException"

    logs.delete_log_stream(logGroupName=group, logStreamName="web-2")
    with pytest.raises(ClientError) as exc:
        logs.get_log_events(logGroupName=group, logStreamName="web-2")
    assert code(exc) == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName=group)
