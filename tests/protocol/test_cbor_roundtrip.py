"""Smithy RPC v2 CBOR (gureum.protocol.cbor) against botocore's own serializer and parser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cbor2
import pytest
from botocore.parsers import create_parser
from botocore_oracle import client_parse, client_request, normal, wire_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import from_shape

from gureum.core.errors import ProtocolError, ServiceError, ValidationError
from gureum.protocol import cbor, models
from gureum.protocol.http import Headers, HttpRequest, ResponseMeta

PROTOCOL = "smithy-rpc-v2-cbor"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


def _cloudwatch() -> Any:
    return models.service_model("cloudwatch")


@SETTINGS
@given(data=st.data())
def test_cbor_requests_from_botocore_parse_to_the_same_params(data: st.DataObject) -> None:
    sm = _cloudwatch()
    op = sm.operation_model(data.draw(st.sampled_from(sm.operation_names), label="operation"))
    params = data.draw(from_shape(op.input_shape, PROTOCOL, max_depth=3), label="params")
    req = client_request(PROTOCOL, params, op)
    assert cbor.find_operation(sm, req).name == op.name
    parsed = cbor.parse_request(op, req, None)
    assert normal(op.input_shape, parsed) == normal(op.input_shape, params)


@SETTINGS
@given(data=st.data())
def test_cbor_responses_parse_in_botocore_to_the_same_output(data: st.DataObject) -> None:
    sm = _cloudwatch()
    op = sm.operation_model(data.draw(st.sampled_from(sm.operation_names), label="operation"))
    output = data.draw(
        from_shape(op.output_shape, PROTOCOL, max_depth=3, millis=True), label="output"
    )
    resp = cbor.serialize_response(op, output, ResponseMeta("rid-1"))
    headers = dict(resp.headers)
    assert (resp.status, headers["smithy-protocol"], headers["Content-Type"]) == (
        200,
        "rpc-v2-cbor",
        "application/cbor",
    )
    parsed = client_parse(PROTOCOL, resp, op.output_shape, keep_metadata=True)
    metadata = parsed.pop("ResponseMetadata")
    if op.output_shape is not None:  # botocore reads no metadata without an output shape
        assert metadata["RequestId"] == "rid-1"
    assert normal(op.output_shape, parsed) == normal(op.output_shape, output)


@SETTINGS
@given(data=st.data())
def test_cbor_modelled_errors_reach_botocore(data: st.DataObject) -> None:
    sm = _cloudwatch()
    shape = data.draw(st.sampled_from(sorted(sm.error_shapes, key=lambda s: s.name)), label="error")
    by_code = data.draw(st.booleans(), label="raise by wire code")
    extra = data.draw(
        from_shape(
            shape, PROTOCOL, max_depth=2, millis=True, skip=frozenset({"message", "Message"})
        ),
        label="extra",
    )
    message = data.draw(st.text(max_size=20), label="message")
    err = ServiceError(shape.error_code if by_code else shape.name, message, extra=extra)
    resp = cbor.serialize_error(sm, err, ResponseMeta("rid-2"))
    assert resp.status == (shape.metadata.get("error") or {}).get("httpStatusCode", 400)
    wire = {"status_code": resp.status, "headers": wire_headers(resp), "body": resp.body}
    parsed = create_parser(PROTOCOL).parse(wire, sm.operation_model("ListMetrics").output_shape)
    # Two error shapes may share one query code; the code is what clients see.
    assert parsed["Error"]["Code"] == shape.error_code
    assert parsed["Error"]["Message"] == message
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-2"
    if by_code and sm.shape_for_error_code(shape.error_code) is not shape:
        return
    modelled = create_parser(PROTOCOL).parse(wire, shape)
    assert normal(shape, {k: v for k, v in modelled.items() if k in extra}) == normal(shape, extra)


def test_cbor_unmodelled_error_and_plain_type() -> None:
    resp = cbor.serialize_error(
        _cloudwatch(), ServiceError("Throttling", "Rate exceeded", 400), ResponseMeta("r")
    )
    doc = cbor2.loads(resp.body)
    assert doc == {"__type": "Throttling", "message": "Rate exceeded"}
    assert ("x-amzn-query-error", "Throttling;Sender") in resp.headers
    parsed = client_parse(PROTOCOL, resp, None, keep_metadata=True)
    assert parsed["Error"]["Code"] == "Throttling"


def _request(op: str, body: bytes) -> HttpRequest:
    headers = Headers([("smithy-protocol", "rpc-v2-cbor"), ("Content-Type", "application/cbor")])
    return HttpRequest(
        "POST", f"/service/GraniteServiceVersion20100801/operation/{op}", "", headers, body
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"\xa1", "Malformed CBOR"),
        (b"\xff", "Malformed CBOR"),
        (b"\xa0\x00", "Trailing bytes"),
        (cbor2.dumps([1, 2]), "must be a CBOR map"),
        (
            cbor2.dumps({"Namespace": 5, "MetricData": []}),
            "Expected a text string, found an integer at 'Namespace'",
        ),
        (
            cbor2.dumps(
                {"Namespace": "n", "MetricData": [{"MetricName": "m", "Timestamp": "yesterday"}]}
            ),
            "Expected a timestamp (tag 1), found a text string at 'MetricData.1.member.Timestamp'",
        ),
        (
            cbor2.dumps({"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": "1"}]}),
            "Expected a number, found a text string at 'MetricData.1.member.Value'",
        ),
    ],
)
def test_cbor_undecodable_input_is_a_serialization_exception(body: bytes, fragment: str) -> None:
    sm = _cloudwatch()
    req = _request("PutMetricData", body)
    with pytest.raises(ProtocolError) as info:
        cbor.parse_request(cbor.find_operation(sm, req), req, None)
    assert (info.value.code, info.value.status) == ("SerializationException", 400)
    assert fragment in info.value.message


def test_cbor_missing_required_member_and_empty_body() -> None:
    sm = _cloudwatch()
    req = _request("PutMetricData", b"")
    with pytest.raises(ValidationError) as info:
        cbor.parse_request(cbor.find_operation(sm, req), req, None)
    assert (
        "Value null at 'Namespace' failed to satisfy constraint: Member must not be null"
        in info.value.message
    )
    req = _request("ListDashboards", b"")
    assert cbor.parse_request(cbor.find_operation(sm, req), req, None) == {}


def test_cbor_timestamps_tagged_or_plain_and_undefined_ignored() -> None:
    sm = _cloudwatch()
    body = cbor2.dumps(
        {
            "Namespace": "n",
            "MetricData": [
                {"MetricName": "a", "Timestamp": cbor2.CBORTag(1, 1704067200.25), "Value": 1},
                {"MetricName": "b", "Timestamp": 1704067200, "Unit": cbor2.undefined},
            ],
        }
    )
    req = _request("PutMetricData", body)
    params = cbor.parse_request(cbor.find_operation(sm, req), req, None)
    first, second = params["MetricData"]
    assert first["Timestamp"] == datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert first["Value"] == 1.0 and isinstance(first["Value"], float)
    assert second == {"MetricName": "b", "Timestamp": datetime(2024, 1, 1, tzinfo=UTC)}


@pytest.mark.parametrize(
    "path",
    [
        "/service/GraniteServiceVersion20100801/operation/NoSuchOp",
        "/service/Other/operation/ListMetrics",
        "/service/GraniteServiceVersion20100801/ListMetrics",
        "/",
    ],
)
def test_cbor_unknown_operation_is_404(path: str) -> None:
    with pytest.raises(ProtocolError) as info:
        cbor.find_operation(_cloudwatch(), HttpRequest("POST", path))
    assert (info.value.code, info.value.status) == ("UnknownOperationException", 404)


def test_cbor_output_timestamps_are_tag_1() -> None:
    op = _cloudwatch().operation_model("GetMetricData")
    out = {
        "MetricDataResults": [
            {
                "Id": "a",
                "Timestamps": [datetime(2024, 1, 1, tzinfo=UTC), 1704067200.5],
                "Values": [1, 2.5],
            }
        ]
    }
    resp = cbor.serialize_response(op, out, ResponseMeta("r"))
    assert bytes.fromhex("c11a65920080") in resp.body  # tag 1, uint32 1704067200
    assert bytes.fromhex("c1fb41d9648020200000") in resp.body  # tag 1, float64 1704067200.5
    decoded = cbor2.loads(resp.body)
    assert decoded["MetricDataResults"][0]["Timestamps"] == [
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
    ]
    assert decoded["MetricDataResults"][0]["Values"] == [1.0, 2.5]
