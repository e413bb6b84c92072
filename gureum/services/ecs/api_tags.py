"""ECS tagging: TagResource, UntagResource, ListTagsForResource on clusters,
services, tasks, task definitions and container instances (by ARN)."""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.ecs import errors, names
from gureum.services.ecs.records import Doc, check_tags, service_key, task_key
from gureum.services.ecs.registry import Operations

ops = Operations()


def _locate(ctx: RequestContext, arn: str) -> tuple[str, str, str]:
    """(store kind, key, tag field) of the resource an ARN names."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "ecs":
        raise errors.invalid("The ARN provided is invalid.")
    kind, _, rest = parts[5].partition("/")
    if kind == "cluster":
        return names.CLUSTER, rest, "tags"
    if kind == "task-definition":
        family, rev = names.split_taskdef(rest)
        return names.TASKDEF, names.taskdef_key(family, rev or 0), "_tags"
    if kind == "task":
        cluster, _, tid = rest.rpartition("/")
        return names.TASK, task_key(cluster, tid), "tags"
    if kind == "service":
        cluster, _, name = rest.rpartition("/")
        return names.SERVICE, service_key(cluster, name), "tags"
    if kind == "container-instance":
        return names.INSTANCE, rest, "tags"
    raise errors.invalid("The ARN provided is invalid.")


def _load(ctx: RequestContext, arn: str) -> tuple[str, str, str, Doc]:
    kind, key, field = _locate(ctx, arn)
    doc = ctx.store.get(kind, ctx.scope, key)
    if doc is None:
        if kind == names.CLUSTER:
            raise errors.cluster_not_found()
        raise errors.invalid("The specified resource is not valid.")
    return kind, key, field, doc


@ops.operation("TagResource")
def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    kind, key, field, doc = _load(ctx, req["resourceArn"])
    merged = {t["key"]: t for t in doc.get(field) or []}
    for t in check_tags(req["tags"]):
        merged[t["key"]] = t
    doc[field] = check_tags(list(merged.values()))
    ctx.store.put(kind, ctx.scope, key, doc)
    return {}


@ops.operation("UntagResource")
def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    kind, key, field, doc = _load(ctx, req["resourceArn"])
    drop = set(req["tagKeys"])
    doc[field] = [t for t in doc.get(field) or [] if t["key"] not in drop]
    ctx.store.put(kind, ctx.scope, key, doc)
    return {}


@ops.operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, _, field, doc = _load(ctx, req["resourceArn"])
    return {"tags": list(doc.get(field) or [])}
