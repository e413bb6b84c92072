"""AMIs on the docker driver, driven by boto3: the golden-AMI bake
(CreateImage commits an instance's container), RegisterImage from a local
Docker image, DescribeImages, DeregisterImage."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server

from gureum.runtime.selection import data_dir_id

pytestmark = pytest.mark.e2e

AMI = "ami-0ba5eba5eba5e0001"
FAST = {"Delay": 0.2, "MaxAttempts": 150}


@pytest.fixture(scope="module")
def docker() -> Any:
    try:
        import docker as sdk

        from gureum.runtime.images import build_base

        client = sdk.from_env(timeout=30)
        client.ping()
        build_base(client)
        return client
    except Exception as exc:  # no engine: skip, saying why
        pytest.skip(f"no Docker engine answers ({exc}); start one with: bash .ci/setup-docker.sh")


@pytest.fixture(scope="module")
def server(docker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("ec2-images") / "data", "--runtime", "docker")
    yield srv
    stop_server(srv)
    for c in docker.containers.list(all=True, filters={"label": f"gureum.data-dir-id={data_dir_id(srv.data_dir)}"}):
        c.remove(force=True)


@pytest.fixture(scope="module")
def ec2(server: Server) -> Any:
    return boto3.client("ec2", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="t",
                        aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}))


def run(ec2: Any, image_id: str, user_data: str) -> dict[str, Any]:
    inst = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=user_data)["Instances"][0]
    ec2.get_waiter("instance_running").wait(InstanceIds=[inst["InstanceId"]], WaiterConfig=FAST)
    return inst  # type: ignore[no-any-return]


def wait_console(ec2: Any, iid: str, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in ec2.get_console_output(InstanceId=iid).get("Output", ""):
        assert time.monotonic() < deadline, f"{text!r} never showed on the console of {iid}"
        time.sleep(0.1)


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


def test_builtin_ami(ec2: Any) -> None:
    [img] = ec2.describe_images(ImageIds=[AMI])["Images"]
    assert (img["Name"], img["State"], img["ImageOwnerAlias"], img["Public"]) == ("gureum-busybox", "available", "amazon", True)
    found = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["gureum-*"]}])["Images"]
    assert [i["ImageId"] for i in found] == [AMI]
    other_region = boto3.client("ec2", endpoint_url=ec2.meta.endpoint_url, region_name="eu-west-1",
                                aws_access_key_id="t", aws_secret_access_key="t")
    assert other_region.describe_images(ImageIds=[AMI])["Images"][0]["State"] == "available"


def test_golden_ami_bake(ec2: Any, docker: Any) -> None:
    baker = run(ec2, AMI, "#!/bin/sh\nmkdir -p /srv && echo baked-into-the-ami > /srv/baked.txt\necho bake done\n")
    wait_console(ec2, baker["InstanceId"], "bake done")
    name = "golden-" + uuid.uuid4().hex[:6]
    ami = ec2.create_image(InstanceId=baker["InstanceId"], Name=name, Description="web golden image",
                           TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "stage", "Value": "golden"}]}])["ImageId"]
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["State"] in ("pending", "available")
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
    [img] = ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag:stage", "Values": ["golden"]}])["Images"]
    assert (img["ImageId"], img["Name"], img["SourceInstanceId"]) == (ami, name, baker["InstanceId"])
    assert docker.images.get(f"gureum/ami:{ami}")  # the commit, in the engine

    # An instance of the new AMI has the baked file, and runs its own user data (not the baker's).
    fresh = run(ec2, ami, "#!/bin/sh\nhttpd -p 80 -h /srv\necho serving\n")
    assert http_get(f"http://{fresh['PrivateIpAddress']}/baked.txt") == "baked-into-the-ami\n"
    wait_console(ec2, fresh["InstanceId"], "serving")
    assert "bake done" not in ec2.get_console_output(InstanceId=fresh["InstanceId"])["Output"]

    ids = [baker["InstanceId"], fresh["InstanceId"]]
    ec2.terminate_instances(InstanceIds=ids)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=FAST)
    ec2.deregister_image(ImageId=ami)
    assert ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])["Images"] == []
    deadline = time.monotonic() + 15
    while docker.images.list(name="gureum/ami", filters={"reference": f"gureum/ami:{ami}"}):
        assert time.monotonic() < deadline, "the baked image was not removed from the engine"
        time.sleep(0.1)


def test_register_image_from_a_local_docker_image(ec2: Any, docker: Any) -> None:
    ref = f"ec2-e2e/custom:{uuid.uuid4().hex[:6]}"
    base = docker.images.get("gureum/busybox:latest")
    repo, tag = ref.split(":")
    base.tag(repo, tag)
    try:
        ami = ec2.register_image(Name="custom-" + tag, ImageLocation=ref)["ImageId"]
        ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=FAST)
        assert ec2.describe_images(ImageIds=[ami])["Images"][0]["ImageLocation"] == ref
        inst = run(ec2, ami, "#!/bin/sh\necho custom image up\n")
        wait_console(ec2, inst["InstanceId"], "custom image up")
        ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])

        missing = ec2.register_image(Name="missing-" + tag, ImageLocation="ec2-e2e/not-here:1")["ImageId"]
        deadline = time.monotonic() + 20
        while (img := ec2.describe_images(ImageIds=[missing])["Images"][0])["State"] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert img["State"] == "failed" and "ec2-e2e/not-here:1" in img["StateReason"]["Message"]
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[inst["InstanceId"]], WaiterConfig=FAST)
    finally:
        docker.images.remove(ref, force=True)
