"""ECS cluster operations: CreateCluster, DescribeClusters, ListClusters,
DeleteCluster, UpdateCluster, UpdateClusterSettings, PutClusterCapacityProviders.

Counts in DescribeClusters are computed from the tasks and services in the
store when asked, so they are never stale.  DeleteCluster refuses while
services, tasks or container instances remain, as ECS does; a deleted cluster
stays describable as INACTIVE.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.ecs import errors, names
from gureum.services.ecs.records import (
    Doc,
    check_tags,
    cluster_services,
    cluster_tasks,
    find_cluster,
    get_cluster,
    paginate,
    public,
)
from gureum.services.ecs.registry import Operations

ops = Operations()

PENDING_STATUSES = ("PROVISIONING", "PENDING", "ACTIVATING")
INCLUDE_FIELDS = {
    "SETTINGS": ("settings",),
    "CONFIGURATIONS": ("configuration",),
    "TAGS": ("tags",),
    "ATTACHMENTS": ("attachments", "attachmentsStatus"),
}


@ops.operation("CreateCluster")
def create_cluster(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req.get("clusterName") or names.DEFAULT_CLUSTER
    existing = find_cluster(ctx.store, ctx.scope, name)
    if existing is not None:
        return {"cluster": _describe(ctx, existing, set(INCLUDE_FIELDS))}
    doc: Doc = {
        "clusterArn": names.cluster_arn(ctx.region, ctx.account, name),
        "clusterName": name,
        "status": "ACTIVE",
        "tags": check_tags(req.get("tags")),
        "settings": req.get("settings") or [{"name": "containerInsights", "value": "disabled"}],
        "capacityProviders": list(req.get("capacityProviders") or []),
        "defaultCapacityProviderStrategy": list(req.get("defaultCapacityProviderStrategy") or []),
        "statistics": [],
        "attachments": [],
        "_createdAt": ctx.clock.now(),
    }
    if req.get("configuration"):
        doc["configuration"] = req["configuration"]
    if req.get("serviceConnectDefaults"):
        doc["serviceConnectDefaults"] = req["serviceConnectDefaults"]
    ctx.store.put(names.CLUSTER, ctx.scope, name, doc)
    return {"cluster": _describe(ctx, doc, set(INCLUDE_FIELDS))}


def _counts(ctx: RequestContext, name: str) -> dict[str, Any]:
    tasks = cluster_tasks(ctx.store, ctx.scope, name)
    services = cluster_services(ctx.store, ctx.scope, name)
    running = [t for t in tasks if t.get("lastStatus") == "RUNNING"]
    pending = [t for t in tasks if t.get("lastStatus") in PENDING_STATUSES]
    active = [s for s in services if s.get("status") == "ACTIVE"]
    draining = [s for s in services if s.get("status") == "DRAINING"]
    instances = ctx.store.count(names.INSTANCE, ctx.scope, prefix=name + "/")

    def by_launch(items: list[Doc], lt: str) -> int:
        return sum(1 for i in items if (i.get("launchType") or "EC2") == lt)

    stats = [
        {"name": "runningEC2TasksCount", "value": str(by_launch(running, "EC2"))},
        {"name": "runningFargateTasksCount", "value": str(by_launch(running, "FARGATE"))},
        {"name": "pendingEC2TasksCount", "value": str(by_launch(pending, "EC2"))},
        {"name": "pendingFargateTasksCount", "value": str(by_launch(pending, "FARGATE"))},
        {"name": "activeEC2ServiceCount", "value": str(by_launch(active, "EC2"))},
        {"name": "activeFargateServiceCount", "value": str(by_launch(active, "FARGATE"))},
        {"name": "drainingEC2ServiceCount", "value": str(by_launch(draining, "EC2"))},
        {"name": "drainingFargateServiceCount", "value": str(by_launch(draining, "FARGATE"))},
    ]
    return {
        "registeredContainerInstancesCount": instances,
        "runningTasksCount": len(running),
        "pendingTasksCount": len(pending),
        "activeServicesCount": len(active),
        "_statistics": stats,
    }


def _describe(ctx: RequestContext, doc: Doc, include: set[str]) -> Doc:
    out = public(doc)
    counts = _counts(ctx, doc["clusterName"]) if doc.get("status") == "ACTIVE" else {
        "registeredContainerInstancesCount": 0,
        "runningTasksCount": 0,
        "pendingTasksCount": 0,
        "activeServicesCount": 0,
        "_statistics": [],
    }
    stats = counts.pop("_statistics")
    out.update(counts)
    out["statistics"] = stats if "STATISTICS" in include else []
    for key, fields in INCLUDE_FIELDS.items():
        if key not in include:
            for f in fields:
                out.pop(f, None)
    return out


@ops.operation("DescribeClusters")
def describe_clusters(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    include = set(req.get("include") or [])
    clusters: list[Doc] = []
    failures: list[Doc] = []
    for ref in req.get("clusters") or [names.DEFAULT_CLUSTER]:
        name = names.cluster_name(ref)
        doc = ctx.store.get(names.CLUSTER, ctx.scope, name) if name else None
        if doc is None:
            arn = ref if ref.startswith("arn:") else names.cluster_arn(ctx.region, ctx.account, ref)
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        clusters.append(_describe(ctx, doc, include))
    return {"clusters": clusters, "failures": failures}


@ops.operation("ListClusters")
def list_clusters(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    arns = [d["clusterArn"] for _, d in ctx.store.list(names.CLUSTER, ctx.scope) if d.get("status") == "ACTIVE"]
    page, token = paginate(arns, req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"clusterArns": page}
    if token:
        out["nextToken"] = token
    return out


@ops.operation("DeleteCluster")
def delete_cluster(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_cluster(ctx, req["cluster"])
    name = doc["clusterName"]
    if ctx.store.count(names.INSTANCE, ctx.scope, prefix=name + "/"):
        raise errors.cluster_contains_instances()
    if any(s.get("status") in ("ACTIVE", "DRAINING") for s in cluster_services(ctx.store, ctx.scope, name)):
        raise errors.cluster_contains_services()
    if any(t.get("lastStatus") != "STOPPED" for t in cluster_tasks(ctx.store, ctx.scope, name)):
        raise errors.cluster_contains_tasks()
    doc["status"] = "INACTIVE"
    ctx.store.put(names.CLUSTER, ctx.scope, name, doc)
    return {"cluster": _describe(ctx, doc, set(INCLUDE_FIELDS))}


@ops.operation("UpdateCluster")
def update_cluster(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_cluster(ctx, req["cluster"])
    for key in ("settings", "configuration", "serviceConnectDefaults"):
        if req.get(key) is not None:
            doc[key] = _merge_settings(doc.get(key), req[key]) if key == "settings" else req[key]
    ctx.store.put(names.CLUSTER, ctx.scope, doc["clusterName"], doc)
    return {"cluster": _describe(ctx, doc, set(INCLUDE_FIELDS))}


@ops.operation("UpdateClusterSettings")
def update_cluster_settings(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_cluster(ctx, req["cluster"])
    doc["settings"] = _merge_settings(doc.get("settings"), req["settings"])
    ctx.store.put(names.CLUSTER, ctx.scope, doc["clusterName"], doc)
    return {"cluster": _describe(ctx, doc, {"SETTINGS"})}


@ops.operation("PutClusterCapacityProviders")
def put_cluster_capacity_providers(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_cluster(ctx, req["cluster"])
    providers = list(req.get("capacityProviders") or [])
    strategy = list(req.get("defaultCapacityProviderStrategy") or [])
    for item in strategy:
        if item.get("capacityProvider") not in providers:
            raise errors.invalid(
                f"The specified capacity provider strategy cannot contain a capacity provider that is not "
                f"associated with the cluster. Associate the capacity provider with the cluster or specify a "
                f"valid capacity provider and try again. Capacity provider: {item.get('capacityProvider')}"
            )
    doc["capacityProviders"] = providers
    doc["defaultCapacityProviderStrategy"] = strategy
    ctx.store.put(names.CLUSTER, ctx.scope, doc["clusterName"], doc)
    return {"cluster": _describe(ctx, doc, set(INCLUDE_FIELDS))}


def _merge_settings(old: list[Doc] | None, new: list[Doc]) -> list[Doc]:
    merged = {s["name"]: s for s in old or []}
    for s in new:
        merged[s["name"]] = s
    return list(merged.values())
