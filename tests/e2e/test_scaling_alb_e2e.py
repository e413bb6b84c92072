"""An Auto Scaling group behind an ALB, target tracking on request count per target, end to end.

Real everything: the group's instances are EC2 instances (containers on Docker) whose user data
serves ``httpd`` on port 80; they join the group's target group (``TargetGroupARNs``), pass the
balancer's health checks, and a load loop of real HTTP requests goes through the balancer's
listener.  The ``TargetTrackingScaling`` policy uses ``ALBRequestCountPerTarget`` with the
``ResourceLabel`` AWS asks for (``app/<lb>/<id>/targetgroup/<tg>/<id>``); the alarms it creates
read ``RequestCountPerTarget`` (Sum) as the balancer publishes it every minute.

The server runs with ``--time-scale 60``: a virtual minute passes in a real second, so the high
alarm's 3 one-minute datapoints take ~3 s and the low alarm's 15 take ~15 s.  Health checks are
set to a 30 s interval with a 20 s timeout (0.5 s and 0.33 s real), so a busy CI machine does not
time them out.  The load loop runs while the group scales out, then stops; the balancer keeps
publishing RequestCountPerTarget (0 without requests: ALB always reports it), the low alarm fires
and the group scales back in.  Skipped, with the reason, only when no Docker engine answers.
"""

from __future__ import annotations

import base64
import http.client
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import Server
from docker_support import docker_server, engine_or_skip
from waiting import wait_for

pytestmark = pytest.mark.e2e

AMI = "ami-0ba5eba5eba5e0001"  # EC2's built-in busybox AMI
WEB = """#!/bin/sh
mkdir -p /www
echo "$GUREUM_INSTANCE_ID" > /www/index.html
exec httpd -f -p 80 -h /www
"""
TARGET = 40.0  # requests per target per minute
TIME_SCALE = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    engine = engine_or_skip()
    with docker_server(engine, tmp_path_factory.mktemp("scaling-alb") / "data", "--time-scale", str(TIME_SCALE)) as srv:
        yield srv


class Load:
    """A loop of real HTTP requests through the balancer's listener, in a thread, until stopped."""

    def __init__(self, address: str, host: str) -> None:
        self.ip, port = address.rsplit(":", 1)
        self.port, self.host = int(port), host
        self.stop_flag = threading.Event()
        self.answered: dict[str, int] = {}
        self.errors = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop_flag.is_set():
            conn = http.client.HTTPConnection(self.ip, self.port, timeout=5)
            try:
                for _ in range(50):
                    if self.stop_flag.is_set():
                        break
                    conn.request("GET", "/", headers={"Host": self.host})
                    resp = conn.getresponse()
                    body = resp.read().decode().strip()
                    if resp.status == 200:
                        self.answered[body] = self.answered.get(body, 0) + 1
                    else:
                        self.errors += 1
                    self.stop_flag.wait(0.004)  # ~200 requests a second at most: 12,000 a virtual minute
            except OSError:
                self.errors += 1
                self.stop_flag.wait(0.05)
            finally:
                conn.close()

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_flag.set()
        self.thread.join(10)


class Balancer:
    """An internet-facing ALB with an HTTP:80 listener forwarding to one instance target group."""

    def __init__(self, ec2: Any, elb: Any, suffix: str) -> None:
        self.elb = elb
        self.vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        self.lb = elb.create_load_balancer(Name=f"lb-{suffix}", Subnets=subnets)["LoadBalancers"][0]
        self.tg = elb.create_target_group(
            Name=f"tg-{suffix}", Protocol="HTTP", Port=80, VpcId=self.vpc, TargetType="instance",
            HealthCheckIntervalSeconds=30, HealthCheckTimeoutSeconds=20, HealthyThresholdCount=2,
            UnhealthyThresholdCount=5)["TargetGroups"][0]["TargetGroupArn"]
        elb.modify_target_group_attributes(TargetGroupArn=self.tg, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
        self.listener = elb.create_listener(
            LoadBalancerArn=self.lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tg}])["Listeners"][0]["ListenerArn"]
        # ResourceLabel as AWS documents it: the final portions of the balancer's and the target group's ARNs.
        self.lb_dim = self.lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
        self.tg_dim = self.tg.split(":", 5)[5]
        self.label = f"{self.lb_dim}/{self.tg_dim}"

    def bound(self) -> str | None:
        """Where the listener really listens (``ip:port``), once the balancer is active."""
        attrs = self.elb.describe_listener_attributes(ListenerArn=self.listener)["Attributes"]
        return {a["Key"]: a["Value"] for a in attrs}.get("gureum.bound_address")

    def healthy(self) -> list[str]:
        found = self.elb.describe_target_health(TargetGroupArn=self.tg)["TargetHealthDescriptions"]
        return [t["Target"]["Id"] for t in found if t["TargetHealth"]["State"] == "healthy"]


