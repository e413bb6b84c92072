"""Task definition validation: the Fargate size table, ECS's messages, the defaults ECS fills in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.ecs.taskdef_validation import (
    FARGATE_SIZES,
    TaskDefinitionInvalid,
    fargate_size_ok,
    normalize_task_definition,
    parse_cpu,
    parse_memory,
)


def fargate(cpu: str, memory: str, **extra: object) -> dict:
    return {
        "family": "f",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": cpu,
        "memory": memory,
        "containerDefinitions": [{"name": "app", "image": "gureum/busybox:latest"}],
        **extra,
    }


@pytest.mark.parametrize(
    "cpu,memory,ok",
    [
        ("256", "512", True),
        ("256", "2048", True),
        ("256", "3072", False),
        ("512", "1024", True),
        ("512", "512", False),
        ("1024", "8192", True),
        ("1024", "9216", False),
        ("2048", "16384", True),
        ("4096", "30720", True),
        ("4096", "31744", False),
        ("8192", "16384", True),
        ("8192", "17408", False),  # 4 GB steps only
        ("16384", "122880", True),
        ("0.25 vCPU", "0.5 GB", True),
        ("1 vcpu", "2GB", True),
    ],
)
def test_fargate_table(cpu: str, memory: str, ok: bool) -> None:
    if ok:
        body = normalize_task_definition(fargate(cpu, memory))
        assert "FARGATE" in body["compatibilities"]
        assert body["cpu"] == str(parse_cpu(cpu)) and body["memory"] == str(parse_memory(memory))
    else:
        with pytest.raises(TaskDefinitionInvalid) as exc:
            normalize_task_definition(fargate(cpu, memory))
        assert exc.value.message == (
            f"No Fargate configuration exists for given values: {parse_cpu(cpu)} CPU, {parse_memory(memory)} memory. "
            "See the Amazon ECS documentation for the valid values."
        )
        assert exc.value.code == "ClientException"


@pytest.mark.parametrize(
    "change,message",
    [
        ({"cpu": "300"}, "Invalid 'cpu' setting for task."),
        ({"cpu": None}, "Fargate requires that 'cpu' be defined at the task level."),
        ({"memory": None}, "Fargate requires that 'memory' be defined at the task level."),
        ({"networkMode": "bridge"}, "Fargate only supports network mode 'awsvpc'."),
        (
            {"containerDefinitions": [{"name": "app", "image": "x", "memory": 1024}]},
            "The 'memory' setting for container 'app' is greater than for the task.",
        ),
        ({"containerDefinitions": [{"name": "app"}]}, "Container.image should not be null or empty."),
        ({"containerDefinitions": [{"name": "app", "image": ""}]}, "Container.image should not be null or empty."),
    ],
)
def test_messages(change: dict, message: str) -> None:
    req = fargate("256", "512")
    for k, v in change.items():
        if v is None:
            req.pop(k)
        else:
            req[k] = v
    with pytest.raises(TaskDefinitionInvalid) as exc:
        normalize_task_definition(req)
    assert exc.value.message == message


def test_ec2_container_needs_memory_without_task_memory() -> None:
    with pytest.raises(TaskDefinitionInvalid) as exc:
        normalize_task_definition({"family": "f", "containerDefinitions": [{"name": "web", "image": "x"}]})
    assert exc.value.message == (
        "Invalid setting for container 'web'. At least one of 'memory' or 'memoryReservation' must be specified."
    )


def test_defaults_filled_and_fields_kept() -> None:
    req = {
        "family": "f",
        "containerDefinitions": [
            {
                "name": "web",
                "image": "img",
                "memory": 128,
                "portMappings": [{"containerPort": 80}],
                "healthCheck": {"command": ["CMD-SHELL", "true"]},
                "ulimits": [{"name": "nofile", "softLimit": 10, "hardLimit": 20}],
                "readonlyRootFilesystem": True,
                "workingDirectory": "/tmp",
                "user": "1000",
                "dockerLabels": {"a": "b"},
                "stopTimeout": 3,
            }
        ],
    }
    body = normalize_task_definition(req)
    c = body["containerDefinitions"][0]
    assert c["essential"] is True and c["cpu"] == 0
    assert c["environment"] == [] and c["mountPoints"] == [] and c["volumesFrom"] == []
    assert c["portMappings"] == [{"containerPort": 80, "protocol": "tcp"}]
    assert c["healthCheck"] == {"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3}
    for k in ("ulimits", "readonlyRootFilesystem", "workingDirectory", "user", "dockerLabels", "stopTimeout"):
        assert c[k] == req["containerDefinitions"][0][k]
    assert body["networkMode"] == "bridge" and body["compatibilities"] == ["EC2"]
    assert "tags" not in body


def test_awsvpc_host_port_must_match() -> None:
    req = fargate("256", "512")
    req["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80, "hostPort": 8080}]
    with pytest.raises(TaskDefinitionInvalid, match="host ports and container ports"):
        normalize_task_definition(req)
    req["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80}]
    assert normalize_task_definition(req)["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 80


@pytest.mark.parametrize(
    "containers,match",
    [
        ([{"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "START"}]}], "not defined"),
        (
            [
                {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "START"}]},
                {"name": "b", "image": "x", "dependsOn": [{"containerName": "a", "condition": "START"}]},
            ],
            "cycle",
        ),
        (
            [
                {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "HEALTHY"}]},
                {"name": "b", "image": "x"},
            ],
            "no healthCheck",
        ),
        ([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}], "Duplicate container name"),
        ([{"name": "a", "image": "x", "essential": False}], "essential"),
        ([{"name": "a", "image": "x", "healthCheck": {"command": ["CMD", "true"], "interval": 1}}], "interval"),
    ],
)
def test_container_rules(containers: list, match: str) -> None:
    with pytest.raises(TaskDefinitionInvalid, match=match):
        normalize_task_definition({"family": "f", "memory": "512", "containerDefinitions": containers})


@given(cpu=st.sampled_from(sorted(FARGATE_SIZES)), memory=st.integers(min_value=1, max_value=130_000))
def test_fargate_accepts_exactly_the_table(cpu: int, memory: int) -> None:
    req = fargate(str(cpu), str(memory))
    if fargate_size_ok(cpu, memory):
        assert normalize_task_definition(req)["compatibilities"] == ["EC2", "FARGATE"]
    else:
        with pytest.raises(TaskDefinitionInvalid):
            normalize_task_definition(req)
