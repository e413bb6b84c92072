"""A restarted server adopts the containers of its ECS services instead of
starting new ones, and keeps maintaining them (both runtime drivers)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import start_server, stop_server
from test_ecs_runtime import BUSYBOX, FAST, Cloud, _cleanup, _docker_reason, wait_for


@pytest.mark.parametrize("kind", ["docker", "process"])
def test_restart_adopts_running_containers(kind: str, tmp_path: Path) -> None:
    if kind == "docker" and (reason := _docker_reason()):
        pytest.skip(reason)
    data = tmp_path / "data"
    server = start_server(data, "--runtime", kind)
    try:
        cloud = Cloud(kind, server)
        cluster = cloud.cluster()
        fam = cloud.family([{"name": "app", "image": BUSYBOX, "memory": 32, "command": cloud.forever(), "stopTimeout": 2}])
        cloud.ecs.create_service(cluster=cluster, serviceName="svc", taskDefinition=fam, desiredCount=2)
        cloud.ecs.get_waiter("services_stable").wait(cluster=cluster, services=["svc"], WaiterConfig=FAST)
        arns = sorted(cloud.ecs.list_tasks(cluster=cluster, serviceName="svc")["taskArns"])
        before = {t["taskArn"]: t["containers"][0]["runtimeId"] for t in cloud.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]}
        stop_server(server)
        server = start_server(data, "--runtime", kind, port=server.port)
        cloud = Cloud(kind, server)
        time.sleep(1.0)  # give a wrongly duplicating controller the time to do it
        after_arns = sorted(cloud.ecs.list_tasks(cluster=cluster, serviceName="svc")["taskArns"])
        assert after_arns == arns
        tasks = cloud.ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
        assert {t["taskArn"]: t["containers"][0]["runtimeId"] for t in tasks} == before
        assert all(t["lastStatus"] == "RUNNING" for t in tasks)
        # and the adopted service is still looked after
        cloud.kill(before[arns[0]])
        wait_for(lambda: set(cloud.ecs.list_tasks(cluster=cluster, serviceName="svc")["taskArns"]) - set(arns), timeout=5)
        cloud.ecs.get_waiter("services_stable").wait(cluster=cluster, services=["svc"], WaiterConfig=FAST)
    finally:
        stop_server(server)
        _cleanup(kind, data)
