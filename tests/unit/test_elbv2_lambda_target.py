"""The pure half of Lambda targets: ALB's event and the answer's mapping."""

from __future__ import annotations

import base64
import json

import pytest

from gureum.services.elbv2.lambda_target import BadAnswer, build_event, map_response

TG = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/t/1"


def test_event_single_and_multi_value() -> None:
    headers = [("Host", "h"), ("X-A", "1"), ("x-a", "2"), ("Content-Type", "text/plain")]
    single = build_event(TG, "GET", "/p", "q=1&q=2&e&s=a%20b", headers, b"hi", multi=False)
    assert single["headers"] == {"host": "h", "x-a": "2", "content-type": "text/plain"}
    assert single["queryStringParameters"] == {"q": "2", "e": "", "s": "a%20b"}
    assert (single["body"], single["isBase64Encoded"]) == ("hi", False)
    multi = build_event(TG, "GET", "/p", "q=1&q=2", headers, b"", multi=True)
    assert multi["multiValueHeaders"]["x-a"] == ["1", "2"] and "headers" not in multi
    assert multi["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
    assert multi["requestContext"] == {"elb": {"targetGroupArn": TG}}


@pytest.mark.parametrize(
    ("headers", "body", "b64"),
    [
        ([("Content-Type", "application/json")], b"{}", False),
        ([("Content-Type", "image/png")], b"\x89PNG", True),
        ([("Content-Type", "text/plain"), ("Content-Encoding", "gzip")], b"x", True),
        ([("Content-Type", "text/plain")], b"\xff\xfe", True),
    ],
)
def test_event_body_base64_rule(headers: list[tuple[str, str]], body: bytes, b64: bool) -> None:
    event = build_event(TG, "POST", "/", "", headers, body, multi=False)
    assert event["isBase64Encoded"] is b64
    assert (base64.b64decode(event["body"]) if b64 else event["body"].encode()) == body


def test_answer_mapping() -> None:
    answer = {
        "statusCode": 404,
        "statusDescription": "404 Nope",
        "headers": {"X": "y", "Content-Length": "99"},
        "body": base64.b64encode(b"\x00").decode(),
        "isBase64Encoded": True,
    }
    assert map_response(json.dumps(answer).encode(), multi=False) == (
        404,
        "Nope",
        [("X", "y")],
        b"\x00",
    )
    multi = {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a", "b"]}, "body": "ok"}
    assert map_response(json.dumps(multi).encode(), multi=True) == (
        200,
        "OK",
        [("Set-Cookie", "a"), ("Set-Cookie", "b")],
        b"ok",
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'"str"',
        b'{"body": "x"}',
        b'{"statusCode": 99}',
        b'{"statusCode": 200, "body": 5}',
    ],
)
def test_unusable_answers(payload: bytes) -> None:
    with pytest.raises(BadAnswer):
        map_response(payload, multi=False)