def tracking(name: str, label: str) -> dict[str, Any]:
    return dict(AutoScalingGroupName=name, PolicyName="requests", PolicyType="TargetTrackingScaling",
                TargetTrackingConfiguration={"TargetValue": TARGET, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": label}})


def test_group_behind_alb_scales_out_under_load_and_back_in(server: Server) -> None:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    cfg = Config(retries={"max_attempts": 1})
    ec2, asg, cw, elb = (session.client(s, endpoint_url=server.endpoint, config=cfg)
                         for s in ("ec2", "autoscaling", "cloudwatch", "elbv2"))
    suffix = uuid.uuid4().hex[:6]
    alb = Balancer(ec2, elb, suffix)
    lt, name = f"lt-{suffix}", f"web-{suffix}"
    ec2.create_launch_template(LaunchTemplateName=lt, LaunchTemplateData={
        "ImageId": AMI, "InstanceType": "t3.micro", "UserData": base64.b64encode(WEB.encode()).decode()})
    asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": lt}, MinSize=1,
                                  MaxSize=3, DesiredCapacity=1, AvailabilityZones=["us-east-1a", "us-east-1b"],
                                  TargetGroupARNs=[alb.tg])

    def group() -> dict[str, Any]:
        return asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]  # type: ignore[no-any-return]

    try:
        first = wait_for(alb.healthy, timeout=20)
        address = wait_for(alb.bound, timeout=10)
        other = elb.create_target_group(Name=f"other-{suffix}", Protocol="HTTP", Port=80, VpcId=alb.vpc)[
            "TargetGroups"][0]["TargetGroupArn"]
        with pytest.raises(ClientError) as info:  # AWS: the label must name a target group of this group
            asg.put_scaling_policy(**tracking(name, f"{alb.lb_dim}/{other.split(':', 5)[5]}"))
        assert info.value.response["Error"] == {"Type": "Sender", "Code": "ValidationError",
                                                "Message": "Target group not attached to the Auto Scaling group"}
        assert asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"] == []
        out = asg.put_scaling_policy(**tracking(name, alb.label))
        alarms = {a["AlarmName"]: a for a in cw.describe_alarms(
            AlarmNames=[a["AlarmName"] for a in out["Alarms"]])["MetricAlarms"]}
        high = next(n for n in alarms if "-AlarmHigh-" in n)
        low = next(n for n in alarms if "-AlarmLow-" in n)
        lb_dim, tg_dim = alb.lb_dim, alb.tg_dim
        for alarm in alarms.values():  # exactly the metric the balancer publishes
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"], alarm["Period"]) == \
                ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum", 60)
            assert sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]) == \
                [("LoadBalancer", lb_dim), ("TargetGroup", tg_dim)]
        assert (alarms[high]["Threshold"], alarms[high]["EvaluationPeriods"]) == (TARGET, 3)
        assert (alarms[low]["Threshold"], alarms[low]["EvaluationPeriods"]) == (TARGET * 0.7, 15)

        started = time.monotonic()
        with Load(address, alb.lb["DNSName"]) as load:
            wait_for(lambda: group()["DesiredCapacity"] > 1, timeout=25)
            scaled_out_at = time.monotonic() - started
            # The new instances come into service, join the target group and take traffic.
            wait_for(lambda: len(alb.healthy()) >= 2, timeout=20)
            wait_for(lambda: len(load.answered) >= 2, timeout=10)
        assert load.answered[first[0]] > 0
        out_acts = [a for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
                    if f"a monitor alarm {high} in state ALARM triggered policy requests" in a["Cause"]]
        assert out_acts, "no scale-out activity names the high alarm"
        assert all(a["Description"].startswith("Launching a new EC2 instance: i-") for a in out_acts)
        assert "changing the desired capacity from 1 to " in out_acts[-1]["Cause"]

        published = cw.list_metrics(Namespace="AWS/ApplicationELB", MetricName="RequestCountPerTarget")["Metrics"]
        dims = sorted(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in published)
        assert [("TargetGroup", tg_dim)] in dims and [("LoadBalancer", lb_dim), ("TargetGroup", tg_dim)] in dims

        # Load stopped: the low alarm needs 15 one-minute datapoints under the threshold, then the
        # group scales in (to the minimum of 1 at most).
        peak = group()["DesiredCapacity"]
        wait_for(lambda: group()["DesiredCapacity"] < peak, timeout=40, every=0.5)
        in_acts = [a for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
                   if f"a monitor alarm {low} in state ALARM triggered policy requests" in a["Cause"]]
        assert in_acts, "no scale-in activity names the low alarm"
        assert in_acts[0]["Description"].startswith("Terminating EC2 instance: i-")
        assert f"changing the desired capacity from {peak} to " in in_acts[-1]["Cause"]
        # The instances it took out of service really go: drained from the target group, terminated.
        wait_for(lambda: all(a["StatusCode"] == "Successful" for a in asg.describe_scaling_activities(
            AutoScalingGroupName=name)["Activities"]), timeout=15)
        left = group()
        assert len(left["Instances"]) == left["DesiredCapacity"] < peak
        gone = [a["Description"].split(": ", 1)[1] for a in in_acts]
        states = {i["InstanceId"]: i["State"]["Name"] for r in ec2.describe_instances(InstanceIds=gone)["Reservations"]
                  for i in r["Instances"]}
        assert set(states.values()) <= {"shutting-down", "terminated"}, states
        print(f"scaled out after {scaled_out_at:.1f}s, in after {time.monotonic() - started:.1f}s; "
              f"answered {load.answered}, errors {load.errors}")
    finally:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
