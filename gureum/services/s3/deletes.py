"""DeleteObject and DeleteObjects.

What a delete does depends on the bucket's versioning and on whether a
version id is named (S3's rules,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html):

=====================  ===========================================================
request                effect
=====================  ===========================================================
version id             that version (or delete marker) is gone for good; the next
                       newest becomes current
unversioned bucket     the object (its null version) is gone
versioning enabled     a delete marker with a new version id becomes newest
versioning suspended   a delete marker with version id "null" replaces the null
                       version
=====================  ===========================================================

Deleting something that does not exist succeeds (204).
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Doc
from gureum.services.api import RequestContext
from gureum.services.s3.errors import malformed_xml
from gureum.services.s3.objects import new_version
from gureum.services.s3.records import commit_version, remove_version, require_bucket, state
from gureum.services.s3.registry import api

MAX_BATCH = 1000


def delete_one(ctx: RequestContext, bucket: Doc, key: str, version_id: str | None) -> dict[str, Any]:
    """Delete a key or one version; returns what DeleteObject answers."""
    blobs = state(ctx.app).blobs
    name = bucket["Name"]
    if version_id:
        removed = remove_version(ctx.store, name, key, version_id)
        out: dict[str, Any] = {"VersionId": version_id}
        if removed is not None:
            blobs.remove([removed.get("Blob", "")])
            if removed.get("DeleteMarker"):
                out["DeleteMarker"] = True
        return out
    if not bucket.get("Versioning"):
        removed = remove_version(ctx.store, name, key, "null")
        if removed is not None:
            blobs.remove([removed.get("Blob", "")])
        return {}
    marker = {**new_version(ctx, bucket, key), "DeleteMarker": True}
    blobs.remove(commit_version(ctx.store, name, marker))
    return {"DeleteMarker": True, "VersionId": marker["VersionId"]}


@api.operation("DeleteObject")
def delete_object(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    return delete_one(ctx, bucket, req["Key"], req.get("VersionId"))


@api.operation("DeleteObjects")
def delete_objects(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    spec = req.get("Delete") or {}
    objects = spec.get("Objects") or []
    if not objects or len(objects) > MAX_BATCH:
        raise malformed_xml()
    deleted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for item in objects:
        key, version_id = item.get("Key", ""), item.get("VersionId")
        try:
            result = delete_one(ctx, bucket, key, version_id)
        except ServiceError as exc:
            err = {"Key": key, "Code": exc.code, "Message": exc.message}
            if version_id:
                err["VersionId"] = version_id
            errors.append(err)
            continue
        entry: dict[str, Any] = {"Key": key}
        if version_id:
            entry["VersionId"] = version_id
        if result.get("DeleteMarker"):
            entry["DeleteMarker"] = True
            entry["DeleteMarkerVersionId"] = result.get("VersionId") if not version_id else version_id
        deleted.append(entry)
    out: dict[str, Any] = {}
    if deleted and not spec.get("Quiet"):
        out["Deleted"] = deleted
    if errors:
        out["Errors"] = errors
    return out
