"""An Application Load Balancer in front of real containers, end to end.

A server of its own on the docker runtime (``--time-scale 5``: a 5 s
health-check interval takes 1 s).  Two ECS services of busybox httpd
containers (image ``gureum/busybox:latest``) sit behind one balancer: a path
rule sends ``/api/*`` to the api group, the default action to the web group.
Each container answers with its service's name and its own hostname (the
container id), so the test sees which container served every request.
Skips, with the reason, only when no Docker engine answers.
"""

from __future__ import annotations

import http.client
import uuid
from collections import Counter
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server
from test_ecs_runtime import _cleanup, _docker_reason, wait_for

pytestmark = pytest.mark.e2e

BUSYBOX = "gureum/busybox:latest"
NET = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
CHECKS = {
    "HealthCheckPath": "/",
    "HealthCheckIntervalSeconds": 5,
    "HealthCheckTimeoutSeconds": 4,
    "HealthyThresholdCount": 2,
    "UnhealthyThresholdCount": 2,
}


@pytest.fixture(scope="module")
def docker_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if reason := _docker_reason():
        pytest.skip(reason)
    data = tmp_path_factory.mktemp("elbv2-docker") / "data"
    server = start_server(data, "--runtime", "docker", "--time-scale", "5")
    try:
        yield server
    finally:
        stop_server(server)
        _cleanup("docker", data)


def _client(srv: Server, name: str) -> Any:
    return boto3.client(
        name, endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id="t",
        aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip


class Stack:
    """Balancer, two groups, a path rule and two services of two containers each."""

    def __init__(self, srv: Server) -> None:
        self.ecs, self.elb = _client(srv, "ecs"), _client(srv, "elbv2")
        tag = uuid.uuid4().hex[:6]
        self.cluster = f"c-{tag}"
        self.ecs.create_cluster(clusterName=self.cluster)
        self.tgs = {name: self._group(f"{name}-{tag}") for name in ("api", "web")}
        lb = self.elb.create_load_balancer(Name=f"alb-{tag}")["LoadBalancers"][0]
        self.lb_arn, self.dns = lb["LoadBalancerArn"], lb["DNSName"]
        listener = self.elb.create_listener(
            LoadBalancerArn=self.lb_arn, Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tgs["web"]}],
        )["Listeners"][0]["ListenerArn"]  # fmt: skip
        self.elb.create_rule(
            ListenerArn=listener, Priority=10,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
            Actions=[{"Type": "forward", "TargetGroupArn": self.tgs["api"]}],
        )  # fmt: skip
        self.elb.get_waiter("load_balancer_available").wait(
            LoadBalancerArns=[self.lb_arn], WaiterConfig={"Delay": 0.2}
        )
        self.ip, self.port = wait_for(lambda: self._bound(listener), timeout=20)
        for name in ("api", "web"):
            self._service(name)

    def _group(self, name: str) -> str:
        arn = self.elb.create_target_group(
            Name=name, Protocol="HTTP", Port=80, TargetType="ip", **CHECKS
        )
        arn = arn["TargetGroups"][0]["TargetGroupArn"]
        self.elb.modify_target_group_attributes(
            TargetGroupArn=arn,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}],
        )
        return str(arn)

    def _bound(self, listener: str) -> tuple[str, int] | None:
        attrs = self.elb.describe_listener_attributes(ListenerArn=listener)["Attributes"]
        value = {a["Key"]: a["Value"] for a in attrs}.get("gureum.bound_address")
        if not value:
            return None
        ip, port = value.rsplit(":", 1)
        return ip, int(port)

    def _service(self, name: str) -> None:
        script = (
            f"mkdir -p /www/api && echo {name}-$(hostname) > /www/index.html && "
            f"cp /www/index.html /www/api/ping && exec httpd -f -p 80 -h /www"
        )
        container = {"name": "web", "image": BUSYBOX, "command": ["sh", "-c", script], "stopTimeout": 2,
                     "portMappings": [{"containerPort": 80}]}  # fmt: skip
        td = self.ecs.register_task_definition(
            family=f"{name}-{self.cluster}", containerDefinitions=[container], requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc", cpu="256", memory="512",
        )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
        self.ecs.create_service(
            cluster=self.cluster, serviceName=name, taskDefinition=td, desiredCount=2, launchType="FARGATE",
            networkConfiguration=NET,
            loadBalancers=[{"targetGroupArn": self.tgs[name], "containerName": "web", "containerPort": 80}],
        )  # fmt: skip

    def task_ips(self, name: str) -> set[str]:
        arns = self.ecs.list_tasks(cluster=self.cluster, serviceName=name)["taskArns"]
        tasks = self.ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []
        return {
            t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
            for t in tasks
            if t["lastStatus"] == "RUNNING"
        }

    def get(
        self, conn: http.client.HTTPConnection, path: str, cookie: str = ""
    ) -> tuple[int, str, str]:
        """Status, body and the stickiness cookie set (AWSALB), on a keep-alive connection."""
        headers = {"Host": self.dns, **({"Cookie": cookie} if cookie else {})}
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read().decode().strip()
        jar: SimpleCookie = SimpleCookie()
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                jar.load(v)
        got = f"AWSALB={jar['AWSALB'].value}" if "AWSALB" in jar else ""
        return resp.status, body, got


