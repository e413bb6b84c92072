"""Lifecycle hooks: PutLifecycleHook, DescribeLifecycleHooks, DeleteLifecycleHook,
CompleteLifecycleAction, RecordLifecycleActionHeartbeat.

A hook is stored per group (kind :data:`names.HOOK`); the pending actions of
an instance live on its member record (``_actions``, see :mod:`lifecycle`).
Answering an action records the result and wakes the group controller,
which moves the instance on.  Rules (PutLifecycleHook API reference):
heartbeat timeout 30–7200 s (default 3600), default result CONTINUE or
ABANDON (default ABANDON), at most 50 hooks per group; an action is named by
its token or by the instance id.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.autoscaling import journal, lifecycle, names, records

Doc = dict[str, Any]
MAX_HOOKS = 50
_OPTIONAL = ("NotificationTargetARN", "RoleARN", "NotificationMetadata")


def put_lifecycle_hook(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    gname = group["AutoScalingGroupName"]
    key = names.child_key(gname, req["LifecycleHookName"])
    existing = ctx.store.get(names.HOOK, ctx.scope, key)
    if existing is None and ctx.store.count(names.HOOK, ctx.scope, f"{gname}/") >= MAX_HOOKS:
        raise names.limit_exceeded(f"You have reached the limit of {MAX_HOOKS} lifecycle hooks for this group.")
    doc: Doc = dict(existing or {"LifecycleHookName": req["LifecycleHookName"], "AutoScalingGroupName": gname,
                                  "HeartbeatTimeout": lifecycle.DEFAULT_HEARTBEAT,
                                  "DefaultResult": lifecycle.DEFAULT_RESULT})
    transition = req.get("LifecycleTransition") or doc.get("LifecycleTransition")
    if transition not in lifecycle.TRANSITIONS:
        raise names.invalid(f"Invalid Lifecycle Transition: {transition}. Valid values are "
                            f"{' and '.join(lifecycle.TRANSITIONS)}.")
    doc["LifecycleTransition"] = transition
    if req.get("HeartbeatTimeout") is not None:
        heartbeat = int(req["HeartbeatTimeout"])
        if not lifecycle.MIN_HEARTBEAT <= heartbeat <= lifecycle.MAX_HEARTBEAT:
            raise names.invalid(f"HeartbeatTimeout must be between {lifecycle.MIN_HEARTBEAT} and "
                                f"{lifecycle.MAX_HEARTBEAT} seconds.")
        doc["HeartbeatTimeout"] = heartbeat
    if req.get("DefaultResult") is not None:
        if req["DefaultResult"] not in (lifecycle.CONTINUE, lifecycle.ABANDON):
            raise names.invalid(f"Invalid DefaultResult: {req['DefaultResult']}. Valid values are CONTINUE and "
                                "ABANDON.")
        doc["DefaultResult"] = req["DefaultResult"]
    doc.update({k: req[k] for k in _OPTIONAL if req.get(k) is not None})
    doc["GlobalTimeout"] = lifecycle.global_timeout(int(doc["HeartbeatTimeout"]))
    ctx.store.put(names.HOOK, ctx.scope, key, doc)
    journal.wrote(ctx.store, names.HOOK, ctx.scope, gname)
    return {}


def describe_lifecycle_hooks(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    wanted = set(req.get("LifecycleHookNames") or [])
    docs = records.children(ctx.store, names.HOOK, ctx.scope, group["AutoScalingGroupName"])
    return {"LifecycleHooks": [d for d in docs if not wanted or d["LifecycleHookName"] in wanted]}


def delete_lifecycle_hook(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    key = names.child_key(group["AutoScalingGroupName"], req["LifecycleHookName"])
    if not ctx.store.delete(names.HOOK, ctx.scope, key):
        raise names.invalid(f"No Lifecycle Hook found with name {req['LifecycleHookName']} for group "
                            f"{group['AutoScalingGroupName']}")
    journal.wrote(ctx.store, names.HOOK, ctx.scope, group["AutoScalingGroupName"])
    records.enqueue(ctx.app, ctx.scope, group["AutoScalingGroupName"])  # waiting instances may go on
    return {}


def _action(ctx: RequestContext, req: dict[str, Any]) -> tuple[Doc, Doc, str]:
    """(group, member, hook name) of the pending action the request names."""
    group = records.require_group(ctx.store, ctx.scope, req["AutoScalingGroupName"])
    hook = req["LifecycleHookName"]
    token, iid = req.get("LifecycleActionToken"), req.get("InstanceId")
    if not token and not iid:
        raise names.invalid("Either LifecycleActionToken or InstanceId must be specified.")
    for rec in records.members(group):
        act = (rec.get("_actions") or {}).get(hook)
        if act is None or act.get("result") is not None:
            continue
        if (token and act["token"] == token) or (not token and rec["InstanceId"] == iid):
            if iid and rec["InstanceId"] != iid:
                continue
            return group, rec, hook
    if token:
        raise names.invalid(f"No active Lifecycle Action found with token {token}")
    raise names.invalid(f"No active Lifecycle Action found with instance ID {iid}")


def complete_lifecycle_action(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    result = req["LifecycleActionResult"]
    if result not in (lifecycle.CONTINUE, lifecycle.ABANDON):
        raise names.invalid(f"Invalid LifecycleActionResult: {result}. Valid values are CONTINUE and ABANDON.")
    group, rec, hook = _action(ctx, req)
    rec["_actions"] = lifecycle.complete(rec["_actions"], hook, result)
    records.save_group(ctx.store, ctx.scope, group)
    records.enqueue(ctx.app, ctx.scope, group["AutoScalingGroupName"])
    return {}


def record_lifecycle_action_heartbeat(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group, rec, hook = _action(ctx, req)
    doc = ctx.store.get(names.HOOK, ctx.scope, names.child_key(group["AutoScalingGroupName"], hook)) or {}
    seconds = int(doc.get("HeartbeatTimeout") or lifecycle.DEFAULT_HEARTBEAT)
    rec["_actions"] = lifecycle.heartbeat(rec["_actions"], hook, seconds, ctx.clock.now())
    records.save_group(ctx.store, ctx.scope, group)
    records.enqueue(ctx.app, ctx.scope, group["AutoScalingGroupName"])
    return {}


OPERATIONS = {
    "PutLifecycleHook": put_lifecycle_hook,
    "DescribeLifecycleHooks": describe_lifecycle_hooks,
    "DeleteLifecycleHook": delete_lifecycle_hook,
    "CompleteLifecycleAction": complete_lifecycle_action,
    "RecordLifecycleActionHeartbeat": record_lifecycle_action_heartbeat,
}
