"""The capacity of an ECS service (``ecs:service:DesiredCount``), read and set.

Reading goes through ECS's public module (:func:`gureum.services.ecs.public.describe_service`).
It has no function to change a desired count, so setting calls ECS's own
UpdateService operation handler in-process with ``desiredCount`` — exactly
what the API does (checks, the service document, the service controller
woken to start or stop tasks), without touching ECS's records here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.ids import request_id
from gureum.core.store import Scope
from gureum.services.api import RequestContext

if TYPE_CHECKING:
    from gureum.app import App


def parse(resource_id: str) -> tuple[str, str] | None:
    """``service/<cluster>/<service>`` → (cluster, service)."""
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def service(app: App, scope: Scope, resource_id: str) -> dict[str, Any] | None:
    """The ECS service as DescribeServices shows it, if it exists and is ACTIVE."""
    from gureum.services.ecs import public

    parsed = parse(resource_id)
    if parsed is None:
        return None
    try:
        found = public.describe_service(app, scope, parsed[0], parsed[1])
    except ServiceError:  # no such cluster
        return None
    if found is None or found.get("status") != "ACTIVE":
        return None
    return found


def current(app: App, scope: Scope, resource_id: str) -> int | None:
    found = service(app, scope, resource_id)
    return None if found is None else int(found.get("desiredCount") or 0)


def set_desired(app: App, scope: Scope, resource_id: str, count: int) -> bool:
    """UpdateService(desiredCount=count); whether ECS took it."""
    parsed = parse(resource_id)
    api = app.service_api("ecs")
    if parsed is None or api is None:
        return False
    ctx = RequestContext("ecs", "UpdateService", scope.account, scope.region, request_id(), app)
    try:
        api.handlers["UpdateService"](ctx, {"cluster": parsed[0], "service": parsed[1], "desiredCount": int(count)})
    except ServiceError:
        return False
    return True
