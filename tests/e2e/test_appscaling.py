"""Application Auto Scaling end to end with boto3: an ECS service whose task count
follows CloudWatch alarms, with real tasks.

One server for the module: ``--runtime process --time-scale 60`` (a virtual
minute per real second: target tracking's AlarmHigh needs three one-minute
datapoints).  Every wait is a bounded poll on a condition.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import start_server, stop_server
from waiting import wait_for

pytestmark = pytest.mark.e2e

DIM = "ecs:service:DesiredCount"
FOREVER = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


class Cloud:
    def __init__(self, endpoint: str) -> None:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        cfg = Config(retries={"max_attempts": 1})
        self.ecs = session.client("ecs", endpoint_url=endpoint, config=cfg)
        self.aas = session.client("application-autoscaling", endpoint_url=endpoint, config=cfg)
        self.cw = session.client("cloudwatch", endpoint_url=endpoint, config=cfg)

    def service(self, count: int = 1) -> tuple[str, str]:
        """A cluster with a running service of ``count`` tasks; (cluster, resource id)."""
        cluster = "c-" + uuid.uuid4().hex[:8]
        self.ecs.create_cluster(clusterName=cluster)
        self.ecs.register_task_definition(family=cluster, containerDefinitions=[
            {"name": "app", "image": "gureum/busybox:latest", "memory": 32, "essential": True, "command": FOREVER}])
        self.ecs.create_service(cluster=cluster, serviceName="web", taskDefinition=cluster, desiredCount=count)
        return cluster, f"service/{cluster}/web"

    def counts(self, cluster: str) -> tuple[int, int]:
        svc = self.ecs.describe_services(cluster=cluster, services=["web"])["services"][0]
        return int(svc["desiredCount"]), int(svc["runningCount"])

    def register(self, rid: str, low: int, high: int) -> None:
        self.aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIM,
                                          MinCapacity=low, MaxCapacity=high)

    def activities(self, rid: str) -> list[dict[str, Any]]:
        return self.aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid)["ScalingActivities"]  # type: ignore[no-any-return]

    def cleanup(self, cluster: str, rid: str) -> None:
        self.aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIM)
        self.ecs.update_service(cluster=cluster, service="web", desiredCount=0)
        self.ecs.delete_service(cluster=cluster, service="web")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    server = start_server(tmp_path_factory.mktemp("appscaling") / "data", "--runtime", "process",
                          "--time-scale", "60")
    try:
        yield Cloud(server.endpoint)
    finally:
        stop_server(server)




def test_step_scaling_on_an_alarm_runs_more_tasks(cloud: Cloud) -> None:
    cluster, rid = cloud.service(1)
    wait_for(lambda: cloud.counts(cluster) == (1, 1))
    cloud.register(rid, 1, 4)
    arn = cloud.aas.put_scaling_policy(
        PolicyName="out", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIM, PolicyType="StepScaling",
        StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                                        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]},
    )["PolicyARN"]
    metric = f"Backlog-{cluster}"
    cloud.cw.put_metric_alarm(AlarmName=f"backlog-{cluster}", Namespace="App", MetricName=metric, Statistic="Maximum",
                              Period=60, EvaluationPeriods=1, Threshold=10.0,
                              ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])

    def pushed_and_scaled() -> bool:
        cloud.cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": metric, "Value": 40.0}])
        return cloud.counts(cluster)[0] >= 3

    wait_for(pushed_and_scaled)
    wait_for(lambda: (lambda d, r: d == r and d >= 3)(*cloud.counts(cluster)))  # ECS runs that many tasks
    act = cloud.activities(rid)[-1]
    assert act["Description"] == "Setting desired count to 3."
    assert act["Cause"] == f"monitor alarm backlog-{cluster} in state ALARM triggered policy out"
    assert act["StatusCode"] == "Successful"
    policy = cloud.aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=rid)["ScalingPolicies"][0]
    assert policy["Alarms"][0]["AlarmName"] == f"backlog-{cluster}"
    cloud.cw.delete_alarms(AlarmNames=[f"backlog-{cluster}"])
    cloud.cleanup(cluster, rid)


def test_target_tracking_on_a_custom_metric(cloud: Cloud) -> None:
    cluster, rid = cloud.service(1)
    cloud.register(rid, 1, 5)
    out = cloud.aas.put_scaling_policy(
        PolicyName="tt", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIM,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60,
            "CustomizedMetricSpecification": {"Namespace": "App", "MetricName": f"PerTask-{cluster}",
                                              "Statistic": "Average"}})
    names = sorted(a["AlarmName"] for a in out["Alarms"])
    assert names[0].startswith(f"TargetTracking-{rid}-AlarmHigh-") and "AlarmLow" in names[1]
    alarms = cloud.cw.describe_alarms(AlarmNames=names)["MetricAlarms"]
    assert sorted((a["ComparisonOperator"], a["Threshold"], a["EvaluationPeriods"]) for a in alarms) == \
        [("GreaterThanThreshold", 50.0, 3), ("LessThanThreshold", 45.0, 15)]

    def pushed_and_scaled() -> bool:
        cloud.cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": f"PerTask-{cluster}", "Value": 150.0}])
        return cloud.counts(cluster)[0] >= 3

    wait_for(pushed_and_scaled, timeout=30)
    first = cloud.activities(rid)[-1]
    assert first["Description"] == "Setting desired count to 3."  # ⌈1 × 150 / 50⌉
    assert first["Cause"].startswith(f"monitor alarm TargetTracking-{rid}-AlarmHigh-")
    # ECS runs as many tasks as asked (more may be asked while the alarm stays in ALARM).
    wait_for(lambda: (lambda d, r: d == r and d >= 3)(*cloud.counts(cluster)))
    cloud.cleanup(cluster, rid)
    assert cloud.cw.describe_alarms(AlarmNames=names)["MetricAlarms"] == []  # gone with the target


def test_bad_input(cloud: Cloud) -> None:
    with pytest.raises(ClientError) as info:
        cloud.register("service/nowhere/web", 1, 2)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "ECS service doesn't exist: service/nowhere/web" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        cloud.aas.put_scaling_policy(PolicyName="p", ServiceNamespace="ecs", ResourceId="service/nowhere/web",
                                     ScalableDimension=DIM, PolicyType="TargetTrackingScaling",
                                     TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0})
    assert info.value.response["Error"]["Code"] == "ObjectNotFoundException"
