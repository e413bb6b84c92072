"""CodeDeploy in-place deployments to EC2 instances, end to end with boto3 on the docker runtime.

Three instances of the busybox AMI (two tagged ``app=web``), bundles in S3
whose AppSpec hooks stop and start busybox httpd serving ``/var/www/html``.
The agent runs the hooks inside each instance (the runtime's exec); the
tests read the versions over HTTP from each instance's private IP.  Tests run
in file order and build on each other (v1 → v2 → failing v3 rolled back).
Skipped, with the reason, when no Docker engine answers.
"""

from __future__ import annotations

import io
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import Server, start_server, stop_server
from test_ecs_runtime import _cleanup, _docker_reason

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::000000000000:role/codedeploy"
AMI = "ami-0ba5eba5eba5e0001"  # the built-in busybox AMI


def bundle(version: str, validate: str | None = None, appspec: bool = True, takeover: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if appspec:
            z.writestr("appspec.yml", APPSPEC)
        z.writestr("www/index.html", version + "\n")
        z.writestr("scripts/stop.sh", "#!/bin/sh\nkillall httpd 2>/dev/null && echo stopped httpd\nsleep 0.2\n")
        first = "killall httpd 2>/dev/null; sleep 0.2\n" if takeover else ""  # another group's server may hold port 80
        z.writestr("scripts/start.sh", f"#!/bin/sh\n{first}httpd -p 80 -h /var/www/html && echo started $DEPLOYMENT_ID\n")
        z.writestr("scripts/validate.sh", "#!/bin/sh\n" + (validate or f"wget -q -O - http://127.0.0.1/ | grep -x {version}\n"))
    return buf.getvalue()


APPSPEC = """version: 0.0
os: linux
files:
  - source: www
    destination: /var/www/html
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
      timeout: 60
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 60
  ValidateService:
    - location: scripts/validate.sh
      timeout: 60
"""


def wait_until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Fleet:
    def __init__(self, srv: Server) -> None:
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
        cfg = Config(retries={"max_attempts": 1})
        self.ec2 = session.client("ec2", endpoint_url=srv.endpoint, config=cfg)
        self.s3 = session.client("s3", endpoint_url=srv.endpoint, config=cfg)
        self.cd = session.client("codedeploy", endpoint_url=srv.endpoint, config=cfg)
        web = self.ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=2, MaxCount=2, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "web"}]}])["Instances"]  # fmt: skip
        other = self.ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"]
        self.web = sorted(i["InstanceId"] for i in web)
        self.other = other[0]["InstanceId"]
        ids = [*self.web, self.other]
        self.ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
        found = [i for r in self.ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
        self.ip = {i["InstanceId"]: i["PrivateIpAddress"] for i in found}
        self.s3.create_bucket(Bucket="releases")
        self.cd.create_application(applicationName="site")
        self.cd.create_deployment_group(
            applicationName="site", deploymentGroupName="web", serviceRoleArn=ROLE,
            ec2TagFilters=[{"Key": "app", "Value": "web", "Type": "KEY_AND_VALUE"}],
            autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
        )  # fmt: skip

    def deploy(self, key: str, data: bytes | None = None, group: str = "web", **extra: Any) -> str:
        if data is not None:
            self.s3.put_object(Bucket="releases", Key=key, Body=data)
        return str(self.cd.create_deployment(
            applicationName="site", deploymentGroupName=group,
            revision={"revisionType": "S3", "s3Location": {"bucket": "releases", "key": key, "bundleType": "zip"}}, **extra,
        )["deploymentId"])  # fmt: skip

    def finished(self, dep: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            info = self.cd.get_deployment(deploymentId=dep)["deploymentInfo"]
            return info if info["status"] in ("Succeeded", "Failed", "Stopped") else None

        return wait_until(done, what=f"deployment {dep}")  # type: ignore[no-any-return]

    def events(self, dep: str, iid: str) -> dict[str, dict[str, Any]]:
        target = self.cd.get_deployment_target(deploymentId=dep, targetId=iid)["deploymentTarget"]["instanceTarget"]
        return {e["lifecycleEventName"]: e for e in target["lifecycleEvents"]}

    def page(self, iid: str) -> str:
        try:
            with urllib.request.urlopen(f"http://{self.ip[iid]}/", timeout=5) as resp:
                return str(resp.read().decode().strip())
        except OSError as exc:
            return f"error {exc}"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if reason := _docker_reason():
        pytest.skip(reason)
    data = tmp_path_factory.mktemp("codedeploy-ec2") / "data"
    srv = start_server(data, "--runtime", "docker", "--time-scale", "60")
    try:
        yield Fleet(srv)
    finally:
        stop_server(srv)
        _cleanup("docker", data)  # instance containers outlive the server (a restart adopts them)


def test_one_at_a_time_to_the_tagged_instances(fleet: Fleet) -> None:
    f = fleet
    dep = f.deploy("v1.zip", bundle("v1"))
    f.cd.get_waiter("deployment_successful").wait(deploymentId=dep, WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})
    info = f.cd.get_deployment(deploymentId=dep)["deploymentInfo"]
    assert info["deploymentConfigName"] == "CodeDeployDefault.OneAtATime"
    assert info["deploymentOverview"]["Succeeded"] == 2
    assert sorted(f.cd.list_deployment_targets(deploymentId=dep)["targetIds"]) == f.web  # not the untagged one
    assert [f.page(i) for i in f.web] == ["v1", "v1"]
    assert f.page(f.other).startswith("error")
    first, second = sorted(f.web, key=lambda i: f.events(dep, i)["DownloadBundle"]["startTime"])
    a, b = f.events(dep, first), f.events(dep, second)
    assert a["ValidateService"]["endTime"] <= b["DownloadBundle"]["startTime"]  # one instance after the other
    assert [(n, e["status"]) for n, e in a.items()] == [
        ("ApplicationStop", "Skipped"), ("DownloadBundle", "Succeeded"), ("BeforeInstall", "Succeeded"),
        ("Install", "Succeeded"), ("AfterInstall", "Succeeded"), ("ApplicationStart", "Succeeded"),
        ("ValidateService", "Succeeded"),
    ]  # fmt: skip
    assert f"started {dep}" in a["ApplicationStart"]["diagnostics"]["logTail"]
    assert a["ValidateService"]["diagnostics"]["logTail"] == "[stdout]v1\n"


def test_next_revision_stops_the_old_one_first(fleet: Fleet) -> None:
    f = fleet
    dep = f.deploy("v2.zip", bundle("v2"))
    assert f.finished(dep)["status"] == "Succeeded"
    assert [f.page(i) for i in f.web] == ["v2", "v2"]
    for iid in f.web:
        stop = f.events(dep, iid)["ApplicationStop"]  # v1's stop script, from v1's revision on the instance
        assert stop["status"] == "Succeeded" and "stopped httpd" in stop["diagnostics"]["logTail"]
    summary = f.cd.get_deployment_instance(deploymentId=dep, instanceId=f.web[0])["instanceSummary"]
    assert summary["status"] == "Succeeded" and len(summary["lifecycleEvents"]) == 7
    group = f.cd.get_deployment_group(applicationName="site", deploymentGroupName="web")["deploymentGroupInfo"]
    assert group["lastSuccessfulDeployment"]["deploymentId"] == dep


def test_failed_validation_rolls_back_to_the_last_good_revision(fleet: Fleet) -> None:
    f = fleet
    dep = f.deploy("v3.zip", bundle("v3", validate="echo checking; exit 3\n"))
    info = f.finished(dep)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "HEALTH_CONSTRAINTS"
    statuses = sorted(t["instanceTarget"]["status"] for t in f.cd.batch_get_deployment_targets(deploymentId=dep, targetIds=f.web)["deploymentTargets"])
    assert statuses == ["Failed", "Skipped"]  # one at a time: the second instance is never touched
    failed = next(i for i in f.web if f.events(dep, i)["ValidateService"]["status"] == "Failed")
    diag = f.events(dep, failed)["ValidateService"]["diagnostics"]
    assert diag["errorCode"] == "ScriptFailed" and diag["scriptName"] == "scripts/validate.sh"
    assert "exit code 3" in diag["message"] and "[stdout]checking" in diag["logTail"]
    rollback = f.finished(info["rollbackInfo"]["rollbackDeploymentId"])
    assert rollback["status"] == "Succeeded" and rollback["creator"] == "codeDeployRollback"
    assert rollback["revision"]["s3Location"]["key"] == "v2.zip"
    assert [f.page(i) for i in f.web] == ["v2", "v2"]


def test_all_at_once_deploys_to_every_instance_together(fleet: Fleet) -> None:
    f = fleet
    dep = f.deploy("v4.zip", bundle("v4"), deploymentConfigName="CodeDeployDefault.AllAtOnce")
    assert f.finished(dep)["status"] == "Succeeded"
    a, b = (f.events(dep, i) for i in f.web)
    assert a["DownloadBundle"]["startTime"] < b["ValidateService"]["endTime"]
    assert b["DownloadBundle"]["startTime"] < a["ValidateService"]["endTime"]  # they overlap
    assert [f.page(i) for i in f.web] == ["v4", "v4"]


def test_bad_revisions_and_groups(fleet: Fleet) -> None:
    f = fleet
    info = f.finished(f.deploy("missing.zip"))
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "REVISION_MISSING"
    info = f.finished(f.deploy("no-appspec.zip", bundle("v9", appspec=False)))
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "INVALID_REVISION"
    assert "AppSpec" in info["errorInformation"]["message"]
    f.cd.create_deployment_group(applicationName="site", deploymentGroupName="nobody", serviceRoleArn=ROLE,
                                 ec2TagFilters=[{"Key": "app", "Value": "api", "Type": "KEY_AND_VALUE"}])  # fmt: skip
    info = f.finished(f.deploy("v4.zip", group="nobody"))
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "NO_INSTANCES"
    with pytest.raises(ClientError) as err:
        f.deploy("v4.zip", group="missing")
    assert err.value.response["Error"]["Code"] == "DeploymentGroupDoesNotExistException"
    with pytest.raises(ClientError) as err:
        f.cd.create_deployment(applicationName="site", deploymentGroupName="web",
                               revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}})  # fmt: skip
    assert err.value.response["Error"]["Code"] == "InvalidRevisionException"
    assert [f.page(i) for i in f.web] == ["v4", "v4"]  # none of this touched the instances


