"""CompleteMultipartUpload: check the part list, join the parts, record the object.

S3's checks, in order (``check_parts`` is pure):

1. at least one part;
2. part numbers strictly ascending → else InvalidPartOrder;
3. every part uploaded, with the ETag given (and checksum, when given) →
   else InvalidPart;
4. every part but the last at least 5 MiB → else EntityTooSmall.

The object's ETag is the md5 of the parts' binary md5s followed by ``-N``.
With a checksum algorithm the object's checksum is COMPOSITE (checksum of
the part checksums, ``-N``) or FULL_OBJECT (computed over the joined bytes).
The parts are joined into one new blob in a thread; the record changes in
one transaction, then the part blobs are unlinked.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from gureum.core.errors import ServiceError
from gureum.core.store import Doc
from gureum.services.api import RequestContext
from gureum.services.s3.checksums import MEMBERS, composite
from gureum.services.s3.errors import bad_digest, invalid_request, no_such_upload
from gureum.services.s3.multipart import part_key, parts_of, require_upload, upload_key
from gureum.services.s3.objects import new_version
from gureum.services.s3.preconditions import bare_etag
from gureum.services.s3.records import (
    KIND_PART,
    KIND_UPLOAD,
    SCOPE,
    commit_version,
    require_bucket,
    state,
)
from gureum.services.s3.registry import api
from gureum.services.s3.views import checksum_members, versioned

MIN_PART_SIZE = 5 * 1024 * 1024


def _invalid_part(upload_id: str, number: int, etag: str) -> ServiceError:
    return ServiceError(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
        400,
        extra={"UploadId": upload_id, "PartNumber": str(number), "ETag": etag},
    )


def check_parts(
    upload_id: str, requested: list[dict[str, Any]], stored: dict[int, Doc], min_size: int = MIN_PART_SIZE
) -> list[Doc]:
    """The stored parts a completion names, in order; raises S3's error for a bad list."""
    if not requested:
        raise invalid_request("You must specify at least one part")
    chosen: list[Doc] = []
    previous = 0
    for item in requested:
        number = int(item.get("PartNumber") or 0)
        etag = item.get("ETag") or ""
        if number <= previous:
            raise ServiceError(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
                400,
                extra={"UploadId": upload_id},
            )
        previous = number
        part = stored.get(number)
        if part is None or bare_etag(etag) != bare_etag(part["ETag"]):
            raise _invalid_part(upload_id, number, etag)
        for alg, member in MEMBERS.items():
            given = item.get(member)
            if given and (part.get("Checksums") or {}).get(alg, given) != given:
                raise _invalid_part(upload_id, number, etag)
        chosen.append(part)
    for part in chosen[:-1]:
        if part["Size"] < min_size:
            raise ServiceError(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
                400,
                extra={
                    "ProposedSize": str(part["Size"]),
                    "MinSizeAllowed": str(min_size),
                    "PartNumber": str(part["PartNumber"]),
                    "ETag": part["ETag"],
                },
            )
    return chosen


def multipart_etag(parts: list[Doc]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(bare_etag(p["ETag"])) for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


@api.operation("CompleteMultipartUpload")
async def complete_multipart_upload(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    key, upload_id = req["Key"], req["UploadId"]
    upload = require_upload(ctx.store, bucket["Name"], key, upload_id)
    requested = list((req.get("MultipartUpload") or {}).get("Parts") or [])
    stored = {p["PartNumber"]: p for p in parts_of(ctx.store, upload_id)}
    parts = check_parts(upload_id, requested, stored)
    algorithm = upload.get("ChecksumAlgorithm") or ""
    full = algorithm and upload.get("ChecksumType") == "FULL_OBJECT"
    blobs = state(ctx.app).blobs
    blob = await blobs.concat([(p["Blob"], 0, None) for p in parts], [algorithm] if full else [])
    checksums = dict(blob.checksums)
    if algorithm and not full and all(algorithm in (p.get("Checksums") or {}) for p in parts):
        checksums[algorithm] = composite(algorithm, [p["Checksums"][algorithm] for p in parts])
    for alg, member in MEMBERS.items():
        if req.get(member) and alg in checksums and req[member] != checksums[alg]:
            blobs.remove([blob.blob_id])
            raise bad_digest(alg)
    doc = {
        **new_version(ctx, bucket, key),
        "Size": blob.size,
        "ETag": multipart_etag(parts),
        "Blob": blob.blob_id,
        "ContentType": upload.get("ContentType"),
        "Headers": dict(upload.get("Headers") or {}),
        "Metadata": dict(upload.get("Metadata") or {}),
        "Checksums": checksums,
        "ChecksumType": (upload.get("ChecksumType") or None) if checksums else None,
        "StorageClass": upload.get("StorageClass", "STANDARD"),
        "Tags": list(upload.get("Tags") or []),
        "Parts": [p["Size"] for p in parts],
    }
    all_parts = list(stored.values())
    with ctx.store.transaction():
        if ctx.store.get(KIND_UPLOAD, SCOPE, upload_key(bucket["Name"], upload_id)) is None:
            blobs.remove([blob.blob_id])
            raise no_such_upload(upload_id)  # aborted or completed while the parts were joined
        freed = commit_version(ctx.store, bucket["Name"], doc)
        for p in all_parts:
            ctx.store.delete(KIND_PART, SCOPE, part_key(upload_id, p["PartNumber"]))
        ctx.store.delete(KIND_UPLOAD, SCOPE, upload_key(bucket["Name"], upload_id))
    blobs.remove(freed + [p["Blob"] for p in all_parts])
    out: dict[str, Any] = {
        "Location": f"{ctx.app.settings.endpoint}/{bucket['Name']}/{quote(key)}",
        "Bucket": bucket["Name"],
        "Key": key,
        "ETag": doc["ETag"],
        "ServerSideEncryption": "AES256",
        **checksum_members(doc),
    }
    if versioned(bucket):
        out["VersionId"] = doc["VersionId"]
    return out
