"""EC2 instances as real containers on the docker driver, driven by boto3.

A server of its own (``--runtime docker``); skipped, with the reason, only
when no engine answers (``bash .ci/setup-docker.sh`` starts one).  The
instances run the built-in AMI (``gureum/busybox``) and their user data
starts ``httpd`` on port 80, published on each instance's private IP.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import Server, start_server, stop_server

from gureum.runtime.selection import data_dir_id

pytestmark = pytest.mark.e2e

AMI = "ami-0ba5eba5eba5e0001"
FAST = {"Delay": 0.2, "MaxAttempts": 150}
WEB = """#!/bin/bash
mkdir -p /www
echo "hello from $GUREUM_INSTANCE_ID" > /www/index.html
httpd -p 80 -h /www
echo web is up
"""


def _docker() -> Any:
    try:
        import docker

        from gureum.runtime.images import build_base

        client = docker.from_env(timeout=30)
        client.ping()
        build_base(client)
        return client
    except Exception as exc:  # any failure to reach an engine means: skip, saying why
        pytest.skip(f"no Docker engine answers ({exc}); start one with: bash .ci/setup-docker.sh")


class Cloud:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.ec2 = boto3.client("ec2", endpoint_url=server.endpoint, region_name="us-east-1",
                                aws_access_key_id="t", aws_secret_access_key="t",
                                config=Config(retries={"max_attempts": 1}))
        self.ddid = data_dir_id(server.data_dir)

    def restart(self) -> None:
        stop_server(self.server)
        self.__init__(start_server(self.server.data_dir, "--runtime", "docker"))  # type: ignore[misc]

    def run(self, n: int = 1, user_data: str = WEB, **kw: Any) -> list[str]:
        out = self.ec2.run_instances(ImageId=AMI, MinCount=n, MaxCount=n, UserData=user_data, **kw)
        return [i["InstanceId"] for i in out["Instances"]]

    def instance(self, iid: str) -> dict[str, Any]:
        return self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]  # type: ignore[no-any-return]

    def wait(self, waiter: str, ids: list[str]) -> None:
        self.ec2.get_waiter(waiter).wait(InstanceIds=ids, WaiterConfig=FAST)

    def containers(self, docker: Any, iid: str) -> list[Any]:
        return docker.containers.list(all=True, filters={"label": [f"gureum.ec2.instance={iid}",
                                                                   f"gureum.data-dir-id={self.ddid}"]})


@pytest.fixture(scope="module")
def docker() -> Any:
    return _docker()


@pytest.fixture(scope="module")
def cloud(docker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    data: Path = tmp_path_factory.mktemp("ec2-docker") / "data"
    c = Cloud(start_server(data, "--runtime", "docker"))
    yield c
    stop_server(c.server)
    for container in docker.containers.list(all=True, filters={"label": f"gureum.data-dir-id={c.ddid}"}):
        container.remove(force=True)


def http_get(url: str, timeout: float = 20.0) -> str:
    """GET with a bounded retry: the user data starts the server a moment after boot."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.read().decode()  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout}s: {exc}") from exc
            time.sleep(0.1)


def unreachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return True
    return False


def console(cloud: Cloud, iid: str) -> str:
    return str(cloud.ec2.get_console_output(InstanceId=iid).get("Output", ""))


