"""CodeDeploy's handlers and public functions on an in-process App (no containers needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.codedeploy import public
from gureum.settings import Settings

SCOPE = Scope("000000000000", "us-east-1")
ROLE = "arn:aws:iam::000000000000:role/cd"
S3_REV = {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "app.zip"}}


def call(app: App, op: str, service: str = "codedeploy", **req: Any) -> dict[str, Any]:
    api = app.service_api(service)
    assert api is not None
    out = api.handlers[op](RequestContext(service, op, SCOPE.account, SCOPE.region, "t", app), req)
    assert isinstance(out, dict)
    return out


def code(app: App, op: str, **req: Any) -> str:
    with pytest.raises(ServiceError) as info:
        call(app, op, **req)
    return info.value.code


@pytest.fixture
def app(tmp_path: Path) -> Any:
    a = App(Settings(data_dir=str(tmp_path / "data"), runtime="process"))
    yield a
    a.store.close()


def test_applications_and_tags(app: App) -> None:
    out = call(app, "CreateApplication", applicationName="site", tags=[{"Key": "team", "Value": "web"}])
    assert code(app, "CreateApplication", applicationName="site") == "ApplicationAlreadyExistsException"
    info = call(app, "GetApplication", applicationName="site")["application"]
    assert info == {**info, "applicationId": out["applicationId"], "computePlatform": "Server", "linkedToGitHub": False}
    assert code(app, "GetApplication", applicationName="nope") == "ApplicationDoesNotExistException"
    arn = "arn:aws:codedeploy:us-east-1:000000000000:application:site"
    call(app, "TagResource", ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    call(app, "UntagResource", ResourceArn=arn, TagKeys=["team"])
    assert call(app, "ListTagsForResource", ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    call(app, "UpdateApplication", applicationName="site", newApplicationName="site2")
    assert call(app, "ListApplications")["applications"] == ["site2"]
    assert [a["applicationName"] for a in call(app, "BatchGetApplications", applicationNames=["site2"])["applicationsInfo"]] == ["site2"]
    call(app, "DeleteApplication", applicationName="site2")
    assert call(app, "ListApplications")["applications"] == []


def test_application_pages(app: App) -> None:
    for i in range(103):
        call(app, "CreateApplication", applicationName=f"app-{i:03d}")
    first = call(app, "ListApplications")
    assert len(first["applications"]) == 100
    assert call(app, "ListApplications", nextToken=first["nextToken"])["applications"] == ["app-100", "app-101", "app-102"]
    assert code(app, "ListApplications", nextToken="garbage!") == "InvalidNextTokenException"


def test_deployment_configs(app: App) -> None:
    names = call(app, "ListDeploymentConfigs")["deploymentConfigsList"]
    assert {"CodeDeployDefault.OneAtATime", "CodeDeployDefault.ECSCanary10Percent5Minutes", "CodeDeployDefault.LambdaAllAtOnce"} <= set(names)
    one = call(app, "GetDeploymentConfig", deploymentConfigName="CodeDeployDefault.OneAtATime")["deploymentConfigInfo"]
    assert one["minimumHealthyHosts"] == {"type": "MOST_CONCURRENCY", "value": 1} and one["computePlatform"] == "Server"
    canary = call(app, "GetDeploymentConfig", deploymentConfigName="CodeDeployDefault.ECSCanary10Percent15Minutes")["deploymentConfigInfo"]
    assert canary["trafficRoutingConfig"] == {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 15}}
    call(app, "CreateDeploymentConfig", deploymentConfigName="ThreeQuarters", minimumHealthyHosts={"type": "FLEET_PERCENT", "value": 75})
    assert code(app, "CreateDeploymentConfig", deploymentConfigName="ThreeQuarters", minimumHealthyHosts={"type": "HOST_COUNT", "value": 1}) == "DeploymentConfigAlreadyExistsException"
    for req, err in (
        ({"deploymentConfigName": "CodeDeployDefault.Mine", "minimumHealthyHosts": {"type": "HOST_COUNT", "value": 1}}, "InvalidDeploymentConfigNameException"),
        ({"deploymentConfigName": "x"}, "InvalidMinimumHealthyHostValueException"),
        ({"deploymentConfigName": "x", "minimumHealthyHosts": {"type": "FLEET_PERCENT", "value": 100}}, "InvalidMinimumHealthyHostValueException"),
        ({"deploymentConfigName": "x", "computePlatform": "ECS", "trafficRoutingConfig": {"type": "TimeBasedCanary"}}, "InvalidTrafficRoutingConfigurationException"),
        ({"deploymentConfigName": "x", "computePlatform": "ECS", "trafficRoutingConfig": {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 0, "linearInterval": 1}}}, "InvalidTrafficRoutingConfigurationException"),
        ({"deploymentConfigName": "x", "computePlatform": "ECS", "minimumHealthyHosts": {"type": "HOST_COUNT", "value": 1}}, "InvalidMinimumHealthyHostValueException"),
    ):  # fmt: skip
        assert code(app, "CreateDeploymentConfig", **req) == err, req
    call(app, "CreateApplication", applicationName="site")
    call(app, "CreateDeploymentGroup", applicationName="site", deploymentGroupName="g", serviceRoleArn=ROLE, deploymentConfigName="ThreeQuarters")
    assert code(app, "DeleteDeploymentConfig", deploymentConfigName="ThreeQuarters") == "DeploymentConfigInUseException"
    assert code(app, "DeleteDeploymentConfig", deploymentConfigName="CodeDeployDefault.AllAtOnce") == "InvalidOperationException"
    call(app, "DeleteDeploymentGroup", applicationName="site", deploymentGroupName="g")
    call(app, "DeleteDeploymentConfig", deploymentConfigName="ThreeQuarters")
    assert code(app, "GetDeploymentConfig", deploymentConfigName="ThreeQuarters") == "DeploymentConfigDoesNotExistException"


def test_deployment_groups(app: App) -> None:
    call(app, "CreateApplication", applicationName="site")
    call(app, "CreateApplication", applicationName="svc", computePlatform="ECS")
    base = {"applicationName": "site", "serviceRoleArn": ROLE}
    call(app, "CreateDeploymentGroup", deploymentGroupName="web", ec2TagFilters=[{"Key": "app", "Value": "web", "Type": "KEY_AND_VALUE"}], **base)
    g = call(app, "GetDeploymentGroup", applicationName="site", deploymentGroupName="web")["deploymentGroupInfo"]
    assert g["deploymentConfigName"] == "CodeDeployDefault.OneAtATime" and g["computePlatform"] == "Server"
    assert g["deploymentStyle"] == {"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"}
    for req, err in (
        ({"deploymentGroupName": "web"}, "DeploymentGroupAlreadyExistsException"),
        ({"deploymentGroupName": "x", "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce"}, "InvalidDeploymentConfigNameException"),
        ({"deploymentGroupName": "x", "deploymentConfigName": "Nope"}, "DeploymentConfigDoesNotExistException"),
        ({"deploymentGroupName": "x", "ec2TagFilters": [{"Key": "a", "Type": "KEY_ONLY"}], "ec2TagSet": {"ec2TagSetList": [[{"Key": "b", "Type": "KEY_ONLY"}]]}}, "InvalidEC2TagCombinationException"),
        ({"deploymentGroupName": "x", "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}}, "InvalidDeploymentStyleException"),
        ({"deploymentGroupName": "x", "deploymentStyle": {"deploymentType": "IN_PLACE", "deploymentOption": "WITH_TRAFFIC_CONTROL"}}, "InvalidLoadBalancerInfoException"),
        ({"deploymentGroupName": "x", "alarmConfiguration": {"enabled": True, "alarms": []}}, "InvalidAlarmConfigException"),
        ({"deploymentGroupName": "x", "alarmConfiguration": {"enabled": True, "alarms": [{"name": f"a{i}"} for i in range(11)]}}, "AlarmsLimitExceededException"),
        ({"deploymentGroupName": "x", "autoRollbackConfiguration": {"enabled": True, "events": []}}, "InvalidAutoRollbackConfigException"),
    ):  # fmt: skip
        assert code(app, "CreateDeploymentGroup", **base, **req) == err, req
    ecs = {"applicationName": "svc", "serviceRoleArn": ROLE, "deploymentGroupName": "x"}
    assert code(app, "CreateDeploymentGroup", **ecs, ecsServices=[{"serviceName": "web", "clusterName": "c"}]) == "InvalidECSServiceException"
    assert code(app, "CreateDeploymentGroup", **ecs, deploymentStyle={"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"}) == "InvalidDeploymentStyleException"
    call(app, "UpdateDeploymentGroup", applicationName="site", currentDeploymentGroupName="web", newDeploymentGroupName="www",
         deploymentConfigName="CodeDeployDefault.HalfAtATime")  # fmt: skip
    assert call(app, "ListDeploymentGroups", applicationName="site")["deploymentGroups"] == ["www"]
    got = call(app, "BatchGetDeploymentGroups", applicationName="site", deploymentGroupNames=["www", "web"])
    assert [g["deploymentConfigName"] for g in got["deploymentGroupsInfo"]] == ["CodeDeployDefault.HalfAtATime"] and "web" in got["errorMessage"]
    assert code(app, "ListDeploymentGroups", applicationName="nope") == "ApplicationDoesNotExistException"


def test_public_create_and_get_deployment(app: App) -> None:
    async def scenario() -> None:
        await app.start()
        call(app, "CreateApplication", applicationName="site")
        call(app, "CreateDeploymentGroup", applicationName="site", deploymentGroupName="web", serviceRoleArn=ROLE,
             ec2TagFilters=[{"Key": "app", "Value": "web", "Type": "KEY_AND_VALUE"}])  # fmt: skip
        with pytest.raises(ServiceError) as info:
            public.create_deployment(app, SCOPE, application_name="site", deployment_group_name="nope", revision=S3_REV)
        assert info.value.code == "DeploymentGroupDoesNotExistException"
        dep = public.create_deployment(app, SCOPE, application_name="site", deployment_group_name="web", revision=S3_REV,
                                       description="from a pipeline")  # fmt: skip
        assert (public.get_deployment(app, SCOPE, dep) or {})["description"] == "from a pipeline"
        assert public.get_deployment(app, SCOPE, "d-AAAAAAAAA") is None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (info2 := public.get_deployment(app, SCOPE, dep) or {}).get("status") not in ("Failed", "Succeeded"):
            assert loop.time() < deadline, info2
            await asyncio.sleep(0.02)
        # no bucket, and no instance either: the revision is read first
        assert info2["status"] == "Failed" and info2["errorInformation"]["code"] == "REVISION_MISSING"
        assert call(app, "ListDeployments", applicationName="site", deploymentGroupName="web")["deployments"] == [dep]
        assert call(app, "ListDeployments", includeOnlyStatuses=["Succeeded"])["deployments"] == []
        assert code(app, "ListDeployments", applicationName="site") == "DeploymentGroupNameRequiredException"
        assert code(app, "GetDeployment", deploymentId="d-ZZZZZZZZZ") == "DeploymentDoesNotExistException"
        assert code(app, "GetDeployment", deploymentId="bogus") == "InvalidDeploymentIdException"
        assert code(app, "StopDeployment", deploymentId=dep) == "DeploymentAlreadyCompletedException"
        assert code(app, "ContinueDeployment", deploymentId=dep) == "DeploymentAlreadyCompletedException"
        assert code(app, "PutLifecycleEventHookExecutionStatus", deploymentId=dep, lifecycleEventHookExecutionId="x",
                    status="Succeeded") == "InvalidLifecycleEventHookExecutionIdException"  # fmt: skip
        assert code(app, "PutLifecycleEventHookExecutionStatus", deploymentId=dep, lifecycleEventHookExecutionId="x",
                    status="Pending") == "InvalidLifecycleEventHookExecutionStatusException"  # fmt: skip
        await app.stop()

    asyncio.run(scenario())
