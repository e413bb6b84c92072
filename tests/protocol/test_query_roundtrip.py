"""Query protocol against botocore's own serializer and parser, across services."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xml_roundtrip import botocore_parse, botocore_request, serialize
from xml_strategies import normal, value_for

from gureum.core.errors import ServiceError
from gureum.protocol import models, query
from gureum.protocol.http import ResponseMeta

SERVICES = ["sts", "elbv2", "autoscaling", "cloudformation", "cloudwatch", "iam"]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def _operations(service: str) -> list[Any]:
    model = models.service_model(service)
    return [model.operation_model(name) for name in model.operation_names]


@pytest.mark.parametrize("service", SERVICES)
@SETTINGS
@given(data=st.data())
def test_query_request_round_trip(service: str, data: st.DataObject) -> None:
    operation = data.draw(st.sampled_from(_operations(service)), label="operation")
    shape = operation.input_shape
    params = data.draw(value_for(shape), label="params") if shape is not None else {}
    request = botocore_request(serialize("query", operation, params))

    assert query.find_operation(operation.service_model, request).name == operation.name
    parsed = query.parse_request(operation, request, None)
    assert normal(parsed) == normal(params)


@pytest.mark.parametrize("service", SERVICES)
@SETTINGS
@given(data=st.data())
def test_query_response_round_trip(service: str, data: st.DataObject) -> None:
    operation = data.draw(st.sampled_from(_operations(service)), label="operation")
    shape = operation.output_shape
    output = data.draw(value_for(shape), label="output") if shape is not None else {}
    response = query.serialize_response(operation, output, ResponseMeta("req-1"))

    assert response.status == 200
    assert ("content-type", "text/xml") in response.headers
    assert ("x-amzn-requestid", "req-1") in response.headers
    parsed = botocore_parse("query", response, shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert normal(parsed) == normal(output)


CODES = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="<>&"),
    min_size=1,
    max_size=30,
)
MESSAGES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


@SETTINGS
@given(
    service=st.sampled_from(SERVICES),
    code=CODES,
    message=MESSAGES,
    status=st.sampled_from([None, 400, 403, 404, 409, 500, 503]),
)
def test_query_error_round_trip(service: str, code: str, message: str, status: int | None) -> None:
    model = models.service_model(service)
    response = query.serialize_error(
        model, ServiceError(code, message, status), ResponseMeta("req-2")
    )
    parsed = botocore_parse("query", response, None)

    assert response.status == (status or 400)
    assert parsed["Error"]["Code"] == code
    assert (parsed["Error"]["Message"] or "") == message
    assert parsed["Error"]["Type"] == ("Receiver" if response.status >= 500 else "Sender")
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


@pytest.mark.parametrize("service", SERVICES)
def test_query_modelled_errors_use_wire_code_and_status(service: str) -> None:
    model = models.service_model(service)
    for shape in model.error_shapes:
        meta = shape.metadata.get("error") or {}
        response = query.serialize_error(model, ServiceError(shape.name, "boom"), ResponseMeta("r"))
        parsed = botocore_parse("query", response, None)
        assert parsed["Error"]["Code"] == meta.get("code", shape.name)
        assert response.status == meta.get("httpStatusCode", 400)
        fault = meta.get("senderFault")
        if fault is not None:
            assert parsed["Error"]["Type"] == ("Sender" if fault else "Receiver")
