"""restJson1 (gureum.protocol.rest_json) against botocore's own serializer and parser."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore_oracle import (
    client_parse,
    client_request,
    normal,
    routable_operations,
    strip_empty,
    wire_headers,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import from_shape

from gureum.core.errors import ProtocolError, ServiceError, ValidationError
from gureum.protocol import models, rest_json
from gureum.protocol.http import Headers, HttpRequest, ResponseMeta

SERVICES = ["lambda", "apigateway", "efs"]
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))


def _comparable(shape: Any, params: dict[str, Any]) -> Any:
    """Normal form; an empty blob/string payload is the same as none on the wire."""
    value = normal(shape, params)
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload and value.get(payload) in (b"", ""):
        value = {k: v for k, v in value.items() if k != payload}
    return strip_empty(value)


@pytest.mark.parametrize("service", SERVICES)
@SETTINGS
@given(data=st.data())
def test_rest_json_requests_from_botocore_parse_to_the_same_params(
    service: str, data: st.DataObject
) -> None:
    sm = models.service_model(service)
    op = sm.operation_model(data.draw(st.sampled_from(routable_operations(sm)), label="operation"))
    params = data.draw(from_shape(op.input_shape, "rest-json", max_depth=3), label="params")
    req = client_request("rest-json", params, op)
    found, labels = rest_json.find_operation(sm, req)
    assert found.name == op.name
    parsed = rest_json.parse_request(op, req, labels)
    assert _comparable(op.input_shape, parsed) == _comparable(op.input_shape, params)


def _output_ops(service: str) -> list[str]:
    sm = models.service_model(service)
    return [n for n in sm.operation_names if not sm.operation_model(n).has_event_stream_output]


@pytest.mark.parametrize("service", SERVICES)
@SETTINGS
@given(data=st.data())
def test_rest_json_responses_parse_in_botocore_to_the_same_output(
    service: str, data: st.DataObject
) -> None:
    sm = models.service_model(service)
    op = sm.operation_model(data.draw(st.sampled_from(_output_ops(service)), label="operation"))
    output = data.draw(
        from_shape(op.output_shape, "rest-json", max_depth=3, millis=True), label="output"
    )
    resp = rest_json.serialize_response(op, output, ResponseMeta("rid-1"))
    status_member = [
        n
        for n, m in (op.output_shape.members.items() if op.output_shape else [])
        if m.serialization.get("location") == "statusCode"
    ]
    expected_status = (
        output.get(status_member[0]) if status_member and status_member[0] in output else None
    )
    assert resp.status == (expected_status or op.http.get("responseCode", 200))
    parsed = client_parse(
        "rest-json", resp, op.output_shape, keep_metadata=True, streaming=op.has_streaming_output
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid-1"
    if resp.status == 204:
        output = {k: v for k, v in output.items() if k in _located_names(op.output_shape)}
    if status_member:  # botocore always reports the HTTP status in a statusCode member
        output = {**output, status_member[0]: resp.status}
    assert _comparable(op.output_shape, parsed) == _comparable(op.output_shape, output)


def _located_names(shape: Any) -> set[str]:
    return {n for n, m in shape.members.items() if m.serialization.get("location")}


@pytest.mark.parametrize("service", SERVICES)
@SETTINGS
@given(data=st.data())
def test_rest_json_modelled_errors_reach_botocore(service: str, data: st.DataObject) -> None:
    sm = models.service_model(service)
    shape = data.draw(st.sampled_from(sorted(sm.error_shapes, key=lambda s: s.name)), label="error")
    extra = data.draw(
        from_shape(
            shape, "rest-json", max_depth=2, millis=True, skip=frozenset({"message", "Message"})
        ),
        label="extra",
    )
    message = data.draw(st.text(max_size=20), label="message")
    resp = rest_json.serialize_error(
        sm, ServiceError(shape.name, message, extra=extra), ResponseMeta("rid-2")
    )
    assert resp.status == (shape.metadata.get("error") or {}).get("httpStatusCode", 400)
    wire = {"status_code": resp.status, "headers": wire_headers(resp), "body": resp.body}
    op = sm.operation_model(sm.operation_names[0])
    parsed = create_parser("rest-json").parse(wire, op.output_shape)
    assert parsed["Error"]["Code"] == shape.error_code
    assert parsed["Error"]["Message"] == message
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-2"
    modelled = create_parser("rest-json").parse(wire, shape)
    got = {k: v for k, v in modelled.items() if k in extra}
    assert strip_empty(normal(shape, got)) == strip_empty(normal(shape, extra))


def test_rest_json_lambda_error_body_and_fault_type() -> None:
    sm = models.service_model("lambda")
    resp = rest_json.serialize_error(
        sm, ServiceError("ResourceNotFoundException", "Function not found: f"), ResponseMeta("r")
    )
    assert resp.status == 404
    assert ("x-amzn-ErrorType", "ResourceNotFoundException") in resp.headers
    assert json.loads(resp.body) == {"Type": "User", "Message": "Function not found: f"}
    resp = rest_json.serialize_error(
        sm, ServiceError("ServiceException", "boom"), ResponseMeta("r")
    )
    assert resp.status == 500
    assert json.loads(resp.body)["Type"] == "Server"
    resp = rest_json.serialize_error(
        sm,
        ServiceError("TooManyRequestsException", "slow down", extra={"retryAfterSeconds": "3"}),
        ResponseMeta("r"),
    )
    assert ("Retry-After", "3") in resp.headers


def test_rest_json_unknown_route_is_a_404_botocore_can_read() -> None:
    sm = models.service_model("lambda")
    with pytest.raises(ProtocolError) as info:
        rest_json.find_operation(sm, HttpRequest("GET", "/2015-03-31/nothing-here"))
    err = ServiceError(info.value.code, info.value.message, info.value.status)
    resp = rest_json.serialize_error(sm, err, ResponseMeta("r"))
    parsed = client_parse("rest-json", resp, None, keep_metadata=True)
    assert parsed["Error"]["Code"] == "UnknownOperationException"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 404


def _lambda(
    method: str, path: str, body: bytes = b"", query: str = "", headers: Any = ()
) -> tuple[Any, dict[str, Any]]:
    sm = models.service_model("lambda")
    req = HttpRequest(method, path, query, Headers(headers), body)
    op, labels = rest_json.find_operation(sm, req)
    return op, rest_json.parse_request(op, req, labels)


def test_rest_json_binds_uri_query_header_and_body() -> None:
    op, params = _lambda(
        "POST",
        "/2015-03-31/functions/my-fn/invocations",
        b'{"hello": 1}',
        "Qualifier=%24LATEST",
        [("X-Amz-Invocation-Type", "Event"), ("X-Amz-Log-Type", "Tail")],
    )
    assert op.name == "Invoke"
    assert params == {
        "FunctionName": "my-fn",
        "Qualifier": "$LATEST",
        "InvocationType": "Event",
        "LogType": "Tail",
        "Payload": b'{"hello": 1}',
    }
    op, params = _lambda(
        "PUT",
        "/2015-03-31/functions/f/configuration",
        b'{"Timeout": 30, "Environment": {"Variables": {"A": "1"}}}',
    )
    assert params == {"FunctionName": "f", "Timeout": 30, "Environment": {"Variables": {"A": "1"}}}


def test_rest_json_streamed_blob_payload_is_the_request_stream() -> None:
    sm = models.service_model("lambda")
    req = HttpRequest("POST", "/2015-03-31/functions/f/invocations")
    op, labels = rest_json.find_operation(sm, req)
    marker = object()
    req.stream = marker  # type: ignore[assignment]
    assert rest_json.parse_request(op, req, labels)["Payload"] is marker


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "Malformed JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"Timeout": "thirty"}', "VALUE_STRING can not be converted to an Integer at 'Timeout'"),
        (
            b'{"Environment": {"Variables": ["A"]}}',
            "Start of list found where not expected at 'Environment.Variables'",
        ),
    ],
)
def test_rest_json_bad_bodies_are_serialization_exceptions(body: bytes, fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        _lambda("PUT", "/2015-03-31/functions/f/configuration", body)
    assert (info.value.code, info.value.status) == ("SerializationException", 400)
    assert fragment in info.value.message


def test_rest_json_bad_query_number_and_missing_member() -> None:
    with pytest.raises(ProtocolError) as info:
        _lambda("GET", "/2015-03-31/functions/", query="MaxItems=many")
    assert info.value.code == "SerializationException"
    with pytest.raises(ValidationError) as verr:
        _lambda("POST", "/2015-03-31/functions", b'{"FunctionName": "f"}')
    assert (
        "Value null at 'Role' failed to satisfy constraint: Member must not be null"
        in verr.value.message
    )


def test_rest_json_status_codes_and_empty_bodies() -> None:
    sm = models.service_model("lambda")
    meta = ResponseMeta("r")
    resp = rest_json.serialize_response(
        sm.operation_model("CreateFunction"), {"FunctionName": "f"}, meta
    )
    assert resp.status == 201 and json.loads(resp.body) == {"FunctionName": "f"}
    resp = rest_json.serialize_response(sm.operation_model("DeleteAlias"), {}, meta)
    assert (resp.status, resp.body) == (204, b"")
    resp = rest_json.serialize_response(
        sm.operation_model("Invoke"),
        {"StatusCode": 202, "Payload": b"", "ExecutedVersion": "$LATEST"},
        meta,
    )
    assert resp.status == 202 and ("X-Amz-Executed-Version", "$LATEST") in resp.headers
    resp = rest_json.serialize_response(
        sm.operation_model("Invoke"), {"StatusCode": 200, "Payload": b'{"ok":1}'}, meta
    )
    assert resp.body == b'{"ok":1}'


def test_rest_json_streamed_output_payload_passes_through() -> None:
    async def chunks() -> Any:
        yield b"a"

    stream = chunks()
    op = models.service_model("lambda").operation_model("Invoke")
    resp = rest_json.serialize_response(
        op, {"StatusCode": 200, "Payload": stream}, ResponseMeta("r")
    )
    assert resp.body is stream
    assert not any(k.lower() == "content-length" for k, _ in resp.headers)