def wait_console(cloud: Cloud, iid: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while text not in (out := console(cloud, iid)):
        assert time.monotonic() < deadline, f"{text!r} not on the console of {iid}: {out!r}"
        time.sleep(0.1)
    return out


def test_two_web_instances_answer_on_their_private_ips(cloud: Cloud, docker: Any) -> None:
    name = "web-" + uuid.uuid4().hex[:6]
    ids = cloud.run(2, InstanceType="t3.micro",
                    TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
    cloud.wait("instance_running", ids)
    found = cloud.ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]},
                                                  {"Name": "instance-state-name", "Values": ["running"]}])
    insts = [i for r in found["Reservations"] for i in r["Instances"]]
    assert sorted(i["InstanceId"] for i in insts) == sorted(ids)
    ips = {i["InstanceId"]: i["PrivateIpAddress"] for i in insts}
    assert len(set(ips.values())) == 2
    for iid, ip in ips.items():
        assert http_get(f"http://{ip}/") == f"hello from {iid}\n"
        assert cloud.instance(iid)["PrivateDnsName"] == f"ip-{ip.replace('.', '-')}.ec2.internal"
    by_ip = cloud.ec2.describe_instances(Filters=[{"Name": "private-ip-address", "Values": [ips[ids[1]]]}])
    assert [i["InstanceId"] for r in by_ip["Reservations"] for i in r["Instances"]] == [ids[1]]
    out = wait_console(cloud, ids[0], "web is up")
    assert "gureum-init: booting" in out
    status = cloud.ec2.describe_instance_status(InstanceIds=ids)["InstanceStatuses"]
    assert {s["InstanceState"]["Name"] for s in status} == {"running"}
    assert {s["InstanceStatus"]["Status"] for s in status} <= {"initializing", "ok"}
    # t3.micro: 2 vCPUs (at most the host's) and 1 GiB, enforced by the engine.
    attrs = cloud.containers(docker, ids[0])[0].attrs["HostConfig"]
    assert attrs["Memory"] == 1024 ** 3
    assert 0 < attrs["NanoCpus"] <= 2 * 10 ** 9
    cloud.ec2.terminate_instances(InstanceIds=ids)
    cloud.wait("instance_terminated", ids)


