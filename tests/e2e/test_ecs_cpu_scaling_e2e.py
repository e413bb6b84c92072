"""An ECS service with target tracking on CPU scales out on a CPU-burning task, end to end.

Real containers on Docker: the task burns CPU (busybox ``while :; do :; done``) under a task
``cpu`` of 256 units, which Docker enforces as a quarter of a core, so ECS's CPUUtilization
(100 × CPU units used / units reserved) reads about 100 % while the machine stays mostly idle.
Application Auto Scaling tracks ``ECSServiceAverageCPUUtilization`` at 50 %: the high alarm sees
three one-minute datapoints above 50 and the service's desiredCount goes up, with the activity
recorded as AWS words it.  The service is then deleted (force) so no burner outlives the test.

The server runs with ``--time-scale 60``: a virtual minute passes in a real second, so the high
alarm's three datapoints take a few seconds.  Skipped, with the reason, only when no Docker
engine answers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server
from docker_support import container_label, docker_server, engine_or_skip
from waiting import wait_for

pytestmark = pytest.mark.e2e

DIM = "ecs:service:DesiredCount"
BURN = ["sh", "-c", "while :; do :; done"]


class Cloud:
    def __init__(self, server: Server, engine: Any) -> None:
        self.server, self.engine = server, engine
        self.label = container_label(server.data_dir)

    def client(self, name: str) -> Any:
        return boto3.client(name, endpoint_url=self.server.endpoint, region_name="us-east-1", aws_access_key_id="t",
                            aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}))

    def running_containers(self) -> list[dict[str, Any]]:
        # The low-level list is one call (``containers.list`` inspects each one after, racing removals).
        return self.engine.api.containers(filters={"label": self.label, "status": "running"})  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    engine = engine_or_skip()
    data = tmp_path_factory.mktemp("ecs-cpu-scaling") / "data"
    with docker_server(engine, data, "--time-scale", "60") as srv:  # no burner survives the test, whatever happened
        yield Cloud(srv, engine)


def test_service_scales_out_on_a_cpu_burning_task(cloud: Cloud) -> None:
    ecs, aas, cw = (cloud.client(s) for s in ("ecs", "application-autoscaling", "cloudwatch"))
    cluster = "burn-" + uuid.uuid4().hex[:6]
    rid = f"service/{cluster}/hot"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=cluster, cpu="256", containerDefinitions=[
        {"name": "burner", "image": "gureum/busybox:latest", "memory": 32, "essential": True, "command": BURN}])
    ecs.create_service(cluster=cluster, serviceName="hot", taskDefinition=cluster, desiredCount=1)

    def service() -> dict[str, Any]:
        return ecs.describe_services(cluster=cluster, services=["hot"])["services"][0]  # type: ignore[no-any-return]

    try:
        wait_for(lambda: service()["runningCount"] == 1, timeout=20)
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIM,
                                     MinCapacity=1, MaxCapacity=3)
        out = aas.put_scaling_policy(
            PolicyName="cpu50", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIM,
            PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 50.0, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
        high = next(a["AlarmName"] for a in out["Alarms"] if "-AlarmHigh-" in a["AlarmName"])
        alarm = cw.describe_alarms(AlarmNames=[high])["MetricAlarms"][0]
        # The alarm reads exactly what ECS publishes for the service.
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"], alarm["Period"]) == \
            ("AWS/ECS", "CPUUtilization", "Average", 60)
        assert sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]) == \
            [("ClusterName", cluster), ("ServiceName", "hot")]

        started = time.monotonic()
        wait_for(lambda: service()["desiredCount"] > 1, timeout=30, every=0.3)
        took = time.monotonic() - started

        stats = cw.get_metric_statistics(
            Namespace="AWS/ECS", MetricName="CPUUtilization", Statistics=["Average"], Period=60,
            Dimensions=[{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": "hot"}],
            StartTime=time.time() - 3600, EndTime=time.time() + 6 * 3600)["Datapoints"]  # virtual time runs ahead
        assert stats and max(d["Average"] for d in stats) > 50.0, stats
        acts = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid)["ScalingActivities"]
        mine = [a for a in acts if a["Cause"] == f"monitor alarm {high} in state ALARM triggered policy cpu50"]
        assert mine, acts
        count = int(mine[-1]["Description"].removeprefix("Setting desired count to ").rstrip("."))
        assert count > 1 and mine[-1]["Description"] == f"Setting desired count to {count}."
        assert mine[-1]["StatusCode"] == "Successful"
        assert mine[-1]["StatusMessage"] == \
            f"Successfully set desired count to {count}. Change successfully fulfilled by ecs."
        # ECS starts the tasks it was asked for: more burners, as real containers.
        wait_for(lambda: (lambda s: s["runningCount"] == s["desiredCount"] > 1)(service()), timeout=20)
        assert len(cloud.running_containers()) > 1
        print(f"scaled out {took:.1f}s after the policy; CPU {sorted(d['Average'] for d in stats)}")
    finally:
        aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIM)
        ecs.delete_service(cluster=cluster, service="hot", force=True)
    wait_for(lambda: not cloud.running_containers(), timeout=20)  # the burners are gone
