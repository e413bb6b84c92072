"""What CodeDeploy may use of ECS without going over HTTP: services run by
task sets (``deploymentController`` CODE_DEPLOY).

Thin wrappers around ECS's own handlers (same checks, same errors:
``ServiceError`` with ECS's codes), in the caller's account and region:

    service(app, scope, cluster, name)            # the Service dict (taskSets…), or None
    task_definition(app, scope, ref)              # the TaskDefinition dict, or None
    create_task_set(app, scope, cluster, service, task_definition, **opts)  # the TaskSet
    task_sets(app, scope, cluster, service)       # [TaskSet], as DescribeTaskSets
    update_primary(app, scope, cluster, service, task_set_id)
    update_scale(app, scope, cluster, service, task_set_id, percent)
    delete_task_set(app, scope, cluster, service, task_set_id)   # force: even the primary

``opts`` of :func:`create_task_set` are CreateTaskSet's members
(``loadBalancers``, ``networkConfiguration``, ``launchType``,
``platformVersion``, ``capacityProviderStrategy``, ``externalId``) plus
``startedBy``.  (A separate module from ``public.py``, which CodePipeline's
ECS action uses, so the two can change independently.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.ids import request_id
from gureum.core.store import Scope
from gureum.services.api import RequestContext

if TYPE_CHECKING:
    from gureum.app import App


def _call(app: App, scope: Scope, operation: str, req: dict[str, Any]) -> dict[str, Any]:
    api = app.service_api("ecs")  # loads ECS and starts its controllers
    assert api is not None
    ctx = RequestContext("ecs", operation, scope.account, scope.region, request_id(), app)
    out = api.handlers[operation](ctx, req)
    assert isinstance(out, dict)
    return out


def service(app: App, scope: Scope, cluster: str, name: str) -> dict[str, Any] | None:
    try:
        out = _call(app, scope, "DescribeServices", {"cluster": cluster, "services": [name]})
    except ServiceError:
        return None
    found = out.get("services") or []
    return dict(found[0]) if found else None


def task_definition(app: App, scope: Scope, ref: str) -> dict[str, Any] | None:
    try:
        return dict(_call(app, scope, "DescribeTaskDefinition", {"taskDefinition": ref})["taskDefinition"])
    except ServiceError:
        return None


def create_task_set(
    app: App, scope: Scope, cluster: str, service_name: str, task_definition_arn: str, **opts: Any
) -> dict[str, Any]:
    req: dict[str, Any] = {"cluster": cluster, "service": service_name, "taskDefinition": task_definition_arn}
    for k in ("loadBalancers", "networkConfiguration", "launchType", "platformVersion", "capacityProviderStrategy", "externalId"):
        if opts.get(k):
            req[k] = opts[k]
    if opts.get("startedBy"):
        req["_startedBy"] = opts["startedBy"]
    req["scale"] = {"value": float(opts.get("scale", 100.0)), "unit": "PERCENT"}
    return dict(_call(app, scope, "CreateTaskSet", req)["taskSet"])


def task_sets(app: App, scope: Scope, cluster: str, service_name: str) -> list[dict[str, Any]]:
    return list(_call(app, scope, "DescribeTaskSets", {"cluster": cluster, "service": service_name})["taskSets"])


def update_primary(app: App, scope: Scope, cluster: str, service_name: str, task_set: str) -> dict[str, Any]:
    req = {"cluster": cluster, "service": service_name, "primaryTaskSet": task_set}
    return dict(_call(app, scope, "UpdateServicePrimaryTaskSet", req)["taskSet"])


def update_scale(app: App, scope: Scope, cluster: str, service_name: str, task_set: str, percent: float) -> dict[str, Any]:
    req = {"cluster": cluster, "service": service_name, "taskSet": task_set, "scale": {"value": float(percent), "unit": "PERCENT"}}
    return dict(_call(app, scope, "UpdateTaskSet", req)["taskSet"])


def delete_task_set(app: App, scope: Scope, cluster: str, service_name: str, task_set: str) -> dict[str, Any]:
    req = {"cluster": cluster, "service": service_name, "taskSet": task_set, "force": True}
    return dict(_call(app, scope, "DeleteTaskSet", req)["taskSet"])