@pytest.fixture(scope="module")
def stack(docker_server: Server) -> Stack:
    return Stack(docker_server)


def test_path_rule_routes_to_the_right_containers_and_targets_come_into_service(
    stack: Stack,
) -> None:
    ips = {
        name: wait_for(lambda n=name: len(stack.task_ips(n)) == 2 and stack.task_ips(n), timeout=40)
        for name in stack.tgs
    }
    for name, tg in stack.tgs.items():
        # the ECS-registered ip targets, then boto3's waiter on their health
        wait_for(
            lambda t=tg: (
                len(stack.elb.describe_target_health(TargetGroupArn=t)["TargetHealthDescriptions"])
                == 2
            )
        )
        stack.elb.get_waiter("target_in_service").wait(
            TargetGroupArn=tg, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
        )
        health = stack.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        assert {(h["Target"]["Id"], h["Target"]["Port"], h["HealthCheckPort"]) for h in health} == {
            (ip, 80, "80") for ip in ips[name]
        }
        assert {h["TargetHealth"]["State"] for h in health} == {"healthy"}
    conn = http.client.HTTPConnection(stack.ip, stack.port, timeout=10)
    try:
        api = Counter(stack.get(conn, "/api/ping")[1] for _ in range(10))
        web = Counter(stack.get(conn, "/")[1] for _ in range(10))
    finally:
        conn.close()
    assert len(api) == 2 and all(body.startswith("api-") for body in api), api
    assert len(web) == 2 and all(body.startswith("web-") for body in web), web
    assert set(api.values()) == {5} and set(web.values()) == {5}  # round robin over both containers


def test_lb_cookie_stickiness_keeps_a_client_on_one_container(stack: Stack) -> None:
    tg = stack.tgs["web"]
    stack.elb.get_waiter("target_in_service").wait(
        TargetGroupArn=tg, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
    )
    conn = http.client.HTTPConnection(stack.ip, stack.port, timeout=10)
    try:
        plain = [stack.get(conn, "/") for _ in range(20)]
        assert {b for _, b, _ in plain} and len(
            {b for _, b, _ in plain}
        ) == 2  # without stickiness: both answer
        assert all(c == "" for _, _, c in plain)
        stack.elb.modify_target_group_attributes(
            TargetGroupArn=tg,
            Attributes=[
                {"Key": "stickiness.enabled", "Value": "true"},
                {"Key": "stickiness.type", "Value": "lb_cookie"},
            ],
        )
        first = wait_for(lambda: (got := stack.get(conn, "/"))[2] and got, timeout=10)
        status, body, cookie = first
        assert status == 200 and cookie.startswith("AWSALB=")
        sticky = [stack.get(conn, "/", cookie) for _ in range(20)]
        assert {(s, b) for s, b, _ in sticky} == {(200, body)}
        # a new client (no cookie) is spread again: both containers across fresh clients
        fresh = {stack.get(conn, "/")[1] for _ in range(10)}
        assert len(fresh) == 2
    finally:
        stack.elb.modify_target_group_attributes(
            TargetGroupArn=tg, Attributes=[{"Key": "stickiness.enabled", "Value": "false"}]
        )
        conn.close()
