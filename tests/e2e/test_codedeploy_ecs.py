"""CodeDeploy blue/green deployments of an ECS service behind a real ALB, end to end with boto3.

One server (process runtime, ``--time-scale 60``: a ten-minute canary lasts
ten seconds) runs an ECS service of busybox httpd tasks that
answer their version, behind an ALB with a production (80) and a test (8080)
listener and two target groups.  Versions are read over HTTP through the
balancer, weights with DescribeRules.  Tests run in file order: each
deployment starts from what the previous one left serving.  The same server
also runs a Lambda deployment (an alias's versions) at the end.
"""

from __future__ import annotations

import http.client
import io
import json
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError
from conftest import Server, start_server, stop_server
from test_ecs_runtime import _cleanup

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::000000000000:role/codedeploy"
HOOK = """
import os, boto3
def handler(event, context):
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=os.environ["RESULT"],
    )
    return os.environ["RESULT"]
"""


def wait_until(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition", every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


class Cloud:
    def __init__(self, srv: Server) -> None:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        cfg = Config(retries={"max_attempts": 1})

        def make(name: str) -> Any:
            return session.client(name, endpoint_url=srv.endpoint, config=cfg)

        self.ecs, self.elbv2, self.ec2 = make("ecs"), make("elbv2"), make("ec2")
        self.codedeploy, self.lambda_, self.cloudwatch = make("codedeploy"), make("lambda"), make("cloudwatch")
        self.blue = self.green = self.prod = self.test = ""
        self.prod_addr = self.test_addr = ("", 0)
        self.subnet = self.ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        self.taskdefs: dict[str, str] = {}

    def taskdef(self, version: str) -> str:
        if version not in self.taskdefs:
            self.taskdefs[version] = self.ecs.register_task_definition(
                family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                containerDefinitions=[{
                    "name": "web", "image": "gureum/busybox:latest", "portMappings": [{"containerPort": 80}],
                    "command": ["sh", "-c", f"mkdir -p www && echo {version} > www/index.html && exec httpd -f -p $GUREUM_PRIVATE_IP:80 -h www"],
                }],
            )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
        return self.taskdefs[version]

    def bound(self, listener: str) -> tuple[str, int]:
        def find() -> tuple[str, int] | None:
            attrs = {a["Key"]: a["Value"] for a in self.elbv2.describe_listener_attributes(ListenerArn=listener)["Attributes"]}
            if "gureum.bound_address" not in attrs:
                return None
            ip, port = attrs["gureum.bound_address"].rsplit(":", 1)
            return ip, int(port)

        return wait_until(find, what="the listener to bind")  # type: ignore[no-any-return]

    def weights(self, listener: str) -> dict[str, int]:
        default = self.elbv2.describe_rules(ListenerArn=listener)["Rules"][-1]
        fwd = default["Actions"][0]
        groups = (fwd.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": fwd["TargetGroupArn"], "Weight": 1}]
        names = {g["TargetGroupArn"]: g["TargetGroupArn"].split("/")[-2] for g in groups}
        return {names[g["TargetGroupArn"]]: int(g["Weight"]) for g in groups}

    def deploy(self, group: str, version: str, hooks: dict[str, str] | None = None, **extra: Any) -> str:
        appspec = {
            "version": 0.0,
            "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
                "TaskDefinition": self.taskdef(version), "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 80}}}}],
            "Hooks": [{k: v} for k, v in (hooks or {}).items()],
        }  # fmt: skip
        return str(self.codedeploy.create_deployment(
            applicationName="web-app", deploymentGroupName=group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}}, **extra,
        )["deploymentId"])  # fmt: skip

    def deployment(self, dep: str) -> dict[str, Any]:
        return self.codedeploy.get_deployment(deploymentId=dep)["deploymentInfo"]  # type: ignore[no-any-return]

    def finished(self, dep: str, timeout: float = 60.0) -> dict[str, Any]:
        return wait_until(lambda: (d := self.deployment(dep))["status"] in ("Succeeded", "Failed", "Stopped") and d,
                          timeout, f"deployment {dep} to finish")  # type: ignore[no-any-return]


