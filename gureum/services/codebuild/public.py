"""What other services (CodePipeline) may use of CodeBuild without going over HTTP.

* :func:`start_build` — start a build of a project; the source is the
  project's own, or a pipeline's input artifact (a zip file on the host, or
  an S3 object ``bucket/key``); an output artifact goes where the pipeline
  says (a zip at ``(bucket, key)``).  Returns the build id at once; the
  build runs in the background like one started by StartBuild.
* :func:`get_build` — the build as BatchGetBuilds shows it (None if unknown).
* :func:`stop_build` — StopBuild.

Errors are CodeBuild's ``ServiceError``\\ s (ResourceNotFoundException for
an unknown project, InvalidInputException for bad input).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.codebuild.records import BUILD, build_id_of, not_found, public_view
from gureum.services.codebuild.records import get_build as _get

if TYPE_CHECKING:
    from gureum.app import App


def start_build(
    app: App,
    scope: Scope,
    project: str,
    *,
    source_zip_path: str | Path | None = None,
    source_s3: str | None = None,
    source_version: str | None = None,
    env_overrides: dict[str, str] | list[dict[str, Any]] | None = None,
    buildspec_override: str | None = None,
    artifact_s3: tuple[str, str] | None = None,
    initiator: str = "codepipeline",
) -> str:
    """Start a build; returns its id (``<project>:<uuid>``)."""
    app.service_api("codebuild")  # the controller must be running
    from gureum.services.codebuild.builds import create_build

    req: dict[str, Any] = {}
    if isinstance(env_overrides, dict):
        req["environmentVariablesOverride"] = [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env_overrides.items()]
    elif env_overrides:
        req["environmentVariablesOverride"] = list(env_overrides)
    if buildspec_override:
        req["buildspecOverride"] = buildspec_override
    if source_version:
        req["sourceVersion"] = source_version
    pipeline_source: dict[str, Any] | None = None
    if source_zip_path is not None:
        pipeline_source = {"type": "ZIP_PATH", "path": str(source_zip_path), "version": source_version or ""}
    elif source_s3 is not None:
        pipeline_source = {"type": "S3", "location": source_s3, "version": source_version or ""}
    target = {"bucket": artifact_s3[0], "key": artifact_s3[1]} if artifact_s3 else None
    doc = create_build(app, scope, project, req, initiator=initiator, pipeline_source=pipeline_source, artifact_target=target)
    return str(doc["id"])


def get_build(app: App, scope: Scope, build_id: str) -> dict[str, Any] | None:
    doc = _get(app.store, scope, build_id)
    return None if doc is None else public_view(doc)


def stop_build(app: App, scope: Scope, build_id: str) -> dict[str, Any]:
    from gureum.services.codebuild.runner import controller

    build_id = build_id_of(build_id)
    with app.store.transaction():
        doc = _get(app.store, scope, build_id)
        if doc is None:
            raise not_found(f"Build {build_id} does not exist")
        if not doc.get("buildComplete"):
            doc["_run"]["stop"] = True
            app.store.put(BUILD, scope, build_id, doc)
    if not doc.get("buildComplete"):
        controller.signal_stop(app, scope, build_id)
    return public_view(doc)