def test_traffic_control_takes_each_instance_out_of_its_target_group(fleet: Fleet, tmp_path: Any) -> None:
    f = fleet
    elb = boto3.client("elbv2", endpoint_url=f.cd.meta.endpoint_url, region_name="us-east-1", aws_access_key_id="t",
                       aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}))  # fmt: skip
    tg = elb.create_target_group(Name="site-web", Protocol="HTTP", Port=80, TargetType="instance", HealthCheckIntervalSeconds=5,
                                 HealthCheckTimeoutSeconds=4, HealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "10"}])
    lb = elb.create_load_balancer(Name="site-alb")["LoadBalancers"][0]["LoadBalancerArn"]
    elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    f.cd.create_deployment_group(
        applicationName="site", deploymentGroupName="balanced", serviceRoleArn=ROLE,
        ec2TagFilters=[{"Key": "app", "Value": "web", "Type": "KEY_AND_VALUE"}],
        deploymentStyle={"deploymentType": "IN_PLACE", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        loadBalancerInfo={"targetGroupInfoList": [{"name": "site-web"}]},
    )  # fmt: skip
    # files the "web" group installed are not this group's: without OVERWRITE, Install refuses them
    dep = f.deploy("v5.zip", bundle("v5", takeover=True), group="balanced", fileExistsBehavior="OVERWRITE")
    assert f.finished(dep)["status"] == "Succeeded", [
        (n, e["status"], (e.get("diagnostics") or {}).get("message")) for i in f.web for n, e in f.events(dep, i).items() if e["status"] == "Failed"]
    health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert sorted((h["Target"]["Id"], h["TargetHealth"]["State"]) for h in health) == [(i, "healthy") for i in f.web]
    for iid in f.web:
        events = f.events(dep, iid)
        assert list(events)[:3] == ["BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"]
        assert list(events)[-3:] == ["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
        assert all(e["status"] in ("Succeeded", "Skipped") for e in events.values())
    # the second deployment drains each instance (it is out of the group) before it stops its server
    dep = f.deploy("v6.zip", bundle("v6"), group="balanced")
    def blocked() -> str | None:
        try:
            return next((i for i in f.web if f.events(dep, i)["BlockTraffic"]["status"] == "Succeeded"), None)
        except ClientError as exc:  # DeploymentNotStartedException until the targets exist
            assert exc.response["Error"]["Code"] == "DeploymentNotStartedException"
            return None

    first = wait_until(blocked, what="an instance to leave the target group")
    assert f.finished(dep)["status"] == "Succeeded"
    block, start = f.events(dep, first)["BlockTraffic"], f.events(dep, first)["ApplicationStop"]
    assert (block["endTime"] - block["startTime"]).total_seconds() >= 9  # the 10 s deregistration delay
    assert block["endTime"] <= start["startTime"]
    assert [f.page(i) for i in f.web] == ["v6", "v6"]
