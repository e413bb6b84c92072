"""CopyObject, and the copy-source rules UploadPartCopy shares.

``x-amz-copy-source`` is ``[/]<bucket>/<url-encoded key>[?versionId=<id>]``.
The copy gets its own blob (a hard link, so no bytes are copied) and a new
version.  ``MetadataDirective`` COPY keeps the source's metadata and
representation headers, REPLACE takes them from the request;
``TaggingDirective`` does the same for tags.  Copying an object onto itself
without changing anything is refused, as S3 refuses it.  Copy-source
preconditions that fail answer 412 (never 304).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

from gureum.core.clock import to_datetime
from gureum.core.errors import ServiceError
from gureum.core.store import Doc
from gureum.services.api import RequestContext
from gureum.services.s3.access import check_key
from gureum.services.s3.errors import (
    invalid_argument,
    invalid_request,
    no_such_key,
    no_such_version,
    precondition_failed,
)
from gureum.services.s3.objects import new_version
from gureum.services.s3.preconditions import check_preconditions
from gureum.services.s3.records import commit_version, current, find_version, require_bucket, state
from gureum.services.s3.registry import api
from gureum.services.s3.views import (
    checksum_members,
    parse_tagging_header,
    stored_headers,
    versioned,
)


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of an ``x-amz-copy-source`` header."""
    path, _, query = value.partition("?")
    version_id = None
    for k, v in parse_qsl(query, keep_blank_values=True):
        if k == "versionId":
            version_id = v
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            "x-amz-copy-source",
            value,
        )
    return bucket, key, version_id


def resolve_source(ctx: RequestContext, req: dict[str, Any]) -> tuple[Doc, Doc]:
    """(source bucket, source version) of a copy, after its preconditions."""
    bucket_name, key, version_id = parse_copy_source(req["CopySource"])
    bucket = require_bucket(ctx.store, bucket_name)
    if version_id:
        src = find_version(ctx.store, bucket_name, key, version_id)
        if src is None:
            raise no_such_version(key, version_id)
        if src.get("DeleteMarker"):
            raise invalid_request(
                "The source of a copy request may not specifically refer to a delete marker by version id."
            )
    else:
        src = current(ctx.store, bucket_name, key)
        if src is None:
            raise no_such_key(key)
    failed = check_preconditions(
        src["ETag"],
        src["LastModified"],
        if_match=req.get("CopySourceIfMatch"),
        if_none_match=req.get("CopySourceIfNoneMatch"),
        if_modified_since=req.get("CopySourceIfModifiedSince"),
        if_unmodified_since=req.get("CopySourceIfUnmodifiedSince"),
    )
    if failed is not None:
        raise precondition_failed("x-amz-copy-source-" + failed.condition)
    return bucket, src


def _representation(req: dict[str, Any], src: Doc) -> dict[str, Any]:
    directive = (req.get("MetadataDirective") or "COPY").upper()
    if directive == "REPLACE":
        return {
            "ContentType": req.get("ContentType") or "binary/octet-stream",
            "Headers": stored_headers(req),
            "Metadata": dict(req.get("Metadata") or {}),
        }
    return {
        "ContentType": src.get("ContentType"),
        "Headers": dict(src.get("Headers") or {}),
        "Metadata": dict(src.get("Metadata") or {}),
    }


@api.operation("CopyObject")
def copy_object(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    dest = require_bucket(ctx.store, req["Bucket"])
    key = req["Key"]
    check_key(key)
    src_bucket, src = resolve_source(ctx, req)
    same = src_bucket["Name"] == dest["Name"] and src["Key"] == key
    changes = (
        (req.get("MetadataDirective") or "COPY").upper() == "REPLACE"
        or req.get("StorageClass")
        or req.get("WebsiteRedirectLocation")
        or req.get("ServerSideEncryption")
        or req.get("SSEKMSKeyId")
    )
    if same and not changes:
        raise invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without "
            "changing the object's metadata, storage class, website redirect location or encryption attributes."
        )
    if (req.get("TaggingDirective") or "COPY").upper() == "REPLACE":
        tags = parse_tagging_header(req.get("Tagging"))
    else:
        tags = list(src.get("Tags") or [])
    blobs = state(ctx.app).blobs
    try:
        blob_id = blobs.link(src["Blob"])
    except FileNotFoundError:
        raise ServiceError("InternalError", "The source object's data is missing", 500) from None
    doc = {
        **new_version(ctx, dest, key),
        "Size": src["Size"],
        "ETag": src["ETag"],
        "Blob": blob_id,
        **_representation(req, src),
        "Checksums": dict(src.get("Checksums") or {}),
        "ChecksumType": src.get("ChecksumType"),
        "StorageClass": req.get("StorageClass") or src.get("StorageClass") or "STANDARD",
        "Tags": tags,
    }
    if src.get("Parts"):
        doc["Parts"] = list(src["Parts"])
    blobs.remove(commit_version(ctx.store, dest["Name"], doc))
    result = {"ETag": doc["ETag"], "LastModified": to_datetime(doc["LastModified"]), **checksum_members(doc)}
    out: dict[str, Any] = {"CopyObjectResult": result, "ServerSideEncryption": "AES256"}
    if versioned(dest):
        out["VersionId"] = doc["VersionId"]
    if versioned(src_bucket):
        out["CopySourceVersionId"] = src["VersionId"]
    return out
