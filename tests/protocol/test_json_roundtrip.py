"""awsJson (gureum.protocol.json_) against botocore's own serializer and parser."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore_oracle import client_parse, client_request, normal, wire_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import from_shape

from gureum.core.errors import ProtocolError, ServiceError, ValidationError
from gureum.protocol import json_, models
from gureum.protocol.http import Headers, HttpRequest, ResponseMeta

SERVICES = ["logs", "ecs", "codebuild", "codepipeline", "dynamodb", "cloudwatch"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def _ops(service: str, *, output: bool = False) -> list[str]:
    sm = models.service_model(service)
    names = []
    for name in sm.operation_names:
        op = sm.operation_model(name)
        if output and op.has_event_stream_output:
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("service", SERVICES)
@SETTINGS
@given(data=st.data())
def test_json_requests_from_botocore_parse_to_the_same_params(
    service: str, data: st.DataObject
) -> None:
    sm = models.service_model(service)
    op = sm.operation_model(data.draw(st.sampled_from(_ops(service)), label="operation"))
    params = data.draw(from_shape(op.input_shape, "json", max_depth=3), label="params")
    req = client_request("json", params, op)
    assert json_.find_operation(sm, req).name == op.name
    parsed = json_.parse_request(op, req, None)
    assert normal(op.input_shape, parsed) == normal(op.input_shape, params)


@pytest.mark.parametrize("service", SERVICES)
@SETTINGS
@given(data=st.data())
def test_json_responses_parse_in_botocore_to_the_same_output(
    service: str, data: st.DataObject
) -> None:
    sm = models.service_model(service)
    op = sm.operation_model(
        data.draw(st.sampled_from(_ops(service, output=True)), label="operation")
    )
    output = data.draw(
        from_shape(op.output_shape, "json", max_depth=3, millis=True), label="output"
    )
    resp = json_.serialize_response(op, output, ResponseMeta("rid-1"))
    assert resp.status == 200
    headers = dict(resp.headers)
    assert headers["x-amzn-RequestId"] == "rid-1"
    assert headers["Content-Type"] == f"application/x-amz-json-{sm.metadata['jsonVersion']}"
    parsed = client_parse("json", resp, op.output_shape, keep_metadata=True)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid-1"
    assert normal(op.output_shape, parsed) == normal(op.output_shape, output)


def _error_shapes(service: str) -> list[Any]:
    return sorted(models.service_model(service).error_shapes, key=lambda s: s.name)


@pytest.mark.parametrize("service", SERVICES)
@SETTINGS
@given(data=st.data())
def test_json_modelled_errors_reach_botocore(service: str, data: st.DataObject) -> None:
    sm = models.service_model(service)
    shape = data.draw(st.sampled_from(_error_shapes(service)), label="error")
    by_code = data.draw(st.booleans(), label="raise by wire code")
    extra = data.draw(
        from_shape(shape, "json", max_depth=2, millis=True, skip=frozenset({"message", "Message"})),
        label="extra",
    )
    message = data.draw(st.text(max_size=20), label="message")
    code = shape.error_code if by_code else shape.name
    err = ServiceError(code, message, extra=extra)
    resp = json_.serialize_error(sm, err, ResponseMeta("rid-2"))
    meta = shape.metadata.get("error") or {}
    assert resp.status == meta.get("httpStatusCode", 400)
    op = sm.operation_model(sm.operation_names[0])
    parsed = client_parse("json", resp, op.output_shape, keep_metadata=True)
    expected_code = shape.error_code if sm.is_query_compatible else shape.name
    assert parsed["Error"]["Code"] == expected_code
    assert parsed["Error"]["Message"] == message
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-2"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == resp.status
    # botocore's client then reads the modelled members with the error shape.
    modelled = create_parser("json").parse(
        {"status_code": resp.status, "headers": wire_headers(resp), "body": resp.body}, shape
    )
    assert normal(shape, {k: v for k, v in modelled.items() if k in extra}) == normal(shape, extra)


def test_json_unmodelled_error_keeps_code_status_and_headers() -> None:
    sm = models.service_model("logs")
    err = ServiceError("ThrottlingException", "Rate exceeded", 429, headers={"Retry-After": "1"})
    resp = json_.serialize_error(sm, err, ResponseMeta("rid-3"))
    assert resp.status == 429
    assert ("x-amzn-ErrorType", "ThrottlingException") in resp.headers
    assert ("Retry-After", "1") in resp.headers
    parsed = client_parse("json", resp, None, keep_metadata=True)
    assert parsed["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}


def test_json_query_compatible_error_sends_the_query_code() -> None:
    sm = models.service_model("cloudwatch")
    resp = json_.serialize_error(
        sm, ServiceError("ResourceNotFound", "no dashboard"), ResponseMeta("r")
    )
    headers = dict(resp.headers)
    assert headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    assert resp.status == 404
    parsed = client_parse("json", resp, None)
    assert parsed["Error"]["Code"] == "ResourceNotFound"


# -- bad input -------------------------------------------------------------------------


def _logs_request(body: bytes, op: str = "CreateLogGroup") -> HttpRequest:
    headers = Headers(
        [("X-Amz-Target", f"Logs_20140328.{op}"), ("Content-Type", "application/x-amz-json-1.1")]
    )
    return HttpRequest("POST", "/", "", headers, body)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{", "Malformed JSON"),
        (b"\xff\xfe", "Malformed JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (
            b'{"logGroupName": 5}',
            "VALUE_NUMBER_INT can not be converted to a String at 'logGroupName'",
        ),
        (b'{"logGroupName": {"a": 1}}', "Start of structure or map found where not expected"),
        (
            b'{"logGroupName": "g", "tags": ["a"]}',
            "Start of list found where not expected at 'tags'",
        ),
        (
            b'{"logGroupName": "g", "tags": {"k": true}}',
            "VALUE_TRUE can not be converted to a String at 'tags.k'",
        ),
    ],
)
def test_json_undecodable_input_is_a_serialization_exception(body: bytes, fragment: str) -> None:
    sm = models.service_model("logs")
    req = _logs_request(body)
    op = json_.find_operation(sm, req)
    with pytest.raises(ProtocolError) as info:
        json_.parse_request(op, req, None)
    assert (info.value.code, info.value.status) == ("SerializationException", 400)
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("op", "body", "fields"),
    [
        ("GetLogEvents", b'{"logGroupName": "g", "logStreamName": "s", "limit": "ten"}', "limit"),
        (
            "PutLogEvents",
            b'{"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": true, "message": "m"}]}',
            "logEvents.1.member.timestamp",
        ),
        ("PutRetentionPolicy", b'{"logGroupName": "g", "retentionInDays": 1.5}', "retentionInDays"),
    ],
)
def test_json_wrong_member_types_name_the_member(op: str, body: bytes, fields: str) -> None:
    sm = models.service_model("logs")
    req = _logs_request(body, op)
    with pytest.raises(ProtocolError) as info:
        json_.parse_request(json_.find_operation(sm, req), req, None)
    assert info.value.code == "SerializationException"
    assert f"at '{fields}'" in info.value.message


def test_json_missing_required_member_is_a_validation_error() -> None:
    sm = models.service_model("logs")
    req = _logs_request(b"{}")
    with pytest.raises(ValidationError) as info:
        json_.parse_request(json_.find_operation(sm, req), req, None)
    assert info.value.message == (
        "1 validation error detected: Value null at 'logGroupName' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_json_lenient_input_forms() -> None:
    sm = models.service_model("logs")
    body = (
        b'{"logGroupName": "g", "logStreamName": "s", "unknownMember": 1, "limit": 10.0,'
        b' "nextToken": null}'
    )
    req = _logs_request(body, "GetLogEvents")
    params = json_.parse_request(json_.find_operation(sm, req), req, None)
    assert params == {"logGroupName": "g", "logStreamName": "s", "limit": 10}
    assert isinstance(params["limit"], int)
    # An empty body is {}.
    req = _logs_request(b"", "DescribeLogGroups")
    assert json_.parse_request(json_.find_operation(sm, req), req, None) == {}


@pytest.mark.parametrize(
    ("start", "epoch"),
    [
        (b"1577934245", 1577934245),
        (b"1577934245.5", 1577934245.5),
        (b'"2020-01-02T03:04:05Z"', 1577934245),
        (b'"2020-01-02T03:04:05.500+00:00"', 1577934245.5),
        (b'"Thu, 02 Jan 2020 03:04:05 GMT"', 1577934245),
        (b'"1577934245"', 1577934245),
    ],
)
def test_json_timestamps_accept_numbers_and_strings(start: bytes, epoch: float) -> None:
    sm = models.service_model("cloudwatch")
    op = sm.operation_model("GetMetricStatistics")
    body = (
        b'{"Namespace": "n", "MetricName": "m", "Period": 60, "Statistics": ["Average"],'
        b' "StartTime": ' + start + b', "EndTime": 1577934300}'
    )
    params = json_.parse_request(op, HttpRequest("POST", "/", "", Headers(), body), None)
    assert params["StartTime"].timestamp() == epoch
    assert params["StartTime"].utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "target", ["Logs_20140328.NoSuchThing", "Other_2020.CreateLogGroup", "", "CreateLogGroup"]
)
def test_json_unknown_target(target: str) -> None:
    sm = models.service_model("logs")
    req = HttpRequest("POST", "/", "", Headers([("X-Amz-Target", target)]), b"{}")
    with pytest.raises(ProtocolError) as info:
        json_.find_operation(sm, req)
    assert (info.value.code, info.value.status) == ("UnknownOperationException", 400)


def test_json_output_timestamps_blobs_and_special_floats() -> None:
    sm = models.service_model("cloudwatch")
    op = sm.operation_model("GetMetricStatistics")
    from datetime import UTC, datetime

    out = {
        "Label": "CPU",
        "Datapoints": [
            {
                "Timestamp": datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=UTC),
                "Average": float("nan"),
            },
            {"Timestamp": 1704067200, "Maximum": 2},
        ],
        "NotAModelMember": 1,
    }
    resp = json_.serialize_response(op, out, ResponseMeta("r"))
    import json

    assert json.loads(resp.body) == {
        "Label": "CPU",
        "Datapoints": [
            {"Timestamp": 1704067201.5, "Average": "NaN"},
            {"Timestamp": 1704067200, "Maximum": 2},
        ],
    }
