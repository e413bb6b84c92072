"""Multipart uploads: create, upload a part (or copy one), abort, list parts and uploads.

An upload is a record ``s3.upload`` (``<bucket>/<upload id>``) holding what
CreateMultipartUpload asked for (content type, metadata, tags, checksum
algorithm); each part is a record ``s3.part`` (``<upload id>/<part number>``)
naming its own blob.  Uploading a part number again replaces the part (its
old blob is unlinked after the record changes).  Completion is in
:mod:`.completion`.
"""

from __future__ import annotations

import secrets
from typing import Any

from gureum.core.clock import to_datetime
from gureum.core.errors import ServiceError
from gureum.core.store import Doc, Store
from gureum.services.api import RequestContext
from gureum.services.s3.access import check_key
from gureum.services.s3.checksums import MEMBERS
from gureum.services.s3.copies import resolve_source
from gureum.services.s3.errors import invalid_argument, no_such_upload
from gureum.services.s3.ingest import receive_body, streaming_handler
from gureum.services.s3.listing import SEP, list_page, url_encode
from gureum.services.s3.records import KIND_PART, KIND_UPLOAD, SCOPE, owner, require_bucket, state
from gureum.services.s3.registry import api
from gureum.services.s3.views import parse_tagging_header, stored_headers

MAX_PART_NUMBER = 10000


def upload_key(bucket: str, upload_id: str) -> str:
    return f"{bucket}/{upload_id}"


def part_key(upload_id: str, number: int) -> str:
    return f"{upload_id}/{number:05d}"


def require_upload(store: Store, bucket: str, key: str, upload_id: str) -> Doc:
    doc = store.get(KIND_UPLOAD, SCOPE, upload_key(bucket, upload_id))
    if doc is None or doc["Key"] != key:
        raise no_such_upload(upload_id)
    return doc


def parts_of(store: Store, upload_id: str) -> list[Doc]:
    return [d for _, d in store.list(KIND_PART, SCOPE, prefix=upload_id + "/")]


def _check_part_number(value: Any) -> int:
    number = int(value)
    if not 1 <= number <= MAX_PART_NUMBER:
        raise invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive", "partNumber", str(value)
        )
    return number


