"""Bucket handlers: create, head, list, delete, location, versioning, tagging.

Buckets are global per server (one name space for all accounts, as on AWS)
and owned by the account that created them.  Other accounts may use a
bucket (Gureum has no bucket policies); only the owner sees it in
ListBuckets.  Re-creating your own bucket answers 200 when it lives in
us-east-1 and BucketAlreadyOwnedByYou (409) elsewhere: S3's legacy quirk,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
"""

from __future__ import annotations

from typing import Any

from gureum.core.clock import to_datetime
from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.s3.errors import invalid_bucket_name, malformed_xml
from gureum.services.s3.listing import decode_token, encode_token
from gureum.services.s3.names import is_valid_bucket_name
from gureum.services.s3.records import (
    KIND_BUCKET,
    KIND_PART,
    KIND_UPLOAD,
    KIND_VERSION,
    SCOPE,
    get_bucket,
    owner,
    require_bucket,
    state,
)
from gureum.services.s3.registry import api
from gureum.services.s3.views import check_tags

DEFAULT_REGION = "us-east-1"


def _location_constraint(ctx: RequestContext, req: dict[str, Any]) -> str:
    constraint = ((req.get("CreateBucketConfiguration") or {}).get("LocationConstraint") or "").strip()
    if constraint == DEFAULT_REGION:
        raise ServiceError(
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
            400,
            extra={"LocationConstraint": constraint},
        )
    if ctx.region != DEFAULT_REGION and constraint != ctx.region:
        shown = constraint or "unspecified"
        raise ServiceError(
            "IllegalLocationConstraintException",
            f"The {shown} location constraint is incompatible for the region specific "
            "endpoint this request was sent to.",
            400,
        )
    return constraint or DEFAULT_REGION


@api.operation("CreateBucket")
def create_bucket(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["Bucket"]
    if not is_valid_bucket_name(name):
        raise invalid_bucket_name(name)
    region = _location_constraint(ctx, req)
    doc = {
        "Name": name,
        "Owner": ctx.account,
        "Region": region,
        "Created": ctx.clock.now(),
        "Versioning": "",
    }
    if not ctx.store.insert(KIND_BUCKET, SCOPE, name, doc):
        existing = get_bucket(ctx.store, name) or {}
        if existing.get("Owner") != ctx.account:
            raise ServiceError(
                "BucketAlreadyExists",
                "The requested bucket name is not available. The bucket namespace is shared by "
                "all users of the system. Please select a different name and try again.",
                409,
                extra={"BucketName": name},
            )
        if existing.get("Region") != DEFAULT_REGION:
            raise ServiceError(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
                409,
                extra={"BucketName": name},
            )
    return {"Location": f"/{name}", "BucketArn": f"arn:aws:s3:::{name}"}


@api.operation("HeadBucket")
def head_bucket(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    return {"BucketRegion": bucket["Region"]}


@api.operation("GetBucketLocation")
def get_bucket_location(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    region = bucket["Region"]
    # us-east-1 buckets answer an empty LocationConstraint.
    return {} if region == DEFAULT_REGION else {"LocationConstraint": region}


@api.operation("ListBuckets")
def list_buckets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    prefix = req.get("Prefix") or ""
    region = req.get("BucketRegion") or ""
    limit = int(req.get("MaxBuckets") or 10000)
    after = ""
    if req.get("ContinuationToken"):
        after = decode_token(req["ContinuationToken"]) or ""
    mine = [
        d
        for name, d in ctx.store.list(KIND_BUCKET, SCOPE, prefix=prefix, start_after=after)
        if d.get("Owner") == ctx.account and (not region or d.get("Region") == region)
    ]
    page = mine[:limit]
    out: dict[str, Any] = {
        "Buckets": [
            {"Name": d["Name"], "CreationDate": to_datetime(d["Created"]), "BucketRegion": d["Region"]}
            for d in page
        ],
        "Owner": owner(ctx.account),
    }
    if prefix:
        out["Prefix"] = prefix
    if len(mine) > limit:
        out["ContinuationToken"] = encode_token(page[-1]["Name"])
    return out


@api.operation("DeleteBucket")
def delete_bucket(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["Bucket"]
    require_bucket(ctx.store, name)
    if ctx.store.count(KIND_VERSION, SCOPE, prefix=name + "/"):
        raise ServiceError(
            "BucketNotEmpty", "The bucket you tried to delete is not empty", 409, extra={"BucketName": name}
        )
    blobs: list[str] = []
    with ctx.store.transaction():
        for key, upload in ctx.store.list(KIND_UPLOAD, SCOPE, prefix=name + "/"):
            for part_key, part in ctx.store.list(KIND_PART, SCOPE, prefix=upload["UploadId"] + "/"):
                blobs.append(part["Blob"])
                ctx.store.delete(KIND_PART, SCOPE, part_key)
            ctx.store.delete(KIND_UPLOAD, SCOPE, key)
        ctx.store.delete(KIND_BUCKET, SCOPE, name)
    state(ctx.app).blobs.remove(blobs)
    return {}


@api.operation("PutBucketVersioning")
def put_bucket_versioning(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    status = (req.get("VersioningConfiguration") or {}).get("Status")
    if status not in ("Enabled", "Suspended"):
        raise malformed_xml()
    bucket["Versioning"] = status
    ctx.store.put(KIND_BUCKET, SCOPE, bucket["Name"], bucket)
    return {}


@api.operation("GetBucketVersioning")
def get_bucket_versioning(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    return {"Status": bucket["Versioning"]} if bucket.get("Versioning") else {}


@api.operation("PutBucketTagging")
def put_bucket_tagging(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    tags = [dict(t) for t in (req.get("Tagging") or {}).get("TagSet") or []]
    check_tags(tags, object_tags=False)
    bucket["Tags"] = tags
    ctx.store.put(KIND_BUCKET, SCOPE, bucket["Name"], bucket)
    return {}


@api.operation("GetBucketTagging")
def get_bucket_tagging(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    if not bucket.get("Tags"):
        raise ServiceError(
            "NoSuchTagSet", "The TagSet does not exist", 404, extra={"BucketName": bucket["Name"]}
        )
    return {"TagSet": bucket["Tags"]}


@api.operation("DeleteBucketTagging")
def delete_bucket_tagging(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx.store, req["Bucket"])
    bucket.pop("Tags", None)
    ctx.store.put(KIND_BUCKET, SCOPE, bucket["Name"], bucket)
    return {}
