"""Service detection from cheap clues, checked against requests botocore really signs.

Requests are built by real botocore clients (the oracle for what SDKs send);
a ``before-send`` hook hands the prepared request to the router instead of
the network.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from gureum.gateway.asgi import Gateway
from gureum.gateway.router import Route, credential_scope, protocol_for, route
from gureum.protocol.http import Headers, HttpRequest
from gureum.settings import Settings

ENDPOINT = "http://localhost:4566"


class _Captured(Exception):
    pass


def signed(
    service: str,
    operation: str,
    params: dict[str, Any] | None = None,
    *,
    region: str = "eu-west-2",
    access_key: str = "test",
    config: Config | None = None,
    endpoint: str = ENDPOINT,
) -> HttpRequest:
    """The HttpRequest a boto3 client would send for ``operation``."""
    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key="test", region_name=region)
    client = session.client(service, endpoint_url=endpoint, config=config or Config(retries={"max_attempts": 1}))
    box: dict[str, HttpRequest] = {}

    def capture(request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = Headers((k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items())
        if "host" not in headers:
            headers.add("host", url.netloc)
        box["req"] = HttpRequest(request.method, url.path or "/", url.query, headers, bytes(body))
        raise _Captured

    client.meta.events.register_first("before-send", capture)
    with pytest.raises(_Captured):
        getattr(client, operation)(**(params or {}))
    return box["req"]


# -- by the SDKs' own requests ------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        ("logs", "describe_log_groups", {}, "logs"),
        ("ecs", "list_clusters", {}, "ecs"),
        ("sts", "get_caller_identity", {}, "sts"),
        ("ec2", "describe_instances", {}, "ec2"),
        ("cloudwatch", "list_metrics", {}, "cloudwatch"),
        ("elbv2", "describe_load_balancers", {}, "elbv2"),
        ("elb", "describe_load_balancers", {}, "elb"),
        ("autoscaling", "describe_auto_scaling_groups", {}, "autoscaling"),
        ("application-autoscaling", "describe_scalable_targets", {"ServiceNamespace": "ecs"}, "application-autoscaling"),
        ("lambda", "list_functions", {}, "lambda"),
        ("s3", "list_buckets", {}, "s3"),
    ],
)
def test_sdk_requests_route_to_their_service(service: str, operation: str, params: dict[str, Any], expected: str) -> None:
    req = signed(service, operation, params)
    rt = route(req)
    assert rt.service == expected
    assert rt.region == "eu-west-2"
    assert rt.access_key == "test"


def test_json_services_route_by_x_amz_target_even_without_a_signature() -> None:
    req = signed("logs", "create_log_group", {"logGroupName": "g"})
    req.headers.set("authorization", "")
    rt = route(req)
    assert rt.service == "logs" and rt.protocol == "json"
    assert rt.region == "us-east-1"  # no scope: the default region


def test_cloudwatch_json_request_routes_by_target() -> None:
    req = signed("cloudwatch", "put_metric_data", {"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1.0}]})
    rt = route(req)
    assert rt.service == "cloudwatch" and rt.protocol == "json"


def test_cloudwatch_cbor_request_is_routed_by_its_path() -> None:
    import botocore.session
    from botocore.serialize import create_serializer

    model = botocore.session.get_session().get_service_model("cloudwatch")
    op = model.operation_model("PutMetricData")
    wire = create_serializer("smithy-rpc-v2-cbor").serialize_to_request(
        {"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1.0}]}, op
    )
    headers = Headers((k, v) for k, v in wire["headers"].items())
    req = HttpRequest("POST", wire["url_path"], "", headers, wire["body"])
    assert req.path == "/service/GraniteServiceVersion20100801/operation/PutMetricData"
    rt = route(req)
    assert rt.service == "cloudwatch" and rt.protocol == "smithy-rpc-v2-cbor"
    assert protocol_for(rt, "smithy-rpc-v2-cbor", ["smithy-rpc-v2-cbor", "json", "query"], req) == "smithy-rpc-v2-cbor"


def test_s3_host_style_addressing_names_the_bucket() -> None:
    cfg = Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1})
    req = signed("s3", "get_object", {"Bucket": "my-bucket", "Key": "a/b.txt"}, config=cfg)
    assert req.host.startswith("my-bucket.localhost")
    rt = route(req)
    assert rt.service == "s3" and rt.bucket_from_host == "my-bucket"
    # Path style leaves the bucket in the path.
    req = signed("s3", "get_object", {"Bucket": "my-bucket", "Key": "a/b.txt"})
    rt = route(req)
    assert rt.service == "s3" and rt.bucket_from_host == "" and req.path.startswith("/my-bucket/")


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("photos.s3.amazonaws.com", "photos"),
        ("photos.s3.us-west-2.amazonaws.com", "photos"),
        ("my.dotted.bucket.s3.localhost:4566", "my.dotted.bucket"),
        ("s3.localhost:4566", ""),
        ("logs.localhost:4566", "logs"),  # unsigned: bucket.localhost is S3's virtual host style
    ],
)
def test_unsigned_s3_hosts(host: str, bucket: str) -> None:
    rt = route(HttpRequest("GET", "/key", headers=Headers([("host", host)])))
    assert rt.service == "s3" and rt.bucket_from_host == bucket


def test_presigned_s3_url_carries_the_credential_scope() -> None:
    session = boto3.session.Session(aws_access_key_id="AKIA123456789012ABCD", aws_secret_access_key="x", region_name="ap-northeast-2")
    s3 = session.client("s3", endpoint_url=ENDPOINT)
    url = urlsplit(s3.generate_presigned_url("get_object", {"Bucket": "b", "Key": "k"}))
    req = HttpRequest("GET", url.path, url.query, Headers([("host", url.netloc)]))
    assert credential_scope(req) == ("AKIA123456789012ABCD", "ap-northeast-2", "s3")
    rt = route(req)
    assert rt.service == "s3" and rt.region == "ap-northeast-2"


@pytest.mark.parametrize(("version", "service"), [("2011-06-15", "sts"), ("2016-11-15", "ec2"), ("2010-08-01", "cloudwatch")])
def test_unsigned_query_requests_route_by_version(version: str, service: str) -> None:
    req = HttpRequest(
        "POST",
        "/",
        headers=Headers([("content-type", "application/x-www-form-urlencoded; charset=utf-8"), ("host", "localhost")]),
        body=f"Action=Something&Version={version}".encode(),
    )
    assert route(req).service == service


def test_unknown_unsigned_request_falls_back_to_s3() -> None:
    rt = route(HttpRequest("GET", "/bucket/key", headers=Headers([("host", "127.0.0.1:4566")])))
    assert rt.service == "s3" and rt.bucket_from_host == ""


def test_sigv2_s3_header_gives_the_access_key() -> None:
    req = HttpRequest("GET", "/b", headers=Headers([("authorization", "AWS AKIAEXAMPLE:c2lnbmF0dXJl")]))
    assert credential_scope(req) == ("AKIAEXAMPLE", "", "s3")
    assert route(req).service == "s3"


def test_unknown_target_prefix_uses_the_signing_name() -> None:
    req = signed("secretsmanager", "list_secrets")
    req.headers.set("x-amz-target", "SomethingNew_2030.ListThings")
    assert route(req).service == "secretsmanager"


def test_cloudwatch_protocol_chosen_per_request() -> None:
    cands = ["smithy-rpc-v2-cbor", "json", "query"]
    query = HttpRequest("POST", "/", headers=Headers([("content-type", "application/x-www-form-urlencoded")]), body=b"Action=ListMetrics")
    assert protocol_for(Route("cloudwatch", "", "us-east-1", ""), "smithy-rpc-v2-cbor", cands, query) == "query"
    js = HttpRequest("POST", "/", headers=Headers([("x-amz-target", "GraniteServiceVersion20100801.ListMetrics"), ("content-type", "application/x-amz-json-1.0")]))
    assert protocol_for(route(js), "smithy-rpc-v2-cbor", cands, js) == "json"


# -- account from the access key -------------------------------------------------------------


@pytest.mark.parametrize(
    ("access_key", "account"),
    [
        ("test", "000000000000"),
        ("", "000000000000"),
        ("123456789012", "123456789012"),
        ("AKIA1111222233334444", "111122223333"),
        ("ASIA9999888877771A2B", "999988887777"),
        ("AKIAIOSFODNN7EXAMPLE", "000000000000"),
        ("12345678901", "000000000000"),
    ],
)
def test_gateway_account_from_access_key(access_key: str, account: str) -> None:
    gw = Gateway(SimpleNamespace(settings=Settings(default_account="000000000000")))
    assert gw._account(access_key) == account


def test_account_follows_the_signed_request_through_route() -> None:
    req = signed("sts", "get_caller_identity", access_key="AKIA4242424242421234")
    gw = Gateway(SimpleNamespace(settings=Settings(default_account="000000000000")))
    assert gw._account(route(req).access_key) == "424242424242"
    gw2 = Gateway(SimpleNamespace(settings=Settings(default_account="555555555555")))
    assert gw2._account(route(signed("sts", "get_caller_identity")).access_key) == "555555555555"