@api.operation("CreateMultipartUpload")
def create_multipart_upload(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    key = req["Key"]
    check_key(key)
    algorithm = (req.get("ChecksumAlgorithm") or "").upper()
    checksum_type = (req.get("ChecksumType") or "").upper()
    if algorithm and not checksum_type:
        checksum_type = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
    if checksum_type == "FULL_OBJECT" and algorithm not in ("CRC32", "CRC32C", "CRC64NVME"):
        raise ServiceError(
            "InvalidRequest", f"The FULL_OBJECT checksum type cannot be used with the {algorithm} checksum algorithm.", 400
        )
    upload_id = secrets.token_urlsafe(48)
    doc = {
        "Bucket": bucket["Name"],
        "Key": key,
        "UploadId": upload_id,
        "Initiated": ctx.clock.now(),
        "Owner": ctx.account,
        "ContentType": req.get("ContentType") or "binary/octet-stream",
        "Headers": stored_headers(req),
        "Metadata": dict(req.get("Metadata") or {}),
        "StorageClass": req.get("StorageClass") or "STANDARD",
        "Tags": parse_tagging_header(req.get("Tagging")),
        "ChecksumAlgorithm": algorithm,
        "ChecksumType": checksum_type if algorithm else "",
    }
    ctx.store.put(KIND_UPLOAD, SCOPE, upload_key(bucket["Name"], upload_id), doc)
    out: dict[str, Any] = {"Bucket": bucket["Name"], "Key": key, "UploadId": upload_id, "ServerSideEncryption": "AES256"}
    if algorithm:
        out["ChecksumAlgorithm"] = algorithm
        out["ChecksumType"] = checksum_type
    return out


def _record_part(ctx: RequestContext, upload: Doc, number: int, blob: Any) -> Doc:
    """Write the part record (replacing an earlier one); raises if the upload went away meanwhile."""
    blobs = state(ctx.app).blobs
    part = {
        "PartNumber": number,
        "ETag": f'"{blob.md5_hex}"',
        "Size": blob.size,
        "Blob": blob.blob_id,
        "LastModified": float(int(ctx.clock.now())),
        "Checksums": blob.checksums,
    }
    with ctx.store.transaction():
        alive = ctx.store.get(KIND_UPLOAD, SCOPE, upload_key(upload["Bucket"], upload["UploadId"]))
        old = ctx.store.get(KIND_PART, SCOPE, part_key(upload["UploadId"], number)) if alive else None
        if alive:
            ctx.store.put(KIND_PART, SCOPE, part_key(upload["UploadId"], number), part)
    if not alive:
        blobs.remove([blob.blob_id])
        raise no_such_upload(upload["UploadId"])
    if old is not None:
        blobs.remove([old["Blob"]])
    return part


def _part_checksums(part: Doc) -> dict[str, str]:
    return {MEMBERS[alg]: v for alg, v in (part.get("Checksums") or {}).items() if alg in MEMBERS}


@api.operation("UploadPart")
@streaming_handler
async def upload_part(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    require_bucket(ctx.store, req["Bucket"])
    upload = require_upload(ctx.store, req["Bucket"], req["Key"], req["UploadId"])
    number = _check_part_number(req["PartNumber"])
    received = await receive_body(ctx, req, (upload.get("ChecksumAlgorithm") or "",))
    part = _record_part(ctx, upload, number, received.blob)
    return {"ETag": part["ETag"], "ServerSideEncryption": "AES256", **_part_checksums(part)}


def _copy_range(value: str | None, size: int) -> tuple[int, int]:
    if not value:
        return 0, size
    unit, _, spec = value.partition("=")
    first, _, last = spec.partition("-")
    if unit.strip() != "bytes" or not first.isdigit() or not last.isdigit():
        raise invalid_argument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy", "x-amz-copy-source-range", value)
    start, end = int(first), int(last)
    if start > end or end >= size:
        raise ServiceError(
            "InvalidRange", "The requested range is not satisfiable", 416,
            extra={"RangeRequested": value, "ActualObjectSize": str(size)},
        )
    return start, end - start + 1


@api.operation("UploadPartCopy")
async def upload_part_copy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    require_bucket(ctx.store, req["Bucket"])
    upload = require_upload(ctx.store, req["Bucket"], req["Key"], req["UploadId"])
    number = _check_part_number(req["PartNumber"])
    src_bucket, src = resolve_source(ctx, req)
    start, length = _copy_range(req.get("CopySourceRange"), src["Size"])
    algorithms = [a for a in (upload.get("ChecksumAlgorithm"),) if a]
    blob = await state(ctx.app).blobs.concat([(src["Blob"], start, length)], algorithms)
    part = _record_part(ctx, upload, number, blob)
    result = {"ETag": part["ETag"], "LastModified": to_datetime(part["LastModified"]), **_part_checksums(part)}
    out: dict[str, Any] = {"CopyPartResult": result}
    if src_bucket.get("Versioning"):
        out["CopySourceVersionId"] = src["VersionId"]
    return out


@api.operation("AbortMultipartUpload")
def abort_multipart_upload(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    require_bucket(ctx.store, req["Bucket"])
    upload = require_upload(ctx.store, req["Bucket"], req["Key"], req["UploadId"])
    drop_upload(ctx, upload)
    return {}


def drop_upload(ctx: RequestContext, upload: Doc) -> None:
    """Forget an upload and its parts, then unlink the part blobs."""
    parts = parts_of(ctx.store, upload["UploadId"])
    with ctx.store.transaction():
        for p in parts:
            ctx.store.delete(KIND_PART, SCOPE, part_key(upload["UploadId"], p["PartNumber"]))
        ctx.store.delete(KIND_UPLOAD, SCOPE, upload_key(upload["Bucket"], upload["UploadId"]))
    state(ctx.app).blobs.remove([p["Blob"] for p in parts])


def _page_size(value: Any) -> int:
    return 1000 if value is None else max(0, min(int(value), 1000))


@api.operation("ListParts")
def list_parts(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    require_bucket(ctx.store, req["Bucket"])
    upload = require_upload(ctx.store, req["Bucket"], req["Key"], req["UploadId"])
    marker = int(req.get("PartNumberMarker") or 0)
    limit = _page_size(req.get("MaxParts"))
    parts = [p for p in parts_of(ctx.store, upload["UploadId"]) if p["PartNumber"] > marker]
    page = parts[:limit]
    out: dict[str, Any] = {
        "Bucket": upload["Bucket"],
        "Key": upload["Key"],
        "UploadId": upload["UploadId"],
        "PartNumberMarker": marker,
        "MaxParts": limit,
        "IsTruncated": len(parts) > limit,
        "Initiator": owner(upload["Owner"]),
        "Owner": owner(upload["Owner"]),
        "StorageClass": upload.get("StorageClass", "STANDARD"),
        "Parts": [
            {
                "PartNumber": p["PartNumber"],
                "LastModified": to_datetime(p["LastModified"]),
                "ETag": p["ETag"],
                "Size": p["Size"],
                **_part_checksums(p),
            }
            for p in page
        ],
    }
    if page:
        out["NextPartNumberMarker"] = page[-1]["PartNumber"]
    if upload.get("ChecksumAlgorithm"):
        out["ChecksumAlgorithm"] = upload["ChecksumAlgorithm"]
        out["ChecksumType"] = upload["ChecksumType"]
    return out


@api.operation("ListMultipartUploads")
def list_multipart_uploads(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    prefix = req.get("Prefix") or ""
    delimiter = req.get("Delimiter") or ""
    key_marker = req.get("KeyMarker") or ""
    upload_marker = req.get("UploadIdMarker") or ""
    limit = _page_size(req.get("MaxUploads"))
    uploads = sorted(
        (d for _, d in ctx.store.list(KIND_UPLOAD, SCOPE, prefix=bucket["Name"] + "/") if d["Key"].startswith(prefix)),
        key=lambda d: (d["Key"], d["Initiated"], d["UploadId"]),
    )
    rows = [(f"{d['Key']}{SEP}{d['Initiated']:020.6f}{d['UploadId']}", d) for d in uploads]
    after = ""
    if key_marker:
        after = key_marker + SEP + "\U0010ffff"
        if upload_marker:
            after = next((pos for pos, d in rows if d["Key"] == key_marker and d["UploadId"] == upload_marker), after)

    def fetch(start: str, n: int) -> list[tuple[str, Any]]:
        return [r for r in rows if r[0] > start][:n]

    page = list_page(fetch, prefix=prefix, delimiter=delimiter, after=after, marker_key=key_marker, max_keys=limit)
    encode = url_encode if req.get("EncodingType") == "url" else (lambda s: s)
    out: dict[str, Any] = {
        "Bucket": bucket["Name"],
        "KeyMarker": encode(key_marker),
        "UploadIdMarker": upload_marker,
        "MaxUploads": limit,
        "IsTruncated": page.truncated,
        "Prefix": encode(prefix),
        "Uploads": [
            {
                "UploadId": d["UploadId"],
                "Key": encode(d["Key"]),
                "Initiated": to_datetime(d["Initiated"]),
                "StorageClass": d.get("StorageClass", "STANDARD"),
                "Owner": owner(d["Owner"]),
                "Initiator": owner(d["Owner"]),
                **({"ChecksumAlgorithm": d["ChecksumAlgorithm"], "ChecksumType": d["ChecksumType"]} if d.get("ChecksumAlgorithm") else {}),
            }
            for _, d in page.entries
        ],
    }
    if page.prefixes:
        out["CommonPrefixes"] = [{"Prefix": encode(p)} for p in page.prefixes]
    if delimiter:
        out["Delimiter"] = encode(delimiter)
    if req.get("EncodingType"):
        out["EncodingType"] = req["EncodingType"]
    if page.truncated:
        out["NextKeyMarker"] = encode(page.last)
        if page.entries and page.entries[-1][1]["Key"] == page.last:
            out["NextUploadIdMarker"] = page.entries[-1][1]["UploadId"]
    return out
