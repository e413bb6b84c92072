"""REST routing and URI/query/header binding (gureum.protocol.rest), botocore as oracle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore_oracle import client_request, normal, routable_operations, strip_empty
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import from_shape

from gureum.core.errors import ProtocolError
from gureum.protocol import models
from gureum.protocol.http import Headers, HttpRequest
from gureum.protocol.rest import (
    bind_rest_members,
    find_rest_operation,
    rest_output_headers,
    split_header_list,
    template_query_keys,
)

S3_ROUTES = [
    ("GET", "/b", "list-type=2", {}, "ListObjectsV2"),
    ("GET", "/b", "list-type=2&prefix=x", {}, "ListObjectsV2"),
    ("GET", "/b", "", {}, "ListObjects"),
    ("GET", "/b/", "", {}, "ListObjects"),
    ("GET", "/b", "versions", {}, "ListObjectVersions"),
    ("GET", "/b/k", "", {}, "GetObject"),
    ("GET", "/b/k", "uploadId=u", {}, "ListParts"),
    ("GET", "/b/k", "tagging", {}, "GetObjectTagging"),
    ("GET", "/b/k", "partNumber=2", {}, "GetObject"),
    ("PUT", "/b/k", "", {}, "PutObject"),
    ("PUT", "/b/k", "", {"x-amz-copy-source": "a/b"}, "CopyObject"),
    ("PUT", "/b/k", "partNumber=1&uploadId=u", {}, "UploadPart"),
    ("PUT", "/b/k", "partNumber=1&uploadId=u", {"x-amz-copy-source": "a/b"}, "UploadPartCopy"),
    ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
    ("POST", "/b/k", "uploadId=u", {}, "CompleteMultipartUpload"),
    ("DELETE", "/b/k", "uploadId=u", {}, "AbortMultipartUpload"),
    ("DELETE", "/b/k", "", {}, "DeleteObject"),
    ("POST", "/b", "delete", {}, "DeleteObjects"),
    ("GET", "/", "", {}, "ListBuckets"),
    ("PUT", "/b", "", {}, "CreateBucket"),
    ("HEAD", "/b", "", {}, "HeadBucket"),
    ("HEAD", "/b/k", "", {}, "HeadObject"),
    ("GET", "/b", "lifecycle", {}, "GetBucketLifecycleConfiguration"),
    ("GET", "/b", "analytics&id=a", {}, "GetBucketAnalyticsConfiguration"),
    ("GET", "/b", "analytics", {}, "ListBucketAnalyticsConfigurations"),
    ("POST", "/b/k", "select&select-type=2", {}, "SelectObjectContent"),
]


@pytest.mark.parametrize(("method", "path", "query", "headers", "expected"), S3_ROUTES)
def test_rest_s3_routes(
    method: str, path: str, query: str, headers: dict[str, str], expected: str
) -> None:
    req = HttpRequest(method, path, query, Headers(headers.items()))
    op, _ = find_rest_operation(models.service_model("s3"), req)
    assert op.name == expected


def test_rest_labels_are_percent_decoded_and_greedy_keeps_slashes() -> None:
    s3 = models.service_model("s3")
    op, labels = find_rest_operation(s3, HttpRequest("GET", "/my-bucket/a/b%20c/%E2%82%AC/"))
    assert op.name == "GetObject"
    assert labels == {"Bucket": "my-bucket", "Key": "a/b c/€/"}
    lam = models.service_model("lambda")
    arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"
    op, labels = find_rest_operation(lam, HttpRequest("GET", f"/2015-03-31/functions/{arn}/policy"))
    assert (op.name, labels) == ("GetPolicy", {"FunctionName": arn.replace("%3A", ":")})


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/2015-03-31/functions/", "", "ListFunctions"),
        ("GET", "/2015-03-31/functions", "", "ListFunctions"),
        ("POST", "/2015-03-31/functions", "", "CreateFunction"),
        ("GET", "/2015-03-31/functions/f", "", "GetFunction"),
        ("GET", "/2015-03-31/functions/f/configuration", "", "GetFunctionConfiguration"),
        ("POST", "/2015-03-31/functions/f/invocations", "", "Invoke"),
        ("GET", "/2018-10-31/layers", "find=LayerVersion&Arn=x", "GetLayerVersionByArn"),
        ("GET", "/2018-10-31/layers", "", "ListLayers"),
        (
            "GET",
            "/2019-09-30/functions/f/provisioned-concurrency",
            "List=ALL",
            "ListProvisionedConcurrencyConfigs",
        ),
        (
            "GET",
            "/2019-09-30/functions/f/provisioned-concurrency",
            "Qualifier=1",
            "GetProvisionedConcurrencyConfig",
        ),
    ],
)
def test_rest_lambda_routes(method: str, path: str, query: str, expected: str) -> None:
    op, _ = find_rest_operation(models.service_model("lambda"), HttpRequest(method, path, query))
    assert op.name == expected


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("PATCH", "/2015-03-31/functions/f"),
        ("GET", "/2015-03-31/functions/f/g/h"),
    ],
)
def test_rest_unknown_route_is_404_with_the_given_code(method: str, path: str) -> None:
    lam = models.service_model("lambda")
    with pytest.raises(ProtocolError) as info:
        find_rest_operation(lam, HttpRequest(method, path))
    assert (info.value.code, info.value.status) == ("UnknownOperationException", 404)
    with pytest.raises(ProtocolError) as info:
        find_rest_operation(lam, HttpRequest(method, path), not_found_code="NoSuchRoute")
    assert info.value.code == "NoSuchRoute"


REST_SERVICES = [
    ("lambda", "rest-json"),
    ("apigateway", "rest-json"),
    ("efs", "rest-json"),
    ("s3", "rest-xml"),
]


def _located(shape: Any, params: dict[str, Any]) -> dict[str, Any]:
    if shape is None:
        return {}
    return {
        n: v
        for n, v in params.items()
        if shape.members[n].serialization.get("location")
        in ("uri", "querystring", "header", "headers")
    }


@pytest.mark.parametrize(("service", "protocol"), REST_SERVICES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rest_botocore_requests_route_and_bind(
    service: str, protocol: str, data: st.DataObject
) -> None:
    sm = models.service_model(service)
    name = data.draw(st.sampled_from(routable_operations(sm)), label="operation")
    op = sm.operation_model(name)
    params = data.draw(from_shape(op.input_shape, protocol, max_depth=2), label="params")
    req = client_request(protocol, params, op)
    found, labels = find_rest_operation(sm, req)
    assert found.name == name
    bound = bind_rest_members(op.input_shape, req, labels, ignore_query=template_query_keys(op))
    expected = _located(op.input_shape, params)
    assert strip_empty(normal(op.input_shape, bound)) == strip_empty(
        normal(op.input_shape, expected)
    )


def test_rest_binding_converts_types() -> None:
    lam = models.service_model("lambda")
    op = lam.operation_model("ListFunctions")
    req = HttpRequest(
        "GET", "/2015-03-31/functions/", "MaxItems=7&FunctionVersion=ALL&Marker=a%2Bb"
    )
    assert bind_rest_members(op.input_shape, req, {}) == {
        "MaxItems": 7,
        "FunctionVersion": "ALL",
        "Marker": "a+b",
    }
    s3 = models.service_model("s3")
    put = s3.operation_model("PutObject")
    headers = Headers(
        [
            ("x-amz-meta-Color", "blue"),
            ("Expires", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ("x-amz-server-side-encryption-bucket-key-enabled", "TRUE"),
            ("Content-Length", "12"),
        ]
    )
    bound = bind_rest_members(
        put.input_shape, HttpRequest("PUT", "/b/k", "", headers), {"Bucket": "b", "Key": "k"}
    )
    assert bound == {
        "Bucket": "b",
        "Key": "k",
        "Metadata": {"color": "blue"},
        "Expires": datetime(2015, 10, 21, 7, 28, tzinfo=UTC),
        "BucketKeyEnabled": True,
        "ContentLength": 12,
    }


def test_rest_binding_refuses_bad_numbers() -> None:
    op = models.service_model("lambda").operation_model("ListFunctions")
    with pytest.raises(ProtocolError) as info:
        bind_rest_members(op.input_shape, HttpRequest("GET", "/", "MaxItems=seven"), {})
    assert (info.value.code, info.value.status) == ("SerializationException", 400)
    assert "MaxItems" in info.value.message


def test_rest_output_headers_and_status() -> None:
    s3 = models.service_model("s3")
    out = s3.operation_model("GetObject").output_shape
    status, headers, rest = rest_output_headers(
        out,
        {
            "ETag": '"abc"',
            "LastModified": datetime(2015, 10, 21, 7, 28, tzinfo=UTC),
            "Metadata": {"color": "blue"},
            "ContentLength": 3,
            "Body": b"abc",
            "DeleteMarker": False,
            "Unknown": 1,
        },
        status=200,
    )
    assert status == 200
    assert dict(headers) == {
        "ETag": '"abc"',
        "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
        "x-amz-meta-color": "blue",
        "Content-Length": "3",
        "x-amz-delete-marker": "false",
    }
    assert rest == {"Body": b"abc", "Unknown": 1}
    invoke = models.service_model("lambda").operation_model("Invoke").output_shape
    status, headers, rest = rest_output_headers(
        invoke, {"StatusCode": 202, "Payload": b""}, status=200
    )
    assert (status, headers, rest) == (202, [], {"Payload": b""})


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("a,b", ["a", "b"]),
        ("a, b ,c", ["a", "b", "c"]),
        ('"a,b",c', ["a,b", "c"]),
        ('"say \\"hi\\"", x', ['say "hi"', "x"]),
        ("", [""]),
    ],
)
def test_rest_header_lists(text: str, items: list[str]) -> None:
    assert split_header_list(text) == items
