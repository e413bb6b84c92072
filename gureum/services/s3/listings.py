"""ListObjectsV2, ListObjects (v1) and ListObjectVersions.

Pages come from :func:`.listing.list_page` over the store's sorted keys:
``s3.object`` (current versions) for the object listings, ``s3.version``
(``key\\x01order``, newest first within a key) for versions.  With
``EncodingType=url`` every key-like value is percent-encoded, as botocore
(which asks for it by default) expects.  V2 continuation tokens are opaque
(base64 of the last key or common prefix sent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gureum.core.clock import to_datetime
from gureum.services.api import RequestContext
from gureum.services.s3.errors import invalid_argument
from gureum.services.s3.listing import (
    AFTER_ALL,
    SEP,
    Fetch,
    decode_token,
    encode_token,
    list_page,
    url_encode,
)
from gureum.services.s3.records import (
    KIND_OBJECT,
    KIND_VERSION,
    SCOPE,
    find_version,
    owner,
    require_bucket,
)
from gureum.services.s3.registry import api
from gureum.services.s3.views import list_entry


def _fetcher(ctx: RequestContext, kind: str, bucket: str, prefix: str) -> Fetch:
    base = bucket + "/"

    def fetch(after: str, limit: int) -> list[tuple[str, Any]]:
        rows = ctx.store.list(kind, SCOPE, prefix=base + prefix, start_after=base + after if after else "", limit=limit)
        return [(k[len(base) :], d) for k, d in rows]

    return fetch


def _max_keys(req: dict[str, Any], name: str = "MaxKeys") -> int:
    value = req.get(name)
    if value is None:
        return 1000
    if int(value) < 0:
        raise invalid_argument("Argument maxKeys must be an integer between 0 and 2147483647", name, str(value))
    return min(int(value), 1000)


def _encoder(req: dict[str, Any]) -> Callable[[str], str]:
    return url_encode if req.get("EncodingType") == "url" else (lambda s: s)


def _common(req: dict[str, Any], bucket: str, page: Any, max_keys: int) -> dict[str, Any]:
    enc = _encoder(req)
    out: dict[str, Any] = {
        "Name": bucket,
        "Prefix": enc(req.get("Prefix") or ""),
        "MaxKeys": max_keys,
        "IsTruncated": page.truncated,
    }
    if page.prefixes:
        out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in page.prefixes]
    if req.get("Delimiter"):
        out["Delimiter"] = enc(req["Delimiter"])
    if req.get("EncodingType"):
        out["EncodingType"] = req["EncodingType"]
    return out


def _contents(req: dict[str, Any], page: Any, with_owner: bool) -> list[dict[str, Any]]:
    enc = _encoder(req)
    entries = [list_entry(doc, with_owner) for _, doc in page.entries]
    for e in entries:
        e["Key"] = enc(e["Key"])
    return entries


@api.operation("ListObjectsV2")
def list_objects_v2(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])["Name"]
    prefix, max_keys = req.get("Prefix") or "", _max_keys(req)
    token = req.get("ContinuationToken")
    if token:
        after = decode_token(token)
        if after is None:
            raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token)
    else:
        after = req.get("StartAfter") or ""
    page = list_page(
        _fetcher(ctx, KIND_OBJECT, bucket, prefix),
        prefix=prefix,
        delimiter=req.get("Delimiter") or "",
        after=after,
        marker_key=after,
        max_keys=max_keys,
    )
    out = _common(req, bucket, page, max_keys)
    contents = _contents(req, page, bool(req.get("FetchOwner")))
    if contents:
        out["Contents"] = contents
    out["KeyCount"] = len(page.entries) + len(page.prefixes)
    if token:
        out["ContinuationToken"] = token
    if req.get("StartAfter"):
        out["StartAfter"] = _encoder(req)(req["StartAfter"])
    if page.truncated:
        out["NextContinuationToken"] = encode_token(page.last)
    return out


@api.operation("ListObjects")
def list_objects(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])["Name"]
    prefix, max_keys = req.get("Prefix") or "", _max_keys(req)
    marker = req.get("Marker") or ""
    delimiter = req.get("Delimiter") or ""
    page = list_page(
        _fetcher(ctx, KIND_OBJECT, bucket, prefix),
        prefix=prefix,
        delimiter=delimiter,
        after=marker,
        marker_key=marker,
        max_keys=max_keys,
    )
    out = _common(req, bucket, page, max_keys)
    out["Marker"] = _encoder(req)(marker)
    contents = _contents(req, page, True)
    if contents:
        out["Contents"] = contents
    if page.truncated and delimiter:
        out["NextMarker"] = _encoder(req)(page.last)
    return out


def _version_entry(doc: dict[str, Any], latest: bool, enc: Callable[[str], str]) -> dict[str, Any]:
    base = {
        "Key": enc(doc["Key"]),
        "VersionId": doc["VersionId"],
        "IsLatest": latest,
        "LastModified": to_datetime(doc["LastModified"]),
        "Owner": owner(doc.get("Owner", "")),
    }
    if doc.get("DeleteMarker"):
        return base
    entry = list_entry(doc, True)
    entry.update(base)
    return entry


@api.operation("ListObjectVersions")
def list_object_versions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])["Name"]
    prefix, max_keys = req.get("Prefix") or "", _max_keys(req)
    key_marker = req.get("KeyMarker") or ""
    vid_marker = req.get("VersionIdMarker") or ""
    after = key_marker + SEP + AFTER_ALL if key_marker else ""
    mid_key = False
    if key_marker and vid_marker:
        marked = find_version(ctx.store, bucket, key_marker, vid_marker)
        if marked is None:
            raise invalid_argument("Invalid version id specified", "version-id-marker", vid_marker)
        after, mid_key = f"{key_marker}{SEP}{marked['Order']}", True
    page = list_page(
        _fetcher(ctx, KIND_VERSION, bucket, prefix),
        prefix=prefix,
        delimiter=req.get("Delimiter") or "",
        after=after,
        marker_key=key_marker,
        max_keys=max_keys,
    )
    enc = _encoder(req)
    versions: list[dict[str, Any]] = []
    markers: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _, doc in page.entries:
        latest = doc["Key"] not in seen and not (mid_key and doc["Key"] == key_marker)
        seen.add(doc["Key"])
        (markers if doc.get("DeleteMarker") else versions).append(_version_entry(doc, latest, enc))
    out = _common(req, bucket, page, max_keys)
    out["KeyMarker"] = enc(key_marker)
    out["VersionIdMarker"] = vid_marker
    if versions:
        out["Versions"] = versions
    if markers:
        out["DeleteMarkers"] = markers
    if page.truncated:
        out["NextKeyMarker"] = enc(page.last)
        if page.entries and page.entries[-1][1]["Key"] == page.last:
            out["NextVersionIdMarker"] = page.entries[-1][1]["VersionId"]
    return out
