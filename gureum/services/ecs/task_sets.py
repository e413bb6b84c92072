"""ECS task sets: CreateTaskSet, DescribeTaskSets, UpdateTaskSet,
UpdateServicePrimaryTaskSet, DeleteTaskSet — and the first task set of a
service with the ``CODE_DEPLOY`` deployment controller.

A service whose deployments CodeDeploy runs has no ``deployments[]``: it has
``taskSets[]`` instead, each a task definition at a ``scale`` (a percent of
the service's desired count, rounded up: ``computedDesiredCount``) with its
own load balancer target group.  CreateService makes the first one, PRIMARY
at 100 %; CodeDeploy adds a replacement (ACTIVE), moves the listener's
traffic to its target group, makes it PRIMARY (UpdateServicePrimaryTaskSet)
and deletes the original (DRAINING, then gone once its tasks stopped).

Task sets live in the service document (``taskSets``), as the API shows
them; their tasks carry ``_taskSet``.  The handlers only record intent: the
service controller (:mod:`task_set_controller` for these services) starts
and stops the tasks, registers them with their target groups and keeps the
counts and ``stabilityStatus`` current.
"""

from __future__ import annotations

import math
from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.ecs import errors, names
from gureum.services.ecs.api_tasks import check_network, launch_type_for
from gureum.services.ecs.records import (
    SERVICE_CONTROLLER,
    Doc,
    check_tags,
    enqueue,
    get_cluster,
    get_taskdef,
    service_key,
)
from gureum.services.ecs.registry import Operations

ops = Operations()

SET_CONTROLLERS = ("CODE_DEPLOY", "EXTERNAL")
CODE_DEPLOY_FIXED = ("taskDefinition", "networkConfiguration", "loadBalancers", "platformVersion",
                     "capacityProviderStrategy", "serviceRegistries")


def task_set_arn(region: str, account: str, cluster: str, service: str, set_id: str) -> str:
    return names.arn(region, account, f"task-set/{cluster}/{service}/{set_id}")


def computed_count(desired: int, scale: Doc | None) -> int:
    value = float((scale or {}).get("value", 100.0))
    return math.ceil(desired * value / 100 - 1e-9)


def controller_type(service: Doc) -> str:
    return str((service.get("deploymentController") or {}).get("type") or "ECS")


def uses_task_sets(service: Doc) -> bool:
    return controller_type(service) in SET_CONTROLLERS


def not_found() -> ServiceError:
    return ServiceError("TaskSetNotFoundException", "The specified task set does not exist.", 400, sender_fault=True)


def check_update(service: Doc, req: dict[str, Any], new_taskdef_arn: str | None) -> None:
    """What UpdateService may not change on a CODE_DEPLOY service (CodeDeploy deploys it)."""
    if controller_type(service) != "CODE_DEPLOY":
        return
    if new_taskdef_arn and new_taskdef_arn != service.get("taskDefinition"):
        raise errors.invalid(
            "Unable to update task definition on services with a CODE_DEPLOY deployment controller. "
            "Use AWS CodeDeploy to trigger a new deployment."
        )
    changed = [k for k in CODE_DEPLOY_FIXED if k != "taskDefinition" and req.get(k) is not None and req[k] != service.get(k)]
    if changed or req.get("forceNewDeployment"):
        what = changed[0] if changed else "forceNewDeployment"
        raise errors.invalid(
            f"Unable to update {what} on services with a CODE_DEPLOY deployment controller. "
            "Use AWS CodeDeploy to trigger a new deployment."
        )


