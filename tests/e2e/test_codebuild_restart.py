"""A build survives a restart of Gureum (``kill -9`` or a graceful stop): the next server adopts the running phase."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from conftest import start_server, stop_server

pytestmark = pytest.mark.e2e

BUILDSPEC = """\
version: 0.2
phases:
  install:
    commands:
      - export CARRIED=yes
  build:
    commands:
      - echo before the restart
      - sleep 4
      - echo "after the restart carried=$CARRIED"
  post_build:
    commands:
      - echo post_build ran
"""


def clients(endpoint: str) -> tuple[object, object, object]:
    kw = {
        "endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "test",
        "aws_secret_access_key": "test", "config": Config(retries={"max_attempts": 1}),
    }  # fmt: skip
    return boto3.client("s3", **kw), boto3.client("codebuild", **kw), boto3.client("logs", **kw)


def log_text(logs: object, build_id: str) -> str:
    group, stream = f"/aws/codebuild/{build_id.split(':')[0]}", build_id.split(":", 1)[1]
    try:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]  # type: ignore[attr-defined]
    except logs.exceptions.ResourceNotFoundException:  # type: ignore[attr-defined]
        return ""
    return "\n".join(e["message"] for e in events)


@pytest.mark.parametrize("how", ["kill -9", "graceful stop"])
def test_a_build_in_progress_resumes_after_a_restart(tmp_path: Path, how: str) -> None:
    data = tmp_path / "data"
    first = start_server(data, "--runtime", "process")
    try:
        s3, cb, logs = clients(first.endpoint)
        s3.create_bucket(Bucket="src")  # type: ignore[attr-defined]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("buildspec.yml", BUILDSPEC)
        s3.put_object(Bucket="src", Key="app.zip", Body=buf.getvalue())  # type: ignore[attr-defined]
        cb.create_project(  # type: ignore[attr-defined]
            name="survivor", source={"type": "S3", "location": "src/app.zip"}, artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole="arn:aws:iam::000000000000:role/x",
        )  # fmt: skip
        build_id = cb.start_build(projectName="survivor")["build"]["id"]  # type: ignore[attr-defined]
        deadline = time.monotonic() + 15
        while "before the restart" not in log_text(logs, build_id):  # the BUILD shell is running
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        if how == "kill -9":
            first.proc.kill()
            first.proc.wait(10)
        else:
            stop_server(first)
    second = start_server(data, "--runtime", "process")
    try:
        _, cb, logs = clients(second.endpoint)
        deadline = time.monotonic() + 20
        while not (build := cb.batch_get_builds(ids=[build_id])["builds"][0])["buildComplete"]:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, build["currentPhase"]
            time.sleep(0.1)
        assert build["buildStatus"] == "SUCCEEDED", str([(p["phaseType"], p.get("contexts")) for p in build["phases"]])
        assert [p["phaseType"] for p in build["phases"]][4:] == [
            "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED",
        ]  # fmt: skip
        text = log_text(logs, build_id)
        assert "before the restart" in text
        assert "after the restart carried=yes" in text  # output of the adopted shell still reaches the log
        assert "post_build ran" in text
    finally:
        stop_server(second)
