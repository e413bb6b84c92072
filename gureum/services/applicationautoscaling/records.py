"""Scalable targets and their children in the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.applicationautoscaling import names

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]


def public(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def require_target(ctx: RequestContext, req: dict[str, Any]) -> Doc:
    namespace, rid, dim = req["ServiceNamespace"], req["ResourceId"], req["ScalableDimension"]
    doc = ctx.store.get(names.TARGET, ctx.scope, names.target_key(namespace, dim, rid))
    if doc is None:
        raise names.no_target(namespace, rid, dim)
    return doc


def children(app: App, kind: str, scope: Scope, target_key: str) -> list[tuple[str, Doc]]:
    return app.store.list(kind, scope, prefix=target_key + names.SEP)


def drop_alarms(app: App, scope: Scope, policy: Doc) -> None:
    from gureum.services.cloudwatch import public as cloudwatch

    cloudwatch.delete_alarms(app, scope, [a["AlarmName"] for a in policy.get("Alarms") or []]
                             if policy.get("PolicyType") == "TargetTrackingScaling" else [])


def drop_children(app: App, scope: Scope, target_key: str) -> None:
    """Delete a target's policies (with the alarms target tracking made) and scheduled actions."""
    for key, doc in children(app, names.POLICY, scope, target_key):
        app.store.delete(names.POLICY, scope, key)
        drop_alarms(app, scope, doc)
    for key, _ in children(app, names.SCHEDULED, scope, target_key):
        app.store.delete(names.SCHEDULED, scope, key)


def enqueue(app: App, scope: Scope, target_key: str) -> None:
    if names.CONTROLLER not in app.runner.controllers:
        app.service_api("application-autoscaling")
    app.runner.enqueue(names.CONTROLLER, names.scoped_key(scope, target_key))
