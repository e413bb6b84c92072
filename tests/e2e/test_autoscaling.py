"""EC2 Auto Scaling end to end with boto3: groups of real EC2 instances.

One server for the module: ``--runtime process --time-scale 30`` (a virtual
minute passes in two real seconds, so alarms evaluate and cooldowns pass
quickly; the process driver starts an instance in a fraction of a second).
The instances run the built-in AMI from a launch template.  Every wait is a
bounded poll on a condition.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import Server, start_server, stop_server
from waiting import wait_for

from gureum.runtime.selection import data_dir_id

pytestmark = pytest.mark.e2e

AMI = "ami-0ba5eba5eba5e0001"
ZONES = ["us-east-1a", "us-east-1b"]


class Cloud:
    def __init__(self, server: Server) -> None:
        self.server = server
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        cfg = Config(retries={"max_attempts": 1})
        self.ec2 = session.client("ec2", endpoint_url=server.endpoint, config=cfg)
        self.asg = session.client("autoscaling", endpoint_url=server.endpoint, config=cfg)
        self.cw = session.client("cloudwatch", endpoint_url=server.endpoint, config=cfg)
        self.elb = session.client("elbv2", endpoint_url=server.endpoint, config=cfg)

    def template(self) -> str:
        name = "lt-" + uuid.uuid4().hex[:8]
        self.ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": AMI,
                                                                                      "InstanceType": "t3.micro"})
        return name

    def group(self, desired: int, **extra: Any) -> str:
        name = "g-" + uuid.uuid4().hex[:8]
        req: dict[str, Any] = dict(AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": self.template()},
                                   MinSize=0, MaxSize=5, DesiredCapacity=desired, AvailabilityZones=ZONES)
        req.update(extra)
        self.asg.create_auto_scaling_group(**req)
        return name

    def describe(self, name: str) -> dict[str, Any]:
        return self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]  # type: ignore[no-any-return]

    def in_service(self, name: str) -> list[str]:
        return [i["InstanceId"] for i in self.describe(name)["Instances"] if i["LifecycleState"] == "InService"]

    def ec2_state(self, iid: str) -> str:
        return str(self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"])

    def activities(self, name: str) -> list[dict[str, Any]]:
        return self.asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]  # type: ignore[no-any-return]

    def virtual_now(self) -> float:
        """The server's clock (virtual time): the creation time of an empty group."""
        name = "clock-" + uuid.uuid4().hex[:8]
        self.asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchConfigurationName=self.config(),
                                           MinSize=0, MaxSize=0, AvailabilityZones=ZONES)
        created = self.describe(name)["CreatedTime"].timestamp()
        self.asg.delete_auto_scaling_group(AutoScalingGroupName=name)
        return float(created)

    def config(self) -> str:
        if not getattr(self, "_config", None):
            self._config = "lc-" + uuid.uuid4().hex[:8]
            self.asg.create_launch_configuration(LaunchConfigurationName=self._config, ImageId=AMI,
                                                 InstanceType="t3.micro")
        return self._config

    def let_virtual_time_pass(self, seconds: float) -> None:
        """Wait (polling the server's clock) until ``seconds`` of virtual time have passed."""
        until = self.virtual_now() + seconds
        wait_for(lambda: self.virtual_now() >= until, timeout=seconds / 30 + 10)

    def kill(self, iid: str) -> None:
        """Kill the instance's process out of band, as ``docker kill`` would its container."""
        from gureum.runtime.process import ProcessDriver

        async def go() -> None:
            drv = ProcessDriver(self.server.data_dir / "runtime" / "process", data_dir_id(self.server.data_dir))
            found = await drv.list({"gureum.ec2.instance": iid})
            assert found, f"no process for {iid}"
            await drv.kill(found[0].id, "SIGKILL")

        asyncio.run(go())


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    server = start_server(tmp_path_factory.mktemp("autoscaling") / "data", "--runtime", "process",
                          "--time-scale", "30")
    try:
        yield Cloud(server)
    finally:
        stop_server(server)




def test_group_of_two_real_instances_then_three(cloud: Cloud) -> None:
    name = cloud.group(2)
    ids = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(cloud.in_service(name)))
    assert all(cloud.ec2_state(i) == "running" for i in ids)  # real instances, running containers
    zones = sorted(i["AvailabilityZone"] for i in cloud.describe(name)["Instances"])
    assert zones == ZONES
    cloud.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=3)
    ids = wait_for(lambda: (lambda s: s if len(s) == 3 else None)(cloud.in_service(name)))
    assert all(cloud.ec2_state(i) == "running" for i in ids)
    acts = cloud.activities(name)
    assert [a["StatusCode"] for a in acts] == ["Successful"] * 3
    assert "a user request explicitly set group desired capacity changing the desired capacity from 2 to 3" in \
        acts[0]["Cause"]
    detail = cloud.asg.describe_auto_scaling_instances(InstanceIds=ids[:1])["AutoScalingInstances"][0]
    assert detail["AutoScalingGroupName"] == name and detail["HealthStatus"] == "HEALTHY"
    tags = cloud.ec2.describe_instances(InstanceIds=ids[:1])["Reservations"][0]["Instances"][0].get("Tags") or []
    assert {"Key": "aws:autoscaling:groupName", "Value": name} in tags  # what EC2 Auto Scaling tags its instances with
    cloud.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    wait_for(lambda: all(cloud.ec2_state(i) in ("shutting-down", "terminated") for i in ids))


