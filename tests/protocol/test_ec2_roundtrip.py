"""EC2 protocol against botocore's own serializer and parser."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xml_roundtrip import botocore_parse, botocore_request, serialize
from xml_strategies import normal, value_for

from gureum.core.errors import ServiceError
from gureum.protocol import ec2, models
from gureum.protocol.http import ResponseMeta

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def _operations() -> list[Any]:
    model = models.service_model("ec2")
    return [model.operation_model(name) for name in model.operation_names]


@SETTINGS
@given(data=st.data())
def test_ec2_request_round_trip(data: st.DataObject) -> None:
    operation = data.draw(st.sampled_from(_operations()), label="operation")
    shape = operation.input_shape
    params = data.draw(value_for(shape), label="params") if shape is not None else {}
    request = botocore_request(serialize("ec2", operation, params))

    assert ec2.find_operation(operation.service_model, request).name == operation.name
    parsed = ec2.parse_request(operation, request, None)
    assert normal(parsed) == normal(params)


@SETTINGS
@given(data=st.data())
def test_ec2_response_round_trip(data: st.DataObject) -> None:
    operation = data.draw(st.sampled_from(_operations()), label="operation")
    shape = operation.output_shape
    output = data.draw(value_for(shape), label="output") if shape is not None else {}
    response = ec2.serialize_response(operation, output, ResponseMeta("req-1"))

    assert response.status == 200
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert f"<{operation.name}Response ".encode() in response.body
    assert b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"' in response.body
    parsed = botocore_parse("ec2", response, shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert normal(parsed) == normal(output)


@settings(max_examples=60, deadline=None)
@given(
    code=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="<>&"),
        min_size=1,
        max_size=40,
    ),
    message=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60),
    status=st.sampled_from([None, 400, 401, 403, 404, 500, 503]),
)
def test_ec2_error_round_trip(code: str, message: str, status: int | None) -> None:
    model = models.service_model("ec2")
    response = ec2.serialize_error(
        model, ServiceError(code, message, status), ResponseMeta("req-2")
    )
    parsed = botocore_parse("ec2", response, None)

    assert response.status == (status or 400)
    assert parsed["Error"]["Code"] == code
    assert (parsed["Error"]["Message"] or "") == message
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"
    assert response.body.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
    )
