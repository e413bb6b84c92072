"""Source: Amazon S3 — copy one version of a zip object into the artifact store.

The bucket must exist and have versioning Enabled (AWS requires a versioned
source bucket).  The version fetched is the one the execution was started
for (a change the poller saw, or StartPipelineExecution's
``sourceRevisions``: ``S3_OBJECT_VERSION_ID``, or ``S3_OBJECT_KEY`` when
``AllowOverrideForS3ObjectKey`` is true), else the newest.  Output
variables: ``ETag`` and ``VersionId``; the revision is the version id, its
summary the object's ``codepipeline-artifact-revision-summary`` metadata.
"""

from __future__ import annotations

import asyncio

from gureum.core.errors import ServiceError
from gureum.services.codepipeline import artifacts
from gureum.services.codepipeline.providers.base import ActionCall, Outcome, failed, succeeded

TIMEOUT_MINUTES = 20.0


async def start(call: ActionCall) -> Outcome:
    bucket, key = call.config["S3Bucket"], call.override.get("S3_OBJECT_KEY") or call.config["S3ObjectKey"]
    version = call.override.get("S3_OBJECT_VERSION_ID")
    outcome = await asyncio.to_thread(_fetch, call, bucket, key, version)
    if outcome.revision is not None:
        from gureum.services.codepipeline.source_watch import saw

        saw(call.app, call.scope, call.pipeline, call.action, outcome.revision["revisionId"])
    return outcome


async def poll(call: ActionCall) -> Outcome:
    return failed("SystemUnavailable", "The action was interrupted by a restart of Gureum before it finished; retry the stage")


def _fetch(call: ActionCall, bucket: str, key: str, version: str | None) -> Outcome:
    from gureum.services.s3.public import bucket_versioning, open_object

    try:
        status = bucket_versioning(call.app, bucket)
    except ServiceError:
        return failed("ConfigurationError", f"The S3 bucket '{bucket}' of the source action does not exist")
    if status != "Enabled":
        return failed("ConfigurationError", f"The S3 bucket '{bucket}' is not versioned: an Amazon S3 source action needs a bucket with versioning enabled")
    try:
        f, meta = open_object(call.app, bucket, key, version)
    except ServiceError as exc:
        what = f"version {version} of the object" if version else "the object"
        return failed("RevisionUnavailable", f"Could not fetch {what} '{key}' from bucket '{bucket}': {exc.message}")
    with f:
        data = f.read()
    out = call.outputs[0]
    artifacts.put_bytes(call.app, out, data)
    vid = meta["VersionId"]
    etag = str(meta.get("ETag", "")).strip('"')
    summary = (meta.get("Metadata") or {}).get("codepipeline-artifact-revision-summary")
    revision = {"revisionId": vid, "changeIdentifier": etag, "created": meta.get("LastModified"), "revisionSummary": summary}
    return succeeded(
        summary=summary, external_id=vid, revision=revision, variables={"ETag": etag, "VersionId": vid},
        state={"bucket": bucket, "key": key, "size": len(data)},
    )  # fmt: skip
