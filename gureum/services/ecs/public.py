"""What other services (CodePipeline's ECS deploy action) may use of ECS without going over HTTP.

Thin wrappers around ECS's own operation handlers, so a caller gets exactly
what the API does (validation, defaults, the service controller woken):

* :func:`describe_service` — DescribeServices for one service (``None`` if
  ECS has no such service in the cluster);
* :func:`describe_task_definition` — DescribeTaskDefinition's
  ``taskDefinition``;
* :func:`register_task_definition` — RegisterTaskDefinition with a request
  dict shaped like the API's input; returns the new ``taskDefinition``;
* :func:`update_service` — UpdateService to a task definition (a new
  deployment, rolled out by the service controller); returns the service.

Errors are ECS's ``ServiceError``\\ s (ClusterNotFoundException,
ClientException, InvalidParameterException…).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.ids import request_id
from gureum.core.store import Scope
from gureum.services.api import RequestContext

if TYPE_CHECKING:
    from gureum.app import App


def _call(app: App, scope: Scope, operation: str, req: dict[str, Any]) -> dict[str, Any]:
    api = app.service_api("ecs")  # loads ECS (and starts its controllers) on first use
    assert api is not None
    ctx = RequestContext("ecs", operation, scope.account, scope.region, request_id(), app)
    out = api.handlers[operation](ctx, req)
    assert isinstance(out, dict)
    return out


def describe_service(app: App, scope: Scope, cluster: str, service: str) -> dict[str, Any] | None:
    out = _call(app, scope, "DescribeServices", {"cluster": cluster, "services": [service]})
    found = out.get("services") or []
    return dict(found[0]) if found else None


def describe_task_definition(app: App, scope: Scope, ref: str) -> dict[str, Any]:
    return dict(_call(app, scope, "DescribeTaskDefinition", {"taskDefinition": ref})["taskDefinition"])


def register_task_definition(app: App, scope: Scope, req: dict[str, Any]) -> dict[str, Any]:
    return dict(_call(app, scope, "RegisterTaskDefinition", req)["taskDefinition"])


def update_service(app: App, scope: Scope, cluster: str, service: str, task_definition: str) -> dict[str, Any]:
    req = {"cluster": cluster, "service": service, "taskDefinition": task_definition}
    return dict(_call(app, scope, "UpdateService", req)["service"])