def new_task_set(service: Doc, taskdef: Doc, region: str, account: str, now: float, **opts: Any) -> Doc:
    set_id = names.new_deployment_id()
    scale = opts.get("scale") or {"value": 100.0, "unit": "PERCENT"}
    ts: Doc = {
        "id": set_id,
        "taskSetArn": task_set_arn(region, account, service["_cluster"], service["serviceName"], set_id),
        "serviceArn": service["serviceArn"],
        "clusterArn": service["clusterArn"],
        "status": opts.get("status", "ACTIVE"),
        "taskDefinition": taskdef["taskDefinitionArn"],
        "computedDesiredCount": computed_count(int(service.get("desiredCount") or 0), scale),
        "pendingCount": 0,
        "runningCount": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": opts.get("launchType") or service.get("launchType") or "EC2",
        "networkConfiguration": opts.get("networkConfiguration") or service.get("networkConfiguration") or {},
        "loadBalancers": list(opts["loadBalancers"] if opts.get("loadBalancers") is not None else service.get("loadBalancers") or []),
        "serviceRegistries": list(opts.get("serviceRegistries") or []),
        "scale": {"value": float(scale.get("value", 100.0)), "unit": scale.get("unit") or "PERCENT"},
        "stabilityStatus": "STABILIZING",
        "stabilityStatusAt": now,
        "tags": list(opts.get("tags") or []),
    }
    if opts.get("capacityProviderStrategy"):
        ts["capacityProviderStrategy"] = opts["capacityProviderStrategy"]
        ts.pop("launchType")
    if ts.get("launchType") == "FARGATE":
        ts["platformVersion"] = opts.get("platformVersion") or service.get("platformVersion") or "LATEST"
        ts["platformFamily"] = "Linux"
    for k in ("startedBy", "externalId"):
        if opts.get(k):
            ts[k] = opts[k]
    return ts


def start_service(service: Doc, taskdef: Doc, region: str, account: str, now: float) -> None:
    """CreateService of a CODE_DEPLOY service: its first task set, PRIMARY at 100 %."""
    service["deployments"] = []
    service["taskSets"] = [new_task_set(service, taskdef, region, account, now, status="PRIMARY")]
    service["taskDefinition"] = taskdef["taskDefinitionArn"]


def check_load_balancers(ctx: RequestContext, taskdef: Doc, lbs: list[Doc]) -> None:
    containers = {c["name"]: c for c in taskdef["containerDefinitions"]}
    for lb in lbs:
        name, port = lb.get("containerName"), lb.get("containerPort")
        c = containers.get(str(name))
        if c is None:
            raise errors.invalid(f"The container {name} does not exist in the task definition.")
        if not any(int(p.get("containerPort") or 0) == int(port or 0) for p in c.get("portMappings") or []):
            raise errors.invalid(f"The container {name} did not have a container port {port} defined.")
        arn = lb.get("targetGroupArn")
        if arn:
            from gureum.services.elbv2 import public as elbv2

            if elbv2.target_group(ctx.app, ctx.scope, arn) is None:
                raise errors.invalid(f"The target group {arn} does not exist.")


def _service(ctx: RequestContext, req: dict[str, Any]) -> tuple[Doc, str, Doc]:
    cluster = get_cluster(ctx, req.get("cluster"))
    cname, name = names.service_ref(req["service"])
    if cname is not None and cname != cluster["clusterName"]:
        raise errors.service_not_found()
    key = service_key(cluster["clusterName"], name)
    svc = ctx.store.get(names.SERVICE, ctx.scope, key)
    if svc is None:
        raise errors.service_not_found()
    if svc.get("status") != "ACTIVE":
        raise errors.service_not_active()
    if not uses_task_sets(svc):
        raise errors.invalid("Task sets are only supported for services with the CODE_DEPLOY or EXTERNAL deployment controller.")
    return cluster, key, svc


def _find(svc: Doc, ref: str) -> Doc:
    for ts in svc.get("taskSets") or []:
        if ref in (ts["id"], ts["taskSetArn"]):
            return ts  # type: ignore[no-any-return]
    raise not_found()


def _save(ctx: RequestContext, key: str, svc: Doc) -> None:
    ctx.store.put(names.SERVICE, ctx.scope, key, svc)
    enqueue(ctx, SERVICE_CONTROLLER, key)