def test_an_instance_killed_out_of_band_is_replaced(cloud: Cloud) -> None:
    name = cloud.group(2)
    first = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(cloud.in_service(name)))
    victim = first[0]
    cloud.kill(victim)
    now = wait_for(lambda: (lambda s: s if len(s) == 2 and victim not in s else None)(cloud.in_service(name)))
    assert set(now) - set(first)
    assert cloud.ec2_state(victim) in ("shutting-down", "terminated")
    causes = " ".join(a["Cause"] for a in cloud.activities(name))
    assert "in response to an EC2 health check indicating it has been terminated or stopped" in causes
    cloud.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_step_policy_on_a_custom_metric_scales_out(cloud: Cloud) -> None:
    name = cloud.group(1)
    wait_for(lambda: len(cloud.in_service(name)) == 1)
    arn = cloud.asg.put_scaling_policy(
        AutoScalingGroupName=name, PolicyName="out", PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
        EstimatedInstanceWarmup=0,
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
                         {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}])["PolicyARN"]
    metric = f"Queue-{name}"
    cloud.cw.put_metric_alarm(AlarmName=f"deep-{name}", Namespace="App", MetricName=metric, Statistic="Average",
                              Period=60, EvaluationPeriods=1, Threshold=50.0,
                              ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])

    def pushed_and_scaled() -> bool:
        cloud.cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": metric, "Value": 95.0}])
        return bool(cloud.describe(name)["DesiredCapacity"] >= 3)

    wait_for(pushed_and_scaled, timeout=30, every=0.3)
    wait_for(lambda: len(cloud.in_service(name)) >= 3)
    launched = [a for a in cloud.activities(name) if f"a monitor alarm deep-{name} in state ALARM triggered policy out"
                in a["Cause"]]
    assert launched and launched[0]["Description"].startswith("Launching a new EC2 instance: i-")
    policy = cloud.asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"][0]
    assert policy["Alarms"] == [{"AlarmName": f"deep-{name}",
                                 "AlarmARN": f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:deep-{name}"}]
    cloud.cw.delete_alarms(AlarmNames=[f"deep-{name}"])
    cloud.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_a_lifecycle_hook_holds_the_launch_until_completed(cloud: Cloud) -> None:
    name = cloud.group(0)
    cloud.asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="warm",
                                 LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout=3600)
    cloud.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
    wait_for(lambda: [i["LifecycleState"] for i in cloud.describe(name)["Instances"]] == ["Pending:Wait"])
    iid = cloud.describe(name)["Instances"][0]["InstanceId"]
    assert cloud.ec2_state(iid) == "running"
    cloud.let_virtual_time_pass(90)
    assert [i["LifecycleState"] for i in cloud.describe(name)["Instances"]] == ["Pending:Wait"]
    assert cloud.activities(name)[0]["StatusCode"] == "MidLifecycleAction"
    cloud.asg.complete_lifecycle_action(AutoScalingGroupName=name, LifecycleHookName="warm", InstanceId=iid,
                                        LifecycleActionResult="CONTINUE")
    wait_for(lambda: cloud.in_service(name) == [iid])
    assert cloud.activities(name)[0]["StatusCode"] == "Successful"
    cloud.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_instances_join_the_target_group_and_elb_health_replaces_them(cloud: Cloud) -> None:
    """The busybox instances serve nothing on port 80: the balancer finds them unhealthy and,
    with HealthCheckType ELB, the group replaces them once the grace period is over."""
    vpc = cloud.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in cloud.ec2.describe_subnets()["Subnets"]][:2]
    suffix = uuid.uuid4().hex[:6]
    lb = cloud.elb.create_load_balancer(Name=f"lb-{suffix}", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tg = cloud.elb.create_target_group(Name=f"tg-{suffix}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance",
                                       HealthCheckIntervalSeconds=10, UnhealthyThresholdCount=2,
                                       HealthCheckTimeoutSeconds=5)["TargetGroups"][0]["TargetGroupArn"]
    cloud.elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    name = cloud.group(1, TargetGroupARNs=[tg], HealthCheckType="ELB", HealthCheckGracePeriod=120)
    first = wait_for(lambda: cloud.in_service(name))[0]

    def targets() -> dict[str, str]:
        found = cloud.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        return {t["Target"]["Id"]: t["TargetHealth"]["State"] for t in found}

    assert first in targets()  # registered when it came into service
    wait_for(lambda: targets().get(first) == "unhealthy")
    assert cloud.in_service(name) == [first]  # still within the grace period
    wait_for(lambda: first not in cloud.in_service(name) and cloud.in_service(name))
    causes = " ".join(a["Cause"] for a in cloud.activities(name))
    assert "in response to an ELB system health check failure" in causes
    assert targets().get(first) in (None, "draining")  # deregistered as it left
    cloud.asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


@pytest.mark.parametrize(("call", "code", "words"), [
    (lambda c: c.group(1, MinSize=3, MaxSize=2), "ValidationError",
     "Max bound, 2, must be greater than or equal to min bound, 3"),
    (lambda c: c.group(1, LaunchTemplate={"LaunchTemplateName": "no-such-template"}), "ValidationError",
     "You must use a valid fully-formed launch template"),
    (lambda c: c.asg.put_scaling_policy(AutoScalingGroupName="no-such-group", PolicyName="p",
                                        AdjustmentType="ChangeInCapacity", ScalingAdjustment=1),
     "ValidationError", "AutoScalingGroup name not found"),
    (lambda c: c.asg.set_desired_capacity(AutoScalingGroupName=c.group(0), DesiredCapacity=9), "ValidationError",
     "is above max value 5"),
])
def test_bad_input_gets_aws_errors(cloud: Cloud, call: Callable[[Cloud], Any], code: str, words: str) -> None:
    with pytest.raises(ClientError) as info:
        call(cloud)
    assert info.value.response["Error"]["Code"] == code
    assert words in info.value.response["Error"]["Message"]
