"""A Gureum killed in the middle of an ECS blue/green deployment carries it on after a restart.

The server is killed (SIGKILL) while a lifecycle hook's Lambda function is
still working; the restarted server adopts the tasks, invokes the unanswered
hook again, and the deployment ends Succeeded with the new version answering
through the balancer.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import start_server, stop_server
from test_codedeploy_ecs import ROLE, Cloud, get, wait_until
from test_ecs_runtime import _cleanup

pytestmark = pytest.mark.e2e

SLOW_HOOK = """
import time, boto3
def handler(event, context):
    time.sleep(1.5)
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"], lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"], status="Succeeded")
"""


def test_deployment_survives_a_kill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = start_server(data, "--runtime", "process", "--time-scale", "60")
    try:
        c = Cloud(srv)
        checks = {"Protocol": "HTTP", "Port": 80, "TargetType": "ip", "HealthCheckIntervalSeconds": 5,
                  "HealthCheckTimeoutSeconds": 4, "HealthyThresholdCount": 2}  # fmt: skip
        blue = c.elbv2.create_target_group(Name="r-blue", **checks)["TargetGroups"][0]["TargetGroupArn"]
        c.elbv2.create_target_group(Name="r-green", **checks)
        lb = c.elbv2.create_load_balancer(Name="r-alb")["LoadBalancers"][0]["LoadBalancerArn"]
        prod = c.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                       DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])["Listeners"][0]["ListenerArn"]  # fmt: skip
        c.ecs.create_cluster(clusterName="apps")
        c.ecs.create_service(cluster="apps", serviceName="web", taskDefinition=c.taskdef("v1"), desiredCount=1, launchType="FARGATE",
                             deploymentController={"type": "CODE_DEPLOY"}, networkConfiguration={"awsvpcConfiguration": {"subnets": [c.subnet]}},
                             loadBalancers=[{"targetGroupArn": blue, "containerName": "web", "containerPort": 80}])  # fmt: skip
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("hook.py", SLOW_HOOK)
        c.lambda_.create_function(FunctionName="slow-ok", Runtime="python3.12", Role=ROLE, Handler="hook.handler",
                                  Timeout=900, Code={"ZipFile": buf.getvalue()})  # fmt: skip
        c.codedeploy.create_application(applicationName="web-app", computePlatform="ECS")
        c.codedeploy.create_deployment_group(
            applicationName="web-app", deploymentGroupName="dg", serviceRoleArn=ROLE,
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            ecsServices=[{"serviceName": "web", "clusterName": "apps"}],
            loadBalancerInfo={"targetGroupPairInfoList": [{"targetGroups": [{"name": "r-blue"}, {"name": "r-green"}],
                                                          "prodTrafficRoute": {"listenerArns": [prod]}}]},
        )  # fmt: skip
        wait_until(lambda: get(c.bound(prod)) == "v1", what="v1")
        dep = c.deploy("dg", "v2", hooks={"AfterInstall": "slow-ok"})

        def hook_running() -> bool:
            target: dict[str, Any] = c.codedeploy.get_deployment_target(deploymentId=dep, targetId="apps:web")["deploymentTarget"]
            events = {e["lifecycleEventName"]: e["status"] for e in target["ecsTarget"]["lifecycleEvents"]}
            return events["AfterInstall"] == "InProgress"

        wait_until(hook_running, what="the AfterInstall hook to start")
        srv.proc.kill()
        srv.proc.wait(10)
        srv = start_server(data, "--runtime", "process", "--time-scale", "60", port=srv.port)
        known, c = c.taskdefs, Cloud(srv)
        c.taskdefs = known
        info = c.finished(dep, timeout=60)
        assert info["status"] == "Succeeded", info.get("errorInformation")
        wait_until(lambda: get(c.bound(prod)) == "v2", what="v2 after the restart")
        sets = c.ecs.describe_services(cluster="apps", services=["web"])["services"][0]["taskSets"]
        assert [s["taskDefinition"] for s in sets if s["status"] != "DRAINING"] == [c.taskdef("v2")]
        assert json.dumps(info, default=str).count("rollback") == 0
    finally:
        stop_server(srv)
        _cleanup("process", data)
