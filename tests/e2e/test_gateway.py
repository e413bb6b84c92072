"""The HTTP edge of a real server: admin endpoints, unknown services and
operations, malformed bodies in every protocol, size limits, and our own bugs.
"""

from __future__ import annotations

import http.client
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import Server, free_port, start_server, stop_server, wait_healthy

from gureum import __version__
from gureum.services import SERVICES

pytestmark = pytest.mark.e2e

DATE = "20240101T000000Z"


def fake_auth(service: str, region: str = "us-east-1", key: str = "test") -> str:
    # Gureum reads the credential scope to route; the signature itself is not checked.
    return f"AWS4-HMAC-SHA256 Credential={key}/20240101/{region}/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"


def raw(endpoint: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"X-Amz-Date": DATE, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def assert_alive(server: Server) -> None:
    status, _, body = raw(server.endpoint, "GET", "/_gureum/health")
    assert status == 200, body
    sts = boto3.session.Session("test", "test", region_name="us-east-1").client("sts", endpoint_url=server.endpoint)
    assert sts.get_caller_identity()["Account"] == "000000000000"


# -- admin endpoints ---------------------------------------------------------------------------


def test_health_is_200_json_with_version_and_services(server: Server) -> None:
    status, headers, body = raw(server.endpoint, "GET", "/_gureum/health")
    assert status == 200
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["version"] == __version__
    assert doc["ready"] is True
    assert set(doc["services"]) == set(SERVICES)
    assert set(doc["services"].values()) <= {"available", "running"}
    assert Path(doc["dataDir"]) == server.data_dir
    status, _, body = raw(server.endpoint, "HEAD", "/_gureum/health")
    assert status == 200 and body == b""


def test_unknown_admin_path_is_404(server: Server) -> None:
    status, _, body = raw(server.endpoint, "GET", "/_gureum/nope")
    assert status == 404 and b"no such Gureum endpoint" in body
    status, _, _ = raw(server.endpoint, "GET", "/_gureum/reset")  # reset wants POST
    assert status == 404


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own, so resetting it disturbs no other test."""
    srv = start_server(tmp_path_factory.mktemp("private") / "data")
    yield srv
    stop_server(srv)


@pytest.mark.parametrize("path", ["/_gureum/reset", "/moto-api/reset"])
def test_reset_endpoints_clear_state(private: Server, path: str) -> None:
    session = boto3.session.Session("test", "test", region_name="us-east-1")
    logs = session.client("logs", endpoint_url=private.endpoint)
    logs_eu = session.client("logs", endpoint_url=private.endpoint, region_name="eu-west-1")
    logs.create_log_group(logGroupName="/reset/me")
    logs.create_log_group(logGroupName="/reset/me-too")
    logs_eu.create_log_group(logGroupName="/reset/eu")
    assert len(logs.describe_log_groups(logGroupNamePrefix="/reset/")["logGroups"]) == 2
    status, _, body = raw(private.endpoint, "POST", path)
    assert status == 200 and json.loads(body) == {"status": "reset"}
    assert logs.describe_log_groups(logGroupNamePrefix="/reset/")["logGroups"] == []
    assert logs_eu.describe_log_groups(logGroupNamePrefix="/reset/")["logGroups"] == []
    # Still serving, and the same names can be made again at once.
    logs.create_log_group(logGroupName="/reset/me")
    assert len(logs.describe_log_groups(logGroupNamePrefix="/reset/")["logGroups"]) == 1
    raw(private.endpoint, "POST", "/_gureum/reset")


# -- unknown services and operations ------------------------------------------------------------


def test_request_no_service_claims_is_400(server: Server) -> None:
    status, _, body = raw(
        server.endpoint, "POST", "/", b"{}",
        {"X-Amz-Target": "NoSuchService_20990101.DoThing", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert status == 400 and json.loads(body)["__type"] == "UnknownServiceException"
    status, _, body = raw(server.endpoint, "POST", "/", b"Action=X", {"Authorization": fake_auth("nosuchservice"), "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and b"nosuchservice" in body


def test_service_gureum_does_not_run_answers_501(server: Server, client: Any) -> None:
    assert "sqs" not in SERVICES
    with pytest.raises(ClientError) as info:
        client("sqs").list_queues()
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "ListQueues" in err["Error"]["Message"] and "sqs" in err["Error"]["Message"]


# Operations in the model that Gureum did not implement when this was written,
# with valid input; the test uses the first one still unimplemented.
UNIMPLEMENTED: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "sts": [("GetSessionToken", {}), ("DecodeAuthorizationMessage", {"EncodedMessage": "x"}), ("GetAccessKeyInfo", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"})],
    "logs": [("DescribeDestinations", {}), ("DescribeQueryDefinitions", {}), ("DescribeExportTasks", {})],
    "ec2": [("DescribeCapacityReservations", {}), ("DescribeHosts", {}), ("DescribeFleets", {})],
    "s3": [("ListBucketAnalyticsConfigurations", {"Bucket": "gw-bucket"}), ("GetBucketAccelerateConfiguration", {"Bucket": "gw-bucket"}), ("ListBucketInventoryConfigurations", {"Bucket": "gw-bucket"})],
    "lambda": [("ListCodeSigningConfigs", {}), ("GetAccountSettings", {}), ("ListLayers", {})],
    "cloudwatch": [("ListDashboards", {}), ("DescribeAnomalyDetectors", {}), ("DescribeInsightRules", {})],
}


def _snake(name: str) -> str:
    import botocore

    return botocore.xform_name(name)


@pytest.mark.parametrize("service", sorted(UNIMPLEMENTED))
def test_unimplemented_operation_is_501_naming_service_and_operation(server: Server, client: Any, service: str) -> None:
    handlers = importlib.import_module(SERVICES[service]).api.handlers
    candidates = [(op, params) for op, params in UNIMPLEMENTED[service] if op not in handlers]
    if not candidates:
        pytest.fail(f"every candidate of {service} is implemented now: add a new unimplemented one")
    op, params = candidates[0]
    with pytest.raises(ClientError) as info:
        getattr(client(service), _snake(op))(**params)
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 501, err
    assert op in err["Error"]["Message"] and service in err["Error"]["Message"]


# -- malformed requests -----------------------------------------------------------------------------

JSON_HDRS = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.CreateLogGroup", "Authorization": fake_auth("logs")}
FORM = "application/x-www-form-urlencoded; charset=utf-8"
CBOR_HDRS = {"Content-Type": "application/cbor", "Accept": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "Authorization": fake_auth("monitoring")}

MALFORMED: list[tuple[str, str, str, bytes, dict[str, str]]] = [
    ("json: not JSON", "POST", "/", b"{not json", JSON_HDRS),
    ("json: JSON but not an object", "POST", "/", b"[1,2]", JSON_HDRS),
    ("json: wrong member type", "POST", "/", b'{"logGroupName": 42}', JSON_HDRS),
    ("json: missing required member", "POST", "/", b"{}", JSON_HDRS),
    ("json: unknown operation", "POST", "/", b"{}", {**JSON_HDRS, "X-Amz-Target": "Logs_20140328.NoSuchThing"}),
    ("json: invalid utf-8", "POST", "/", b'{"logGroupName": "\xff\xfe"}', JSON_HDRS),
    ("query: unknown action", "POST", "/", b"Action=NoSuchAction&Version=2011-06-15", {"Content-Type": FORM, "Authorization": fake_auth("sts")}),
    ("query: missing action", "POST", "/", b"Version=2011-06-15", {"Content-Type": FORM, "Authorization": fake_auth("sts")}),
    ("query: bad integer", "POST", "/", b"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=abc", {"Content-Type": FORM, "Authorization": fake_auth("sts")}),
    ("ec2: bad integer", "POST", "/", b"Action=DescribeInstances&Version=2016-11-15&MaxResults=abc", {"Content-Type": FORM, "Authorization": fake_auth("ec2")}),
    ("ec2: unknown action", "POST", "/", b"Action=LaunchRocket&Version=2016-11-15", {"Content-Type": FORM, "Authorization": fake_auth("ec2")}),
    ("rest-xml: broken XML", "PUT", "/gw-malformed", b"<CreateBucketConfiguration><LocationConstraint>eu", {"Authorization": fake_auth("s3")}),
    ("rest-xml: not XML at all", "PUT", "/gw-malformed", b"\x00\x01binary", {"Authorization": fake_auth("s3")}),
    ("rest-json: broken JSON", "POST", "/2015-03-31/functions", b'{"FunctionName": ', {"Authorization": fake_auth("lambda"), "Content-Type": "application/json"}),
    ("rest-json: no such route", "GET", "/2015-03-31/nothing-here", b"", {"Authorization": fake_auth("lambda")}),
    ("cbor: garbage", "POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", b"\xff\xff\xff\x1f", CBOR_HDRS),
    ("cbor: truncated", "POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData", b"\xbf\x69Namespace\x61", CBOR_HDRS),
    ("cbor: unknown operation", "POST", "/service/GraniteServiceVersion20100801/operation/Nope", b"\xa0", CBOR_HDRS),
]


@pytest.mark.parametrize(("what", "method", "path", "body", "headers"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_request_is_4xx_and_server_keeps_serving(server: Server, what: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
    status, resp_headers, resp_body = raw(server.endpoint, method, path, body, headers)
    assert 400 <= status < 500, (status, resp_body[:300])
    assert b"Traceback" not in resp_body
    assert_alive(server)


# -- limits and our own bugs: a server of their own ------------------------------------------------

BOOM = """
import sys
from gureum.services.sts import api as sts

def boom(ctx, req):
    raise KeyError("secret-internal-detail")

sts.api.handlers["GetCallerIdentity"] = boom
from gureum.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a 64 KiB body limit whose STS handler raises."""
    tmp = tmp_path_factory.mktemp("faulty")
    port = free_port()
    log_path = tmp / "server.log"
    logf = open(log_path, "wb")
    data = tmp / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", BOOM, "up", "--port", str(port), "--data-dir", str(data), "--quiet"],
        stdout=logf, stderr=subprocess.STDOUT,
        env={**__import__("os").environ, "GUREUM_MAX_BODY_SIZE": "65536"},
    )
    srv = Server(f"http://127.0.0.1:{port}", port, data, proc, log_path)
    try:
        wait_healthy(srv.endpoint, proc)
        yield srv
    finally:
        stop_server(srv)
        logf.close()


@pytest.mark.parametrize(
    ("what", "headers"),
    [
        ("json", {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutLogEvents", "Authorization": fake_auth("logs")}),
        ("query", {"Content-Type": FORM, "Authorization": fake_auth("sts")}),
        ("cbor", CBOR_HDRS),
    ],
)
def test_body_over_the_limit_is_413(faulty: Server, what: str, headers: dict[str, str]) -> None:
    path = "/service/GraniteServiceVersion20100801/operation/PutMetricData" if what == "cbor" else "/"
    status, _, body = raw(faulty.endpoint, "POST", path, b"a" * (65536 + 1), headers)
    assert status == 413, body[:300]
    # Just under the limit is read (and then judged on its content, not its size).
    status, _, _ = raw(faulty.endpoint, "POST", path, b"a" * 1000, headers)
    assert status != 413
    status, _, _ = raw(faulty.endpoint, "GET", "/_gureum/health")
    assert status == 200


def test_handler_exception_is_500_internal_failure_without_traceback(faulty: Server) -> None:
    sts = boto3.session.Session("test", "test", region_name="us-east-1").client(
        "sts", endpoint_url=faulty.endpoint, config=Config(retries={"max_attempts": 1})
    )
    with pytest.raises(ClientError) as info:
        sts.get_caller_identity()
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert err["Error"]["Code"] == "InternalFailure"
    status, _, body = raw(faulty.endpoint, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", {"Content-Type": FORM, "Authorization": fake_auth("sts")})
    assert status == 500
    text = body.decode()
    assert "InternalFailure" in text
    for leak in ("Traceback", "secret-internal-detail", "KeyError", 'File "', ".py"):
        assert leak not in text
    # The traceback goes to the server's log, under the request id the client got.
    rid = err["ResponseMetadata"]["RequestId"]
    log = faulty.log()
    assert "secret-internal-detail" in log and rid in log
    # And the server keeps serving.
    status, _, _ = raw(faulty.endpoint, "GET", "/_gureum/health")
    assert status == 200
