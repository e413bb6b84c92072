"""Shared pieces of the OpsWorks e2e tests: clients that load Gureum's model,
zips, waits, and reaching an instance's agent from outside Gureum."""

from __future__ import annotations

import io
import json
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config

from gureum.protocol.models import DATA_PATH

T = TypeVar("T")
ROLE = "arn:aws:iam::000000000000:role/aws-opsworks-service-role"
PROFILE = "arn:aws:iam::000000000000:instance-profile/aws-opsworks-ec2-role"


def session() -> boto3.Session:
    """A boto3 session whose loader also searches Gureum's model folder (as AWS_DATA_PATH does)."""
    core = botocore.session.Session()
    core.set_config_variable("data_path", str(DATA_PATH))
    core.set_credentials("test", "test")
    return boto3.Session(botocore_session=core, region_name="us-east-1")


def clients(endpoint: str) -> dict[str, Any]:
    s = session()
    cfg = Config(retries={"max_attempts": 1})
    return {name: s.client(name, endpoint_url=endpoint, config=cfg) for name in ("opsworks", "s3", "elbv2", "ec2")}


def zipped(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def wait_for(fn: Callable[[], T | None], timeout: float, what: str, every: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            value = fn()
        except AssertionError as exc:
            value, last = None, exc
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last})")


def http_get(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> str | None:
    try:
        req = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read().decode()  # type: ignore[no-any-return]
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def statuses(ow: Any, stack_id: str) -> dict[str, str]:
    return {i["Hostname"]: i["Status"] for i in ow.describe_instances(StackId=stack_id)["Instances"]}


def wait_status(ow: Any, stack_id: str, wanted: dict[str, str], timeout: float) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        insts = {i["Hostname"]: i for i in ow.describe_instances(StackId=stack_id)["Instances"]}
        got = {h: insts[h]["Status"] for h in wanted if h in insts}
        return insts if got == wanted else None

    return wait_for(check, timeout, f"instances {wanted} (now {statuses(ow, stack_id)})")


def commands(ow: Any, instance_id: str, ctype: str | None = None) -> list[dict[str, Any]]:
    out = ow.describe_commands(InstanceId=instance_id)["Commands"]
    return [c for c in out if ctype is None or c["Type"] == ctype]


def log_of(command: dict[str, Any]) -> str:
    text = http_get(command["LogUrl"])
    assert text is not None, f"no log at {command['LogUrl']}"
    return text


def wait_deployment(ow: Any, deployment_id: str, timeout: float = 30.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        d = ow.describe_deployments(DeploymentIds=[deployment_id])["Deployments"][0]
        return d if d["Status"] != "running" else None

    return wait_for(done, timeout, f"deployment {deployment_id}")


def stop_agent_process_driver(data_dir: Path, hostname: str) -> None:
    """Run ``opsworks-agent-cli stop`` of the instance called ``hostname`` (process driver: host files)."""
    for hostfile in (data_dir / "runtime" / "process" / "containers").glob("*/work/etc/opsworks/hostname"):
        if hostfile.read_text().strip() == hostname:
            cli = hostfile.parents[2] / "opt" / "aws" / "opsworks" / "bin" / "opsworks-agent-cli"
            out = subprocess.run(["sh", str(cli), "stop"], capture_output=True, text=True, timeout=10)
            assert "stopped" in out.stdout, out
            return
    raise AssertionError(f"no process-driver instance with hostname {hostname}")


def stop_agent_docker(ec2_instance_id: str) -> None:
    cli = "/opt/aws/opsworks/bin/opsworks-agent-cli"
    out = subprocess.run(["docker", "exec", f"gureum-ec2-{ec2_instance_id}", "sh", cli, "stop"],
                         capture_output=True, text=True, timeout=20)
    assert "stopped" in out.stdout, out


def new_stack(ow: Any, name: str, cookbooks_url: str | None = None, **extra: Any) -> str:
    args: dict[str, Any] = {"Name": name, "Region": "us-east-1", "ServiceRoleArn": ROLE,
                            "DefaultInstanceProfileArn": PROFILE, **extra}
    if cookbooks_url:
        args.update(UseCustomCookbooks=True, CustomCookbooksSource={"Type": "s3", "Url": cookbooks_url})
    return str(ow.create_stack(**args)["StackId"])


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)


def wipe_process_instances(data_dir: Path) -> None:
    """Remove what a stopped process-driver Gureum left running in ``data_dir`` (its instances)."""
    import asyncio

    from gureum.runtime.process import ProcessDriver
    from gureum.runtime.selection import data_dir_id

    async def wipe() -> None:
        drv = ProcessDriver(data_dir / "runtime" / "process", data_dir_id(data_dir))
        for st in await drv.list():
            await drv.remove(st.id, force=True)

    asyncio.run(wipe())
