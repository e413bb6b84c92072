"""Log group handlers: create, delete, describe, retention, deletion
protection and tags.

A group is one ``logs.group`` document (see models).  Deleting a group drops
its streams and their event series in one transaction.  DescribeLogGroups
lists in ASCII order of names, like AWS, and pages with an opaque token that
holds the last name returned.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.logs import retention
from gureum.services.logs.models import (
    EVENTS,
    GROUP,
    STREAM,
    check_group_name,
    decode_token,
    encode_token,
    get_group,
    group_arn,
    group_from_request,
    group_name_from_arn,
    invalid,
    ms,
)

MAX_TAGS = 50
DEFAULT_LIMIT = 50


def describe(ctx: RequestContext, name: str, doc: dict[str, Any], *, brief: bool = False) -> dict[str, Any]:
    """The LogGroup shape of a stored group (``brief``: name, ARN and time only)."""
    base = group_arn(ctx.scope, name)
    out: dict[str, Any] = {"logGroupName": name, "creationTime": doc["creationTime"], "arn": base + ":*"}
    if brief:
        return out
    if doc.get("retentionInDays"):
        out["retentionInDays"] = doc["retentionInDays"]
    if doc.get("kmsKeyId"):
        out["kmsKeyId"] = doc["kmsKeyId"]
    out.update(
        metricFilterCount=0,
        storedBytes=int(doc.get("storedBytes", 0)),
        logGroupClass=doc.get("logGroupClass", "STANDARD"),
        logGroupArn=base,
        deletionProtectionEnabled=bool(doc.get("deletionProtectionEnabled", False)),
    )
    return out


def create_log_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["logGroupName"]
    check_group_name(name)
    tags = dict(req.get("tags") or {})
    if len(tags) > MAX_TAGS:
        raise _too_many_tags(group_arn(ctx.scope, name))
    doc = {
        "logGroupName": name,
        "creationTime": ms(ctx.clock.now()),
        "logGroupClass": req.get("logGroupClass") or "STANDARD",
        "tags": tags,
        "storedBytes": 0,
        "deletionProtectionEnabled": bool(req.get("deletionProtectionEnabled", False)),
    }
    if req.get("kmsKeyId"):
        doc["kmsKeyId"] = req["kmsKeyId"]
    if not ctx.store.insert(GROUP, ctx.scope, name, doc):
        raise ServiceError(
            "ResourceAlreadyExistsException", "The specified log group already exists", 400, sender_fault=True
        )
    return {}


def delete_log_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["logGroupName"]
    store, scope = ctx.store, ctx.scope
    with store.transaction():
        doc = get_group(store, scope, name)
        if doc.get("deletionProtectionEnabled"):
            raise ServiceError(
                "ValidationException",
                "Cannot delete log group with deletion protection enabled. Disable deletion protection first.",
                400,
                sender_fault=True,
            )
        for key, _ in store.list(STREAM, scope, prefix=f"{name}:"):
            store.drop_series(EVENTS, scope, key)
            store.delete(STREAM, scope, key)
        store.delete(GROUP, scope, name)
    return {}


def describe_log_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    prefix = req.get("logGroupNamePrefix") or ""
    pattern = req.get("logGroupNamePattern")
    idents = req.get("logGroupIdentifiers")
    if prefix and pattern:
        raise invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
    if idents and (prefix or pattern):
        raise invalid("logGroupIdentifiers cannot be combined with a name prefix or pattern.")
    limit = int(req.get("limit") or DEFAULT_LIMIT)
    after = ""
    if req.get("nextToken"):
        after = str(decode_token(req["nextToken"]))
    wanted = {group_name_from_arn(i) or i for i in idents} if idents else None
    klass = req.get("logGroupClass")
    found: list[dict[str, Any]] = []
    more = False
    for name, doc in ctx.store.list(GROUP, ctx.scope, prefix=prefix, start_after=after):
        if wanted is not None and name not in wanted:
            continue
        if pattern and pattern not in name:
            continue
        if klass and doc.get("logGroupClass", "STANDARD") != klass:
            continue
        if len(found) == limit:
            more = True
            break
        found.append(describe(ctx, name, doc, brief=bool(pattern)))
    out: dict[str, Any] = {"logGroups": found}
    if more:
        out["nextToken"] = encode_token(found[-1]["logGroupName"])
    return out


def put_retention_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["logGroupName"]
    days = req["retentionInDays"]
    if days not in retention.VALID_DAYS:
        allowed = ", ".join(str(d) for d in retention.VALID_DAYS)
        raise invalid(
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{allowed}]"
        )
    _update(ctx, name, lambda doc: doc.__setitem__("retentionInDays", days))
    ctx.app.runner.enqueue(retention.CONTROLLER, retention.retention_key(ctx.scope, name))
    return {}


def delete_retention_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _update(ctx, req["logGroupName"], lambda doc: doc.pop("retentionInDays", None))
    return {}


def put_log_group_deletion_protection(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = group_from_request({"logGroupIdentifier": req["logGroupIdentifier"]})
    enabled = bool(req["deletionProtectionEnabled"])
    _update(ctx, name, lambda doc: doc.__setitem__("deletionProtectionEnabled", enabled))
    return {}


def _update(ctx: RequestContext, name: str, change: Any) -> dict[str, Any]:
    with ctx.store.transaction():
        doc = get_group(ctx.store, ctx.scope, name)
        change(doc)
        ctx.store.put(GROUP, ctx.scope, name, doc)
    return doc


# -- tags -----------------------------------------------------------------------------


def _too_many_tags(resource: str) -> ServiceError:
    return ServiceError(
        "TooManyTagsException",
        f"A resource can have no more than {MAX_TAGS} tags.",
        400,
        sender_fault=True,
        extra={"resourceName": resource},
    )


def _group_of_arn(ctx: RequestContext, resource_arn: str) -> str:
    name = group_name_from_arn(resource_arn)
    if name is None:
        raise invalid(f"Invalid resource ARN: {resource_arn}")
    get_group(ctx.store, ctx.scope, name)
    return name


def _add_tags(ctx: RequestContext, name: str, tags: dict[str, str]) -> None:
    def change(doc: dict[str, Any]) -> None:
        merged = {**doc.get("tags", {}), **tags}
        if len(merged) > MAX_TAGS:
            raise _too_many_tags(group_arn(ctx.scope, name))
        doc["tags"] = merged

    _update(ctx, name, change)


def _remove_tags(ctx: RequestContext, name: str, keys: list[str]) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["tags"] = {k: v for k, v in doc.get("tags", {}).items() if k not in set(keys)}

    _update(ctx, name, change)


def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _add_tags(ctx, _group_of_arn(ctx, req["resourceArn"]), dict(req["tags"]))
    return {}


def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _remove_tags(ctx, _group_of_arn(ctx, req["resourceArn"]), list(req["tagKeys"]))
    return {}


def list_tags_for_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = _group_of_arn(ctx, req["resourceArn"])
    return {"tags": dict(get_group(ctx.store, ctx.scope, name).get("tags", {}))}


def tag_log_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _add_tags(ctx, req["logGroupName"], dict(req["tags"]))
    return {}


def untag_log_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _remove_tags(ctx, req["logGroupName"], list(req["tags"]))
    return {}


def list_tags_log_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"tags": dict(get_group(ctx.store, ctx.scope, req["logGroupName"]).get("tags", {}))}


OPERATIONS = {
    "CreateLogGroup": create_log_group,
    "DeleteLogGroup": delete_log_group,
    "DescribeLogGroups": describe_log_groups,
    "PutRetentionPolicy": put_retention_policy,
    "DeleteRetentionPolicy": delete_retention_policy,
    "PutLogGroupDeletionProtection": put_log_group_deletion_protection,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    "TagLogGroup": tag_log_group,
    "UntagLogGroup": untag_log_group,
    "ListTagsLogGroup": list_tags_log_group,
}
