"""AttachInstances and instance refresh end to end: boto3 against a real server and real instances.

One server for the module, as in test_autoscaling (``--runtime process
--time-scale 30``: a virtual minute passes in two real seconds; instances
are processes that start in a fraction of a second).  Every wait is a
bounded poll on a condition.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import start_server, stop_server
from test_autoscaling import AMI, ZONES, Cloud, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    server = start_server(tmp_path_factory.mktemp("asg-refresh") / "data", "--runtime", "process",
                          "--time-scale", "30")
    try:
        yield Cloud(server)
    finally:
        stop_server(server)


def count(cloud: Cloud, name: str, n: int) -> list[str] | None:
    found = cloud.in_service(name)
    return found if len(found) == n else None


def test_attached_instance_joins_the_group_and_its_target_group(cloud: Cloud) -> None:
    vpc = cloud.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    suffix = uuid.uuid4().hex[:6]
    tg = cloud.elb.create_target_group(Name=f"tg-{suffix}", Protocol="HTTP", Port=80, VpcId=vpc,
                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    name = cloud.group(1, MaxSize=2, TargetGroupARNs=[tg])
    wait_for(lambda: count(cloud, name, 1))
    zone = ZONES[1]  # the group's first instance went to ZONES[0]: attaching here keeps the zones balanced
    iid = cloud.ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                  Placement={"AvailabilityZone": zone})["Instances"][0]["InstanceId"]
    wait_for(lambda: cloud.ec2_state(iid) == "running")
    cloud.asg.attach_instances(AutoScalingGroupName=name, InstanceIds=[iid])
    assert cloud.describe(name)["DesiredCapacity"] == 2
    wait_for(lambda: iid in cloud.in_service(name))
    assert len(cloud.describe(name)["Instances"]) == 2  # nothing launched besides
    act = next(a for a in cloud.activities(name) if a["Description"] == f"Attaching an existing EC2 instance: {iid}")
    assert "an instance was added in response to user request. Keeping the capacity at the new 2." in act["Cause"]
    assert act["StatusCode"] == "Successful"
    tags = cloud.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["Tags"]
    assert {"Key": "aws:autoscaling:groupName", "Value": name} in tags
    health = cloud.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert iid in {t["Target"]["Id"] for t in health}  # registered as it came into service
    other = cloud.ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                    Placement={"AvailabilityZone": zone})["Instances"][0]["InstanceId"]
    wait_for(lambda: cloud.ec2_state(other) == "running")
    with pytest.raises(ClientError) as info:
        cloud.asg.attach_instances(AutoScalingGroupName=name, InstanceIds=[other])
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert "Desired capacity:3 must be between the specified min size:0 and max size:2" in \
        info.value.response["Error"]["Message"]
    cloud.ec2.terminate_instances(InstanceIds=[other])
    cloud.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


class Sampler:
    """Counts the group's InService instances in the background, keeping the lowest seen."""

    def __init__(self, cloud: Cloud, name: str) -> None:
        self.cloud, self.name = cloud, name
        self.lowest: int | None = None
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            n = len(self.cloud.in_service(self.name))
            self.lowest = n if self.lowest is None else min(self.lowest, n)
            self.samples += 1
            self.stop.wait(0.05)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join(5)


