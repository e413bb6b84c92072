"""ECS services behind an Application Load Balancer, end to end.

One server of its own on the process runtime at ``--time-scale 5`` (a 5 s
health-check interval takes 1 s).  Tasks are busybox httpd on their private
IP; traffic goes through the balancer's listener address.  The rolling
deployment runs under a steady request loop and must lose no request.
"""

from __future__ import annotations

import http.client
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import Server, start_server, stop_server
from waiting import wait_for

pytestmark = pytest.mark.e2e

BUSYBOX = "gureum/busybox:latest"
NET = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("ecs-lb") / "data"
    server = start_server(data, "--runtime", "process", "--time-scale", "5")
    try:
        yield server
    finally:
        stop_server(server)
        _wipe(data)


def _wipe(data: Path) -> None:
    import asyncio

    from gureum.runtime.process import ProcessDriver
    from gureum.runtime.selection import data_dir_id

    async def wipe() -> None:
        drv = ProcessDriver(data / "runtime" / "process", data_dir_id(data))
        for st in await drv.list():
            await drv.remove(st.id, force=True)

    asyncio.run(wipe())


def _client(srv: Server, name: str) -> Any:
    return boto3.client(
        name, endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id="t",
        aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip




class Setup:
    def __init__(self, srv: Server, trigger_dir: Path) -> None:
        self.ecs, self.elb = _client(srv, "ecs"), _client(srv, "elbv2")
        self.trigger_dir = trigger_dir
        tag = uuid.uuid4().hex[:6]
        self.cluster = f"c-{tag}"
        self.ecs.create_cluster(clusterName=self.cluster)
        self.tg = self.elb.create_target_group(
            Name=f"tg-{tag}", Protocol="HTTP", Port=80, TargetType="ip", HealthCheckPath="/",
            HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=4, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        self.elb.modify_target_group_attributes(
            TargetGroupArn=self.tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}]
        )
        lb = self.elb.create_load_balancer(Name=f"alb-{tag}")["LoadBalancers"][0]
        self.elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                 DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tg}])
        self.elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[lb["LoadBalancerArn"]], WaiterConfig={"Delay": 0.2})
        self.ip = wait_for(lambda: self._address(lb["LoadBalancerArn"]), what="the balancer's address")
        self.family = f"web-{tag}"

    def _address(self, arn: str) -> str | None:
        lb = self.elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
        for az in lb.get("AvailabilityZones") or []:
            for a in az.get("LoadBalancerAddresses") or []:
                if a.get("IpAddress"):
                    return str(a["IpAddress"])
        return None

    def register(self, body: str) -> str:
        # The task serves ``body`` at / until a file named after its IP appears in trigger_dir,
        # and at /cgi-bin/slow after 0.3 s (requests in flight when a deployment stops it).
        trigger = f"{self.trigger_dir}/$GUREUM_PRIVATE_IP"
        cgi = f"printf '#!/bin/sh\\nsleep 0.3\\nprintf \"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n{body}\\\\n\"\\n'"
        script = (f"mkdir -p www/cgi-bin && echo {body} > www/index.html && {cgi} > www/cgi-bin/slow && "
                  f"chmod +x www/cgi-bin/slow && "
                  f"(while [ ! -e {trigger} ]; do sleep 0.2; done; rm -f www/index.html) & "
                  f"exec httpd -f -p $GUREUM_PRIVATE_IP:80 -h www")  # fmt: skip
        container = {"name": "web", "image": BUSYBOX, "command": ["sh", "-c", script], "stopTimeout": 2,
                     "portMappings": [{"containerPort": 80}]}
        out = self.ecs.register_task_definition(
            family=self.family, containerDefinitions=[container], requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc", cpu="256", memory="512",
        )  # fmt: skip
        return str(out["taskDefinition"]["taskDefinitionArn"])

    def get(self, path: str = "/", timeout: float = 5.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.ip, 80, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def service(self, name: str) -> dict[str, Any]:
        return self.ecs.describe_services(cluster=self.cluster, services=[name])["services"][0]  # type: ignore[no-any-return]

    def healthy_targets(self) -> set[str]:
        desc = self.elb.describe_target_health(TargetGroupArn=self.tg)["TargetHealthDescriptions"]
        return {d["Target"]["Id"] for d in desc if d["TargetHealth"]["State"] == "healthy"}

    def task_ips(self, name: str) -> dict[str, str]:
        arns = self.ecs.list_tasks(cluster=self.cluster, serviceName=name)["taskArns"]
        tasks = self.ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []
        return {t["taskArn"]: t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] for t in tasks
                if t["lastStatus"] == "RUNNING"}


