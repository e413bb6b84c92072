"""Container instances and placement through the API: RunTask places EC2 tasks
on registered instances by strategy and constraint, and reports what did not fit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.settings import Settings

Call = Callable[..., dict[str, Any]]


@pytest.fixture
def call(tmp_path: Path) -> Iterator[Call]:
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(1_700_000_000.0))
    api = app.service_api("ecs")
    assert api is not None

    def do(op: str, **req: Any) -> dict[str, Any]:
        return api.handlers[op](RequestContext("ecs", op, "123456789012", "us-east-1", "rid", app), req)  # type: ignore[return-value]

    yield do
    app.store.close()


def err(call: Call, op: str, **req: Any) -> ServiceError:
    with pytest.raises(ServiceError) as exc:
        call(op, **req)
    return exc.value


def instance(call: Call, mem: int, itype: str = "t3.micro", az: str = "us-east-1a") -> str:
    doc = json.dumps({"instanceId": f"i-{mem}{itype[:2]}", "instanceType": itype, "availabilityZone": az})
    out = call("RegisterContainerInstance", instanceIdentityDocument=doc,
               totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                               {"name": "MEMORY", "type": "INTEGER", "integerValue": mem}])
    return out["containerInstance"]["containerInstanceArn"]  # type: ignore[no-any-return]


@pytest.fixture
def cluster(call: Call) -> dict[str, str]:
    call("CreateCluster")
    call("RegisterTaskDefinition", family="web", containerDefinitions=[{"name": "app", "image": "i", "memory": 256}])
    return {"small": instance(call, 512), "big": instance(call, 2048, "m5.large", "us-east-1b")}


def placed(out: dict[str, Any]) -> list[str]:
    return [t["containerInstanceArn"] for t in out["tasks"]]


def test_binpack_fills_the_small_instance_first(call: Call, cluster: dict[str, str]) -> None:
    out = call("RunTask", taskDefinition="web", count=3, placementStrategy=[{"type": "binpack", "field": "memory"}])
    assert placed(out) == [cluster["small"], cluster["small"], cluster["big"]]
    d = call("DescribeContainerInstances", containerInstances=[cluster["small"]])["containerInstances"][0]
    assert d["pendingTasksCount"] == 2
    assert {r["name"]: r["integerValue"] for r in d["remainingResources"] if r["name"] == "MEMORY"} == {"MEMORY": 0}


def test_member_of_and_failures(call: Call, cluster: dict[str, str]) -> None:
    out = call("RunTask", taskDefinition="web", count=2,
               placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}])
    assert placed(out) == [cluster["small"], cluster["small"]]
    out = call("RunTask", taskDefinition="web", count=1,
               placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}])
    assert out["tasks"] == []
    assert {(f["arn"], f["reason"]) for f in out["failures"]} == {
        (cluster["small"], "RESOURCE:MEMORY"), (cluster["big"], "ATTRIBUTE")}


def test_distinct_instance_and_spread(call: Call, cluster: dict[str, str]) -> None:
    out = call("RunTask", taskDefinition="web", count=3, group="g", placementConstraints=[{"type": "distinctInstance"}])
    assert sorted(placed(out)) == sorted(cluster.values()) and len(out["failures"]) == 2
    out = call("RunTask", taskDefinition="web", count=2, group="h",
               placementStrategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"}])
    assert sorted(placed(out)) == sorted(cluster.values())


def test_list_filter_deregister(call: Call, cluster: dict[str, str]) -> None:
    assert call("ListContainerInstances", filter="attribute:ecs.instance-type == m5.large")["containerInstanceArns"] == [cluster["big"]]
    call("RunTask", taskDefinition="web", placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type == m5.large"}])
    e = err(call, "DeregisterContainerInstance", containerInstance=cluster["big"])
    assert (e.code, e.message) == ("InvalidParameterException", "Found running tasks on the instance.")
    assert call("DeregisterContainerInstance", containerInstance=cluster["small"])["containerInstance"]["status"] == "INACTIVE"
    assert call("ListContainerInstances")["containerInstanceArns"] == [cluster["big"]]
    assert err(call, "DeleteCluster", cluster="default").code == "ClusterContainsContainerInstancesException"
