"""Deploy: CodeDeploy and CodeDeployToECS — an integration point for Gureum's CodeDeploy.

Until ``gureum/services/codedeploy/public.py`` exists (with the two functions
below), these actions fail with "… provider is not available yet".  The
contract this module expects of it:

* ``create_deployment(app, scope, *, application_name, deployment_group_name,
  revision, description) -> str`` — CreateDeployment; returns the deployment id.
* ``get_deployment(app, scope, deployment_id) -> dict | None`` — GetDeployment's
  ``deploymentInfo`` (``status``: Created, Queued, InProgress, Baking, Ready,
  Succeeded, Failed, Stopped; ``errorInformation``).

What is deployed, as CodePipeline does it:

* CodeDeploy (EC2/on-premises): the input artifact as an S3 revision
  ``{"revisionType": "S3", "s3Location": {"bucket", "key", "bundleType": "zip"}}``.
* CodeDeployToECS (blue/green): the task definition template
  (``TaskDefinitionTemplateArtifact``/``TaskDefinitionTemplatePath``, default
  ``taskdef.json``) with each ``<ImageNContainerName>`` placeholder replaced by
  the ``ImageURI`` of ``imageDetail.json`` in ``ImageNArtifactName`` is
  registered as a new ECS task definition revision; the AppSpec
  (``AppSpecTemplateArtifact``/``AppSpecTemplatePath``, default
  ``appspec.yaml``) with ``<TASK_DEFINITION>`` replaced by its ARN is the
  revision ``{"revisionType": "AppSpecContent", "appSpecContent": {"content": …}}``.

The action succeeds when the deployment Succeeded and fails with its
``errorInformation`` when it Failed or Stopped.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from types import ModuleType
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
POLL = 0.5
PUBLIC = "gureum.services.codedeploy.public"


def _codedeploy() -> ModuleType | None:
    try:
        module = importlib.import_module(PUBLIC)
    except ImportError:
        return None
    if not (hasattr(module, "create_deployment") and hasattr(module, "get_deployment")):
        return None
    return module


def _unavailable(call: ActionCall) -> Outcome:
    return failed("ConfigurationError", f"The {call.type_id['provider']} action provider is not available yet in Gureum "
                  f"(it needs {PUBLIC.replace('.', '/')}.py with create_deployment and get_deployment)")  # fmt: skip


async def start(call: ActionCall) -> Outcome:
    cd = _codedeploy()
    if cd is None:
        return _unavailable(call)
    args: dict[str, Any] = {"application_name": call.config["ApplicationName"], "deployment_group_name": call.config["DeploymentGroupName"],
                            "description": f"Deployed by CodePipeline {call.pipeline} ({call.execution_id})"}  # fmt: skip
    try:
        if call.type_id["provider"] == "CodeDeployToECS":
            extra = await asyncio.to_thread(_ecs_inputs, call)
            if isinstance(extra, str):
                return failed("ConfigurationError", extra)
            args.update(extra)
        else:
            src = call.inputs[0]
            args["revision"] = {"revisionType": "S3", "s3Location": {"bucket": src.bucket, "key": src.key, "bundleType": "zip"}}
        deployment_id = cd.create_deployment(call.app, call.scope, **args)
    except ServiceError as exc:
        return failed("JobFailed", f"{exc.code}: {exc.message}")
    return running(external_id=deployment_id, state={"deployment": deployment_id}, poll_after=POLL)


async def poll(call: ActionCall) -> Outcome:
    cd = _codedeploy()
    if cd is None:
        return _unavailable(call)
    info = cd.get_deployment(call.app, call.scope, call.state.get("deployment", ""))
    if info is None:
        return failed("JobFailed", f"Deployment {call.state.get('deployment')} does not exist")
    status = info.get("status")
    if status == "Succeeded":
        return succeeded(summary=f"Deployment {call.state['deployment']} succeeded")
    if status in ("Failed", "Stopped"):
        err = info.get("errorInformation") or {}
        return failed("JobFailed", f"Deployment {call.state['deployment']} {status.lower()}: {err.get('message', '')}".strip())
    return running(poll_after=POLL)


def _ecs_inputs(call: ActionCall) -> dict[str, Any] | str:
    from gureum.services.ecs import public as ecs

    def file_of(artifact_key: str, path_key: str, default: str) -> str | None:
        ref = call.input_named(call.config.get(artifact_key))
        if ref is None:
            return None
        raw = artifacts.zip_members(artifacts.read_bytes(call.app, ref)).get(call.config.get(path_key) or default)
        return None if raw is None else raw.decode()

    taskdef = file_of("TaskDefinitionTemplateArtifact", "TaskDefinitionTemplatePath", "taskdef.json")
    appspec = file_of("AppSpecTemplateArtifact", "AppSpecTemplatePath", "appspec.yaml")
    if taskdef is None or appspec is None:
        return "The task definition template or the AppSpec file was not found in its input artifact"
    for i in range(1, 5):
        art, placeholder = call.config.get(f"Image{i}ArtifactName"), call.config.get(f"Image{i}ContainerName")
        ref = call.input_named(art) if art else None
        if ref is None or not placeholder:
            continue
        detail = json.loads(artifacts.zip_members(artifacts.read_bytes(call.app, ref)).get("imageDetail.json", b"{}"))
        taskdef = taskdef.replace(f"<{placeholder}>", str(detail.get("ImageURI", "")))
    try:
        registered = ecs.register_task_definition(call.app, call.scope, json.loads(taskdef))
    except ValueError:
        return "The task definition template is not valid JSON"
    content = appspec.replace("<TASK_DEFINITION>", registered["taskDefinitionArn"])
    return {"revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}}
