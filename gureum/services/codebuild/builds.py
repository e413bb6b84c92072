"""Build handlers: StartBuild, BatchGetBuilds, StopBuild, ListBuilds,
ListBuildsForProject, BatchDeleteBuilds — and :func:`create_build`, which
StartBuild and CodePipeline (through :mod:`.public`) share.

StartBuild records intent only: a build record in SUBMITTED with
IN_PROGRESS status, an ``active`` marker, and a wake-up of the build
controller, which runs it (:mod:`.runner`).  Ids are ``<project>:<uuid>``;
build numbers count up per project from 1.  The build copies what it needs
of the project (source, environment with the overrides applied, artifacts,
timeouts, logs config), so a later UpdateProject does not change a build
that already started.

StartBuild's overrides: ``sourceVersion``, ``sourceTypeOverride``,
``sourceLocationOverride``, ``buildspecOverride``,
``environmentVariablesOverride`` (merged by name), ``imageOverride``,
``environmentTypeOverride``, ``computeTypeOverride``,
``timeoutInMinutesOverride``, ``queuedTimeoutInMinutesOverride``,
``artifactsOverride``, ``logsConfigOverride``, ``serviceRoleOverride``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from gureum.core.ids import uuid4
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.codebuild.projects import check_artifacts, check_source, decode_token
from gureum.services.codebuild.records import (
    ACTIVE,
    BUILD,
    build_arn,
    build_id_of,
    get_build,
    invalid_input,
    next_build_number,
    not_found,
    public_view,
    require_project,
)
from gureum.services.codebuild.runner import controller
from gureum.services.codebuild.runner.environment import merge_variables
from gureum.services.codebuild.runner.logs import log_target, logs_location
from gureum.services.codebuild.runner.workspace import split_location

if TYPE_CHECKING:
    from gureum.app import App

PAGE = 100
_ENV_OVERRIDES = {"imageOverride": "image", "environmentTypeOverride": "type", "computeTypeOverride": "computeType",
                  "privilegedModeOverride": "privilegedMode", "certificateOverride": "certificate"}  # fmt: skip


def _source(project: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = copy.deepcopy(project["source"])
    if req.get("sourceTypeOverride"):
        source = {"type": req["sourceTypeOverride"], "insecureSsl": False}
    if req.get("sourceLocationOverride"):
        source["location"] = req["sourceLocationOverride"]
    if req.get("buildspecOverride"):
        source["buildspec"] = req["buildspecOverride"]
    return source


def _environment(project: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    env: dict[str, Any] = copy.deepcopy(project["environment"])
    for member, field in _ENV_OVERRIDES.items():
        if req.get(member) is not None:
            env[field] = req[member]
    env["environmentVariables"] = merge_variables(env.get("environmentVariables", []), req.get("environmentVariablesOverride"))
    return env


def _fetch(source: dict[str, Any], version: str, pipeline_source: dict[str, Any] | None) -> dict[str, Any]:
    """What the runner downloads (``_run.source``)."""
    if pipeline_source is not None:
        return pipeline_source
    kind = source["type"]
    if kind == "S3":
        bucket, key = split_location(source.get("location", ""))
        return {"type": "S3", "location": f"{bucket}/{key}", "version": version}
    if kind == "CODEPIPELINE":
        raise invalid_input("Builds of a project whose source type is CODEPIPELINE are started by CodePipeline")
    return {"type": kind}


def create_build(
    app: App,
    scope: Scope,
    project_name: str,
    req: dict[str, Any],
    *,
    initiator: str,
    pipeline_source: dict[str, Any] | None = None,
    artifact_target: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Record a new build of ``project_name`` and wake the controller; returns the record."""
    project = require_project(app.store, scope, project_name)
    name = project["name"]
    source = _source(project, req)
    artifacts = copy.deepcopy(req.get("artifactsOverride") or project["artifacts"])
    if pipeline_source is None:
        check_source(source)
        check_artifacts(artifacts, source["type"])
    version = req.get("sourceVersion") or project.get("sourceVersion") or ""
    fetch = _fetch(source, version, pipeline_source)
    build_uuid = uuid4()
    build_id = f"{name}:{build_uuid}"
    now = app.clock.now()
    target = log_target(name, req.get("logsConfigOverride") or project.get("logsConfig"), build_uuid)
    doc: dict[str, Any] = {
        "id": build_id,
        "arn": build_arn(scope, build_id),
        "buildNumber": next_build_number(app.store, scope, name),
        "startTime": now,
        "currentPhase": "SUBMITTED",
        "buildStatus": "IN_PROGRESS",
        "projectName": name,
        "phases": [{"phaseType": "SUBMITTED", "startTime": now}],
        "source": source,
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": {"location": ""},
        "secondaryArtifacts": [],
        "cache": copy.deepcopy(project.get("cache") or {"type": "NO_CACHE"}),
        "environment": _environment(project, req),
        "logs": logs_location(scope, target),
        "timeoutInMinutes": int(req.get("timeoutInMinutesOverride") or project["timeoutInMinutes"]),
        "queuedTimeoutInMinutes": int(req.get("queuedTimeoutInMinutesOverride") or project["queuedTimeoutInMinutes"]),
        "buildComplete": False,
        "initiator": initiator,
        "encryptionKey": project.get("encryptionKey", ""),
        "exportedEnvironmentVariables": [],
        "reportArns": [],
        "fileSystemLocations": [],
        "_run": {
            "stop": False,
            "log": {"enabled": target.enabled, "group": target.group, "stream": target.stream},
            "source": fetch,
            "buildspec": None,
            "artifacts": artifacts,
            "artifactTarget": artifact_target,
            "session": None,
            "started": False,
        },
    }
    if version:
        doc["sourceVersion"] = version
    role = req.get("serviceRoleOverride") or project.get("serviceRole")
    if role:
        doc["serviceRole"] = role
    with app.store.transaction():
        app.store.put(BUILD, scope, build_id, doc)
        app.store.put(ACTIVE, scope, build_id, {})
    controller.enqueue(app, scope, build_id)
    return doc


