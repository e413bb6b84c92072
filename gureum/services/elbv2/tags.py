"""Tags on load balancers, target groups, listeners and rules: AddTags,
RemoveTags, DescribeTags.

Tags live in each resource's document (``_tags``, a list of ``{Key, Value}``
in the order first added).  At most 50 per resource; a request naming a key
twice is refused with ``DuplicateTagKeys``.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope, Store
from gureum.services.api import RequestContext
from gureum.services.elbv2.records import (
    LB,
    LISTENER,
    RULE,
    TG,
    Doc,
    collector,
    err,
    find_lb,
    find_tg,
    invalid,
    listener_key_of,
    rule_key_of,
)

OPERATIONS: dict[str, Any] = {}
op = collector(OPERATIONS)

MAX_TAGS = 50


def check_new_tags(tags: list[dict[str, Any]]) -> list[dict[str, str]]:
    keys = [t["Key"] for t in tags]
    if len(set(keys)) != len(keys):
        raise err("DuplicateTagKeys", "A tag key was specified more than once")
    if len(tags) > MAX_TAGS:
        raise err("TooManyTags", f"A resource can have at most {MAX_TAGS} tags")
    for k in keys:
        if k.startswith("aws:"):
            raise invalid("Tag keys starting with 'aws:' are reserved")
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]


def locate(store: Store, scope: Scope, arn: str) -> tuple[str, str, Doc] | None:
    """(kind, key, doc) of the resource an ARN names, if it exists."""
    doc = find_lb(store, scope, arn)
    if doc is not None:
        return LB, doc["LoadBalancerName"], doc
    doc = find_tg(store, scope, arn)
    if doc is not None:
        return TG, doc["TargetGroupName"], doc
    key = listener_key_of(scope, arn)
    if key is not None:
        doc = store.get(LISTENER, scope, key)
        return None if doc is None else (LISTENER, key, doc)
    key = rule_key_of(scope, arn)
    if key is not None:
        doc = store.get(RULE, scope, key)
        return None if doc is None else (RULE, key, doc)
    return None


def _not_found(arn: str) -> ServiceError:
    if ":loadbalancer/" in arn:
        return err("LoadBalancerNotFound", f"Load balancer '{arn}' not found")
    if ":targetgroup/" in arn:
        return err("TargetGroupNotFound", f"Target group '{arn}' not found")
    if ":listener/" in arn:
        return err("ListenerNotFound", f"Listener '{arn}' not found")
    if ":listener-rule/" in arn:
        return err("RuleNotFound", f"Rule '{arn}' not found")
    return invalid(f"'{arn}' is not a valid resource ARN")


def _load(ctx: RequestContext, arn: str) -> tuple[str, str, Doc]:
    found = locate(ctx.store, ctx.scope, arn)
    if found is None:
        raise _not_found(arn)
    return found


@op("AddTags")
def add_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    new = check_new_tags(req["Tags"])
    with ctx.store.transaction():
        for arn in req["ResourceArns"]:
            kind, key, doc = _load(ctx, arn)
            merged = {t["Key"]: t["Value"] for t in doc.get("_tags") or []}
            merged.update({t["Key"]: t["Value"] for t in new})
            if len(merged) > MAX_TAGS:
                raise err("TooManyTags", f"A resource can have at most {MAX_TAGS} tags")
            doc["_tags"] = [{"Key": k, "Value": v} for k, v in merged.items()]
            ctx.store.put(kind, ctx.scope, key, doc)
    return {}


@op("RemoveTags")
def remove_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    drop = set(req["TagKeys"])
    with ctx.store.transaction():
        for arn in req["ResourceArns"]:
            kind, key, doc = _load(ctx, arn)
            doc["_tags"] = [t for t in doc.get("_tags") or [] if t["Key"] not in drop]
            ctx.store.put(kind, ctx.scope, key, doc)
    return {}


@op("DescribeTags")
def describe_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    out = []
    for arn in req["ResourceArns"]:
        _, _, doc = _load(ctx, arn)
        out.append({"ResourceArn": arn, "Tags": list(doc.get("_tags") or [])})
    return {"TagDescriptions": out}
