"""ECS over the wire with boto3 (the session server): errors as ECS sends
them, ARNs, waiters that only poll the control plane."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def ecs(client: Callable[..., Any]) -> Any:
    return client("ecs")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def test_cluster_and_taskdef_round_trip(ecs: Any) -> None:
    name = _name("c")
    c = ecs.create_cluster(clusterName=name, tags=[{"key": "k", "value": "v"}])["cluster"]
    assert c["clusterArn"] == f"arn:aws:ecs:us-east-1:000000000000:cluster/{name}"
    assert c["clusterArn"] in ecs.list_clusters()["clusterArns"]
    fam = _name("fam")
    td = ecs.register_task_definition(
        family=fam,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="0.5 vCPU",
        memory="1 GB",
        containerDefinitions=[{
            "name": "web",
            "image": "gureum/busybox:latest",
            "portMappings": [{"containerPort": 8080}],
            "environment": [{"name": "A", "value": "1"}],
            "secrets": [{"name": "S", "valueFrom": "plain"}],
            "healthCheck": {"command": ["CMD-SHELL", "true"]},
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/g"}},
            "dependsOn": [],
            "readonlyRootFilesystem": True,
            "user": "nobody",
            "workingDirectory": "/tmp",
        }],
    )["taskDefinition"]
    assert td["cpu"] == "512" and td["memory"] == "1024" and td["compatibilities"] == ["EC2", "FARGATE"]
    assert td["registeredAt"].year >= 2023  # a timestamp on the wire
    got = ecs.describe_task_definition(taskDefinition=f"{fam}:1")["taskDefinition"]["containerDefinitions"][0]
    assert got["portMappings"] == [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]
    assert got["healthCheck"]["interval"] == 30 and got["ulimits"][0]["hardLimit"] == 2048
    assert got["readonlyRootFilesystem"] is True and got["user"] == "nobody"
    with pytest.raises(ClientError) as exc:
        ecs.register_task_definition(family=fam, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
                                     memory="4096", containerDefinitions=[{"name": "a", "image": "x"}])
    assert _code(exc) == ("ClientException", "No Fargate configuration exists for given values: 256 CPU, 4096 memory. "
                          "See the Amazon ECS documentation for the valid values.")
    with pytest.raises(ClientError) as exc:
        ecs.register_task_definition(family=fam, containerDefinitions=[{"name": "a", "memory": 5}])
    assert _code(exc) == ("ClientException", "Container.image should not be null or empty.")


def test_errors_on_the_wire(ecs: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ecs.describe_services(cluster=_name("nope"), services=["x"])
    assert _code(exc) == ("ClusterNotFoundException", "Cluster not found.")
    name = _name("c")
    ecs.create_cluster(clusterName=name)
    with pytest.raises(ClientError) as exc:
        ecs.update_service(cluster=name, service="ghost", desiredCount=1)
    assert _code(exc) == ("ServiceNotFoundException", "Service not found.")
    with pytest.raises(ClientError) as exc:
        ecs.run_task(cluster=name, taskDefinition=_name("ghost"))
    assert _code(exc) == ("ClientException", "TaskDefinition not found.")
    with pytest.raises(ClientError) as exc:
        ecs.stop_task(cluster=name, task="0" * 32)
    assert _code(exc) == ("InvalidParameterException", "The referenced task was not found.")
    out = ecs.describe_tasks(cluster=name, tasks=["0" * 32])
    assert out["failures"][0]["reason"] == "MISSING"


def test_service_control_plane_and_waiter(ecs: Any) -> None:
    name = _name("c")
    ecs.create_cluster(clusterName=name)
    fam = _name("fam")
    ecs.register_task_definition(family=fam, containerDefinitions=[{"name": "a", "image": "gureum/busybox:latest", "memory": 32}])
    svc = ecs.create_service(cluster=name, serviceName="api", taskDefinition=fam, desiredCount=0,
                             deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                                      "maximumPercent": 150, "minimumHealthyPercent": 50})["service"]
    assert svc["serviceArn"] == f"arn:aws:ecs:us-east-1:000000000000:service/{name}/api"
    assert svc["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    ecs.get_waiter("services_stable").wait(cluster=name, services=["api"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    s = ecs.describe_services(cluster=name, services=["api"])["services"][0]
    assert s["deployments"][0]["rolloutState"] == "COMPLETED"
    assert s["events"][0]["message"] == "(service api) has reached a steady state."
    with pytest.raises(ClientError) as exc:
        ecs.delete_cluster(cluster=name)
    assert _code(exc)[0] == "ClusterContainsServicesException"
    ecs.delete_service(cluster=name, service="api")
    ecs.get_waiter("services_inactive").wait(cluster=name, services=["api"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    assert ecs.delete_cluster(cluster=name)["cluster"]["status"] == "INACTIVE"
