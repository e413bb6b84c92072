"""The thrashing guard end to end (beyond AWS): a deliberately bad step-policy pair on a custom metric.

Its own server, ``--runtime process --time-scale 60`` (a virtual minute passes in one real second).
The metric follows the group like a real load would: high while one instance serves, low once two
do.  The scale-in alarm (< 57) sits within 10 % of the scale-out alarm (> 60) and both act on a
single datapoint, so the group goes 1, 2, 1, 2…; after more than 4 direction changes within the
hour DescribeScalingActivities shows a "Thrashing detected:" activity naming those settings, and
``gureum status`` shows a warning line.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server
from waiting import wait_for

pytestmark = pytest.mark.e2e

AMI = "ami-0ba5eba5eba5e0001"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("asg-thrash") / "data", "--runtime", "process", "--time-scale", "60")
    try:
        yield srv
    finally:
        stop_server(srv)




def test_a_bad_step_policy_pair_is_reported_as_thrashing(server: Server) -> None:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    cfg = Config(retries={"max_attempts": 1})
    ec2 = session.client("ec2", endpoint_url=server.endpoint, config=cfg)
    asg = session.client("autoscaling", endpoint_url=server.endpoint, config=cfg)
    cw = session.client("cloudwatch", endpoint_url=server.endpoint, config=cfg)
    lt, name = "lt-" + uuid.uuid4().hex[:8], "g-" + uuid.uuid4().hex[:8]
    ec2.create_launch_template(LaunchTemplateName=lt, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": lt}, MinSize=1,
                                  MaxSize=3, DesiredCapacity=1, AvailabilityZones=["us-east-1a"])
    metric = f"Load-{name}"
    for policy, op, threshold, step in (
            ("out", "GreaterThanThreshold", 60.0, {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}),
            ("in", "LessThanThreshold", 57.0, {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1})):
        arn = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName=policy, PolicyType="StepScaling",
                                     AdjustmentType="ChangeInCapacity", EstimatedInstanceWarmup=0,
                                     StepAdjustments=[step])["PolicyARN"]
        cw.put_metric_alarm(AlarmName=f"{policy}-{name}", Namespace="App", MetricName=metric, Statistic="Average",
                            Period=60, EvaluationPeriods=1, Threshold=threshold, ComparisonOperator=op,
                            AlarmActions=[arn])
    seen: list[int] = []

    def load_follows_the_group() -> list[dict[str, Any]]:
        desired = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0][
            "DesiredCapacity"]
        if not seen or seen[-1] != desired:
            seen.append(desired)
        cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": metric, "Value": 90.0 if desired < 2 else 30.0}])
        acts = asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
        return [a for a in acts if a["Description"].startswith("Thrashing detected:")]

    [warning] = wait_for(load_follows_the_group, timeout=45)
    assert seen[:4] == [1, 2, 1, 2], seen
    assert warning["StatusCode"] == "Successful"
    assert warning["Description"].startswith("Thrashing detected: 5 scale-out/scale-in direction changes within "
                                             "3600 s (threshold 4).")
    assert (f"scale-in threshold 57 is within 10% of scale-out threshold 60 (alarms in-{name} and out-{name} on "
            f"App/{metric})") in warning["Cause"]
    assert f"alarms out-{name} and in-{name} act on a single datapoint" in warning["Cause"]
    flaps = cw.get_metric_statistics(Namespace="Gureum/AutoScaling", MetricName="ScalingFlapCount",
                                     Dimensions=[{"Name": "AutoScalingGroupName", "Value": name}],
                                     StartTime=time.time() - 86400, EndTime=time.time() + 30 * 86400,
                                     Period=3600, Statistics=["Maximum"])["Datapoints"]
    assert max(d["Maximum"] for d in flaps) >= 5
    status = subprocess.run([sys.executable, "-m", "gureum", "status", "--endpoint", server.endpoint],
                            capture_output=True, text=True, timeout=30)
    assert f"warning: autoscaling group {name} (" in status.stdout, status.stdout
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
