"""CodePipeline's Amazon ECS deploy action on the process runtime: imagedefinitions.json → a new revision → a rolled service.

The server runs with ``--time-scale 30``: ECS counts a deployment COMPLETED after
its tasks have been steady for a while (40 s of virtual time), which this
makes about 1.5 real seconds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from codepipeline_support import Sandbox, actions_of, clients, tid, wait_for, wait_status
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e

BUSYBOX = "gureum/busybox:latest"
FOREVER = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("codepipeline-ecs") / "data"
    server = start_server(data, "--runtime", "process", "--time-scale", "30")
    yield server
    stop_server(server)
    import asyncio

    from gureum.runtime.process import ProcessDriver
    from gureum.runtime.selection import data_dir_id

    async def wipe() -> None:  # no task process outlives the test
        drv = ProcessDriver(data / "runtime" / "process", data_dir_id(data))
        for st in await drv.list():
            await drv.remove(st.id, force=True)

    asyncio.run(wipe())


@pytest.fixture(scope="module")
def aws(srv: Server) -> Callable[[str], Any]:
    return clients(srv)


def deploy_stage(cluster: str, service: str) -> dict[str, Any]:
    return {"name": "Deploy", "actions": [{"name": "Roll", "actionTypeId": tid("Deploy", "ECS"), "inputArtifacts": [{"name": "Src"}],
                                           "configuration": {"ClusterName": cluster, "ServiceName": service, "DeploymentTimeout": "5"}}]}  # fmt: skip


def test_an_ecs_deploy_rolls_the_service_to_a_new_revision(aws: Callable[[str], Any]) -> None:
    ecs = aws("ecs")
    sfx = uuid.uuid4().hex[:8]
    cluster, service, family = f"c-{sfx}", f"web-{sfx}", f"f-{sfx}"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "web", "image": BUSYBOX, "command": FOREVER, "memory": 64, "environment": [{"name": "COLOUR", "value": "blue"}]},
        {"name": "sidecar", "image": BUSYBOX, "command": FOREVER, "memory": 32},
    ])  # fmt: skip
    ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=family, desiredCount=1)
    wait_for(lambda: ecs.describe_services(cluster=cluster, services=[service])["services"][0]["runningCount"] == 1, what="the first task")

    box = Sandbox(aws, {"imagedefinitions.json": json.dumps([{"name": "web", "imageUri": BUSYBOX}])})
    cp, name = box.cp, f"ecs-{box.sfx}"
    eid = box.create(name, deploy_stage(cluster, service))
    done = wait_status(cp, name, eid, "Succeeded", "Failed", timeout=60)
    roll = actions_of(cp, name, eid)[("Deploy", "Roll")][0]
    assert done["status"] == "Succeeded", roll
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    assert svc["taskDefinition"].endswith(f"task-definition/{family}:2")
    assert [(d["status"], d["rolloutState"]) for d in svc["deployments"]] == [("PRIMARY", "COMPLETED")]
    td = ecs.describe_task_definition(taskDefinition=f"{family}:2")["taskDefinition"]
    web = next(c for c in td["containerDefinitions"] if c["name"] == "web")
    assert web["image"] == BUSYBOX and web["environment"] == [{"name": "COLOUR", "value": "blue"}]  # the rest is kept
    tasks = ecs.describe_tasks(cluster=cluster, tasks=ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING")["taskArns"])["tasks"]
    assert [t["taskDefinitionArn"] for t in tasks] == [svc["taskDefinition"]]
    assert roll["output"]["executionResult"]["externalExecutionSummary"] == f"Service {service} reached a steady state on task definition {family}:2"

    # A definition naming a container the task definition does not have fails the action, and leaves the service alone.
    box.upload({"imagedefinitions.json": json.dumps([{"name": "api", "imageUri": BUSYBOX}])})
    eid = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_status(cp, name, eid, "Failed", "Succeeded")["status"] == "Failed"
    err = actions_of(cp, name, eid)[("Deploy", "Roll")][0]["output"]["executionResult"]["errorDetails"]
    assert err == {"code": "ConfigurationError", "message": "Invalid action configuration: The AWS ECS container api does not exist"}
    assert ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"].endswith(f"{family}:2")
