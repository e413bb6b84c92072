"""ECS handlers called directly over a real App and store (no HTTP, no runtime):
they record intent, answer with ECS's fields and refuse with ECS's errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.settings import Settings

NOW = 1_700_000_000.0
ACCOUNT = "123456789012"
Call = Callable[..., dict[str, Any]]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    yield a
    a.store.close()


@pytest.fixture
def call(app: App) -> Call:
    api = app.service_api("ecs")
    assert api is not None

    def do(op: str, **req: Any) -> dict[str, Any]:
        ctx = RequestContext("ecs", op, ACCOUNT, "us-east-1", "rid", app)
        return api.handlers[op](ctx, req)  # type: ignore[return-value]

    return do


def err(call: Call, op: str, **req: Any) -> ServiceError:
    with pytest.raises(ServiceError) as exc:
        call(op, **req)
    return exc.value


def register(call: Call, family: str = "web", **extra: Any) -> dict[str, Any]:
    req = {"family": family, "containerDefinitions": [{"name": "app", "image": "gureum/busybox:latest", "memory": 64}]}
    req.update(extra)
    return call("RegisterTaskDefinition", **req)["taskDefinition"]


# -- clusters ------------------------------------------------------------------------


def test_cluster_lifecycle(call: Call) -> None:
    c = call("CreateCluster", clusterName="prod", tags=[{"key": "team", "value": "a"}])["cluster"]
    assert c["clusterArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod"
    assert c["status"] == "ACTIVE" and c["runningTasksCount"] == 0 and c["activeServicesCount"] == 0
    assert call("CreateCluster", clusterName="prod")["cluster"]["clusterArn"] == c["clusterArn"]
    assert call("ListClusters")["clusterArns"] == [c["clusterArn"]]
    out = call("DescribeClusters", clusters=["prod", "nope"], include=["TAGS", "STATISTICS"])
    assert out["clusters"][0]["tags"] == [{"key": "team", "value": "a"}]
    assert {s["name"] for s in out["clusters"][0]["statistics"]} >= {"runningFargateTasksCount", "activeEC2ServiceCount"}
    assert out["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/nope", "reason": "MISSING"}]
    assert "tags" not in call("DescribeClusters", clusters=[c["clusterArn"]])["clusters"][0]
    assert call("DeleteCluster", cluster="prod")["cluster"]["status"] == "INACTIVE"
    assert call("ListClusters")["clusterArns"] == []
    assert call("DescribeClusters", clusters=["prod"])["clusters"][0]["status"] == "INACTIVE"
    assert err(call, "DeleteCluster", cluster="prod").code == "ClusterNotFoundException"


def test_delete_cluster_refused_with_services_then_tasks(call: Call) -> None:
    call("CreateCluster", clusterName="c")
    register(call)
    call("CreateService", cluster="c", serviceName="s", taskDefinition="web", desiredCount=0)
    e = err(call, "DeleteCluster", cluster="c")
    assert (e.code, e.message) == ("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
    call("DeleteService", cluster="c", service="s")
    call("RunTask", cluster="c", taskDefinition="web")
    e = err(call, "DeleteCluster", cluster="c")
    assert e.code == "ClusterContainsServicesException"  # DRAINING still counts


def test_delete_cluster_refused_with_tasks(call: Call) -> None:
    call("CreateCluster", clusterName="c")
    register(call)
    call("RunTask", cluster="c", taskDefinition="web")
    e = err(call, "DeleteCluster", cluster="c")
    assert (e.code, e.message) == ("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")


def test_capacity_providers(call: Call) -> None:
    call("CreateCluster", clusterName="c", capacityProviders=["FARGATE", "FARGATE_SPOT"],
         defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    c = call("PutClusterCapacityProviders", cluster="c", capacityProviders=["FARGATE"],
             defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])["cluster"]
    assert c["capacityProviders"] == ["FARGATE"]
    e = err(call, "PutClusterCapacityProviders", cluster="c", capacityProviders=[],
            defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE"}])
    assert e.code == "InvalidParameterException"


# -- task definitions -------------------------------------------------------------------


def test_taskdef_revisions_list_and_delete(call: Call) -> None:
    one = register(call)
    two = register(call)
    register(call, "worker")
    assert (one["revision"], two["revision"]) == (1, 2)
    assert two["taskDefinitionArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:2"
    assert call("DescribeTaskDefinition", taskDefinition="web")["taskDefinition"]["revision"] == 2
    assert call("DescribeTaskDefinition", taskDefinition="web:1")["taskDefinition"]["revision"] == 1
    arns = call("ListTaskDefinitions", familyPrefix="web")["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in arns] == ["1", "2"]
    assert call("ListTaskDefinitions", familyPrefix="web", sort="DESC")["taskDefinitionArns"] == arns[::-1]
    assert call("ListTaskDefinitionFamilies")["families"] == ["web", "worker"]
    assert call("ListTaskDefinitionFamilies", familyPrefix="wo")["families"] == ["worker"]
    d = call("DeregisterTaskDefinition", taskDefinition="web:2")["taskDefinition"]
    assert d["status"] == "INACTIVE" and "deregisteredAt" in d
    assert call("DescribeTaskDefinition", taskDefinition="web")["taskDefinition"]["revision"] == 1
    assert len(call("ListTaskDefinitions", status="INACTIVE")["taskDefinitionArns"]) == 1
    out = call("DeleteTaskDefinitions", taskDefinitions=["web:2", "web:1"])
    assert [t["status"] for t in out["taskDefinitions"]] == ["DELETE_IN_PROGRESS"]
    assert out["failures"][0]["arn"].endswith("web:1")
    assert register(call)["revision"] == 3  # revisions are never reused
    assert err(call, "DescribeTaskDefinition", taskDefinition="nope").message == "Unable to describe task definition."


def test_taskdef_errors_are_client_exceptions(call: Call) -> None:
    e = err(call, "RegisterTaskDefinition", family="f", containerDefinitions=[{"name": "a", "memory": 5}])
    assert (e.code, e.message) == ("ClientException", "Container.image should not be null or empty.")
    e = err(call, "RegisterTaskDefinition", family="f", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
            cpu="256", memory="4096", containerDefinitions=[{"name": "a", "image": "x"}])
    assert e.message.startswith("No Fargate configuration exists for given values: 256 CPU, 4096 memory.")
    e = err(call, "RegisterTaskDefinition", family="bad name", containerDefinitions=[{"name": "a", "image": "x", "memory": 5}])
    assert e.code == "ClientException"


def test_taskdef_tags(call: Call) -> None:
    register(call, tags=[{"key": "k", "value": "v"}])
    assert call("DescribeTaskDefinition", taskDefinition="web", include=["TAGS"])["tags"] == [{"key": "k", "value": "v"}]
    arn = call("DescribeTaskDefinition", taskDefinition="web")["taskDefinition"]["taskDefinitionArn"]
    call("TagResource", resourceArn=arn, tags=[{"key": "x", "value": "y"}])
    assert len(call("ListTagsForResource", resourceArn=arn)["tags"]) == 2


# -- tasks -------------------------------------------------------------------------------


def test_run_task_records_intent(app: App, call: Call) -> None:
    call("CreateCluster")
    register(call)
    out = call("RunTask", taskDefinition="web", count=2, startedBy="me", group="g",
               overrides={"containerOverrides": [{"name": "app", "command": ["echo", "hi"], "environment": [{"name": "A", "value": "1"}]}]},
               tags=[{"key": "k", "value": "v"}])
    assert out["failures"] == [] and len(out["tasks"]) == 2
    t = out["tasks"][0]
    assert t["lastStatus"] == "PROVISIONING" and t["desiredStatus"] == "RUNNING"
    assert t["taskArn"].startswith(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/default/") and len(t["taskArn"].rsplit("/", 1)[1]) == 32
    assert t["startedBy"] == "me" and t["group"] == "g" and t["launchType"] == "EC2"
    assert t["containers"][0]["lastStatus"] == "PENDING" and t["containers"][0]["name"] == "app"
    assert t["overrides"]["containerOverrides"][0]["command"] == ["echo", "hi"]
    assert not any(k.startswith("_") for k in t)
    # intent only: the task controller was asked, nothing ran
    assert app.runner.controllers["ecs.task"].queued
    listed = call("ListTasks", startedBy="me")["taskArns"]
    assert sorted(listed) == sorted(x["taskArn"] for x in out["tasks"])
    assert call("ListTasks", family="web")["taskArns"] and not call("ListTasks", family="other")["taskArns"]
    assert call("ListTasks", desiredStatus="PENDING")["taskArns"] == []
    d = call("DescribeTasks", tasks=[t["taskArn"], "0" * 32], include=["TAGS"])
    assert d["tasks"][0]["tags"] == [{"key": "k", "value": "v"}]
    assert d["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/default/{'0' * 32}", "reason": "MISSING"}]


def test_stop_task(call: Call) -> None:
    call("CreateCluster")
    register(call)
    t = call("RunTask", taskDefinition="web")["tasks"][0]
    s = call("StopTask", task=t["taskArn"], reason="enough")["task"]
    assert (s["desiredStatus"], s["stopCode"], s["stoppedReason"]) == ("STOPPED", "UserInitiated", "enough")
    assert call("ListTasks")["taskArns"] == []
    assert call("ListTasks", desiredStatus="STOPPED")["taskArns"] == [t["taskArn"]]
    short_id = t["taskArn"].rsplit("/", 1)[1]
    assert call("StopTask", task=short_id)["task"]["stoppedReason"] == "enough"  # first reason stays
    e = err(call, "StopTask", task="f" * 32)
    assert (e.code, e.message) == ("InvalidParameterException", "The referenced task was not found.")


def test_run_task_errors(call: Call) -> None:
    assert err(call, "RunTask", taskDefinition="web").code == "ClusterNotFoundException"
    call("CreateCluster")
    e = err(call, "RunTask", taskDefinition="nope")
    assert (e.code, e.message) == ("ClientException", "TaskDefinition not found.")
    register(call)
    e = err(call, "RunTask", taskDefinition="web", launchType="FARGATE")
    assert (e.code, e.message) == ("InvalidParameterException", "Task definition does not support launch_type FARGATE.")
    e = err(call, "RunTask", taskDefinition="web", overrides={"containerOverrides": [{"name": "ghost"}]})
    assert e.code == "InvalidParameterException"
    assert err(call, "RunTask", taskDefinition="web", count=11).code == "InvalidParameterException"


def test_fargate_task_needs_network_configuration(call: Call) -> None:
    call("CreateCluster")
    register(call, "fg", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512")
    e = err(call, "RunTask", taskDefinition="fg", launchType="FARGATE")
    assert e.message == "Network Configuration must be provided when networkMode 'awsvpc' is specified."
    net = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "ENABLED"}}
    t = call("RunTask", taskDefinition="fg", launchType="FARGATE", networkConfiguration=net)["tasks"][0]
    assert t["launchType"] == "FARGATE" and t["platformVersion"] == "1.4.0"
    assert t["attachments"][0]["type"] == "ElasticNetworkInterface"
    assert t["cpu"] == "256" and t["memory"] == "512"


# -- services ----------------------------------------------------------------------------


def test_service_create_describe_update_delete(call: Call) -> None:
    call("CreateCluster", clusterName="c")
    register(call)
    s = call("CreateService", cluster="c", serviceName="api", taskDefinition="web", desiredCount=2)["service"]
    assert s["serviceArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/c/api"
    assert s["status"] == "ACTIVE" and s["desiredCount"] == 2 and s["runningCount"] == 0
    assert s["deploymentConfiguration"] == {"deploymentCircuitBreaker": {"enable": False, "rollback": False},
                                            "maximumPercent": 200, "minimumHealthyPercent": 100}
    [dep] = s["deployments"]
    assert dep["status"] == "PRIMARY" and dep["rolloutState"] == "IN_PROGRESS" and dep["id"].startswith("ecs-svc/")
    assert err(call, "CreateService", cluster="c", serviceName="api", taskDefinition="web", desiredCount=1).message == \
        "Creation of service was not idempotent."
    assert call("ListServices", cluster="c")["serviceArns"] == [s["serviceArn"]]
    register(call)
    u = call("UpdateService", cluster="c", service="api", taskDefinition="web:2", desiredCount=3,
             deploymentConfiguration={"minimumHealthyPercent": 50})["service"]
    assert [d["status"] for d in u["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert u["taskDefinition"].endswith("web:2") and u["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert u["deploymentConfiguration"]["maximumPercent"] == 200
    u = call("UpdateService", cluster="c", service="api", forceNewDeployment=True)["service"]
    assert len(u["deployments"]) == 3
    e = err(call, "DeleteService", cluster="c", service="api")
    assert (e.code, e.message) == ("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
    d = call("DeleteService", cluster="c", service="api", force=True)["service"]
    assert d["status"] == "DRAINING" and d["desiredCount"] == 0
    assert err(call, "UpdateService", cluster="c", service="api", desiredCount=1).code == "ServiceNotActiveException"
    out = call("DescribeServices", cluster="c", services=["api", "ghost"])
    assert out["failures"] == [{"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/c/ghost", "reason": "MISSING"}]
    assert err(call, "UpdateService", cluster="c", service="ghost", desiredCount=1).code == "ServiceNotFoundException"


def test_service_errors(call: Call) -> None:
    assert err(call, "CreateService", cluster="x", serviceName="s", taskDefinition="web", desiredCount=1).code == \
        "ClusterNotFoundException"
    call("CreateCluster")
    assert err(call, "CreateService", serviceName="s", taskDefinition="web", desiredCount=1).code == "ClientException"
    register(call)
    e = err(call, "CreateService", serviceName="s", taskDefinition="web", desiredCount=1,
            deploymentConfiguration={"maximumPercent": 50})
    assert e.code == "InvalidParameterException"
    assert err(call, "ListTasks", serviceName="ghost").code == "ServiceNotFoundException"


def test_pagination(call: Call) -> None:
    for i in range(5):
        call("CreateCluster", clusterName=f"c{i}")
    page = call("ListClusters", maxResults=2)
    assert len(page["clusterArns"]) == 2 and page["nextToken"]
    rest = call("ListClusters", nextToken=page["nextToken"])
    assert len(rest["clusterArns"]) == 3 and "nextToken" not in rest