@pytest.fixture(scope="module")
def env(srv: Server, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return Setup(srv, tmp_path_factory.mktemp("triggers"))


def _create(env: Setup, name: str, taskdef: str, **extra: Any) -> None:
    env.ecs.create_service(
        cluster=env.cluster, serviceName=name, taskDefinition=taskdef, desiredCount=2, launchType="FARGATE",
        networkConfiguration=NET, deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
        loadBalancers=[{"targetGroupArn": env.tg, "containerName": "web", "containerPort": 80}], **extra,
    )  # fmt: skip


def test_create_service_checks_load_balancers(env: Setup) -> None:
    td = env.register("x")
    bad = [
        ({"targetGroupArn": env.tg, "containerName": "nope", "containerPort": 80}, "The container nope does not exist in the task definition."),
        ({"targetGroupArn": env.tg, "containerName": "web", "containerPort": 81}, "The container web did not have a container port 81 defined."),
        ({"targetGroupArn": env.tg.replace("targetgroup/", "targetgroup/zz"), "containerName": "web", "containerPort": 80}, "does not exist."),
    ]
    for lb, message in bad:
        with pytest.raises(ClientError) as exc:
            env.ecs.create_service(cluster=env.cluster, serviceName="bad", taskDefinition=td, desiredCount=1,
                                   launchType="FARGATE", networkConfiguration=NET, loadBalancers=[lb])
        assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
        assert message in exc.value.response["Error"]["Message"]


def test_rolling_deployment_behind_the_balancer_loses_no_request(env: Setup) -> None:
    _create(env, "web", env.register("blue"), healthCheckGracePeriodSeconds=10)
    wait_for(lambda: len(env.healthy_targets()) == 2, what="two healthy targets")
    assert env.healthy_targets() == set(env.task_ips("web").values())
    wait_for(lambda: {env.get()[1] for _ in range(6)} == {b"blue\n"}, what="blue served")
    counts = {"ok": 0, "failed": 0}
    bodies: set[bytes] = set()
    failures: list[str] = []
    stop = threading.Event()

    lock = threading.Lock()

    def loop() -> None:
        while not stop.is_set():
            try:
                status, body = env.get("/cgi-bin/slow")
            except OSError as exc:
                status, body = 0, repr(exc).encode()
            with lock:
                if status == 200:
                    counts["ok"] += 1
                    bodies.add(body)
                else:
                    counts["failed"] += 1
                    failures.append(f"{status} {body[:300]!r}")

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        blue_ips = set(env.task_ips("web").values())
        no_port = env.ecs.register_task_definition(
            family=env.family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{"name": "web", "image": BUSYBOX, "portMappings": [{"containerPort": 8080}]}],
        )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
        with pytest.raises(ClientError, match="The container web did not have a container port 80 defined."):
            env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=no_port)
        env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=env.register("green"))

        def completed() -> bool:
            s = env.service("web")
            return len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED"

        wait_for(completed, timeout=40, what="the deployment to complete")
        wait_for(lambda: not (blue_ips & {d["Target"]["Id"] for d in env.elb.describe_target_health(
            TargetGroupArn=env.tg)["TargetHealthDescriptions"]}), what="blue targets gone")
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert counts["failed"] == 0, failures[:5]
    assert counts["ok"] > 10 and bodies == {b"blue\n", b"green\n"}, (counts, bodies)
    assert {env.get()[1] for _ in range(6)} == {b"green\n"} and env.get("/cgi-bin/slow") == (200, b"green\n")
    assert env.healthy_targets() == set(env.task_ips("web").values()) and len(env.healthy_targets()) == 2
    s = env.service("web")
    assert s["loadBalancers"][0]["targetGroupArn"] == env.tg and s["healthCheckGracePeriodSeconds"] == 10


def test_a_task_failing_elb_health_checks_is_replaced(env: Setup) -> None:
    ips = wait_for(lambda: len(env.task_ips("web")) == 2 and env.task_ips("web"), what="two tasks")
    victim_arn, victim_ip = sorted(ips.items())[0]
    (env.trigger_dir / victim_ip).touch()
    message = (f"(port 80) is unhealthy in (target-group {env.tg}) due to (reason Health checks failed")

    statuses: list[str] = []

    def stopped() -> bool:
        t = env.ecs.describe_tasks(cluster=env.cluster, tasks=[victim_arn])["tasks"][0]
        statuses.append(t["lastStatus"])
        return t["lastStatus"] == "STOPPED"

    wait_for(stopped, timeout=30, what="the unhealthy task to be stopped")
    assert "DEACTIVATING" in statuses, statuses  # deregistered and drained before SIGTERM
    (env.trigger_dir / victim_ip).unlink()  # its address may go to the replacement
    t = env.ecs.describe_tasks(cluster=env.cluster, tasks=[victim_arn])["tasks"][0]
    assert t["stoppedReason"] == f"Task failed ELB health checks in (target-group {env.tg})"
    events = [e["message"] for e in env.service("web")["events"]]
    assert any(message in m and "(service web)" in m for m in events), events[:5]
    wait_for(lambda: len(env.healthy_targets()) == 2 and victim_ip not in env.healthy_targets(), timeout=30,
             what="a healthy replacement")
    env.ecs.delete_service(cluster=env.cluster, service="web", force=True)
