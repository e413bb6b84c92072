"""Scalable targets: RegisterScalableTarget, DescribeScalableTargets,
DeregisterScalableTarget, and the tag operations on their ARNs.

Rules (Application Auto Scaling API reference):

* Gureum scales ECS services (``ecs`` / ``ecs:service:DesiredCount``,
  resource ``service/<cluster>/<service>``); the service must exist.
* A new target needs MinCapacity and MaxCapacity, min ≤ max; registering
  again updates what is given (min, max, role, suspended state).
* When the capacity is outside new bounds it is brought inside at once, an
  activity caused by "minimum capacity was set to N" / "maximum capacity was
  set to N".
* Deregistering deletes the target's policies (and their alarms) and
  scheduled actions.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.applicationautoscaling import activities, ecs_link, names, records

Doc = dict[str, Any]
SUSPENDED = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")


def check_resource(ctx: RequestContext, req: dict[str, Any]) -> tuple[str, str, str]:
    namespace, rid, dim = req["ServiceNamespace"], req["ResourceId"], req["ScalableDimension"]
    if (namespace, dim) not in names.SUPPORTED:
        raise names.invalid(f"Unsupported service namespace, resource type or scalable dimension: {namespace}, "
                            f"{dim}. Gureum scales ECS services (ecs, ecs:service:DesiredCount).")
    if ecs_link.parse(rid) is None:
        raise names.invalid(f"Unsupported resource ID {rid}: it must be service/<cluster-name>/<service-name>.")
    return namespace, rid, dim


def _bring_within(ctx: RequestContext, target: Doc) -> None:
    current = ecs_link.current(ctx.app, ctx.scope, target["ResourceId"])
    if current is None:
        return
    if current < int(target["MinCapacity"]):
        count = int(target["MinCapacity"])
        activities.scale_to(ctx.app, ctx.scope, target, count, f"minimum capacity was set to {count}")
    elif current > int(target["MaxCapacity"]):
        count = int(target["MaxCapacity"])
        activities.scale_to(ctx.app, ctx.scope, target, count, f"maximum capacity was set to {count}")


def register_scalable_target(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    namespace, rid, dim = check_resource(ctx, req)
    key = names.target_key(namespace, dim, rid)
    existing = ctx.store.get(names.TARGET, ctx.scope, key)
    if existing is None:
        if ecs_link.service(ctx.app, ctx.scope, rid) is None:
            raise names.invalid(f"ECS service doesn't exist: {rid}")
        if req.get("MinCapacity") is None or req.get("MaxCapacity") is None:
            raise names.invalid("MinCapacity and MaxCapacity are required to register a new scalable target.")
    doc: Doc = dict(existing or {
        "ServiceNamespace": namespace, "ResourceId": rid, "ScalableDimension": dim,
        "CreationTime": ctx.clock.now(), "ScalableTargetARN": names.target_arn(ctx.scope),
        "RoleARN": names.service_role(ctx.account),
        "SuspendedState": dict.fromkeys(SUSPENDED, False), "_tags": {},
    })
    for k in ("MinCapacity", "MaxCapacity", "RoleARN"):
        if req.get(k) is not None:
            doc[k] = req[k]
    if int(doc["MinCapacity"]) < 0:
        raise names.invalid("MinCapacity must not be negative.")
    if int(doc["MinCapacity"]) > int(doc["MaxCapacity"]):
        raise names.invalid(f"Minimum capacity ({doc['MinCapacity']}) cannot be greater than maximum capacity "
                            f"({doc['MaxCapacity']}).")
    if req.get("SuspendedState"):
        doc["SuspendedState"] = {**doc["SuspendedState"],
                                 **{k: bool(v) for k, v in req["SuspendedState"].items() if k in SUSPENDED}}
    doc["_tags"] = {**doc.get("_tags", {}), **(req.get("Tags") or {})}
    ctx.store.put(names.TARGET, ctx.scope, key, doc)
    _bring_within(ctx, doc)
    records.enqueue(ctx.app, ctx.scope, key)
    return {"ScalableTargetARN": doc["ScalableTargetARN"]}


def describe_scalable_targets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ids = set(req.get("ResourceIds") or [])
    docs = [d for _, d in ctx.store.list(names.TARGET, ctx.scope, prefix=f"{req['ServiceNamespace']}|")
            if (not ids or d["ResourceId"] in ids)
            and (not req.get("ScalableDimension") or d["ScalableDimension"] == req["ScalableDimension"])]
    items, token = activities.page(docs, lambda d: d["ScalableTargetARN"], req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {"ScalableTargets": [records.public(d) for d in items]}
    if token:
        out["NextToken"] = token
    return out


def deregister_scalable_target(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    target = records.require_target(ctx, req)
    key = names.target_key(target["ServiceNamespace"], target["ScalableDimension"], target["ResourceId"])
    records.drop_children(ctx.app, ctx.scope, key)
    ctx.store.delete(names.TARGET, ctx.scope, key)
    return {}


def _by_arn(ctx: RequestContext, arn: str) -> tuple[str, Doc]:
    for key, doc in ctx.store.list(names.TARGET, ctx.scope):
        if doc["ScalableTargetARN"] == arn:
            return key, doc
    from gureum.core.errors import ServiceError

    raise ServiceError("ResourceNotFoundException", f"No scalable target found for ARN {arn}.", 400,
                       sender_fault=True, extra={"ResourceName": arn})


def list_tags_for_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, doc = _by_arn(ctx, req["ResourceARN"])
    return {"Tags": dict(doc.get("_tags") or {})}


def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    key, doc = _by_arn(ctx, req["ResourceARN"])
    doc["_tags"] = {**(doc.get("_tags") or {}), **req["Tags"]}
    ctx.store.put(names.TARGET, ctx.scope, key, doc)
    return {}


def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    key, doc = _by_arn(ctx, req["ResourceARN"])
    doc["_tags"] = {k: v for k, v in (doc.get("_tags") or {}).items() if k not in set(req["TagKeys"])}
    ctx.store.put(names.TARGET, ctx.scope, key, doc)
    return {}


OPERATIONS = {
    "RegisterScalableTarget": register_scalable_target,
    "DescribeScalableTargets": describe_scalable_targets,
    "DeregisterScalableTarget": deregister_scalable_target,
    "ListTagsForResource": list_tags_for_resource,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
}
