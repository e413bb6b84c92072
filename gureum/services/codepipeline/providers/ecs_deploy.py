"""Deploy: Amazon ECS — a rolling update of a service to the images of ``imagedefinitions.json``.

The input artifact holds ``FileName`` (default ``imagedefinitions.json``):
``[{"name": <container>, "imageUri": <image>}, …]``.  The action takes the
service's current task definition, sets those containers' images, registers
the result as a new revision of the same family, points the service at it
(a new ECS deployment that the service controller rolls out) and waits until
that deployment's ``rolloutState`` is COMPLETED (steady state) — or FAILED
(circuit breaker), or ``DeploymentTimeout`` minutes (default 60) pass.
"""

from __future__ import annotations

import asyncio
import json
import zipfile
from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.codepipeline import artifacts
from gureum.services.codepipeline.providers.base import (
    ActionCall,
    Outcome,
    failed,
    running,
    succeeded,
)

TIMEOUT_MINUTES = 60.0
POLL = 0.2
_REGISTER_KEYS = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "volumes", "placementConstraints",
                  "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode", "proxyConfiguration",
                  "inferenceAccelerators", "ephemeralStorage", "runtimePlatform")  # fmt: skip


def timeout_minutes(config: dict[str, str]) -> float:
    try:
        return max(1.0, float(config.get("DeploymentTimeout") or TIMEOUT_MINUTES))
    except ValueError:
        return TIMEOUT_MINUTES


def _image_definitions(call: ActionCall, data: bytes) -> list[dict[str, str]] | str:
    name = call.config.get("FileName") or "imagedefinitions.json"
    try:
        members = artifacts.zip_members(data)
    except zipfile.BadZipFile:
        return f"The input artifact '{call.inputs[0].name}' is not a zip file"
    raw = members.get(name)
    if raw is None:
        return f"Exception while trying to read the image artifact file from the artifact bucket: the artifact has no file {name}"
    try:
        items = json.loads(raw)
    except ValueError:
        return f"The image definition file {name} contains invalid JSON format"
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) and i.get("name") and i.get("imageUri") for i in items):
        return f"The image definition file {name} must be a non-empty JSON list of {{\"name\", \"imageUri\"}} objects"
    return [{"name": str(i["name"]), "imageUri": str(i["imageUri"])} for i in items]


def _new_revision(taskdef: dict[str, Any], images: list[dict[str, str]]) -> dict[str, Any] | str:
    containers = [dict(c) for c in taskdef["containerDefinitions"]]
    by_name = {c["name"]: c for c in containers}
    for item in images:
        if item["name"] not in by_name:
            return f"Invalid action configuration: The AWS ECS container {item['name']} does not exist"
        by_name[item["name"]]["image"] = item["imageUri"]
    req = {k: taskdef[k] for k in _REGISTER_KEYS if taskdef.get(k) not in (None, [], {})}
    req["containerDefinitions"] = containers
    return req


async def start(call: ActionCall) -> Outcome:
    from gureum.services.ecs import public as ecs

    cluster, service = call.config["ClusterName"], call.config["ServiceName"]
    data = await asyncio.to_thread(artifacts.read_bytes, call.app, call.inputs[0])
    images = _image_definitions(call, data)
    if isinstance(images, str):
        return failed("ConfigurationError", images)
    try:
        svc = ecs.describe_service(call.app, call.scope, cluster, service)
        if svc is None or svc.get("status") != "ACTIVE":
            return failed("ConfigurationError", f"The Amazon ECS service '{service}' does not exist or is not active in cluster '{cluster}'")
        req = _new_revision(ecs.describe_task_definition(call.app, call.scope, svc["taskDefinition"]), images)
        if isinstance(req, str):
            return failed("ConfigurationError", req)
        td = ecs.register_task_definition(call.app, call.scope, req)
        updated = ecs.update_service(call.app, call.scope, cluster, service, td["taskDefinitionArn"])
    except ServiceError as exc:
        return failed("JobFailed", f"Amazon ECS refused the deployment: {exc.code}: {exc.message}")
    dep = next(d for d in updated["deployments"] if d["status"] == "PRIMARY")
    label = f"{td['family']}:{td['revision']}"
    return running(
        summary=f"Deploying task definition {label} to service {service}", external_id=dep["id"],
        state={"deployment": dep["id"], "taskDefinition": td["taskDefinitionArn"], "label": label}, poll_after=POLL,
    )  # fmt: skip


async def poll(call: ActionCall) -> Outcome:
    from gureum.services.ecs import public as ecs

    dep_id = call.state.get("deployment")
    if not dep_id:
        return failed("SystemUnavailable", "The action was interrupted by a restart of Gureum before its deployment started; retry the stage")
    cluster, service = call.config["ClusterName"], call.config["ServiceName"]
    try:
        svc = ecs.describe_service(call.app, call.scope, cluster, service)
    except ServiceError as exc:
        return failed("JobFailed", f"{exc.code}: {exc.message}")
    dep = next((d for d in (svc or {}).get("deployments") or [] if d["id"] == dep_id), None)
    if dep is None:
        return failed("JobFailed", f"Deployment {dep_id} of service {service} was replaced by another deployment before it completed")
    state = dep.get("rolloutState")
    if state == "COMPLETED":
        return succeeded(summary=f"Service {service} reached a steady state on task definition {call.state.get('label')}")
    if state == "FAILED":
        return failed("JobFailed", f"The ECS deployment {dep_id} failed: {dep.get('rolloutStateReason', '')}")
    return running(poll_after=POLL, percent=_percent(dep))


def _percent(dep: dict[str, Any]) -> int | None:
    want = int(dep.get("desiredCount") or 0)
    return min(99, int(100 * int(dep.get("runningCount") or 0) / want)) if want else None
