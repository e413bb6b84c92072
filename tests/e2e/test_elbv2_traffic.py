"""An Application Load Balancer carrying real HTTP, end to end.

A Gureum server of its own (``--time-scale 5``: a 5 s health-check interval
takes 1 s) and small HTTP backends on loopback IPs (``elbv2_backends``).
Everything is driven with boto3; traffic goes through the balancer's
address as DescribeListenerAttributes reports it (``gureum.bound_address``:
the balancer's own loopback IP, on the listener port unless that port was
taken on this machine).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server
from elbv2_backends import Backend, UpgradeBackend

pytestmark = pytest.mark.e2e

SCALE = 5.0  # virtual seconds per real second
FAST_CHECKS = {
    "HealthCheckPath": "/health",
    "HealthCheckIntervalSeconds": 5,
    "HealthCheckTimeoutSeconds": 4,
    "HealthyThresholdCount": 2,
    "UnhealthyThresholdCount": 2,
}


@pytest.fixture(scope="module")
def elb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("elbv2") / "data", "--time-scale", str(SCALE))
    yield srv
    stop_server(srv)


def _client(srv: Server, name: str) -> Any:
    return boto3.client(
        name, endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip


@pytest.fixture(scope="module")
def elb(elb_server: Server) -> Any:
    return _client(elb_server, "elbv2")


@pytest.fixture(scope="module")
def acm(elb_server: Server) -> Any:
    return _client(elb_server, "acm")


@pytest.fixture(scope="module")
def backends() -> Iterator[list[Backend]]:
    made = [Backend(f"127.0.2.{20 + i}", name=f"b{i}") for i in range(4)]
    yield made
    for b in made:
        b.close()


@pytest.fixture(autouse=True)
def _healthy_backends(backends: list[Backend]) -> None:
    for b in backends:
        b.health_status = 200
        b.app_cookie = ""


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


_names = iter(range(1000))


def target_group(elb: Any, targets: list[Backend], **extra: Any) -> str:
    args = {"Protocol": "HTTP", "Port": 80, "TargetType": "ip", **FAST_CHECKS, **extra}
    arn = elb.create_target_group(Name=f"tg-{next(_names)}", **args)["TargetGroups"][0]["TargetGroupArn"]
    if targets:
        elb.register_targets(TargetGroupArn=arn, Targets=[b.target for b in targets])
    return str(arn)


class Alb:
    def __init__(self, elb: Any, default_actions: list[dict[str, Any]], protocol: str = "HTTP", **listener: Any):
        self.elb = elb
        lb = elb.create_load_balancer(Name=f"alb-{next(_names)}")["LoadBalancers"][0]
        self.arn, self.dns = lb["LoadBalancerArn"], lb["DNSName"]
        port = 443 if protocol == "HTTPS" else 80
        self.listener = elb.create_listener(
            LoadBalancerArn=self.arn, Protocol=protocol, Port=port, DefaultActions=default_actions, **listener
        )["Listeners"][0]["ListenerArn"]
        elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[self.arn], WaiterConfig={"Delay": 0.2})
        self.ip, self.port = wait_until(self._bound, what="the listener to bind")

    def _bound(self) -> tuple[str, int] | None:
        attrs = self.elb.describe_listener_attributes(ListenerArn=self.listener)["Attributes"]
        value = {a["Key"]: a["Value"] for a in attrs}.get("gureum.bound_address")
        if not value:
            return None
        ip, port = value.rsplit(":", 1)
        return ip, int(port)

    def connection(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.ip, self.port, timeout=timeout)

    def get(self, path: str, host: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = self.connection()
        try:
            conn.request("GET", path, headers={"Host": host or self.dns, **(headers or {})})
            resp = conn.getresponse()
            headers: dict[str, str] = {}
            for k, v in resp.getheaders():  # repeated headers (Set-Cookie) one per line
                headers[k.lower()] = f"{headers[k.lower()]}\n{v}" if k.lower() in headers else v
            return resp.status, headers, resp.read()
        finally:
            conn.close()

    def backend_of(self, path: str = "/", **kw: Any) -> str:
        status, _, body = self.get(path, **kw)
        assert status == 200, (status, body)
        return str(json.loads(body)["backend"])


def forward(tg: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": tg}]


def states(elb: Any, tg: str) -> dict[str, tuple[str, str]]:
    out = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason", "")) for d in out}


def test_round_robin_spreads_over_keep_alive_and_forwards_headers(elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, backends[:2])
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    conn = alb.connection()
    seen = Counter()
    for i in range(20):  # one keep-alive connection, many requests
        conn.request("GET", f"/hello?i={i}", headers={"Host": alb.dns, "X-Forwarded-For": "203.0.113.9"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200
        seen[body["backend"]] += 1
    conn.close()
    assert seen == {"b0": 10, "b1": 10}
    assert body["path"] == "/hello?i=19" and body["host"] == alb.dns
    assert body["xff"] == "203.0.113.9, 127.0.0.1"
    assert (body["proto"], body["port"]) == ("http", "80")
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", body["trace"])


def test_dns_name_works_from_curl(elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, backends[:1])
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    url = f"http://{alb.dns}:{alb.port}/via-curl"
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--resolve", f"{alb.dns}:{alb.port}:{alb.ip}", url],
        capture_output=True, text=True, timeout=20, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["path"] == "/via-curl"


def test_unhealthy_target_drops_out_then_recovers(elb: Any, backends: list[Backend]) -> None:
    a, b = backends[0], backends[1]
    tg = target_group(elb, [a, b])
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    b.health_status = 500
    wait_until(lambda: states(elb, tg)[b.ip] == ("unhealthy", "Target.ResponseCodeMismatch"), what="b unhealthy")
    desc = elb.describe_target_health(TargetGroupArn=tg, Targets=[b.target])["TargetHealthDescriptions"][0]
    assert desc["TargetHealth"]["Description"] == "Health checks failed with these codes: [500]"
    assert states(elb, tg)[a.ip] == ("healthy", "")
    assert {alb.backend_of() for _ in range(6)} == {"b0"}
    b.health_status = 200
    wait_until(lambda: states(elb, tg)[b.ip][0] == "healthy", what="b healthy again")
    assert {alb.backend_of() for _ in range(6)} == {"b0", "b1"}


def test_fail_open_when_every_target_is_unhealthy(elb: Any, backends: list[Backend]) -> None:
    a, b = backends[2], backends[3]
    tg = target_group(elb, [a, b])
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    a.health_status = b.health_status = 503
    wait_until(lambda: {s for s, _ in states(elb, tg).values()} == {"unhealthy"}, what="all unhealthy")
    assert {alb.backend_of() for _ in range(6)} == {"b2", "b3"}


def test_no_targets_503_and_errors_from_targets(elb: Any, backends: list[Backend]) -> None:
    empty = target_group(elb, [])
    alb = Alb(elb, forward(empty))
    status, headers, body = alb.get("/")
    assert status == 503 and headers["server"] == "awselb/2.0" and b"503" in body
    tg = target_group(elb, backends[:1])
    elb.modify_listener(ListenerArn=alb.listener, DefaultActions=forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    wait_until(lambda: alb.get("/")[0] == 200, what="the new default action")
    assert alb.get("/reset")[0] == 502
    assert alb.get("/garbage")[0] == 502
    assert alb.get("/fine")[0] == 200  # the balancer survived both


def test_slow_target_past_idle_timeout_is_504(elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, backends[:1])
    alb = Alb(elb, forward(tg))
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=alb.arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "2"}]
    )  # 2 virtual seconds = 0.4 s here
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    wait_until(lambda: alb.get("/slow?s=1.5")[0] == 504, timeout=10, what="a 504")
    assert alb.get("/slow?s=0.05")[0] == 200


def test_deregistration_drains_in_flight_request(elb: Any, backends: list[Backend]) -> None:
    a, b = backends[0], backends[1]
    tg = target_group(elb, [a])
    elb.modify_target_group_attributes(
        TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "10"}]
    )
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    result: dict[str, Any] = {}

    def slow() -> None:
        status, _, body = alb.get("/slow?s=1.0")
        result.update(status=status, backend=json.loads(body)["backend"])

    before = a.hits["/slow"]
    t = threading.Thread(target=slow)
    t.start()
    wait_until(lambda: a.hits["/slow"] > before, what="the slow request to reach a")
    elb.register_targets(TargetGroupArn=tg, Targets=[b.target])
    elb.deregister_targets(TargetGroupArn=tg, Targets=[a.target])
    assert states(elb, tg)[a.ip] == ("draining", "Target.DeregistrationInProgress")
    wait_until(lambda: states(elb, tg).get(b.ip, ("",))[0] == "healthy", what="b healthy")
    assert {alb.backend_of() for _ in range(4)} == {"b1"}  # no new requests to a
    t.join(10)
    assert result == {"status": 200, "backend": "b0"}  # the in-flight request finished
    elb.get_waiter("target_deregistered").wait(TargetGroupArn=tg, Targets=[a.target], WaiterConfig={"Delay": 0.2})
    assert set(states(elb, tg)) == {b.ip}


def test_rules_weighted_90_10_fixed_response_and_redirect(elb: Any, backends: list[Backend]) -> None:
    blue, green = target_group(elb, [backends[0]]), target_group(elb, [backends[1]])
    alb = Alb(elb, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "MessageBody": "nothing here", "ContentType": "text/plain"}}])
    rule = lambda prio, conds, actions: elb.create_rule(  # noqa: E731
        ListenerArn=alb.listener, Priority=prio, Conditions=conds, Actions=actions
    )
    rule(10, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/blue/*"]}}], forward(blue))
    rule(20, [{"Field": "host-header", "HostHeaderConfig": {"Values": ["green.*"]}}], forward(green))
    rule(30, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/old/*"]}}],
         [{"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_301"}}])  # fmt: skip
    rule(40, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/canary"]}}],
         [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
             {"TargetGroupArn": blue, "Weight": 90}, {"TargetGroupArn": green, "Weight": 10}]}}])  # fmt: skip
    with pytest.raises(elb.exceptions.PriorityInUseException):
        rule(10, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x"]}}], forward(blue))
    for tg in (blue, green):
        elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    assert alb.backend_of("/blue/x") == "b0"
    assert alb.backend_of("/blue/x", host="green.example") == "b0"  # priority 10 wins
    assert alb.backend_of("/anything", host="Green.Example") == "b1"
    status, headers, body = alb.get("/nowhere")
    assert (status, body, headers["content-type"]) == (404, b"nothing here", "text/plain")
    status, headers, _ = alb.get("/old/a/b?q=1", host="site.example")
    assert status == 301 and headers["location"] == "http://site.example/new/old/a/b?q=1"
    conn, picks = alb.connection(), Counter()
    for _ in range(1000):  # the canary check: 90/10 over 1,000 requests, within ±3 %
        conn.request("GET", "/canary", headers={"Host": alb.dns})
        picks[json.loads(conn.getresponse().read())["backend"]] += 1
    conn.close()
    assert abs(picks["b0"] - 900) <= 30 and picks["b0"] + picks["b1"] == 1000
    rules = elb.describe_rules(ListenerArn=alb.listener)["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "30", "40", "default"]


def test_lb_cookie_stickiness_keeps_a_client_on_one_target(elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, backends[:3])
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "stickiness.enabled", "Value": "true"}])
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    status, headers, body = alb.get("/")
    cookies = [line.split(";")[0] for line in headers["set-cookie"].split("\n")]
    assert [c.split("=")[0] for c in cookies] == ["AWSALB", "AWSALBCORS"]
    cookie = cookies[0]
    first = json.loads(body)["backend"]
    assert {alb.backend_of("/", headers={"Cookie": cookie}) for _ in range(9)} == {first}
    assert len({alb.backend_of("/") for _ in range(9)}) == 3  # no cookie: round robin


def test_streamed_chunked_upload_and_download_on_keep_alive(elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, backends[:1])
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    payload = bytes(range(256)) * 16384  # 4 MiB
    conn = alb.connection()

    def pieces() -> Iterator[bytes]:
        for i in range(0, len(payload), 100_000):
            yield payload[i : i + 100_000]

    conn.request("POST", "/echo", body=pieces(), headers={"Host": alb.dns}, encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked"
    assert resp.read() == payload
    conn.request("POST", "/echo", body=b"again", headers={"Host": alb.dns})  # same connection
    assert conn.getresponse().read() == b"again"
    conn.close()
    with socket.create_connection((alb.ip, alb.port), timeout=10) as s:  # Expect: 100-continue
        s.sendall(f"POST /echo HTTP/1.1\r\nHost: {alb.dns}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n".encode())
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"hello")
        answer = b""
        while not answer.endswith(b"0\r\n\r\n"):
            answer += s.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ") and b"\r\n5\r\nhello\r\n" in answer


def _raw(alb: Alb, data: bytes) -> bytes:
    with socket.create_connection((alb.ip, alb.port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while True:
            piece = s.recv(65536)
            if not piece:
                return b"".join(chunks)
            chunks.append(piece)


def test_malformed_requests_get_400_and_early_close_is_460(
    elb: Any, elb_server: Server, backends: list[Backend]
) -> None:
    tg = target_group(elb, backends[:1])
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    assert _raw(alb, b"NOT-HTTP\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert _raw(alb, b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")  # no Host
    smuggle = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert _raw(alb, smuggle).startswith(b"HTTP/1.1 400 ")
    before = backends[0].hits["/slow"]
    with socket.create_connection((alb.ip, alb.port), timeout=10) as s:
        s.sendall(f"GET /slow?s=0.5 HTTP/1.1\r\nHost: {alb.dns}\r\n\r\n".encode())
        wait_until(lambda: backends[0].hits["/slow"] > before, what="the request to reach the target")
    wait_until(lambda: re.search(r' 460 - \d+ 0 "GET http://', elb_server.log()), what="a 460 access-log entry")
    assert alb.get("/")[0] == 200


def test_https_listener_with_an_acm_certificate(elb: Any, acm: Any, backends: list[Backend]) -> None:
    cert_arn = acm.request_certificate(DomainName="secure.example", SubjectAlternativeNames=["*.secure.example"])[
        "CertificateArn"
    ]
    acm.get_waiter("certificate_validated").wait(CertificateArn=cert_arn, WaiterConfig={"Delay": 1})
    pem = acm.get_certificate(CertificateArn=cert_arn)
    tg = target_group(elb, backends[:1])
    alb = Alb(elb, forward(tg), protocol="HTTPS", Certificates=[{"CertificateArn": cert_arn}])
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    ctx = ssl.create_default_context(cadata=pem["CertificateChain"])
    conn = http.client.HTTPSConnection(alb.ip, alb.port, context=ctx, timeout=10)
    conn.sock = ctx.wrap_socket(socket.create_connection((alb.ip, alb.port)), server_hostname="www.secure.example")
    conn.request("GET", "/tls", headers={"Host": "www.secure.example"})
    body = json.loads(conn.getresponse().read())
    assert (body["proto"], body["port"], body["path"]) == ("https", "443", "/tls")
    conn.close()
    with pytest.raises(acm.exceptions.ResourceInUseException):
        acm.delete_certificate(CertificateArn=cert_arn)


def test_listeners_reopen_after_a_restart(tmp_path: Path, backends: list[Backend]) -> None:
    srv = start_server(tmp_path / "data", "--time-scale", str(SCALE))
    try:
        elb = _client(srv, "elbv2")
        tg = target_group(elb, backends[:1])
        alb = Alb(elb, forward(tg))
        elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
        assert alb.backend_of() == "b0"
    finally:
        stop_server(srv)
    srv = start_server(tmp_path / "data", "--time-scale", str(SCALE), port=srv.port)
    try:
        alb.elb = _client(srv, "elbv2")
        alb.ip, alb.port = wait_until(alb._bound, what="the listener to re-bind")
        assert wait_until(lambda: alb.backend_of() == "b0", what="traffic after the restart")
    finally:
        stop_server(srv)


def test_least_outstanding_requests_avoids_a_busy_target(elb: Any, backends: list[Backend]) -> None:
    a, b = backends[0], backends[1]
    tg = target_group(elb, [a, b])
    elb.modify_target_group_attributes(
        TargetGroupArn=tg, Attributes=[{"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}]
    )
    alb = Alb(elb, forward(tg))
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    busy: list[str] = []
    before = (a.hits["/slow"], b.hits["/slow"])
    t = threading.Thread(target=lambda: busy.append(alb.backend_of("/slow?s=1.0")))
    t.start()
    wait_until(lambda: (a.hits["/slow"], b.hits["/slow"]) != before, what="the slow request")
    slow_one = "b0" if a.hits["/slow"] != before[0] else "b1"
    assert {alb.backend_of() for _ in range(6)} == {"b0", "b1"} - {slow_one}
    t.join(10)
    assert busy == [slow_one]


def test_weighted_group_stickiness_app_cookie_and_invalid_headers(elb: Any, backends: list[Backend]) -> None:
    blue, green = target_group(elb, [backends[0]]), target_group(elb, backends[1:3])
    elb.modify_target_group_attributes(TargetGroupArn=green, Attributes=[
        {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "app_cookie"},
        {"Key": "stickiness.app_cookie.cookie_name", "Value": "SESSION"}])  # fmt: skip
    alb = Alb(elb, [{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": blue, "Weight": 1}, {"TargetGroupArn": green, "Weight": 1}],
        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600}}}])  # fmt: skip
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=alb.arn, Attributes=[{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]
    )
    for tg in (blue, green):
        elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    for b in backends[1:3]:
        b.app_cookie = "SESSION"
    # a client that got the green group stays on it (AWSALBTG), and on one target (AWSALBAPP-0)
    while True:
        status, headers, body = alb.get("/")
        if json.loads(body)["backend"] != "b0":
            break
    jar = "; ".join(line.split(";")[0] for line in headers["set-cookie"].split("\n"))
    assert "AWSALBTG=" in jar and "AWSALBAPP-0=" in jar and "SESSION=hello" in jar
    first = json.loads(body)["backend"]
    assert {alb.backend_of("/", headers={"Cookie": jar}) for _ in range(8)} == {first}
    assert len({alb.backend_of("/") for _ in range(8)}) == 3  # without cookies: everyone
    status, _, body = alb.get("/", headers={"X_Bad_Name": "1"})  # dropped, not refused
    assert status == 200



def test_upgraded_connections_are_tunnelled(elb: Any) -> None:
    echo = UpgradeBackend("127.0.2.30")
    try:
        tg = target_group(elb, [])
        elb.register_targets(TargetGroupArn=tg, Targets=[echo.target])
        alb = Alb(elb, forward(tg))
        elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
        with socket.create_connection((alb.ip, alb.port), timeout=10) as s:
            s.sendall(f"GET /ws HTTP/1.1\r\nHost: {alb.dns}\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            assert head.startswith(b"HTTP/1.1 101 ") and b"Upgrade: echo" in head
            for word in (b"ping", b"pong" * 1000):
                s.sendall(word)
                got = b""
                while len(got) < len(word):
                    got += s.recv(65536)
                assert got == word
    finally:
        echo.close()
