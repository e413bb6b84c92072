"""Build / Test: AWS CodeBuild — a real build of the input artifact.

The build is started through CodeBuild's public ``start_build`` with the
input artifact's S3 location as its source and the first output artifact's
location as its artifact target; the project should have ``CODEPIPELINE``
source and artifacts (as on AWS).  ``EnvironmentVariables`` (a JSON list of
``{name, value, type}``, variables already resolved) override the project's.
The action follows the build (polled every :data:`POLL` real seconds) and
ends with it: exported variables become output variables; a failed build
fails the action with AWS's wording ("Build terminated with state: FAILED.
Phase: BUILD, Code: …, Message: …").

Not supported (the action fails saying so): more than one input artifact
(secondary sources) or output artifact (secondary artifacts), batch builds.
"""

from __future__ import annotations

import json
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

TIMEOUT_MINUTES = 480.0
POLL = 0.1


def _url(call: ActionCall, build_id: str) -> str:
    return f"https://console.aws.amazon.com/codebuild/home?region={call.scope.region}#/builds/{build_id}/view/new"


def _env(call: ActionCall) -> list[dict[str, Any]] | str:
    raw = call.config.get("EnvironmentVariables")
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        return "EnvironmentVariables is not valid JSON: it must be a list of {name, value, type} objects"
    if not isinstance(items, list) or not all(isinstance(i, dict) and "name" in i and "value" in i for i in items):
        return "EnvironmentVariables must be a JSON list of {name, value, type} objects"
    return [{"name": str(i["name"]), "value": str(i["value"]), "type": i.get("type") or "PLAINTEXT"} for i in items]


async def start(call: ActionCall) -> Outcome:
    from gureum.services.codebuild.public import start_build

    if call.config.get("BatchEnabled", "").lower() == "true":
        return failed("ConfigurationError", "Batch builds (BatchEnabled) are not supported by Gureum's CodeBuild action")
    if len(call.inputs) > 1:
        return failed("ConfigurationError", "Gureum's CodeBuild action builds one input artifact; secondary sources are not supported")
    if len(call.outputs) > 1:
        return failed("ConfigurationError", "Gureum's CodeBuild action uploads one output artifact; secondary artifacts are not supported")
    env = _env(call)
    if isinstance(env, str):
        return failed("ConfigurationError", env)
    src = call.inputs[0]
    target = (call.outputs[0].bucket, call.outputs[0].key) if call.outputs else None
    try:
        build_id = start_build(
            call.app, call.scope, call.config["ProjectName"], source_s3=f"{src.bucket}/{src.key}",
            env_overrides=env, artifact_s3=target, initiator=f"codepipeline/{call.pipeline}",
        )  # fmt: skip
    except ServiceError as exc:
        return failed("JobFailed", exc.message)
    return running(external_id=build_id, url=_url(call, build_id), state={"build": build_id}, poll_after=POLL)


async def poll(call: ActionCall) -> Outcome:
    from gureum.services.codebuild.public import get_build

    build_id = call.state.get("build")
    if not build_id:
        return failed("SystemUnavailable", "The action was interrupted by a restart of Gureum before its build started; retry the stage")
    build = get_build(call.app, call.scope, build_id)
    if build is None:
        return failed("JobFailed", f"Build {build_id} no longer exists")
    if not build.get("buildComplete"):
        return running(poll_after=POLL)
    ext = {"external_id": build_id, "url": _url(call, build_id)}
    if build.get("buildStatus") != "SUCCEEDED":
        return failed("JobFailed", failure_message(build), **ext)
    for out in call.outputs:
        if not artifacts.exists(call.app, out):
            return failed(
                "ConfigurationError",
                f"Build {build_id} succeeded but uploaded no output artifact '{out.name}': the project's artifacts "
                "type must be CODEPIPELINE and its buildspec must declare artifacts",
                **ext,
            )
    exported = {v["name"]: v["value"] for v in build.get("exportedEnvironmentVariables") or []}
    return succeeded(variables=exported, **ext)


def abandon(call: ActionCall) -> None:
    from gureum.services.codebuild.public import stop_build

    if call.state.get("build"):
        try:
            stop_build(call.app, call.scope, call.state["build"])
        except ServiceError:
            pass


def failure_message(build: dict[str, Any]) -> str:
    """``Build terminated with state: FAILED. Phase: BUILD, Code: …, Message: …`` from the first failed phase."""
    status = build.get("buildStatus", "FAILED")
    for phase in build.get("phases") or []:
        if phase.get("phaseStatus") in (None, "SUCCEEDED", "IN_PROGRESS"):
            continue
        ctx = (phase.get("contexts") or [{}])[0]
        return (f"Build terminated with state: {status}. Phase: {phase.get('phaseType')}, "
                f"Code: {ctx.get('statusCode', '')}, Message: {ctx.get('message', '')}")  # fmt: skip
    return f"Build terminated with state: {status}"
