"""ECS tasks and services running for real, on both runtime drivers.

Each driver gets its own server (``--runtime docker`` / ``--runtime
process``).  Docker tests skip, with the reason, only when no engine answers
(``bash .ci/setup-docker.sh`` starts one).  Commands are written so the same
task definition runs on both: the process driver runs host programs and
serves on the task's private IP (``$GUREUM_PRIVATE_IP``).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server
from waiting import wait_for

from gureum.runtime.selection import data_dir_id as data_dir_id_for

BUSYBOX = "gureum/busybox:latest"
FAST = {"Delay": 0.2, "MaxAttempts": 150}


def _docker_reason() -> str | None:
    from gureum.runtime.base import EngineUnavailable
    from gureum.runtime.docker import connect_client
    from gureum.runtime.images import build_base

    try:
        client = connect_client()
    except EngineUnavailable as exc:
        return f"{exc}; start one with: bash .ci/setup-docker.sh"
    try:
        build_base(client)
    finally:
        client.close()
    return None


class Cloud:
    """One server with one runtime, and what the tests need to poke it."""

    def __init__(self, kind: str, server: Server) -> None:
        self.kind = kind
        self.server = server
        cfg = Config(retries={"max_attempts": 1})
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        self.ecs = session.client("ecs", endpoint_url=server.endpoint, config=cfg)
        self.logs = session.client("logs", endpoint_url=server.endpoint, config=cfg)

    def sh(self, script: str) -> list[str]:
        return ["sh", "-c", script]

    def httpd(self, body: str) -> list[str]:
        www = "/www" if self.kind == "docker" else "www"
        bind = "80" if self.kind == "docker" else "$GUREUM_PRIVATE_IP:80"
        return self.sh(f"mkdir -p {www} && echo {body} > {www}/index.html && echo serving && exec httpd -f -p {bind} -h {www}")

    def forever(self) -> list[str]:
        return self.sh("trap 'exit 0' TERM; while true; do sleep 0.1; done")

    def kill(self, runtime_id: str) -> None:
        if self.kind == "docker":
            subprocess.run(["docker", "kill", runtime_id], check=True, capture_output=True)
        else:
            from gureum.runtime.process import ProcessDriver

            drv = ProcessDriver(self.server.data_dir / "runtime" / "process", data_dir_id_for(self.server.data_dir))
            asyncio.run(drv.kill(runtime_id, "SIGKILL"))

    def cluster(self) -> str:
        name = "c-" + uuid.uuid4().hex[:8]
        self.ecs.create_cluster(clusterName=name)
        return name

    def family(self, containers: list[dict[str, Any]], **extra: Any) -> str:
        fam = "f-" + uuid.uuid4().hex[:8]
        self.ecs.register_task_definition(family=fam, containerDefinitions=containers, **extra)
        return fam

    def task(self, cluster: str, arn: str) -> dict[str, Any]:
        return self.ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]  # type: ignore[no-any-return]

    def service(self, cluster: str, name: str) -> dict[str, Any]:
        return self.ecs.describe_services(cluster=cluster, services=[name])["services"][0]  # type: ignore[no-any-return]


def _cleanup(kind: str, data_dir: Path) -> None:
    ddid = data_dir_id_for(data_dir)
    if kind == "docker":
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=gureum.data-dir-id={ddid}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
        return
    from gureum.runtime.process import ProcessDriver

    async def wipe() -> None:
        drv = ProcessDriver(data_dir / "runtime" / "process", ddid)
        for st in await drv.list():
            await drv.remove(st.id, force=True)

    asyncio.run(wipe())


@pytest.fixture(scope="module", params=["docker", "process"])
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    kind = request.param
    if kind == "docker" and (reason := _docker_reason()):
        pytest.skip(reason)
    data = tmp_path_factory.mktemp(f"ecs-{kind}") / "data"
    server = start_server(data, "--runtime", kind)
    try:
        yield Cloud(kind, server)
    finally:
        stop_server(server)
        _cleanup(kind, data)




def test_httpd_task_serves_on_its_private_ip_then_stops(cloud: Cloud) -> None:
    cluster = cloud.cluster()
    fam = cloud.family(
        [{
            "name": "web",
            "image": BUSYBOX,
            "command": cloud.httpd("hello-ecs"),
            "portMappings": [{"containerPort": 80}],
            "stopTimeout": 2,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": f"/ecs/{cluster}", "awslogs-create-group": "true",
                "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}},
        }],
        requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
    )
    net = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    arn = cloud.ecs.run_task(cluster=cluster, taskDefinition=fam, launchType="FARGATE", networkConfiguration=net)["tasks"][0]["taskArn"]
    cloud.ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[arn], WaiterConfig=FAST)
    t = cloud.task(cluster, arn)
    ip = t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    assert ip.startswith("127.0.1.") and t["startedAt"] and t["pullStartedAt"]
    assert {"name": "privateIPv4Address", "value": ip} in t["attachments"][0]["details"]

    def fetch() -> bytes | None:
        try:
            return urllib.request.urlopen(f"http://{ip}:80/", timeout=1).read()  # type: ignore[no-any-return]
        except OSError:
            return None

    assert wait_for(fetch) == b"hello-ecs\n"
    tid = arn.rsplit("/", 1)[1]
    events = wait_for(lambda: cloud.logs.get_log_events(logGroupName=f"/ecs/{cluster}", logStreamName=f"ecs/web/{tid}")["events"])
    assert events[0]["message"] == "serving"
    cloud.ecs.stop_task(cluster=cluster, task=arn, reason="test is done")
    cloud.ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig=FAST)
    t = cloud.task(cluster, arn)
    assert (t["stopCode"], t["stoppedReason"]) == ("UserInitiated", "test is done")
    assert t["containers"][0]["lastStatus"] == "STOPPED" and t["containers"][0]["exitCode"] in (137, 143)
    assert t["stoppedAt"] >= t["startedAt"]
    assert fetch() is None


def test_unknown_image_stops_with_cannot_pull(cloud: Cloud) -> None:
    cluster = cloud.cluster()
    image = f"127.0.0.1:{cloud.server.port}/nosuch/image:1"  # a local registry: no traffic leaves the machine
    fam = cloud.family([{"name": "app", "image": image, "memory": 32}])
    started = time.monotonic()
    arn = cloud.ecs.run_task(cluster=cluster, taskDefinition=fam)["tasks"][0]["taskArn"]
    cloud.ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig=FAST)
    assert time.monotonic() - started < 10
    t = cloud.task(cluster, arn)
    assert t["stopCode"] == "TaskFailedToStart"
    assert t["stoppedReason"].startswith("CannotPullContainerError")
    assert "startedAt" not in t


def test_missing_command_stops_the_task(cloud: Cloud) -> None:
    cluster = cloud.cluster()
    fam = cloud.family([{"name": "app", "image": BUSYBOX, "memory": 32, "command": ["/no/such/program"]}])
    arn = cloud.ecs.run_task(cluster=cluster, taskDefinition=fam)["tasks"][0]["taskArn"]
    cloud.ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig=FAST)
    t = cloud.task(cluster, arn)
    assert t["stopCode"] in ("TaskFailedToStart", "EssentialContainerExited")
    assert t["stoppedReason"]


def test_depends_on_success_runs_init_first(cloud: Cloud) -> None:
    cluster = cloud.cluster()
    fam = cloud.family([
        {"name": "init", "image": BUSYBOX, "memory": 32, "essential": False, "command": cloud.sh("exit 0")},
        {"name": "app", "image": BUSYBOX, "memory": 32, "command": cloud.sh("exit 3"),
         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
    ])
    arn = cloud.ecs.run_task(cluster=cluster, taskDefinition=fam)["tasks"][0]["taskArn"]
    cloud.ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig=FAST)
    t = cloud.task(cluster, arn)
    by_name = {c["name"]: c for c in t["containers"]}
    assert by_name["init"]["exitCode"] == 0 and by_name["app"]["exitCode"] == 3
    assert (t["stopCode"], t["stoppedReason"]) == ("EssentialContainerExited", "Essential container in task exited")


def test_service_replaces_a_killed_container_within_two_seconds(cloud: Cloud) -> None:
    cluster = cloud.cluster()
    fam = cloud.family([{"name": "app", "image": BUSYBOX, "memory": 32, "command": cloud.forever(), "stopTimeout": 2}])
    cloud.ecs.create_service(cluster=cluster, serviceName="keeper", taskDefinition=fam, desiredCount=3)
    cloud.ecs.get_waiter("services_stable").wait(cluster=cluster, services=["keeper"], WaiterConfig=FAST)
    before = set(cloud.ecs.list_tasks(cluster=cluster, serviceName="keeper")["taskArns"])
    assert len(before) == 3
    victim = cloud.task(cluster, sorted(before)[0])
    killed = time.monotonic()
    cloud.kill(victim["containers"][0]["runtimeId"])

    def replaced() -> set[str]:
        now = set(cloud.ecs.list_tasks(cluster=cluster, serviceName="keeper")["taskArns"])
        return now - before

    wait_for(replaced, timeout=5)
    assert time.monotonic() - killed < 2.0
    cloud.ecs.get_waiter("services_stable").wait(cluster=cluster, services=["keeper"], WaiterConfig=FAST)
    dead = cloud.task(cluster, victim["taskArn"])
    assert dead["stopCode"] == "EssentialContainerExited" and dead["containers"][0]["exitCode"] == 137
    messages = [e["message"] for e in cloud.service(cluster, "keeper")["events"]]
    assert any(m.startswith("(service keeper) has started 1 tasks: (task ") for m in messages)
    cloud.ecs.delete_service(cluster=cluster, service="keeper", force=True)


def test_rolling_update_keeps_minimum_healthy(cloud: Cloud) -> None:
    cluster = cloud.cluster()
    container = {"name": "app", "image": BUSYBOX, "memory": 32, "command": cloud.forever(), "stopTimeout": 2,
                 "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2, "retries": 1}}
    fam = cloud.family([container])
    cloud.ecs.create_service(cluster=cluster, serviceName="roll", taskDefinition=fam, desiredCount=2,
                             deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200})

    def healthy() -> int:
        arns = cloud.ecs.list_tasks(cluster=cluster, serviceName="roll")["taskArns"]
        tasks = cloud.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        return sum(1 for t in tasks if t["lastStatus"] == "RUNNING" and t["healthStatus"] == "HEALTHY")

    wait_for(lambda: healthy() == 2, timeout=20)
    cloud.ecs.register_task_definition(family=fam, containerDefinitions=[{**container, "environment": [{"name": "V", "value": "2"}]}])
    cloud.ecs.update_service(cluster=cluster, service="roll", taskDefinition=fam)
    samples = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        samples.append(healthy())
        s = cloud.service(cluster, "roll")
        if len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED":
            break
    else:
        raise AssertionError("rolling update did not complete")
    assert min(samples) >= 2, samples
    s = cloud.service(cluster, "roll")
    assert s["taskDefinition"].endswith(":2") and s["runningCount"] == 2
    tasks = cloud.ecs.describe_tasks(cluster=cluster, tasks=cloud.ecs.list_tasks(cluster=cluster, serviceName="roll")["taskArns"])["tasks"]
    assert {t["taskDefinitionArn"].rsplit(":", 1)[1] for t in tasks} == {"2"}
    messages = [e["message"] for e in s["events"]]
    assert any("deployment completed" in m for m in messages) and any("has stopped 2 running tasks" in m or
                                                                       "has stopped 1 running tasks" in m for m in messages)
    cloud.ecs.delete_service(cluster=cluster, service="roll", force=True)
