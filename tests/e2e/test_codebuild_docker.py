"""One CodeBuild build on the docker driver (skipped when the session server runs processes)."""

from __future__ import annotations

import io
import json
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Server

pytestmark = pytest.mark.e2e

BUILDSPEC = """\
version: 0.2
phases:
  install:
    commands:
      - cd sub
  build:
    commands:
      - 'echo "in: $(pwd)"'
      - if command -v python3 >/dev/null; then echo host-python; else echo no-python; fi
      - cat input.txt > ../dist.txt
artifacts:
  files: [dist.txt]
"""


def _runtime(server: Server) -> str:
    with urllib.request.urlopen(server.endpoint + "/_gureum/health", timeout=5) as resp:
        return str(json.loads(resp.read())["runtime"])


def test_a_build_runs_in_a_container_of_the_project_image(server: Server, client: Callable[..., Any]) -> None:
    docker = pytest.importorskip("docker")
    try:
        docker.from_env(timeout=5).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no engine here
        pytest.skip(f"no Docker engine: {exc}")
    s3, cb, logs = client("s3"), client("codebuild"), client("logs")
    name = f"dock-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("buildspec.yml", BUILDSPEC)
        zf.writestr("sub/input.txt", "from the source zip\n")
    s3.put_object(Bucket=name, Key="app.zip", Body=buf.getvalue())
    cb.create_project(
        name=name,
        source={"type": "S3", "location": f"{name}/app.zip"},
        artifacts={"type": "S3", "location": name, "name": "out.zip", "packaging": "ZIP"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole="arn:aws:iam::000000000000:role/codebuild",
    )
    build_id = cb.start_build(projectName=name)["build"]["id"]
    deadline = time.monotonic() + 60
    while not (build := cb.batch_get_builds(ids=[build_id])["builds"][0])["buildComplete"]:
        assert time.monotonic() < deadline, build["currentPhase"]
        time.sleep(0.1)
    if _runtime(server) != "docker":
        pytest.skip("the session server runs the process driver")
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    events = logs.get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"], startFromHead=True
    )["events"]
    text = "\n".join(e["message"] for e in events)
    assert "in: /codebuild/output/src/sub" in text  # the workspace is bound into the container
    assert "no-python" in text  # gureum/busybox, not the host
    body = s3.get_object(Bucket=name, Key="out.zip")["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.read("dist.txt") == b"from the source zip\n"
