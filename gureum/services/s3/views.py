"""Record → output dict shapes shared by several handlers.  Pure: no I/O.

Object records (see :mod:`.records`) keep S3's own member names where they
can, so these are mostly selections: which headers GetObject/HeadObject send,
what a listing entry carries, and the response overrides of a signed URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from gureum.core.clock import to_datetime
from gureum.core.errors import ServiceError
from gureum.core.store import Doc
from gureum.services.s3.checksums import MEMBERS
from gureum.services.s3.records import owner

STORED_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "WebsiteRedirectLocation")
_OVERRIDES = {
    "ResponseCacheControl": "CacheControl",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseContentType": "ContentType",
}


def versioned(bucket: Doc) -> bool:
    """Whether versioning was ever configured (then responses carry version ids)."""
    return bool(bucket.get("Versioning"))


def stored_headers(req: dict[str, Any], content_encoding: str | None = None) -> dict[str, Any]:
    """The representation headers a PutObject/CreateMultipartUpload asks S3 to keep."""
    out = {name: req[name] for name in STORED_HEADERS if req.get(name)}
    if content_encoding is not None:
        out.pop("ContentEncoding", None)
        if content_encoding:
            out["ContentEncoding"] = content_encoding
    expires = req.get("Expires")
    if expires is not None and hasattr(expires, "timestamp"):
        out["Expires"] = expires.timestamp()
    return out


def checksum_members(doc: Doc) -> dict[str, str]:
    out = {MEMBERS[alg]: value for alg, value in (doc.get("Checksums") or {}).items() if alg in MEMBERS}
    if out and doc.get("ChecksumType"):
        out["ChecksumType"] = doc["ChecksumType"]
    return out


def object_view(doc: Doc, bucket: Doc, req: dict[str, Any]) -> dict[str, Any]:
    """The headers of a GetObject/HeadObject answer for one version."""
    out: dict[str, Any] = {
        "ETag": doc["ETag"],
        "LastModified": to_datetime(doc["LastModified"]),
        "ContentLength": doc["Size"],
        "ContentType": doc.get("ContentType") or "binary/octet-stream",
        "AcceptRanges": "bytes",
        "ServerSideEncryption": "AES256",
    }
    headers = dict(doc.get("Headers") or {})
    expires = headers.pop("Expires", None)
    out.update(headers)
    if expires is not None:
        out["Expires"] = to_datetime(expires)
    if doc.get("Metadata"):
        out["Metadata"] = dict(doc["Metadata"])
    if versioned(bucket):
        out["VersionId"] = doc["VersionId"]
    if doc.get("StorageClass", "STANDARD") != "STANDARD":
        out["StorageClass"] = doc["StorageClass"]
    if doc.get("Tags"):
        out["TagCount"] = len(doc["Tags"])
    if (req.get("ChecksumMode") or "").upper() == "ENABLED":
        out.update(checksum_members(doc))
    for param, member in _OVERRIDES.items():
        if req.get(param):
            out[member] = req[param]
    if req.get("ResponseExpires") is not None:
        value = req["ResponseExpires"]
        out["Expires"] = value if hasattr(value, "timestamp") else to_datetime(float(value))
    return out


def list_entry(doc: Doc, with_owner: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Key": doc["Key"],
        "LastModified": to_datetime(doc["LastModified"]),
        "ETag": doc["ETag"],
        "Size": doc["Size"],
        "StorageClass": doc.get("StorageClass", "STANDARD"),
    }
    if doc.get("Checksums"):
        entry["ChecksumAlgorithm"] = sorted(doc["Checksums"])
        if doc.get("ChecksumType"):
            entry["ChecksumType"] = doc["ChecksumType"]
    if with_owner:
        entry["Owner"] = owner(doc.get("Owner", ""))
    return entry


def parse_tagging_header(value: str | None) -> list[dict[str, str]]:
    """``x-amz-tagging: k1=v1&k2=v2`` → a TagSet."""
    if not value:
        return []
    tags = [{"Key": k, "Value": v} for k, v in parse_qsl(value, keep_blank_values=True)]
    check_tags(tags, object_tags=True)
    return tags


def check_tags(tags: list[dict[str, str]], object_tags: bool) -> None:
    limit = 10 if object_tags else 50
    if len(tags) > limit:
        what = "Object" if object_tags else "Bucket"
        raise ServiceError("InvalidTag", f"{what} tags cannot be greater than {limit}", 400)
    seen: set[str] = set()
    for tag in tags:
        key, value = tag.get("Key", ""), tag.get("Value", "")
        if key in seen:
            raise ServiceError("InvalidTag", "Cannot provide multiple Tags with the same key", 400, extra={"TagKey": key})
        seen.add(key)
        if key.lower().startswith("aws:"):
            raise ServiceError("InvalidTag", "System tags cannot be added/updated by requester", 400, extra={"TagKey": key})
        if not 1 <= len(key) <= 128:
            raise ServiceError("InvalidTag", "The TagKey you have provided is invalid", 400, extra={"TagKey": key})
        if len(value) > 256:
            raise ServiceError("InvalidTag", "The TagValue you have provided is too long", 400, extra={"TagKey": key})
