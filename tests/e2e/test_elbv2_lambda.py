"""Lambda functions as ALB targets, end to end: a zip function made here, a
target group of type lambda, a listener forwarding to it, real HTTP through
the balancer's address.  The function echoes the event it got, so the test
checks ALB's event format and the mapping of the function's answer to HTTP.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

CODE = """
import base64, json

def handler(event, context):
    path = event["path"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/garbage":
        return "not an ALB answer"
    if path == "/binary":
        return {"statusCode": 201, "statusDescription": "201 Made",
                "headers": {"Content-Type": "application/octet-stream", "X-Kind": "bin"},
                "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
    if path == "/multi":
        return {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["text/plain"]},
                "body": "multi", "isBase64Encoded": False}
    return {"statusCode": 200, "statusDescription": "200 OK",
            "headers": {"Content-Type": "application/json", "X-Function": context.function_name},
            "body": json.dumps(event), "isBase64Encoded": False}
"""


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Lb:
    def __init__(self, elb: Any, tg: str) -> None:
        self.elb = elb
        lb = elb.create_load_balancer(Name=f"lam-{uuid.uuid4().hex[:8]}")["LoadBalancers"][0]
        self.arn, self.dns = lb["LoadBalancerArn"], lb["DNSName"]
        self.listener = elb.create_listener(
            LoadBalancerArn=self.arn, Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
        )["Listeners"][0]["ListenerArn"]  # fmt: skip
        self.ip, self.port = wait_until(self._bound, what="the listener to bind")

    def _bound(self) -> tuple[str, int] | None:
        attrs = self.elb.describe_listener_attributes(ListenerArn=self.listener)["Attributes"]
        value = {a["Key"]: a["Value"] for a in attrs}.get("gureum.bound_address")
        if not value:
            return None
        ip, port = value.rsplit(":", 1)
        return ip, int(port)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection(self.ip, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"Host": self.dns, **(headers or {})})
            resp = conn.getresponse()
            return resp.status, resp.reason, resp, resp.read()
        finally:
            conn.close()

    def delete(self) -> None:
        self.elb.delete_load_balancer(LoadBalancerArn=self.arn)


@pytest.fixture(scope="module")
def function(client: Callable[..., Any]) -> dict[str, Any]:
    lam = client("lambda")
    cfg = lam.create_function(
        FunctionName=f"alb-target-{uuid.uuid4().hex[:6]}", Runtime="python3.12", Role=ROLE,
        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": CODE})}, Timeout=10,
    )  # fmt: skip
    wait_until(
        lambda: (
            lam.get_function_configuration(FunctionName=cfg["FunctionName"])["State"] == "Active"
        )
    )
    return dict(cfg)


def test_lambda_target_gets_alb_events_and_answers_http(
    client: Callable[..., Any], function: dict[str, Any]
) -> None:
    elb = client("elbv2")
    tg = elb.create_target_group(Name=f"lam-{uuid.uuid4().hex[:8]}", TargetType="lambda")[
        "TargetGroups"
    ][0]
    assert tg["HealthCheckEnabled"] is False and "Protocol" not in tg and "Port" not in tg
    arn = tg["TargetGroupArn"]
    with pytest.raises(ClientError) as exc:
        elb.register_targets(
            TargetGroupArn=arn,
            Targets=[{"Id": function["FunctionArn"]}, {"Id": function["FunctionArn"] + "x"}],
        )
    assert exc.value.response["Error"]["Code"] == "TooManyTargets"
    lb = Lb(elb, arn)
    try:
        status, _, _, _ = lb.request("GET", "/")
        assert status == 503  # no function registered yet
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": function["FunctionArn"]}])
        health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        assert [h["Target"] for h in health] == [{"Id": function["FunctionArn"]}]
        wait_until(
            lambda: elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"][0]["TargetHealth"]["State"]
            == "unavailable", what="unavailable (health checks disabled)",
        )  # fmt: skip

        status, reason, resp, body = lb.request(
            "POST", "/echo/it?a=1&b=x%20y&a=2", body=b'{"hello": "alb"}',
            headers={"Content-Type": "application/json", "X-Custom": "Yes"},
        )  # fmt: skip
        assert (status, reason) == (200, "OK"), body
        assert resp.getheader("X-Function") == function["FunctionName"]
        event = json.loads(body)
        assert event["requestContext"] == {"elb": {"targetGroupArn": arn}}
        assert event["httpMethod"] == "POST" and event["path"] == "/echo/it"
        assert event["queryStringParameters"] == {"a": "2", "b": "x%20y"}
        assert event["body"] == '{"hello": "alb"}' and event["isBase64Encoded"] is False
        headers = event["headers"]
        assert headers["x-custom"] == "Yes" and headers["content-type"] == "application/json"
        assert headers["x-forwarded-proto"] == "http" and headers["x-forwarded-port"] == "80"
        assert headers["x-forwarded-for"] == "127.0.0.1" and headers["x-amzn-trace-id"].startswith(
            "Root=1-"
        )
        assert all(k == k.lower() for k in headers)

        status, _, _, body = lb.request(
            "PUT",
            "/bin",
            body=b"\x00\xff\x10",
            headers={"Content-Type": "application/octet-stream"},
        )
        event = json.loads(body)
        assert (
            event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xff\x10"
        )

        status, reason, resp, body = lb.request("GET", "/binary")
        assert (status, reason, body) == (201, "Made", bytes(range(256)))
        assert resp.getheader("X-Kind") == "bin" and resp.getheader("Content-Length") == "256"

        assert lb.request("GET", "/boom")[0] == 502
        assert lb.request("GET", "/garbage")[0] == 502
        assert lb.request("POST", "/big", body=b"x" * (1024 * 1024 + 1))[0] == 413

        # multi-value headers: the event and the answer use the multiValue forms
        elb.modify_target_group_attributes(
            TargetGroupArn=arn,
            Attributes=[{"Key": "lambda.multi_value_headers.enabled", "Value": "true"}],
        )

        def multi_event() -> dict[str, Any] | None:
            got = json.loads(lb.request("GET", "/m?k=1&k=2", headers={"X-A": "1"})[3])
            return got if "multiValueHeaders" in got else None

        event = wait_until(multi_event, what="multi-value headers in the event")
        assert (
            event["multiValueQueryStringParameters"] == {"k": ["1", "2"]} and "headers" not in event
        )
        status, _, resp, body = lb.request("GET", "/multi")
        assert status == 200 and body == b"multi"
        assert [v for k, v in resp.getheaders() if k.lower() == "set-cookie"] == ["a=1", "b=2"]

        # health checks, when enabled, invoke the function and match its statusCode
        elb.modify_target_group(
            TargetGroupArn=arn, HealthCheckEnabled=True, HealthCheckPath="/binary", Matcher={"HttpCode": "201"},
            HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=4,
        )  # fmt: skip
        elb.get_waiter("target_in_service").wait(
            TargetGroupArn=arn, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
        )
    finally:
        lb.delete()