def get(addr: tuple[str, int]) -> str:
    conn = http.client.HTTPConnection(*addr, timeout=5)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        body = resp.read().decode().strip()
        return body if resp.status == 200 else f"HTTP {resp.status}"
    except OSError as exc:
        return f"error {exc}"
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    data = tmp_path_factory.mktemp("codedeploy-ecs") / "data"
    srv = start_server(data, "--runtime", "process", "--time-scale", "60")
    try:
        c = Cloud(srv)
        _setup(c)
        yield c
    finally:
        stop_server(srv)
        _cleanup("process", data)  # task processes outlive the server (a restart adopts them)


def _setup(c: Cloud) -> None:
    checks = {"Protocol": "HTTP", "Port": 80, "TargetType": "ip", "HealthCheckIntervalSeconds": 5,
              "HealthCheckTimeoutSeconds": 4, "HealthyThresholdCount": 2}  # fmt: skip
    c.blue = c.elbv2.create_target_group(Name="web-blue", **checks)["TargetGroups"][0]["TargetGroupArn"]
    c.green = c.elbv2.create_target_group(Name="web-green", **checks)["TargetGroups"][0]["TargetGroupArn"]
    for tg in (c.blue, c.green):
        c.elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}])
    lb = c.elbv2.create_load_balancer(Name="web-alb")["LoadBalancers"][0]["LoadBalancerArn"]
    forward = [{"Type": "forward", "TargetGroupArn": c.blue}]
    c.prod = c.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=forward)["Listeners"][0]["ListenerArn"]
    c.test = c.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8080, DefaultActions=forward)["Listeners"][0]["ListenerArn"]
    c.ecs.create_cluster(clusterName="apps")
    c.ecs.create_service(
        cluster="apps", serviceName="web", taskDefinition=c.taskdef("v1"), desiredCount=2, launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": c.blue, "containerName": "web", "containerPort": 80}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [c.subnet]}},
    )  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hook.py", HOOK)
    for name, result in (("hook-ok", "Succeeded"), ("hook-fail", "Failed")):
        c.lambda_.create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="hook.handler", Timeout=900,
            Code={"ZipFile": buf.getvalue()}, Environment={"Variables": {"RESULT": result}},
        )  # fmt: skip
    c.codedeploy.create_application(applicationName="web-app", computePlatform="ECS")
    c.prod_addr, c.test_addr = c.bound(c.prod), c.bound(c.test)
    wait_until(lambda: get(c.prod_addr) == "v1", what="v1 to answer through the balancer")


GROUP = "web-dg"
NO_ALARMS = {"enabled": False, "alarms": []}
NO_ROLLBACK = {"enabled": False, "events": []}
NO_BAKE = {"terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0}}


def group(c: Cloud, config: str, **extra: Any) -> str:
    """The service's one deployment group (created once, then updated with every setting a test needs)."""
    settings: dict[str, Any] = {
        "deploymentConfigName": config, "alarmConfiguration": NO_ALARMS, "autoRollbackConfiguration": NO_ROLLBACK,
        "blueGreenDeploymentConfiguration": NO_BAKE, **extra,
    }  # fmt: skip
    groups = c.codedeploy.list_deployment_groups(applicationName="web-app")["deploymentGroups"]
    if GROUP in groups:
        c.codedeploy.update_deployment_group(applicationName="web-app", currentDeploymentGroupName=GROUP, **settings)
        return GROUP
    c.codedeploy.create_deployment_group(
        applicationName="web-app", deploymentGroupName=GROUP, serviceRoleArn=ROLE,
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        ecsServices=[{"serviceName": "web", "clusterName": "apps"}],
        loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
            "prodTrafficRoute": {"listenerArns": [c.prod]}, "testTrafficRoute": {"listenerArns": [c.test]}}]},
        **settings,
    )  # fmt: skip
    return GROUP


