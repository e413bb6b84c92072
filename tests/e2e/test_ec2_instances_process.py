"""EC2 instances on the process driver (``gureum up --runtime process``): the
same lifecycle with host processes instead of containers.

The process driver has no network namespace, so the user data binds the
instance's private IP itself (``$GUREUM_PRIVATE_IP``), and runs ``httpd -f``
in the background rather than letting it daemonize: a daemon that leaves
its process group (setsid) would outlive the instance.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server

from gureum.runtime.images import BaseImageError, find_busybox
from gureum.runtime.selection import data_dir_id

pytestmark = pytest.mark.e2e

AMI = "ami-0ba5eba5eba5e0001"
FAST = {"Delay": 0.2, "MaxAttempts": 150}
WEB = """#!/bin/sh
mkdir -p www && echo "hello from $GUREUM_INSTANCE_ID" > www/index.html
httpd -f -p "$GUREUM_PRIVATE_IP:80" -h www &
echo web is up
"""


def _running_processes(data: Path) -> list[Any]:
    from gureum.runtime.process import ProcessDriver

    async def go() -> list[Any]:
        return [s for s in await ProcessDriver(data / "runtime" / "process", data_dir_id(data)).list() if s.running]

    return asyncio.run(go())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        find_busybox()
    except BaseImageError as exc:
        pytest.skip(f"the process driver's busybox AMI needs the host's busybox: {exc}")
    srv = start_server(tmp_path_factory.mktemp("ec2-process") / "data", "--runtime", "process")
    yield srv
    stop_server(srv)

    from gureum.runtime.process import ProcessDriver

    async def wipe() -> None:
        drv = ProcessDriver(srv.data_dir / "runtime" / "process", data_dir_id(srv.data_dir))
        for st in await drv.list():
            await drv.remove(st.id, force=True)

    asyncio.run(wipe())


@pytest.fixture(scope="module")
def ec2(server: Server) -> Any:
    return boto3.client("ec2", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="t",
                        aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}))


def http_get(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.read().decode()  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout}s: {exc}") from exc
            time.sleep(0.1)


def unreachable(url: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return True
        time.sleep(0.1)
    return False


def test_lifecycle_on_the_process_driver(server: Server, ec2: Any) -> None:
    out = ec2.run_instances(ImageId=AMI, MinCount=2, MaxCount=2, InstanceType="t3.nano", UserData=WEB)
    ids = [i["InstanceId"] for i in out["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=FAST)
    insts = {i["InstanceId"]: i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]}
    for iid, inst in insts.items():
        assert http_get(f"http://{inst['PrivateIpAddress']}/") == f"hello from {iid}\n"
    assert len(_running_processes(server.data_dir)) == 2

    first, second = ids
    ec2.stop_instances(InstanceIds=[first])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[first], WaiterConfig=FAST)
    assert unreachable(f"http://{insts[first]['PrivateIpAddress']}/")  # its whole process group went down
    ec2.start_instances(InstanceIds=[first])
    ec2.get_waiter("instance_running").wait(InstanceIds=[first], WaiterConfig=FAST)
    console = ec2.get_console_output(InstanceId=first)["Output"]
    assert console.count("booting") == 2 and console.count("web is up") == 1

    ec2.terminate_instances(InstanceIds=ids)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=FAST)
    assert unreachable(f"http://{insts[second]['PrivateIpAddress']}/")
    assert _running_processes(server.data_dir) == []
