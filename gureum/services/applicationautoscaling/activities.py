"""Scaling activities of scalable targets, and changing a target's capacity.

:func:`scale_to` is the one way capacity changes (policies, scheduled
actions, new min/max): it sets the resource's capacity (:mod:`ecs_link`) and
records the activity with AWS's words::

    Description: Setting desired count to 3.
    Cause:       monitor alarm TargetTracking-service/c/web-AlarmHigh-… in state ALARM triggered policy cpu50
    StatusMessage: Successfully set desired count to 3. Change successfully fulfilled by ecs.

A resource that is gone makes a Failed activity.  Each change is shown to
the thrashing guard (:mod:`flap_guard`), which may add a warning activity.  Activities are kept per
target (at most :data:`KEEP`), listed newest first.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.ids import uuid4
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.applicationautoscaling import ecs_link, flap_guard, names

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]
KEEP = 300


def _record(app: App, scope: Scope, target: Doc, description: str, cause: str, status: str, message: str,
            now: float) -> Doc:
    tkey = names.target_key(target["ServiceNamespace"], target["ScalableDimension"], target["ResourceId"])
    aid = uuid4()
    doc = {"ActivityId": aid, "ServiceNamespace": target["ServiceNamespace"], "ResourceId": target["ResourceId"],
           "ScalableDimension": target["ScalableDimension"], "Description": description, "Cause": cause,
           "StartTime": now, "EndTime": now, "StatusCode": status, "StatusMessage": message}
    app.store.put(names.ACTIVITY, scope, names.child_key(tkey, f"{int(now * 1000):015d}", aid), doc)
    prefix = tkey + names.SEP
    extra = app.store.count(names.ACTIVITY, scope, prefix) - KEEP
    if extra > 0:
        for key, _ in app.store.list(names.ACTIVITY, scope, prefix=prefix, limit=extra):
            app.store.delete(names.ACTIVITY, scope, key)
    return doc


def scale_to(app: App, scope: Scope, target: Doc, count: int, cause: str) -> bool:
    """Set the target's capacity to ``count`` and record the activity; whether it worked."""
    now = app.clock.now()
    description = f"Setting desired count to {count}."
    before = ecs_link.current(app, scope, target["ResourceId"])
    if ecs_link.set_desired(app, scope, target["ResourceId"], count):
        _record(app, scope, target, description, cause, "Successful",
                f"Successfully set desired count to {count}. Change successfully fulfilled by ecs.", now)
        if before is not None:  # the thrashing guard (beyond AWS)
            flap_guard.note_change(app, scope, target, before, count, lambda d, c: _record(
                app, scope, target, d, c, "Successful", "Thrashing detected; no change made.", app.clock.now()))
        return True
    _record(app, scope, target, description, cause, "Failed",
            f"Failed to set desired count to {count}. Reason: ECS service {target['ResourceId']} does not exist "
            "or is not ACTIVE.", now)
    return False


def describe_scaling_activities(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    namespace = req["ServiceNamespace"]
    docs = [d for _, d in ctx.store.list(names.ACTIVITY, ctx.scope, prefix=f"{namespace}|")
            if (not req.get("ResourceId") or d["ResourceId"] == req["ResourceId"])
            and (not req.get("ScalableDimension") or d["ScalableDimension"] == req["ScalableDimension"])]
    docs.sort(key=lambda d: (d["StartTime"], d["ActivityId"]), reverse=True)
    items, token = page(docs, lambda d: d["ActivityId"], req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {"ScalingActivities": items}
    if token:
        out["NextToken"] = token
    return out


def page(items: list[Doc], key: Any, size: int | None, token: str | None, limit: int = 50) -> tuple[list[Doc], str | None]:
    """Pages of at most ``size`` (default and maximum 50); the token is the last key handed out."""
    n = limit if size is None else int(size)
    if not 1 <= n <= limit:
        raise names.invalid(f"MaxResults must be between 1 and {limit}.")
    rest = items
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()).decode())["after"]
        except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ServiceError("InvalidNextTokenException", "The NextToken is not valid.", 400,
                               sender_fault=True) from None
        keys = [key(i) for i in items]
        rest = items[keys.index(after) + 1:] if after in keys else []
    if len(rest) <= n:
        return rest, None
    chosen = rest[:n]
    return chosen, base64.urlsafe_b64encode(json.dumps({"after": key(chosen[-1])}).encode()).decode()