def sample_while(c: Cloud, weights: dict[str, int], wanted: int) -> Counter[str]:
    """Versions answered through the balancer, counting only batches sent while the listener had ``weights``."""
    answers: Counter[str] = Counter()
    while sum(answers.values()) < wanted and c.weights(c.prod) == weights:
        batch = Counter(get(c.prod_addr) for _ in range(20))
        if c.weights(c.prod) == weights:
            answers += batch
    return answers


def test_canary_deployment_shifts_ten_percent_then_all(cloud: Cloud) -> None:
    c = cloud
    c.codedeploy.create_deployment_config(
        deploymentConfigName="Canary10Percent10Minutes", computePlatform="ECS",
        trafficRoutingConfig={"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 10}},
    )  # fmt: skip
    group(c, "Canary10Percent10Minutes",
          blueGreenDeploymentConfiguration={"terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 1}})  # fmt: skip
    dep = c.deploy(GROUP, "v2", hooks={"AfterAllowTestTraffic": "hook-ok"})
    # the test listener sends the replacement's answers before any production traffic moves
    wait_until(lambda: get(c.test_addr) == "v2", what="v2 on the test listener")
    # canary: 10 % of production traffic to the replacement for ten (virtual) minutes
    canary = {"web-blue": 90, "web-green": 10}
    wait_until(lambda: c.weights(c.prod) == canary, what="the 90/10 canary weights")
    answers = sample_while(c, canary, 200)
    n = sum(answers.values())
    assert set(answers) <= {"v1", "v2"} and n >= 60, answers
    assert 1 <= answers["v2"] <= 0.3 * n, answers  # ~10 %
    target = c.codedeploy.get_deployment_target(deploymentId=dep, targetId="apps:web")["deploymentTarget"]["ecsTarget"]
    info = {ts["taskSetLabel"]: (ts["trafficWeight"], ts["targetGroup"]["name"], ts["runningCount"]) for ts in target["taskSetsInfo"]}
    assert info == {"Blue": (90.0, "web-blue", 2), "Green": (10.0, "web-green", 2)}
    assert c.deployment(dep)["status"] == "InProgress"
    # then all of it; the original is kept for the bake time (Baking), then deleted
    wait_until(lambda: c.weights(c.prod) == {"web-blue": 0, "web-green": 100}, timeout=30, what="all traffic on green")
    wait_until(lambda: get(c.prod_addr) == "v2", what="the balancer to apply the weights")
    assert Counter(get(c.prod_addr) for _ in range(30)) == Counter({"v2": 30})
    seen = wait_until(lambda: c.deployment(dep)["status"] in ("Baking", "Succeeded") and c.deployment(dep)["status"], what="bake")
    c.codedeploy.get_waiter("deployment_successful").wait(deploymentId=dep, WaiterConfig={"Delay": 0.5, "MaxAttempts": 60})
    info = c.deployment(dep)
    assert seen in ("Baking", "Succeeded") and info["instanceTerminationWaitTimeStarted"] is True
    assert info["deploymentOverview"]["Succeeded"] == 1 and "errorInformation" not in info
    events = c.codedeploy.get_deployment_target(deploymentId=dep, targetId="apps:web")["deploymentTarget"]["ecsTarget"]["lifecycleEvents"]
    assert [(e["lifecycleEventName"], e["status"]) for e in events] == [
        ("BeforeInstall", "Succeeded"), ("Install", "Succeeded"), ("AfterInstall", "Succeeded"),
        ("AllowTestTraffic", "Succeeded"), ("AfterAllowTestTraffic", "Succeeded"), ("BeforeAllowTraffic", "Succeeded"),
        ("AllowTraffic", "Succeeded"), ("AfterAllowTraffic", "Succeeded"),
    ]  # fmt: skip
    shift = next(e for e in events if e["lifecycleEventName"] == "AllowTraffic")
    assert (shift["endTime"] - shift["startTime"]).total_seconds() >= 590  # ten virtual minutes of canary
    sets = wait_until(lambda: len(s := c.ecs.describe_services(cluster="apps", services=["web"])["services"][0]["taskSets"]) == 1 and s,
                      what="the original task set to go")  # fmt: skip
    assert sets[0]["status"] == "PRIMARY" and sets[0]["taskDefinition"] == c.taskdef("v2")
    assert c.ecs.describe_services(cluster="apps", services=["web"])["services"][0]["taskDefinition"] == c.taskdef("v2")
    grp = c.codedeploy.get_deployment_group(applicationName="web-app", deploymentGroupName=GROUP)["deploymentGroupInfo"]
    assert grp["lastSuccessfulDeployment"]["deploymentId"] == dep


def test_failing_hook_rolls_traffic_back(cloud: Cloud) -> None:
    c = cloud
    before = get(c.prod_addr)
    group(c, "CodeDeployDefault.ECSAllAtOnce",
          autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]})  # fmt: skip
    dep = c.deploy(GROUP, "v3", hooks={"AfterAllowTraffic": "hook-fail"})
    info = c.finished(dep)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    events = {e["lifecycleEventName"]: e for e in
              c.codedeploy.get_deployment_target(deploymentId=dep, targetId="apps:web")["deploymentTarget"]["ecsTarget"]["lifecycleEvents"]}
    assert events["AllowTraffic"]["status"] == "Succeeded"  # traffic had moved to v3 …
    assert events["AfterAllowTraffic"]["status"] == "Failed" and "hook-fail" in events["AfterAllowTraffic"]["diagnostics"]["message"]
    rb = c.finished(rollback)
    assert rb["status"] == "Succeeded" and rb["creator"] == "codeDeployRollback"
    assert rb["rollbackInfo"]["rollbackTriggeringDeploymentId"] == dep
    # … and is back on the original, which is PRIMARY again; the failed replacement is gone
    wait_until(lambda: get(c.prod_addr) == before, what="the balancer to apply the rollback")
    assert Counter(get(c.prod_addr) for _ in range(30)) == Counter({before: 30})
    sets = wait_until(lambda: len(s := c.ecs.describe_services(cluster="apps", services=["web"])["services"][0]["taskSets"]) == 1 and s,
                      what="the failed task set to go")  # fmt: skip
    assert sets[0]["taskDefinition"] == c.taskdef(before)
    with pytest.raises(WaiterError) as failed:
        c.codedeploy.get_waiter("deployment_successful").wait(deploymentId=dep, WaiterConfig={"Delay": 0.2, "MaxAttempts": 5})
    assert "terminal failure state" in str(failed.value)


def test_alarm_during_bake_stops_and_rolls_back(cloud: Cloud) -> None:
    c = cloud
    before = get(c.prod_addr)
    c.cloudwatch.put_metric_alarm(AlarmName="web-5xx", Namespace="App", MetricName="Errors", Statistic="Sum",
                                  Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    group(c, "CodeDeployDefault.ECSAllAtOnce",
          alarmConfiguration={"enabled": True, "alarms": [{"name": "web-5xx"}]},
          autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_STOP_ON_ALARM"]},
          blueGreenDeploymentConfiguration={"terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 30}})  # fmt: skip
    dep = c.deploy(GROUP, "v4")
    wait_until(lambda: c.deployment(dep)["status"] == "Baking", what="the bake")
    wait_until(lambda: get(c.prod_addr) == "v4", what="v4 in production")
    c.cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="errors")
    info = c.finished(dep, timeout=20)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert c.finished(info["rollbackInfo"]["rollbackDeploymentId"])["status"] == "Succeeded"
    wait_until(lambda: get(c.prod_addr) == before, what="the balancer to apply the rollback")


def test_stop_deployment_during_canary(cloud: Cloud) -> None:
    c = cloud
    before = get(c.prod_addr)
    group(c, "CodeDeployDefault.ECSLinear10PercentEvery3Minutes")
    dep = c.deploy(GROUP, "v5")
    wait_until(lambda: sorted(c.weights(c.prod).values()) == [10, 90], what="the first 10 %")
    out = c.codedeploy.stop_deployment(deploymentId=dep, autoRollbackEnabled=True)
    assert out["status"] == "Pending"
    info = c.finished(dep, timeout=20)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "MANUAL_STOP"
    assert c.finished(info["rollbackInfo"]["rollbackDeploymentId"])["status"] == "Succeeded"
    assert sorted(c.weights(c.prod).values()) == [0, 100]
    wait_until(lambda: get(c.prod_addr) == before, what="the balancer to apply the rollback")
    assert Counter(get(c.prod_addr) for _ in range(20)) == Counter({before: 20})
    with pytest.raises(ClientError) as err:
        c.codedeploy.stop_deployment(deploymentId=dep)
    assert err.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"


def test_deployment_errors(cloud: Cloud) -> None:
    c = cloud
    cd = c.codedeploy
    appspec = {"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}}
    for kwargs, code in (
        ({"applicationName": "web-app", "deploymentGroupName": "nope", "revision": appspec}, "DeploymentGroupDoesNotExistException"),
        ({"applicationName": "no-app", "deploymentGroupName": GROUP, "revision": appspec}, "ApplicationDoesNotExistException"),
        ({"applicationName": "web-app", "deploymentGroupName": GROUP, "revision": {"revisionType": "GitHub",
          "gitHubLocation": {"repository": "a/b", "commitId": "c"}}}, "InvalidRevisionException"),
        ({"applicationName": "web-app", "deploymentGroupName": GROUP, "revision": appspec,
          "deploymentConfigName": "CodeDeployDefault.OneAtATime"}, "InvalidDeploymentConfigNameException"),
    ):  # fmt: skip
        with pytest.raises(ClientError) as err:
            cd.create_deployment(**kwargs)
        assert err.value.response["Error"]["Code"] == code, kwargs
    # a bad AppSpec fails the deployment with INVALID_REVISION (nothing changes)
    dep = cd.create_deployment(applicationName="web-app", deploymentGroupName=GROUP, revision=appspec)["deploymentId"]
    info = c.finished(dep)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "INVALID_REVISION"
    assert "TargetService" in info["errorInformation"]["message"] or "exactly one resource" in info["errorInformation"]["message"]
    # one deployment at a time per group
    dep = c.deploy(GROUP, "v6")
    with pytest.raises(ClientError) as err:
        c.deploy(GROUP, "v6")
    assert err.value.response["Error"]["Code"] == "DeploymentLimitExceededException"
    assert dep in err.value.response["Error"]["Message"]
    def sets() -> list[dict[str, Any]]:
        return c.ecs.describe_services(cluster="apps", services=["web"])["services"][0]["taskSets"]  # type: ignore[no-any-return]

    wait_until(lambda: len(sets()) == 2, what="the replacement task set")
    cd.stop_deployment(deploymentId=dep, autoRollbackEnabled=False)
    info = c.finished(dep)
    assert info["status"] == "Stopped" and "rollbackDeploymentId" not in (info.get("rollbackInfo") or {})
    assert sorted(s["status"] for s in sets()) == ["ACTIVE", "PRIMARY"]  # left as it was (the next deployment clears it)
    # CodeDeploy owns the service's task definition
    with pytest.raises(ClientError) as err:
        c.ecs.update_service(cluster="apps", service="web", taskDefinition=c.taskdef("v1"))
    assert "CODE_DEPLOY" in err.value.response["Error"]["Message"]
    # a group for a service that CodeDeploy does not control
    c.ecs.create_service(cluster="apps", serviceName="rolling", taskDefinition=c.taskdef("v1"), desiredCount=0,
                         launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {"subnets": [c.subnet]}})  # fmt: skip
    with pytest.raises(ClientError) as err:
        cd.create_deployment_group(
            applicationName="web-app", deploymentGroupName="bad", serviceRoleArn=ROLE,
            ecsServices=[{"serviceName": "rolling", "clusterName": "apps"}],
            loadBalancerInfo={"targetGroupPairInfoList": [{"targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
                                                          "prodTrafficRoute": {"listenerArns": [c.prod]}}]},
        )  # fmt: skip
    assert err.value.response["Error"]["Code"] == "InvalidECSServiceException"
    with pytest.raises(ClientError) as err:  # the service already belongs to a group
        cd.create_deployment_group(
            applicationName="web-app", deploymentGroupName="second", serviceRoleArn=ROLE,
            ecsServices=[{"serviceName": "web", "clusterName": "apps"}],
            loadBalancerInfo={"targetGroupPairInfoList": [{"targetGroups": [{"name": "web-blue"}, {"name": "web-green"}],
                                                          "prodTrafficRoute": {"listenerArns": [c.prod]}}]},
        )  # fmt: skip
    assert err.value.response["Error"]["Code"] == "ECSServiceMappingLimitExceededException"


def test_ready_wait_and_termination_wait_end_with_continue_deployment(cloud: Cloud) -> None:
    c = cloud
    waits = {"terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 120},
             "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 120}}  # fmt: skip
    group(c, "CodeDeployDefault.ECSAllAtOnce", blueGreenDeploymentConfiguration=waits)
    before = get(c.prod_addr)
    dep = c.deploy(GROUP, "v7")
    wait_until(lambda: c.deployment(dep)["status"] == "Ready", what="Ready")
    with pytest.raises(ClientError) as err:
        c.codedeploy.continue_deployment(deploymentId=dep, deploymentWaitType="TERMINATION_WAIT")
    assert err.value.response["Error"]["Code"] == "InvalidDeploymentStatusException"
    assert get(c.test_addr) == "v7" and get(c.prod_addr) == before  # installed and testable, not yet rerouted
    c.codedeploy.continue_deployment(deploymentId=dep, deploymentWaitType="READY_WAIT")
    wait_until(lambda: c.deployment(dep)["status"] == "Baking", what="the termination wait")
    wait_until(lambda: get(c.prod_addr) == "v7", what="v7 in production")
    c.codedeploy.continue_deployment(deploymentId=dep, deploymentWaitType="TERMINATION_WAIT")
    assert c.finished(dep, timeout=20)["status"] == "Succeeded"  # long before the two hours
    remaining = wait_until(lambda: len(s := c.ecs.describe_services(cluster="apps", services=["web"])["services"][0]["taskSets"]) == 1 and s,
                           what="only the new task set")  # fmt: skip
    assert remaining[0]["taskDefinition"] == c.taskdef("v7")  # the stray one of the stopped deployment went too
    with pytest.raises(ClientError) as err:
        c.codedeploy.continue_deployment(deploymentId=dep)
    assert err.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"


def test_task_sets_follow_the_service(cloud: Cloud) -> None:
    c = cloud

    def primary() -> dict[str, Any]:
        sets = c.ecs.describe_services(cluster="apps", services=["web"])["services"][0]["taskSets"]
        return next(s for s in sets if s["status"] == "PRIMARY")  # type: ignore[no-any-return]

    c.ecs.update_service(cluster="apps", service="web", desiredCount=3)
    ts = wait_until(lambda: (p := primary())["runningCount"] == 3 and p["stabilityStatus"] == "STEADY_STATE" and p, what="3 tasks")
    assert ts["computedDesiredCount"] == 3
    tg = c.blue if ts["loadBalancers"][0]["targetGroupArn"] == c.blue else c.green
    wait_until(lambda: len(c.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]) == 3, what="3 targets")
    c.ecs.delete_service(cluster="apps", service="web", force=True)
    wait_until(lambda: c.ecs.describe_services(cluster="apps", services=["web"])["services"][0]["status"] == "INACTIVE",
               what="the service to drain")  # fmt: skip
    assert c.ecs.list_tasks(cluster="apps", serviceName="web", desiredStatus="RUNNING")["taskArns"] == []
    wait_until(lambda: not c.elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"], what="the targets to go")


def _lambda_zip(version: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", f"def handler(event, context):\n    return {version!r}\n")
    return buf.getvalue()


def test_lambda_alias_canary_then_a_failed_hook_rolls_it_back(cloud: Cloud) -> None:
    c = cloud
    lam, cd = c.lambda_, c.codedeploy
    lam.create_function(FunctionName="greet", Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": _lambda_zip("v1")},
                        Timeout=900)  # virtual seconds: a cold start at --time-scale 60 takes many
    lam.get_waiter("function_active_v2").wait(FunctionName="greet", WaiterConfig={"Delay": 0.2})
    versions = []
    for v in ("v1", "v2", "v3"):
        if v != "v1":
            lam.update_function_code(FunctionName="greet", ZipFile=_lambda_zip(v))
            lam.get_waiter("function_updated_v2").wait(FunctionName="greet", WaiterConfig={"Delay": 0.2})
        versions.append(lam.publish_version(FunctionName="greet")["Version"])
    lam.create_alias(FunctionName="greet", Name="live", FunctionVersion=versions[0])
    cd.create_application(applicationName="greeter", computePlatform="Lambda")
    cd.create_deployment_group(applicationName="greeter", deploymentGroupName="live", serviceRoleArn=ROLE,
                               deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
                               autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]})  # fmt: skip

    def deploy(current: str, target: str, hooks: dict[str, str]) -> str:
        spec = {"version": 0.0, "Resources": [{"greet": {"Type": "AWS::Lambda::Function", "Properties": {
            "Name": "greet", "Alias": "live", "CurrentVersion": current, "TargetVersion": target}}}],
            "Hooks": [{k: v} for k, v in hooks.items()]}  # fmt: skip
        return str(cd.create_deployment(applicationName="greeter", deploymentGroupName="live", revision={
            "revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(spec)}})["deploymentId"])  # fmt: skip

    def routing() -> dict[str, float]:
        return lam.get_alias(FunctionName="greet", Name="live").get("RoutingConfig", {}).get("AdditionalVersionWeights", {})  # type: ignore[no-any-return]

    def answer() -> str:
        out = lam.invoke(FunctionName="greet", Qualifier="live")
        body = json.loads(out["Payload"].read())
        assert "FunctionError" not in out, body
        return body  # type: ignore[no-any-return]

    dep = deploy(versions[0], versions[1], {"BeforeAllowTraffic": "hook-ok"})
    wait_until(lambda: routing() == {versions[1]: 0.1}, what="the 10 % canary on the alias")
    answers: Counter[str] = Counter()
    while routing() and sum(answers.values()) < 150:
        answers[answer()] += 1
    assert set(answers) <= {"v1", "v2"} and answers["v1"] > answers["v2"], answers
    info = c.finished(dep)
    assert info["status"] == "Succeeded"
    alias = lam.get_alias(FunctionName="greet", Name="live")
    assert alias["FunctionVersion"] == versions[1] and not routing()
    target = cd.get_deployment_target(deploymentId=dep, targetId="greet:live")["deploymentTarget"]
    assert target["deploymentTargetType"] == "LambdaTarget"
    assert target["lambdaTarget"]["lambdaFunctionInfo"]["targetVersionWeight"] == 1.0
    assert answer() == "v2"
    # a failing AfterAllowTraffic hook: the alias goes back to the version it started from
    cd.update_deployment_group(applicationName="greeter", currentDeploymentGroupName="live",
                               deploymentConfigName="CodeDeployDefault.LambdaAllAtOnce")  # fmt: skip
    dep = deploy(versions[1], versions[2], {"AfterAllowTraffic": "hook-fail"})
    info = c.finished(dep, timeout=30)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert c.finished(info["rollbackInfo"]["rollbackDeploymentId"])["status"] == "Succeeded"
    assert lam.get_alias(FunctionName="greet", Name="live")["FunctionVersion"] == versions[1] and not routing()
    assert answer() == "v2"
    bad = deploy(versions[0], versions[2], {})  # the alias is not at CurrentVersion
    info = c.finished(bad)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "INVALID_LAMBDA_CONFIGURATION"
