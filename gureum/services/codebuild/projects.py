"""Project handlers: CreateProject, UpdateProject, BatchGetProjects, ListProjects, DeleteProject.

A project is stored as the API shows it, with CodeBuild's defaults filled
in (timeout 60 minutes, queued timeout 480, CloudWatch Logs enabled, the
S3-managed KMS alias).  The model already checked enums and ranges
(``timeoutInMinutes`` 5–2160, ``queuedTimeoutInMinutes`` 5–480); here go
the rules the model cannot say, with InvalidInputException:

* the name matches ``[A-Za-z0-9][A-Za-z0-9\\-_]{1,149}``;
* an S3 source names its object (``bucket/key``); NO_SOURCE needs an inline
  buildspec; CODEPIPELINE sources and artifacts go together;
* S3 artifacts name their bucket;
* environment variables are PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER
  (the last two are accepted here and fail the build: Gureum cannot resolve
  them).
"""

from __future__ import annotations

import copy
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.codebuild.buildspec import looks_inline
from gureum.services.codebuild.records import (
    COUNTER,
    PROJECT,
    already_exists,
    check_name,
    get_project,
    invalid_input,
    name_of,
    project_arn,
    public_view,
    require_project,
)

PAGE = 100
DEFAULT_TIMEOUT = 60
DEFAULT_QUEUED_TIMEOUT = 480
_UPDATABLE = (
    "description", "source", "secondarySources", "sourceVersion", "secondarySourceVersions", "artifacts",
    "secondaryArtifacts", "cache", "environment", "serviceRole", "timeoutInMinutes", "queuedTimeoutInMinutes",
    "encryptionKey", "vpcConfig", "logsConfig", "fileSystemLocations", "buildBatchConfig",
    "concurrentBuildLimit", "autoRetryLimit",
)  # fmt: skip


def check_source(source: dict[str, Any]) -> None:
    kind = source.get("type")
    if kind == "S3" and not source.get("location"):
        raise invalid_input("Project source location is required for source type S3 (bucket/key of a zip)")
    if kind == "S3" and "/" not in str(source.get("location", "")).strip("/"):
        raise invalid_input(f"Invalid S3 source location {source['location']!r}: expected <bucket>/<object key>")
    if kind == "NO_SOURCE" and not (source.get("buildspec") and looks_inline(source["buildspec"])):
        raise invalid_input("Project source buildspec cannot be empty for source type NO_SOURCE: give it inline")


def check_artifacts(artifacts: dict[str, Any], source_type: str) -> None:
    kind = artifacts.get("type")
    if (kind == "CODEPIPELINE") != (source_type == "CODEPIPELINE"):
        raise invalid_input("Both source and artifacts must be of type CODEPIPELINE, or neither")
    if kind == "S3" and not artifacts.get("location"):
        raise invalid_input("Artifacts location (an S3 bucket name) is required for artifacts type S3")


def _environment(env: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(env)
    out.setdefault("environmentVariables", [])
    for var in out["environmentVariables"]:
        var.setdefault("type", "PLAINTEXT")
    out.setdefault("privilegedMode", False)
    out.setdefault("imagePullCredentialsType", "CODEBUILD")
    return out


def _logs_config(cfg: dict[str, Any] | None) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg or {})
    cfg.setdefault("cloudWatchLogs", {"status": "ENABLED"})
    cfg.setdefault("s3Logs", {"status": "DISABLED", "encryptionDisabled": False})
    return cfg


def _normalize(doc: dict[str, Any]) -> dict[str, Any]:
    check_source(doc["source"])
    check_artifacts(doc["artifacts"], doc["source"]["type"])
    doc["source"].setdefault("insecureSsl", False)
    doc["environment"] = _environment(doc["environment"])
    doc["logsConfig"] = _logs_config(doc.get("logsConfig"))
    return doc


def create_project(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["name"]
    check_name(name)
    now = ctx.clock.now()
    doc: dict[str, Any] = {
        "name": name,
        "arn": project_arn(ctx.scope, name),
        "secondarySources": [],
        "secondarySourceVersions": [],
        "secondaryArtifacts": [],
        "cache": {"type": "NO_CACHE"},
        "timeoutInMinutes": DEFAULT_TIMEOUT,
        "queuedTimeoutInMinutes": DEFAULT_QUEUED_TIMEOUT,
        "encryptionKey": f"arn:aws:kms:{ctx.region}:{ctx.account}:alias/aws/s3",
        "tags": [],
        "badge": {"badgeEnabled": bool(req.get("badgeEnabled", False))},
        "projectVisibility": "PRIVATE",
    }
    doc.update({k: copy.deepcopy(req[k]) for k in ("tags", *_UPDATABLE) if req.get(k) is not None})
    doc["created"] = doc["lastModified"] = now
    _normalize(doc)
    with ctx.store.transaction():
        if not ctx.store.insert(PROJECT, ctx.scope, name, doc):
            raise already_exists(f"Project already exists: {name}")
        ctx.store.delete(COUNTER, ctx.scope, name)
    return {"project": public_view(doc)}


def update_project(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        doc = require_project(ctx.store, ctx.scope, req["name"])
        for key in ("tags", *_UPDATABLE):
            if req.get(key) is not None:
                doc[key] = copy.deepcopy(req[key])
        if "badgeEnabled" in req:
            doc["badge"] = {"badgeEnabled": bool(req["badgeEnabled"])}
        doc["lastModified"] = ctx.clock.now()
        _normalize(doc)
        ctx.store.put(PROJECT, ctx.scope, doc["name"], doc)
    return {"project": public_view(doc)}


def batch_get_projects(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    found, missing = [], []
    for name in req["names"]:
        doc = get_project(ctx.store, ctx.scope, name)
        if doc is None:
            missing.append(name)
        else:
            found.append(public_view(doc))
    return {"projects": found, "projectsNotFound": missing}


def _sort_key(by: str) -> Any:
    if by == "CREATED_TIME":
        return lambda d: (d["created"], d["name"])
    if by == "LAST_MODIFIED_TIME":
        return lambda d: (d["lastModified"], d["name"])
    return lambda d: d["name"]


def list_projects(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    by = req.get("sortBy") or "NAME"
    descending = (req.get("sortOrder") or ("ASCENDING" if by == "NAME" else "DESCENDING")) == "DESCENDING"
    docs = sorted((d for _, d in ctx.store.list(PROJECT, ctx.scope)), key=_sort_key(by), reverse=descending)
    start = decode_token(req.get("nextToken"))
    page = docs[start : start + PAGE]
    out: dict[str, Any] = {"projects": [d["name"] for d in page]}
    if start + PAGE < len(docs):
        out["nextToken"] = str(start + PAGE)
    return out


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise invalid_input(f"Invalid next token: {token}")
    return int(token)


def delete_project(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = name_of(req["name"])
    ctx.store.delete(PROJECT, ctx.scope, name)
    return {}


OPERATIONS = {
    "CreateProject": create_project,
    "UpdateProject": update_project,
    "BatchGetProjects": batch_get_projects,
    "ListProjects": list_projects,
    "DeleteProject": delete_project,
}
