"""Pure parts of Lambda: references, configuration checks, alias routing, log formatting, paging."""

from __future__ import annotations

from typing import Any

import pytest

from gureum.core.errors import ServiceError, ValidationError
from gureum.services.lambda_ import config as cfgs
from gureum.services.lambda_.common import decode_marker, paged
from gureum.services.lambda_.names import (
    FunctionRef,
    check_alias_name,
    check_function_name,
    check_role,
    parse_ref,
)
from gureum.services.lambda_.records import choose_version
from gureum.services.lambda_.telemetry import (
    TAIL_BYTES,
    dimension_sets,
    invocation_lines,
    stream_name,
    tail,
)
from gureum.services.lambda_.worker import Outcome


@pytest.mark.parametrize(
    ("ref", "name", "qualifier"),
    [
        ("fn", "fn", None),
        ("fn:3", "fn", "3"),
        ("fn:live", "fn", "live"),
        ("123456789012:function:fn", "fn", None),
        ("123456789012:function:fn:$LATEST", "fn", "$LATEST"),
        ("arn:aws:lambda:us-east-1:123456789012:function:fn", "fn", None),
        ("arn:aws:lambda:us-east-1:123456789012:function:fn:7", "fn", "7"),
    ],
)
def test_references(ref: str, name: str, qualifier: str | None) -> None:
    assert parse_ref(ref) == FunctionRef(name, qualifier)
    assert check_function_name(ref) == FunctionRef(name, qualifier)


@pytest.mark.parametrize("ref", ["bad name", "x" * 65, "fn:bad qualifier", "a.b"])
def test_malformed_references(ref: str) -> None:
    with pytest.raises(ValidationError, match="failed to satisfy constraint"):
        check_function_name(ref)


def test_alias_names_and_roles() -> None:
    check_alias_name("live")
    with pytest.raises(ValidationError):
        check_alias_name("123")
    check_role("arn:aws:iam::123456789012:role/service-role/my-role")
    with pytest.raises(ValidationError, match="at 'role'"):
        check_role("arn:aws:iam::123:role/x")


def create_req(**over: Any) -> dict[str, Any]:
    return {"Runtime": "python3.12", "Handler": "app.handler", "Role": "arn:aws:iam::123456789012:role/r", **over}


@pytest.mark.parametrize(
    ("over", "code", "fragment"),
    [
        ({"Runtime": "python2.7"}, "InvalidParameterValueException", "python2.7 is not supported"),
        ({"Runtime": None}, "InvalidParameterValueException", "Runtime and Handler are mandatory"),
        ({"Handler": ""}, "InvalidParameterValueException", "Runtime and Handler are mandatory"),
        ({"Timeout": 901}, "ValidationException", "less than or equal to 900"),
        ({"MemorySize": 10241}, "InvalidParameterValueException", "less than or equal to 10240"),
        ({"Environment": {"Variables": {"_HANDLER": "x", "AWS_REGION": "y"}}}, "InvalidParameterValueException",
         "Reserved keys used in this request: AWS_REGION,_HANDLER"),
        ({"Environment": {"Variables": {"1BAD": "x"}}}, "ValidationException", "Map keys must satisfy"),
        ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "InvalidParameterValueException", "exceeded the 4KB limit"),
        ({"Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:l:1"]}, "InvalidParameterValueException", "Layers"),
        ({"PackageType": "Image"}, "InvalidParameterValueException", "PackageType Zip"),
    ],
)
def test_create_checks(over: dict[str, Any], code: str, fragment: str) -> None:
    with pytest.raises(ServiceError) as exc:
        cfgs.check_create(create_req(**over))
    assert exc.value.code == code and fragment in exc.value.message


def test_every_python_runtime_from_3_9_is_accepted() -> None:
    for runtime in ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13"):
        cfgs.check_create(create_req(Runtime=runtime))