@ops.operation("CreateTaskSet")
def create_task_set(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster, key, svc = _service(ctx, req)
    taskdef = get_taskdef(ctx, req["taskDefinition"])
    launch_req = dict(req) if req.get("capacityProviderStrategy") else {"launchType": req.get("launchType") or svc.get("launchType")}
    launch_type, _ = launch_type_for(cluster, taskdef, launch_req)
    network = req.get("networkConfiguration") or svc.get("networkConfiguration")
    check_network(taskdef, network)
    lbs = list(req.get("loadBalancers") or [])
    if len(lbs) > 1:
        raise errors.invalid("A task set can have at most one load balancer.")
    check_load_balancers(ctx, taskdef, lbs)
    scale = req.get("scale") or {"value": 100.0, "unit": "PERCENT"}
    if not 0 <= float(scale.get("value", 100.0)) <= 100:
        raise errors.invalid("scale value must be between 0 and 100.")
    ts = new_task_set(
        svc, taskdef, ctx.region, ctx.account, ctx.clock.now(), scale=scale, loadBalancers=lbs,
        networkConfiguration=network, launchType=launch_type, platformVersion=req.get("platformVersion"),
        capacityProviderStrategy=req.get("capacityProviderStrategy"), serviceRegistries=req.get("serviceRegistries"),
        externalId=req.get("externalId"), startedBy=req.get("_startedBy"), tags=check_tags(req.get("tags")),
    )  # fmt: skip
    svc.setdefault("taskSets", []).append(ts)
    _save(ctx, key, svc)
    return {"taskSet": ts}


@ops.operation("DescribeTaskSets")
def describe_task_sets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, _, svc = _service(ctx, req)
    refs = req.get("taskSets")
    with_tags = "TAGS" in (req.get("include") or [])
    out, failures = [], []
    for ts in svc.get("taskSets") or []:
        if refs and ts["id"] not in refs and ts["taskSetArn"] not in refs:
            continue
        view = dict(ts)
        if not with_tags:
            view.pop("tags", None)
        out.append(view)
    for ref in refs or []:
        if not any(ref in (t["id"], t["taskSetArn"]) for t in out):
            failures.append({"arn": ref, "reason": "MISSING"})
    return {"taskSets": out, "failures": failures}


@ops.operation("UpdateTaskSet")
def update_task_set(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, key, svc = _service(ctx, req)
    ts = _find(svc, req["taskSet"])
    value = float(req["scale"].get("value", 100.0))
    if not 0 <= value <= 100:
        raise errors.invalid("scale value must be between 0 and 100.")
    ts["scale"] = {"value": value, "unit": req["scale"].get("unit") or "PERCENT"}
    ts["computedDesiredCount"] = computed_count(int(svc.get("desiredCount") or 0), ts["scale"])
    ts["updatedAt"] = ctx.clock.now()
    _save(ctx, key, svc)
    return {"taskSet": ts}


@ops.operation("UpdateServicePrimaryTaskSet")
def update_service_primary_task_set(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, key, svc = _service(ctx, req)
    ts = _find(svc, req["primaryTaskSet"])
    if ts["status"] == "DRAINING":
        raise errors.invalid("A DRAINING task set cannot become the primary task set.")
    now = ctx.clock.now()
    for other in svc.get("taskSets") or []:
        if other["status"] == "PRIMARY" and other is not ts:
            other.update(status="ACTIVE", updatedAt=now)
    ts.update(status="PRIMARY", updatedAt=now)
    svc["taskDefinition"] = ts["taskDefinition"]
    _save(ctx, key, svc)
    return {"taskSet": ts}


@ops.operation("DeleteTaskSet")
def delete_task_set(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, key, svc = _service(ctx, req)
    ts = _find(svc, req["taskSet"])
    if ts["status"] == "PRIMARY" and not req.get("force"):
        raise errors.invalid("The primary task set of a service cannot be deleted.")
    ts.update(status="DRAINING", computedDesiredCount=0, updatedAt=ctx.clock.now(), stabilityStatus="STABILIZING")
    _save(ctx, key, svc)
    return {"taskSet": ts}
