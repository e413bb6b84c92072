"""The AWS CLI (from PyPI) against a real server: logs, s3 (high-level and
multipart), cloudwatch — the commands people paste from tutorials.
"""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def aws(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("awshome")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",  # a failure shows at once, not after the CLI's retries
    )

    def run(*args: str, endpoint: bool = True, extra_env: dict[str, str] | None = None, check: bool = True) -> Any:
        cmd = [sys.executable, "-m", "awscli", *args]
        if endpoint:
            cmd += ["--endpoint-url", server.endpoint]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**env, **(extra_env or {})})
        if check and res.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} exited {res.returncode}:\n{res.stderr}\n{res.stdout}")
        if not check:
            return res
        out = res.stdout.strip()
        if out.startswith("{") or out.startswith("["):
            return json.loads(out)
        return out

    return run


def test_logs_create_put_get(aws: Any) -> None:
    aws("logs", "create-log-group", "--log-group-name", "/cli/app")
    aws("logs", "create-log-stream", "--log-group-name", "/cli/app", "--log-stream-name", "s1")
    now = int(time.time() * 1000)
    events = json.dumps([{"timestamp": now + i, "message": f"hello {i}"} for i in range(3)])
    out = aws("logs", "put-log-events", "--log-group-name", "/cli/app", "--log-stream-name", "s1", "--log-events", events)
    assert "nextSequenceToken" in out or out.get("rejectedLogEventsInfo") is None
    got = aws("logs", "get-log-events", "--log-group-name", "/cli/app", "--log-stream-name", "s1", "--start-from-head")
    assert [e["message"] for e in got["events"]] == ["hello 0", "hello 1", "hello 2"]
    # A modelled error comes back as the CLI's error line and (CLI v1) exit status 255.
    res = aws("logs", "create-log-group", "--log-group-name", "/cli/app", check=False)
    assert res.returncode == 255 and "ResourceAlreadyExistsException" in res.stderr


def test_endpoint_from_aws_endpoint_url(aws: Any, server: Server) -> None:
    out = aws("sts", "get-caller-identity", endpoint=False, extra_env={"AWS_ENDPOINT_URL": server.endpoint})
    assert out["Account"] == "000000000000"


def _tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "index.html").write_text("<h1>구름</h1>\n")
    (root / "sub" / "a.txt").write_text("a" * 100)
    (root / "sub" / "deeper" / "b.json").write_text(json.dumps({"b": list(range(100))}))
    (root / "empty.txt").write_bytes(b"")
    # Over the CLI's 8 MiB multipart threshold: uploaded in parts, downloaded in ranges.
    with open(root / "big.bin", "wb") as f:
        f.write(os.urandom(9 * 1024 * 1024 + 12345))


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def test_s3_mb_cp_ls_sync_rm(aws: Any, server: Server, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.session.Session("test", "test", region_name="us-east-1").client("s3", endpoint_url=server.endpoint)
    buckets = lambda: [b["Name"] for b in s3.list_buckets()["Buckets"]]  # noqa: E731

    aws("s3", "mb", "s3://cli-bucket")
    assert "cli-bucket" in buckets()

    # cp up and down, one small file.
    src = tmp_path / "hello.txt"
    src.write_text("hello from the aws cli\n")
    aws("s3", "cp", str(src), "s3://cli-bucket/one/hello.txt")
    back = tmp_path / "hello.back"
    aws("s3", "cp", "s3://cli-bucket/one/hello.txt", str(back))
    assert back.read_text() == "hello from the aws cli\n"

    # sync a directory with a multipart-sized file up, then down into a fresh one.
    up = tmp_path / "site"
    _tree(up)
    aws("s3", "sync", str(up), "s3://cli-bucket/site")
    listing = aws("s3", "ls", "--recursive", "s3://cli-bucket/site/")
    for rel in ("site/index.html", "site/sub/a.txt", "site/sub/deeper/b.json", "site/big.bin", "site/empty.txt"):
        assert rel in listing
    assert str(9 * 1024 * 1024 + 12345) in listing
    head = s3.head_object(Bucket="cli-bucket", Key="site/big.bin")
    assert head["ETag"].strip('"').endswith("-2")  # two 8 MiB parts: a multipart ETag
    down = tmp_path / "site-down"
    aws("s3", "sync", "s3://cli-bucket/site", str(down))
    _same_tree(up, down)

    # ls of a "directory" level shows prefixes.
    top = aws("s3", "ls", "s3://cli-bucket/site/")
    assert "PRE sub/" in top and "index.html" in top

    # rm one, then the rest, then the bucket.
    aws("s3", "rm", "s3://cli-bucket/one/hello.txt")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="cli-bucket").get("Contents", [])]
    assert "one/hello.txt" not in keys and "site/big.bin" in keys
    aws("s3", "rm", "--recursive", "s3://cli-bucket/site")
    assert s3.list_objects_v2(Bucket="cli-bucket").get("Contents", []) == []
    aws("s3", "rb", "s3://cli-bucket")
    assert "cli-bucket" not in buckets()


def test_cloudwatch_put_list_statistics(aws: Any) -> None:
    now = int(time.time())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    data = [
        {"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "web"}], "Unit": "Milliseconds", "Value": v, "Timestamp": stamp}
        for v in (10, 20, 30)
    ]
    aws("cloudwatch", "put-metric-data", "--namespace", "CliTest", "--metric-data", json.dumps(data))
    metrics = aws("cloudwatch", "list-metrics", "--namespace", "CliTest")["Metrics"]
    assert metrics == [{"Namespace": "CliTest", "MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "web"}]}]
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 600))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 600))
    stats = aws(
        "cloudwatch", "get-metric-statistics", "--namespace", "CliTest", "--metric-name", "Latency",
        "--dimensions", "Name=Service,Value=web", "--start-time", start, "--end-time", end,
        "--period", "1200", "--statistics", "Average", "Maximum", "Minimum", "SampleCount",
    )
    assert len(stats["Datapoints"]) == 1
    dp = stats["Datapoints"][0]
    assert (dp["Average"], dp["Maximum"], dp["Minimum"], dp["SampleCount"]) == (20.0, 30.0, 10.0, 3.0)
    assert dp["Unit"] == "Milliseconds"
