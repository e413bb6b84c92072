"""An image pushed to Gureum's ECR with the docker CLI runs as an ECS task.

The image is removed from the local engine after the push, so the task's
start really pulls it back from the registry behind ``repositoryUri``.
"""

from __future__ import annotations

import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server
from test_ecs_runtime import _cleanup, _docker_reason, wait_for


@pytest.fixture(scope="module")
def docker_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if reason := _docker_reason():
        pytest.skip(reason)
    data = tmp_path_factory.mktemp("ecr-ecs") / "data"
    server = start_server(data, "--runtime", "docker")
    try:
        yield server
    finally:
        stop_server(server)
        _cleanup("docker", data)


def _docker(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "--config", str(config), *args], check=True, capture_output=True, text=True)


def test_task_runs_from_an_image_pushed_to_ecr(docker_server: Server, tmp_path: Path) -> None:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    cfg = Config(retries={"max_attempts": 1})
    ecr = session.client("ecr", endpoint_url=docker_server.endpoint, config=cfg)
    ecs = session.client("ecs", endpoint_url=docker_server.endpoint, config=cfg)

    name = f"apps/web-{uuid.uuid4().hex[:8]}"
    uri = ecr.create_repository(repositoryName=name)["repository"]["repositoryUri"]
    image = f"{uri}:v1"
    _docker(tmp_path, "tag", "gureum/busybox:latest", image)
    try:
        _docker(tmp_path, "push", image)
    finally:
        _docker(tmp_path, "rmi", image)  # the task must pull it from the registry
    assert [d["imageTag"] for d in ecr.list_images(repositoryName=name)["imageIds"]] == ["v1"]

    ecs.create_cluster(clusterName="ecr-demo")
    ecs.register_task_definition(
        family="ecr-web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{
            "name": "web",
            "image": image,
            "essential": True,
            "portMappings": [{"containerPort": 80}],
            "command": ["sh", "-c", "mkdir -p /www && echo from-ecr > /www/index.html && exec httpd -f -p 80 -h /www"],
        }],
    )
    arn = ecs.run_task(
        cluster="ecr-demo", taskDefinition="ecr-web", launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
    )["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="ecr-demo", tasks=[arn], WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    task = ecs.describe_tasks(cluster="ecr-demo", tasks=[arn])["tasks"][0]
    assert task["containers"][0]["image"] == image
    ip = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]

    def fetch() -> str | None:
        try:
            with urllib.request.urlopen(f"http://{ip}:80/", timeout=1) as resp:
                return resp.read().decode().strip()
        except OSError:
            return None

    assert wait_for(fetch, timeout=15) == "from-ecr"
    ecs.stop_task(cluster="ecr-demo", task=arn, reason="done")
    ecs.get_waiter("tasks_stopped").wait(cluster="ecr-demo", tasks=[arn], WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    # the pulled image is the engine's now; drop it so runs do not pile up images (the container went with the task)
    subprocess.run(["docker", "rmi", "-f", image], check=False, capture_output=True)