def start_build(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = create_build(ctx.app, ctx.scope, req["projectName"], req, initiator="root")
    return {"build": public_view(doc)}


def batch_get_builds(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    found, missing = [], []
    for build_id in req["ids"]:
        doc = get_build(ctx.store, ctx.scope, build_id)
        if doc is None:
            missing.append(build_id)
        else:
            found.append(public_view(doc))
    return {"builds": found, "buildsNotFound": missing}


def stop_build(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    build_id = build_id_of(req["id"])
    with ctx.store.transaction():
        doc = get_build(ctx.store, ctx.scope, build_id)
        if doc is None:
            raise not_found(f"Build {req['id']} does not exist")
        if not doc.get("buildComplete"):
            doc["_run"]["stop"] = True
            ctx.store.put(BUILD, ctx.scope, build_id, doc)
    if not doc.get("buildComplete"):
        controller.signal_stop(ctx.app, ctx.scope, build_id)
    return {"build": public_view(doc)}


def _ids(ctx: RequestContext, req: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    docs = [d for _, d in ctx.store.list(BUILD, ctx.scope, prefix=prefix)]
    descending = (req.get("sortOrder") or "DESCENDING") == "DESCENDING"
    docs.sort(key=lambda d: (d["startTime"], d["buildNumber"], d["id"]), reverse=descending)
    start = decode_token(req.get("nextToken"))
    out: dict[str, Any] = {"ids": [d["id"] for d in docs[start : start + PAGE]]}
    if start + PAGE < len(docs):
        out["nextToken"] = str(start + PAGE)
    return out


def list_builds(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return _ids(ctx, req)


def list_builds_for_project(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    project = require_project(ctx.store, ctx.scope, req["projectName"])
    return _ids(ctx, req, prefix=project["name"] + ":")


def batch_delete_builds(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    deleted, kept = [], []
    for raw in req["ids"]:
        build_id = build_id_of(raw)
        doc = get_build(ctx.store, ctx.scope, build_id)
        if doc is None:
            kept.append({"id": raw, "statusCode": "BUILD_NOT_FOUND"})
        elif not doc.get("buildComplete"):
            kept.append({"id": raw, "statusCode": "BUILD_IN_PROGRESS"})
        else:
            ctx.store.delete(BUILD, ctx.scope, build_id)
            deleted.append(raw)
    return {"buildsDeleted": deleted, "buildsNotDeleted": kept}


OPERATIONS = {
    "StartBuild": start_build,
    "BatchGetBuilds": batch_get_builds,
    "StopBuild": stop_build,
    "ListBuilds": list_builds,
    "ListBuildsForProject": list_builds_for_project,
    "BatchDeleteBuilds": batch_delete_builds,
}