def test_stop_start_reboot_terminate(cloud: Cloud, docker: Any) -> None:
    [iid] = cloud.run()
    cloud.wait("instance_running", [iid])
    ip = cloud.instance(iid)["PrivateIpAddress"]
    http_get(f"http://{ip}/")
    [container] = cloud.containers(docker, iid)

    stopping = cloud.ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert (stopping["PreviousState"]["Name"], stopping["CurrentState"]["Name"]) == ("running", "stopping")
    cloud.wait("instance_stopped", [iid])
    inst = cloud.instance(iid)
    assert inst["State"] == {"Code": 80, "Name": "stopped"}
    assert inst["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert inst["StateTransitionReason"].startswith("User initiated (")
    container.reload()
    assert container.status == "exited"  # stopped, not removed
    assert unreachable(f"http://{ip}/")

    starting = cloud.ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert starting["CurrentState"]["Name"] == "pending"
    cloud.wait("instance_running", [iid])
    assert [c.id for c in cloud.containers(docker, iid)] == [container.id]  # the same machine again
    assert cloud.instance(iid)["PrivateIpAddress"] == ip
    out = wait_console(cloud, iid, f"{iid} is up\n", timeout=10)
    assert out.count("booting") == 2 and out.count("web is up") == 1  # user data: first boot only

    container.reload()
    started = container.attrs["State"]["StartedAt"]
    cloud.ec2.reboot_instances(InstanceIds=[iid])
    deadline = time.monotonic() + 15
    while True:
        container.reload()
        if container.attrs["State"]["StartedAt"] != started and container.status == "running":
            break
        assert time.monotonic() < deadline, "the reboot did not restart the container"
        time.sleep(0.1)
    assert cloud.instance(iid)["State"]["Name"] == "running"

    with pytest.raises(ClientError) as exc:
        cloud.ec2.start_instances(InstanceIds=["i-0000000000000dead"])
    assert exc.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    terminating = cloud.ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert terminating["CurrentState"] == {"Code": 32, "Name": "shutting-down"}
    cloud.wait("instance_terminated", [iid])
    assert cloud.containers(docker, iid) == []
    gone = cloud.instance(iid)  # still visible, as on AWS
    assert gone["State"]["Name"] == "terminated" and "PrivateIpAddress" not in gone
    with pytest.raises(ClientError) as exc:
        cloud.ec2.start_instances(InstanceIds=[iid])
    assert exc.value.response["Error"]["Code"] == "IncorrectInstanceState"


def test_containers_killed_or_removed_outside_gureum(cloud: Cloud, docker: Any) -> None:
    killed, removed = cloud.run(2, user_data="#!/bin/sh\necho idle\n")
    cloud.wait("instance_running", [killed, removed])
    cloud.containers(docker, killed)[0].kill()
    cloud.containers(docker, removed)[0].remove(force=True)
    cloud.wait("instance_stopped", [killed])
    assert cloud.instance(killed)["StateReason"]["Code"] == "Server.InternalError"
    cloud.wait("instance_terminated", [removed])
    assert cloud.instance(removed)["StateReason"]["Code"] == "Server.InternalError"
    cloud.ec2.start_instances(InstanceIds=[killed])  # a stopped instance starts again
    cloud.wait("instance_running", [killed])
    cloud.ec2.terminate_instances(InstanceIds=[killed])
    cloud.wait("instance_terminated", [killed])


def test_launch_template_and_errors_over_the_wire(cloud: Cloud) -> None:
    name = "tpl-" + uuid.uuid4().hex[:6]
    user_data = base64.b64encode(b"#!/bin/sh\necho from-template\n").decode()
    lt = cloud.ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
        "ImageId": AMI, "InstanceType": "t2.nano", "UserData": user_data,
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "tpl", "Value": name}]}]})
    tid = lt["LaunchTemplate"]["LaunchTemplateId"]
    iid = cloud.ec2.run_instances(MinCount=1, MaxCount=1,
                                  LaunchTemplate={"LaunchTemplateName": name, "Version": "$Latest"})["Instances"][0]["InstanceId"]
    cloud.wait("instance_running", [iid])
    inst = cloud.instance(iid)
    assert inst["InstanceType"] == "t2.nano"
    assert {"Key": "aws:ec2launchtemplate:id", "Value": tid} in inst["Tags"]
    wait_console(cloud, iid, "from-template")
    cloud.ec2.terminate_instances(InstanceIds=[iid])

    def code(**kw: Any) -> str:
        with pytest.raises(ClientError) as exc:
            cloud.ec2.run_instances(**{"ImageId": AMI, "MinCount": 1, "MaxCount": 1, **kw})
        return str(exc.value.response["Error"]["Code"])

    assert code(ImageId="ami-00000000000000000") == "InvalidAMIID.NotFound"
    assert code(InstanceType="t9.huge") == "InvalidParameterValue"
    assert code(MinCount=3, MaxCount=2) == "InvalidParameterValue"
    assert code(LaunchTemplate={"LaunchTemplateName": "no-such-template"}) == "InvalidLaunchTemplateName.NotFoundException"
    assert code(DryRun=True) == "DryRunOperation"
    cloud.wait("instance_terminated", [iid])


def test_a_restarted_server_adopts_running_instances(cloud: Cloud, docker: Any) -> None:
    [iid] = cloud.run()
    cloud.wait("instance_running", [iid])
    ip = cloud.instance(iid)["PrivateIpAddress"]
    http_get(f"http://{ip}/")
    [before] = cloud.containers(docker, iid)
    cloud.restart()
    assert cloud.instance(iid)["State"]["Name"] == "running"
    cloud.wait("instance_running", [iid])
    assert [c.id for c in cloud.containers(docker, iid)] == [before.id]  # adopted, not duplicated
    assert http_get(f"http://{ip}/") == f"hello from {iid}\n"
    cloud.ec2.stop_instances(InstanceIds=[iid])  # the new server drives the old container
    cloud.wait("instance_stopped", [iid])
    cloud.ec2.terminate_instances(InstanceIds=[iid])
    cloud.wait("instance_terminated", [iid])
    assert cloud.containers(docker, iid) == []
