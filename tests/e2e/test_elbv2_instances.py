"""EC2 instances as ``instance`` targets of an ALB (real containers on Docker).

The instances run the built-in AMI with user data that starts ``httpd`` on
port 80 of each instance's private IP; the balancer finds that IP through
EC2 (``DescribeInstances``' ``PrivateIpAddress``).  Skipped, with the reason,
when no Docker engine answers.
"""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e

AMI = "ami-0ba5eba5eba5e0001"  # EC2's built-in busybox AMI
WEB = """#!/bin/sh
mkdir -p /www
echo "$GUREUM_INSTANCE_ID" > /www/index.html
echo ok > /www/health
httpd -p 80 -h /www
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        import docker

        from gureum.runtime.images import build_base

        engine = docker.from_env(timeout=30)
        engine.ping()
        build_base(engine)
    except Exception as exc:  # any failure to reach an engine means: skip, saying why
        pytest.skip(f"no Docker engine answers ({exc})")
    srv = start_server(tmp_path_factory.mktemp("elbv2-ec2") / "data", "--runtime", "docker", "--time-scale", "5")
    yield srv
    stop_server(srv)


def _client(srv: Server, name: str) -> Any:
    return boto3.client(name, endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id="t",
                        aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}))  # fmt: skip


def test_instances_behind_a_balancer(cloud: Server, tmp_path: Path) -> None:
    ec2, elb = _client(cloud, "ec2"), _client(cloud, "elbv2")
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=AMI, MinCount=2, MaxCount=2, UserData=WEB)["Instances"]]
    try:
        ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
        tg = elb.create_target_group(
            Name="web", Protocol="HTTP", Port=80, HealthCheckPath="/health", HealthCheckIntervalSeconds=5,
            HealthCheckTimeoutSeconds=4, HealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i} for i in ids])
        lb = elb.create_load_balancer(Name="web")["LoadBalancers"][0]
        listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                       DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]  # fmt: skip
        elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
        attrs = elb.describe_listener_attributes(ListenerArn=listener["ListenerArn"])["Attributes"]
        address = {a["Key"]: a["Value"] for a in attrs}["gureum.bound_address"]
        seen = Counter()
        for _ in range(10):
            req = urllib.request.Request(f"http://{address}/", headers={"Host": lb["DNSName"]})
            seen[urllib.request.urlopen(req, timeout=10).read().decode().strip()] += 1
        assert seen == {ids[0]: 5, ids[1]: 5}
        ec2.stop_instances(InstanceIds=[ids[0]])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            health = {d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
                      for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}  # fmt: skip
            if health[ids[0]][0] == "unused":
                break
            time.sleep(0.1)
        assert health == {ids[0]: ("unused", "Target.InvalidState"), ids[1]: ("healthy", None)}
        req = urllib.request.Request(f"http://{address}/", headers={"Host": lb["DNSName"]})
        assert {urllib.request.urlopen(req, timeout=10).read().decode().strip() for _ in range(4)} == {ids[1]}
    finally:
        ec2.terminate_instances(InstanceIds=ids)
