"""ECS service operations: CreateService, UpdateService, DeleteService,
DescribeServices, ListServices.

Handlers write the service document (desired count, deployment
configuration, ``deployments[]``) and wake the service controller; the
controller starts and stops tasks.  A new task definition, a changed network
configuration or ``forceNewDeployment`` starts a new PRIMARY deployment and
turns the previous one ACTIVE.  DeleteService drains (status DRAINING) and
the controller marks the service INACTIVE once its tasks have stopped.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.ecs import errors, names, task_sets
from gureum.services.ecs.api_tasks import check_network, launch_type_for
from gureum.services.ecs.records import (
    SERVICE_CONTROLLER,
    Doc,
    check_tags,
    cluster_services,
    enqueue,
    get_cluster,
    get_taskdef,
    paginate,
    service_key,
    service_tasks,
)
from gureum.services.ecs.registry import Operations
from gureum.services.ecs.service_records import start_deployment, with_counts
from gureum.services.ecs.task_targets import check_load_balancers

ops = Operations()

DEFAULT_DEPLOYMENT_CONFIG: Doc = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def _deployment_config(old: Doc | None, new: Doc | None) -> Doc:
    cfg = {**DEFAULT_DEPLOYMENT_CONFIG, **(old or {})}
    for k, v in (new or {}).items():
        if v is not None:
            cfg[k] = v
    lo, hi = cfg["minimumHealthyPercent"], cfg["maximumPercent"]
    if not 0 <= lo <= 100:
        raise errors.invalid("minimumHealthyPercent must be between 0 and 100.")
    if hi < 100 or hi < lo:
        raise errors.invalid("maximumPercent must be at least 100 and at least minimumHealthyPercent.")
    return cfg


def _get_service(ctx: RequestContext, cluster: Doc, ref: str) -> tuple[str, Doc]:
    cname, name = names.service_ref(ref)
    if cname is not None and cname != cluster["clusterName"]:
        raise errors.service_not_found()
    key = service_key(cluster["clusterName"], name)
    doc = ctx.store.get(names.SERVICE, ctx.scope, key)
    if doc is None:
        raise errors.service_not_found()
    return key, doc


def _describe(ctx: RequestContext, doc: Doc, with_tags: bool = True) -> Doc:
    out = with_counts(doc, service_tasks(ctx.store, ctx.scope, doc["_cluster"], doc["serviceName"]))
    if not with_tags:
        out.pop("tags", None)
    return out


@ops.operation("CreateService")
def create_service(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    name = req["serviceName"]
    key = service_key(cluster["clusterName"], name)
    existing = ctx.store.get(names.SERVICE, ctx.scope, key)
    if existing is not None and existing.get("status") != "INACTIVE":
        raise errors.invalid("Creation of service was not idempotent.")
    controller = (req.get("deploymentController") or {}).get("type", "ECS")
    if controller not in ("ECS", "CODE_DEPLOY"):
        raise errors.invalid(f"Gureum runs services with the ECS or CODE_DEPLOY deployment controller only, not {controller}.")
    strategy = req.get("schedulingStrategy") or "REPLICA"
    if strategy == "REPLICA" and req.get("desiredCount") is None:
        raise errors.invalid("The desiredCount parameter is required for a service with the REPLICA scheduling strategy.")
    taskdef = get_taskdef(ctx, req["taskDefinition"])
    launch_type, provider = launch_type_for(cluster, taskdef, req)
    check_network(taskdef, req.get("networkConfiguration"))
    now = ctx.clock.now()
    doc: Doc = {
        "serviceArn": names.service_arn(ctx.region, ctx.account, cluster["clusterName"], name),
        "serviceName": name,
        "clusterArn": cluster["clusterArn"],
        "loadBalancers": list(req.get("loadBalancers") or []),
        "serviceRegistries": list(req.get("serviceRegistries") or []),
        "status": "ACTIVE",
        "desiredCount": int(req.get("desiredCount") or 0),
        "taskDefinition": taskdef["taskDefinitionArn"],
        "deploymentConfiguration": _deployment_config(None, req.get("deploymentConfiguration")),
        "deployments": [],
        "events": [],
        "createdAt": now,
        "placementConstraints": list(req.get("placementConstraints") or []),
        "placementStrategy": list(req.get("placementStrategy") or []),
        "healthCheckGracePeriodSeconds": int(req.get("healthCheckGracePeriodSeconds") or 0),
        "schedulingStrategy": strategy,
        "deploymentController": {"type": controller},
        "tags": check_tags(req.get("tags")),
        "createdBy": f"arn:aws:iam::{ctx.account}:root",
        "enableECSManagedTags": bool(req.get("enableECSManagedTags")),
        "propagateTags": req.get("propagateTags") or "NONE",
        "enableExecuteCommand": bool(req.get("enableExecuteCommand")),
        "_cluster": cluster["clusterName"],
    }
    if provider:
        doc["capacityProviderStrategy"] = list(req.get("capacityProviderStrategy") or cluster.get("defaultCapacityProviderStrategy") or [])
    else:
        doc["launchType"] = launch_type
    if launch_type == "FARGATE":
        doc["platformVersion"] = req.get("platformVersion") or "LATEST"
        doc["platformFamily"] = "Linux"
    for k in ("networkConfiguration", "role"):
        if req.get(k):
            doc["roleArn" if k == "role" else k] = req[k]
    check_load_balancers(ctx, taskdef, doc["loadBalancers"])
    if controller == "CODE_DEPLOY":  # task sets instead of deployments (task_sets.py)
        task_sets.check_load_balancers(ctx, taskdef, doc["loadBalancers"])
        task_sets.start_service(doc, taskdef, ctx.region, ctx.account, now)
    else:
        start_deployment(doc, taskdef["taskDefinitionArn"], now)
    ctx.store.put(names.SERVICE, ctx.scope, key, doc)
    enqueue(ctx, SERVICE_CONTROLLER, key)
    return {"service": _describe(ctx, doc)}


@ops.operation("UpdateService")
def update_service(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    key, doc = _get_service(ctx, cluster, req["service"])
    if doc.get("status") != "ACTIVE":
        raise errors.service_not_active()
    redeploy = bool(req.get("forceNewDeployment"))
    td_arn = doc["taskDefinition"]
    if req.get("taskDefinition"):
        taskdef = get_taskdef(ctx, req["taskDefinition"])
        task_sets.check_update(doc, req, taskdef["taskDefinitionArn"])
        redeploy = redeploy or taskdef["taskDefinitionArn"] != td_arn
        td_arn = taskdef["taskDefinitionArn"]
    else:
        taskdef = get_taskdef(ctx, td_arn, for_launch=False)
    task_sets.check_update(doc, req, None)
    if req.get("networkConfiguration") is not None:
        check_network(taskdef, req["networkConfiguration"])
        redeploy = redeploy or req["networkConfiguration"] != doc.get("networkConfiguration")
        doc["networkConfiguration"] = req["networkConfiguration"]
    if req.get("loadBalancers") is not None or req.get("taskDefinition"):
        lbs = req["loadBalancers"] if req.get("loadBalancers") is not None else doc.get("loadBalancers") or []
        check_load_balancers(ctx, taskdef, lbs)  # the new revision must still have the container port
        redeploy = redeploy or lbs != (doc.get("loadBalancers") or [])
    if req.get("desiredCount") is not None:
        doc["desiredCount"] = int(req["desiredCount"])
    if req.get("deploymentConfiguration") is not None:
        doc["deploymentConfiguration"] = _deployment_config(doc.get("deploymentConfiguration"), req["deploymentConfiguration"])
    for k in ("healthCheckGracePeriodSeconds", "enableExecuteCommand", "enableECSManagedTags", "propagateTags",
              "placementConstraints", "placementStrategy", "loadBalancers", "serviceRegistries", "platformVersion"):
        if req.get(k) is not None:
            doc[k] = req[k]
    if redeploy:
        start_deployment(doc, td_arn, ctx.clock.now())
        doc["_steady"] = False
    ctx.store.put(names.SERVICE, ctx.scope, key, doc)
    enqueue(ctx, SERVICE_CONTROLLER, key)
    return {"service": _describe(ctx, doc)}


@ops.operation("DeleteService")
def delete_service(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    key, doc = _get_service(ctx, cluster, req["service"])
    if doc.get("status") == "INACTIVE":
        raise errors.service_not_active()
    if doc.get("desiredCount", 0) > 0 and not req.get("force"):
        raise errors.invalid("The service cannot be stopped while it is scaled above 0.")
    doc["desiredCount"] = 0
    doc["status"] = "DRAINING"
    ctx.store.put(names.SERVICE, ctx.scope, key, doc)
    enqueue(ctx, SERVICE_CONTROLLER, key)
    return {"service": _describe(ctx, doc)}


@ops.operation("DescribeServices")
def describe_services(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    refs = req["services"]
    if len(refs) > 10:
        raise errors.invalid("services can have at most 10 items.")
    with_tags = "TAGS" in (req.get("include") or [])
    services: list[Doc] = []
    failures: list[Doc] = []
    for ref in refs:
        try:
            _, doc = _get_service(ctx, cluster, ref)
        except ServiceError:
            arn = ref if ref.startswith("arn:") else names.service_arn(ctx.region, ctx.account, cluster["clusterName"], ref)
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        services.append(_describe(ctx, doc, with_tags))
    return {"services": services, "failures": failures}


@ops.operation("ListServices")
def list_services(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    docs = [
        s for s in cluster_services(ctx.store, ctx.scope, cluster["clusterName"])
        if s.get("status") in ("ACTIVE", "DRAINING")
        and (not req.get("launchType") or s.get("launchType") == req["launchType"])
        and (not req.get("schedulingStrategy") or s.get("schedulingStrategy") == req["schedulingStrategy"])
    ]
    page, token = paginate([s["serviceArn"] for s in docs], req.get("maxResults"), req.get("nextToken"), default=10)
    out: dict[str, Any] = {"serviceArns": page}
    if token:
        out["nextToken"] = token
    return out
