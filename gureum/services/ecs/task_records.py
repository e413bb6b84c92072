"""Building a task document: what RunTask, StartTask and the service scheduler
all write before the task controller takes over (pure apart from ids).

A task carries, besides the wire fields ECS describes, its effective
container definitions (``_containerDefs``: the task definition's with the
run's overrides applied), so a task keeps running as launched even if its
task definition is later deregistered or deleted.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from gureum.services.ecs import names

Doc = dict[str, Any]

FARGATE_PLATFORM = "1.4.0"


@dataclass(frozen=True, slots=True)
class Launch:
    """Everything about one launch except the task definition and cluster."""

    launch_type: str = "EC2"
    capacity_provider: str | None = None
    overrides: Doc = field(default_factory=dict)
    network_configuration: Doc | None = None
    tags: tuple[Doc, ...] = ()
    started_by: str | None = None
    group: str | None = None
    service: str | None = None
    deployment_id: str | None = None
    container_instance_arn: str | None = None
    enable_execute_command: bool = False


def effective_containers(taskdef: Doc, overrides: Doc) -> list[Doc]:
    """The task definition's containers with a run's containerOverrides applied."""
    by_name = {o["name"]: o for o in overrides.get("containerOverrides") or [] if o.get("name")}
    out = []
    for c in taskdef["containerDefinitions"]:
        d = copy.deepcopy(c)
        o = by_name.get(c["name"])
        if o:
            if o.get("command") is not None:
                d["command"] = list(o["command"])
            if o.get("environment"):
                env = {e["name"]: e.get("value", "") for e in d.get("environment") or []}
                env.update({e["name"]: e.get("value", "") for e in o["environment"]})
                d["environment"] = [{"name": k, "value": v} for k, v in env.items()]
            for key in ("cpu", "memory", "memoryReservation"):
                if o.get(key) is not None:
                    d[key] = o[key]
        out.append(d)
    return out


def build_task(
    *,
    region: str,
    account: str,
    cluster: Doc,
    taskdef: Doc,
    launch: Launch,
    now: float,
) -> Doc:
    cname = cluster["clusterName"]
    tid = names.new_task_id()
    tarn = names.task_arn(region, account, cname, tid)
    defs = effective_containers(taskdef, launch.overrides)
    awsvpc = taskdef.get("networkMode") == "awsvpc"
    attachment_id = str(uuid.uuid4())
    containers = [_container(region, account, cname, tid, tarn, d, attachment_id if awsvpc else None) for d in defs]
    overrides = {
        "containerOverrides": list(launch.overrides.get("containerOverrides") or []),
        "inferenceAcceleratorOverrides": [],
    }
    for key in ("cpu", "memory", "taskRoleArn", "executionRoleArn", "ephemeralStorage"):
        if launch.overrides.get(key) is not None:
            overrides[key] = launch.overrides[key]
    doc: Doc = {
        "taskArn": tarn,
        "clusterArn": cluster["clusterArn"],
        "taskDefinitionArn": taskdef["taskDefinitionArn"],
        "containers": containers,
        "overrides": overrides,
        "lastStatus": "PROVISIONING",
        "desiredStatus": "RUNNING",
        "launchType": launch.launch_type,
        "availabilityZone": f"{region}a",
        "createdAt": now,
        "group": launch.group or f"family:{taskdef['family']}",
        "version": 1,
        "attachments": [],
        "attributes": [],
        "tags": list(launch.tags),
        "enableExecuteCommand": launch.enable_execute_command,
        "connectivity": "CONNECTED",
        "connectivityAt": now,
        "healthStatus": "UNKNOWN",
        "_id": tid,
        "_cluster": cname,
        "_containerDefs": defs,
        "_networkMode": taskdef.get("networkMode") or "bridge",
        "_pendingSince": now,
    }
    cpu = launch.overrides.get("cpu") or taskdef.get("cpu")
    memory = launch.overrides.get("memory") or taskdef.get("memory")
    if cpu is not None:
        doc["cpu"] = str(cpu)
    if memory is not None:
        doc["memory"] = str(memory)
    if launch.started_by:
        doc["startedBy"] = launch.started_by
    if launch.capacity_provider:
        doc["capacityProviderName"] = launch.capacity_provider
    if launch.container_instance_arn:
        doc["containerInstanceArn"] = launch.container_instance_arn
        if doc["_networkMode"] in ("bridge", "host"):
            doc["_hostPorts"] = sorted({int(p["hostPort"]) for c in defs for p in c.get("portMappings") or [] if p.get("hostPort")})
    if launch.launch_type == "FARGATE":
        doc["platformVersion"] = FARGATE_PLATFORM
        doc["platformFamily"] = "Linux"
        doc["ephemeralStorage"] = {"sizeInGiB": 20}
    if launch.service:
        doc["_service"] = launch.service
        doc["_deploymentId"] = launch.deployment_id
    if awsvpc:
        doc["attachments"] = [_eni_attachment(attachment_id, launch.network_configuration)]
    return doc


def _container(region: str, account: str, cluster: str, tid: str, tarn: str, d: Doc, attachment: str | None) -> Doc:
    c: Doc = {
        "containerArn": names.container_arn(region, account, cluster, tid),
        "taskArn": tarn,
        "name": d["name"],
        "image": d["image"],
        "lastStatus": "PENDING",
        "networkBindings": [],
        "networkInterfaces": [],
        "cpu": str(d.get("cpu") or 0),
    }
    if d.get("memory") is not None:
        c["memory"] = str(d["memory"])
    if d.get("memoryReservation") is not None:
        c["memoryReservation"] = str(d["memoryReservation"])
    if d.get("healthCheck"):
        c["healthStatus"] = "UNKNOWN"
    if attachment:
        c["networkInterfaces"] = [{"attachmentId": attachment}]
    return c


def _eni_attachment(attachment_id: str, network: Doc | None) -> Doc:
    vpc = (network or {}).get("awsvpcConfiguration") or {}
    subnets = vpc.get("subnets") or []
    eni = "eni-" + uuid.uuid4().hex[:17]
    return {
        "id": attachment_id,
        "type": "ElasticNetworkInterface",
        "status": "PRECREATED",
        "details": [
            {"name": "subnetId", "value": subnets[0] if subnets else ""},
            {"name": "networkInterfaceId", "value": eni},
        ],
    }