def test_instance_refresh_rolls_the_group_to_a_new_template_version(cloud: Cloud) -> None:
    template = cloud.template()
    name = "g-" + uuid.uuid4().hex[:8]
    cloud.asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=3, DesiredCapacity=2,
                                        AvailabilityZones=ZONES,
                                        LaunchTemplate={"LaunchTemplateName": template, "Version": "1"})
    first = set(wait_for(lambda: count(cloud, name, 2)))
    cloud.ec2.create_launch_template_version(LaunchTemplateName=template, SourceVersion="1",
                                             LaunchTemplateData={"InstanceType": "t3.small"})
    with Sampler(cloud, name) as sampler:
        rid = cloud.asg.start_instance_refresh(
            AutoScalingGroupName=name, Strategy="Rolling",
            DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": template, "Version": "2"}},
            Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 30})["InstanceRefreshId"]
        with pytest.raises(ClientError) as info:
            cloud.asg.start_instance_refresh(AutoScalingGroupName=name)
        assert info.value.response["Error"]["Code"] == "InstanceRefreshInProgress"

        def finished() -> dict[str, Any] | None:
            r = cloud.asg.describe_instance_refreshes(AutoScalingGroupName=name)["InstanceRefreshes"][0]
            assert r["Status"] in ("Pending", "InProgress", "Successful"), r
            return r if r["Status"] == "Successful" else None

        done = wait_for(finished, timeout=40, every=0.2)
    assert sampler.samples > 10 and sampler.lowest is not None and sampler.lowest >= 1
    assert done["InstanceRefreshId"] == rid and done["PercentageComplete"] == 100 and done["InstancesToUpdate"] == 0
    assert done["Preferences"]["MinHealthyPercentage"] == 50 and done["EndTime"] >= done["StartTime"]
    group = cloud.describe(name)
    now = [i for i in group["Instances"] if i["LifecycleState"] == "InService"]
    assert len(now) == 2 and not first & {i["InstanceId"] for i in now}
    assert all(i["LaunchTemplate"]["Version"] == "2" and i["InstanceType"] == "t3.small" for i in now)
    assert group["LaunchTemplate"]["Version"] == "2"  # the desired configuration is the group's now
    causes = [a["Cause"] for a in cloud.activities(name)]
    assert sum("an instance was launched in response to an instance refresh." in c for c in causes) == 2
    assert sum("taken out of service in response to an instance refresh." in c for c in causes) == 2
    wait_for(lambda: all(cloud.ec2_state(i) in ("shutting-down", "terminated") for i in first))
    with pytest.raises(ClientError) as info:
        cloud.asg.cancel_instance_refresh(AutoScalingGroupName=name)
    assert info.value.response["Error"]["Code"] == "ActiveInstanceRefreshNotFound"
    cloud.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_an_acknowledged_refresh_survives_kill_9_and_resumes(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("asg-refresh-kill") / "data"
    first = start_server(data, "--runtime", "process", "--time-scale", "30")
    try:
        cloud = Cloud(first)
        template = cloud.template()
        name = "g-" + uuid.uuid4().hex[:8]
        cloud.asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=2, DesiredCapacity=1,
                                            AvailabilityZones=ZONES,
                                            LaunchTemplate={"LaunchTemplateName": template, "Version": "1"})
        old = wait_for(lambda: count(cloud, name, 1))[0]
        cloud.ec2.create_launch_template_version(LaunchTemplateName=template, SourceVersion="1",
                                                 LaunchTemplateData={"InstanceType": "t3.small"})
        rid = cloud.asg.start_instance_refresh(
            AutoScalingGroupName=name, Preferences={"InstanceWarmup": 0},
            DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": template, "Version": "2"}},
        )["InstanceRefreshId"]
        first.proc.kill()  # SIGKILL right after the answer: no shutdown hook runs
        first.proc.wait(10)
    finally:
        stop_server(first)
    second = start_server(data, "--runtime", "process", "--time-scale", "30")
    try:
        cloud = Cloud(second)

        def successful() -> dict[str, Any] | None:
            found = cloud.asg.describe_instance_refreshes(AutoScalingGroupName=name)["InstanceRefreshes"]
            return found[0] if found and found[0]["Status"] == "Successful" else None

        done = wait_for(successful, timeout=30, every=0.2)
        assert done["InstanceRefreshId"] == rid and done["PercentageComplete"] == 100
        now = wait_for(lambda: count(cloud, name, 1))
        assert now[0] != old
        instance = cloud.describe(name)["Instances"][0]
        assert instance["LaunchTemplate"]["Version"] == "2"
        cloud.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        wait_for(lambda: all(cloud.ec2_state(i) in ("shutting-down", "terminated") for i in (old, now[0])))
    finally:
        stop_server(second)
