"""Object handlers: PutObject, GetObject, HeadObject.

PutObject streams the body to a blob (:mod:`.ingest`), then records the
version in one transaction (:func:`.records.commit_version`); the blob of a
replaced null version is unlinked after that.  GetObject answers the body as
an async iterator over the blob file, never reading it whole: a Range gives
206 with Content-Range, ``partNumber`` the bytes of one part of a multipart
object.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Doc
from gureum.services.api import RequestContext
from gureum.services.s3.access import check_key, resolve
from gureum.services.s3.errors import (
    no_such_bucket,
    no_such_key,
    not_modified,
    precondition_failed,
)
from gureum.services.s3.ingest import receive_body, streaming_handler
from gureum.services.s3.preconditions import (
    ByteRange,
    RangeNotSatisfiable,
    check_preconditions,
    etag_matches,
    parse_range,
)
from gureum.services.s3.records import commit_version, current, get_bucket, require_bucket, state
from gureum.services.s3.registry import api
from gureum.services.s3.views import (
    checksum_members,
    object_view,
    parse_tagging_header,
    stored_headers,
    versioned,
)

MAX_METADATA_BYTES = 2048


def set_status(ctx: RequestContext, status: int) -> None:
    """Answer with ``status`` instead of the operation's default (206 for a range)."""
    ctx.response_status = status


def _check_write_conditions(ctx: RequestContext, bucket: str, key: str, req: dict[str, Any]) -> None:
    """PutObject's conditional writes: If-None-Match: * and If-Match: <etag>."""
    if_none, if_match = req.get("IfNoneMatch"), req.get("IfMatch")
    if not if_none and not if_match:
        return
    cur = current(ctx.store, bucket, key)
    if if_none and cur is not None and etag_matches(if_none, cur["ETag"]):
        raise precondition_failed("If-None-Match")
    if if_match:
        if cur is None:
            raise no_such_key(key)
        if not etag_matches(if_match, cur["ETag"]):
            raise precondition_failed("If-Match")


def _check_metadata(meta: dict[str, str]) -> None:
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in meta.items())
    if size > MAX_METADATA_BYTES:
        raise ServiceError(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size.",
            400,
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_METADATA_BYTES)},
        )


def new_version(ctx: RequestContext, bucket: Doc, key: str) -> dict[str, Any]:
    """The identity fields of a new version of ``key`` in ``bucket``."""
    st = state(ctx.app)
    return {
        "Key": key,
        "VersionId": st.new_version_id(bucket),
        "Order": st.next_order(),
        "DeleteMarker": False,
        "LastModified": float(int(ctx.clock.now())),
        "Owner": ctx.account,
    }


@api.operation("PutObject")
@streaming_handler
async def put_object(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    key = req["Key"]
    check_key(key)
    meta = dict(req.get("Metadata") or {})
    _check_metadata(meta)
    tags = parse_tagging_header(req.get("Tagging"))
    _check_write_conditions(ctx, bucket["Name"], key, req)
    received = await receive_body(ctx, req)
    blobs = state(ctx.app).blobs
    bucket = get_bucket(ctx.store, bucket["Name"]) or {}
    try:
        if not bucket:
            raise no_such_bucket(req["Bucket"])
        _check_write_conditions(ctx, bucket["Name"], key, req)
    except ServiceError:
        blobs.remove([received.blob.blob_id])
        raise
    blob = received.blob
    doc = {
        **new_version(ctx, bucket, key),
        "Size": blob.size,
        "ETag": f'"{blob.md5_hex}"',
        "Blob": blob.blob_id,
        "ContentType": req.get("ContentType") or "binary/octet-stream",
        "Headers": stored_headers(req, received.content_encoding),
        "Metadata": meta,
        "Checksums": blob.checksums,
        "ChecksumType": "FULL_OBJECT" if blob.checksums else None,
        "StorageClass": req.get("StorageClass") or "STANDARD",
        "Tags": tags,
    }
    blobs.remove(commit_version(ctx.store, bucket["Name"], doc))
    out: dict[str, Any] = {"ETag": doc["ETag"], "ServerSideEncryption": "AES256", **checksum_members(doc)}
    if versioned(bucket):
        out["VersionId"] = doc["VersionId"]
    return out


def _read(ctx: RequestContext, req: dict[str, Any], method: str) -> tuple[Doc, Doc, dict[str, Any], ByteRange | None]:
    """Shared by GET and HEAD: the version, its headers, and the byte range to send."""
    bucket = require_bucket(ctx.store, req["Bucket"])
    doc = resolve(ctx.store, bucket["Name"], req["Key"], req.get("VersionId"), method)
    failed = check_preconditions(
        doc["ETag"],
        doc["LastModified"],
        if_match=req.get("IfMatch"),
        if_none_match=req.get("IfNoneMatch"),
        if_modified_since=req.get("IfModifiedSince"),
        if_unmodified_since=req.get("IfUnmodifiedSince"),
    )
    if failed is not None:
        if failed.status == 304:
            raise not_modified({"ETag": doc["ETag"]})
        raise precondition_failed(failed.condition)
    out = object_view(doc, bucket, req)
    size = doc["Size"]
    part_number = req.get("PartNumber")
    if part_number is not None:
        rng = _part_range(doc, int(part_number))
        out["PartsCount"] = len(doc.get("Parts") or [size])
    else:
        try:
            rng = parse_range(req.get("Range"), size)
        except RangeNotSatisfiable:
            raise ServiceError(
                "InvalidRange",
                "The requested range is not satisfiable",
                416,
                extra={"RangeRequested": req.get("Range") or "", "ActualObjectSize": str(size)},
                headers={"Content-Range": f"bytes */{size}"},
            ) from None
    if rng is not None and (part_number is None or doc.get("Parts")):
        out["ContentRange"] = rng.content_range(size)
        out["ContentLength"] = rng.length
        for member in [m for m in out if m.startswith("Checksum")]:
            del out[member]  # a full-object checksum does not describe a part of it
        set_status(ctx, 206)
    return bucket, doc, out, rng


def _part_range(doc: Doc, part_number: int) -> ByteRange | None:
    parts = doc.get("Parts") or [doc["Size"]]
    if not 1 <= part_number <= len(parts):
        raise ServiceError(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            416,
            extra={"PartNumberRequested": str(part_number), "ActualPartCount": str(len(parts))},
        )
    if not doc.get("Parts"):
        return None
    start = sum(parts[: part_number - 1])
    return ByteRange(start, start + parts[part_number - 1] - 1)


@api.operation("GetObject")
def get_object(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, doc, out, rng = _read(ctx, req, "GET")
    start, length = (rng.start, rng.length) if rng is not None else (0, doc["Size"])
    try:
        out["Body"] = state(ctx.app).blobs.reader(doc["Blob"], start, length)
    except FileNotFoundError:
        raise ServiceError("InternalError", "The object's data is missing from the data directory", 500) from None
    return out


@api.operation("HeadObject")
def head_object(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, _, out, _ = _read(ctx, req, "HEAD")
    return out

