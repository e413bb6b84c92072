"""The capacity of an ECS service (``ecs:service:DesiredCount``), read and set.

ECS has no public module for other services, so this (and only this) module
does what ECS's UpdateService handler does for a new ``desiredCount``: write
the ``desiredCount`` of the service document (kind ``ecs.service``, key
``<cluster>/<service>``) and wake ECS's service controller
(``ecs.service``, key ``account|region|<cluster>/<service>``), which starts
or stops tasks.  Everything runs on the event loop, as ECS's own handlers
do, so the write cannot interleave with a reconcile of the service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.app import App

ECS_SERVICE = "ecs.service"
ECS_CONTROLLER = "ecs.service"


def parse(resource_id: str) -> tuple[str, str] | None:
    """``service/<cluster>/<service>`` → (cluster, service)."""
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def service(app: App, scope: Scope, resource_id: str) -> dict[str, Any] | None:
    """The ECS service document, if the service exists and is ACTIVE."""
    parsed = parse(resource_id)
    if parsed is None:
        return None
    doc = app.store.get(ECS_SERVICE, scope, f"{parsed[0]}/{parsed[1]}")
    if doc is None or doc.get("status") != "ACTIVE":
        return None
    return doc


def current(app: App, scope: Scope, resource_id: str) -> int | None:
    doc = service(app, scope, resource_id)
    return None if doc is None else int(doc.get("desiredCount") or 0)


def set_desired(app: App, scope: Scope, resource_id: str, count: int) -> bool:
    parsed = parse(resource_id)
    doc = service(app, scope, resource_id)
    if parsed is None or doc is None:
        return False
    key = f"{parsed[0]}/{parsed[1]}"
    doc["desiredCount"] = int(count)
    app.store.put(ECS_SERVICE, scope, key, doc)
    app.service_api("ecs")  # its controllers run
    if ECS_CONTROLLER in app.runner.controllers:
        app.runner.enqueue(ECS_CONTROLLER, f"{scope.account}|{scope.region}|{key}")
    return True
