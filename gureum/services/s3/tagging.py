"""Object tagging: Put/Get/DeleteObjectTagging, on the current version or a named one."""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.s3.access import resolve
from gureum.services.s3.records import require_bucket, update_version
from gureum.services.s3.registry import api
from gureum.services.s3.views import check_tags, versioned


def _target(ctx: RequestContext, req: dict[str, Any], method: str) -> tuple[dict[str, Any], dict[str, Any]]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    return bucket, resolve(ctx.store, bucket["Name"], req["Key"], req.get("VersionId"), method)


def _answer(bucket: dict[str, Any], doc: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out = dict(extra)
    if versioned(bucket):
        out["VersionId"] = doc["VersionId"]
    return out


@api.operation("PutObjectTagging")
def put_object_tagging(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket, doc = _target(ctx, req, "PUT")
    tags = [dict(t) for t in (req.get("Tagging") or {}).get("TagSet") or []]
    check_tags(tags, object_tags=True)
    doc["Tags"] = tags
    update_version(ctx.store, bucket["Name"], doc)
    return _answer(bucket, doc)


@api.operation("GetObjectTagging")
def get_object_tagging(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket, doc = _target(ctx, req, "GET")
    return _answer(bucket, doc, TagSet=list(doc.get("Tags") or []))


@api.operation("DeleteObjectTagging")
def delete_object_tagging(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket, doc = _target(ctx, req, "DELETE")
    doc["Tags"] = []
    update_version(ctx.store, bucket["Name"], doc)
    return _answer(bucket, doc)