def test_new_configuration_defaults_and_states() -> None:
    code = cfgs.CodeInfo("c2hh", "00", 42)
    cfg = cfgs.new_configuration("123456789012", "eu-west-1", "fn", create_req(), code, 1_700_000_000.5)
    assert cfg["FunctionArn"] == "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    assert (cfg["Timeout"], cfg["MemorySize"], cfg["Version"], cfg["CodeSize"]) == (3, 128, "$LATEST", 42)
    assert cfg["LastModified"] == "2023-11-14T22:13:20.500+0000"
    assert (cfg["State"], cfg["LastUpdateStatus"]) == ("Pending", "InProgress")
    assert cfg["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/fn"}
    assert "Environment" not in cfg
    ready = cfgs.mark_ready(cfg)
    assert (ready["State"], ready["LastUpdateStatus"]) == ("Active", "Successful")
    assert not any(k.startswith(("StateReason", "LastUpdateStatusReason")) for k in ready)
    assert ready["RevisionId"] == cfg["RevisionId"]
    updated = cfgs.updated_configuration(ready, {"Timeout": 30, "Environment": {"Variables": {"A": "1"}}}, 1_700_000_100.0)
    assert updated["Timeout"] == 30 and updated["Environment"] == {"Variables": {"A": "1"}}
    assert updated["LastUpdateStatus"] == "InProgress" and updated["RevisionId"] != cfg["RevisionId"]
    assert cfgs.same_for_publishing(ready, dict(ready, Description="other", RevisionId="x"))
    assert not cfgs.same_for_publishing(ready, updated)


@pytest.mark.parametrize(
    ("weights", "draw", "expected"),
    [
        ({}, 0.0, "1"),
        ({"2": 0.3}, 0.0, "2"),
        ({"2": 0.3}, 0.29, "2"),
        ({"2": 0.3}, 0.3, "1"),
        ({"2": 0.3}, 0.99, "1"),
        ({"2": 1.0}, 0.99, "2"),
    ],
)
def test_alias_routing(weights: dict[str, float], draw: float, expected: str) -> None:
    alias = {"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": weights}}
    assert choose_version(alias, draw) == expected


def test_invocation_lines_and_tail() -> None:
    out = Outcome(True, payload="1", lines=[(1005, "hello")], duration_ms=12.3456, maxrss_mb=40)
    lines = invocation_lines("r-1", "$LATEST", out, 128, 1000, 1020, None)
    texts = [t for _, t in lines]
    assert texts == [
        "START RequestId: r-1 Version: $LATEST",
        "hello",
        "END RequestId: r-1",
        "REPORT RequestId: r-1\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t",
    ]
    timed = Outcome(False, lines=[], duration_ms=3000.0, timed_out=True)
    texts = [t for _, t in invocation_lines("r-2", "4", timed, 256, 0, 3000, None)]
    assert texts[1] == "1970-01-01T00:00:03.000Z r-2 Task timed out after 3.00 seconds"
    assert texts[-1].endswith("Status: timeout")
    long = [(0, "é" * 3000)]  # 6000 bytes: the tail is cut on a character boundary
    text = tail(long)
    assert len(text.encode()) <= TAIL_BYTES and text.endswith("é\n") and set(text[:-1]) == {"é"}


def test_stream_names_and_dimensions() -> None:
    name = stream_name(1_700_000_000.0, "$LATEST")
    day, rest = name.rsplit("/", 1)
    assert day == "2023/11/14" and rest.startswith("[$LATEST]") and len(rest) == len("[$LATEST]") + 32
    assert dimension_sets("fn", None, "$LATEST") == [{"FunctionName": "fn"}]
    assert dimension_sets("fn", "live", "3")[-1] == {"FunctionName": "fn", "Resource": "fn:live", "ExecutedVersion": "3"}


def test_paging_markers_resume_after_the_last_item() -> None:
    items = [(f"{i:03d}", i) for i in range(7)]
    page, marker = paged(items, {"MaxItems": 3})
    assert page == [0, 1, 2] and marker is not None
    page, marker = paged(items, {"MaxItems": 3, "Marker": marker})
    assert page == [3, 4, 5] and marker is not None
    page, marker = paged(items, {"MaxItems": 3, "Marker": marker})
    assert page == [6] and marker is None
    with pytest.raises(ServiceError):
        decode_marker("%%%")
