"""Deployment targets: GetDeploymentTarget, ListDeploymentTargets,
BatchGetDeploymentTargets, and the older instance calls
(GetDeploymentInstance, ListDeploymentInstances, BatchGetDeploymentInstances).

A target is what a deployment deploys to: an EC2 instance (``InstanceTarget``,
id ``i-…``) or an ECS service (``ECSTarget``, id ``<cluster>:<service>``).
Each keeps its lifecycle events as the controller records them; an ECS
target also shows its task sets (Blue: the original, Green: the
replacement) with their counts and the share of production traffic each
has, read from ECS and the deployment's own record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.codedeploy import lifecycle_status as ls
from gureum.services.codedeploy import links
from gureum.services.codedeploy.records import (
    TARGET,
    Doc,
    err,
    page,
    require_deployment,
    target_key,
    targets_of,
)

if TYPE_CHECKING:
    from gureum.app import App

MAX_BATCH = 25
FILTERS = ("TargetStatus", "ServerInstanceLabel")


def _events(target: Doc) -> list[Doc]:
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in target.get("lifecycleEvents") or []]


def _task_sets(app: App, scope: Scope, dep: Doc) -> list[Doc]:
    ecs = (dep.get("_run") or {}).get("ecs") or {}
    if not ecs.get("blue"):
        return []
    try:
        found = {t["id"]: t for t in links.ecs().task_sets(app, scope, ecs["cluster"], ecs["service"])}
    except Exception:  # the service is gone: show what the deployment recorded
        found = {}
    green_pct = int(ecs.get("weight") or 0)
    out = []
    for label, key, tg, pct in (("Blue", "blue", ecs.get("blueTgName"), 100 - green_pct), ("Green", "green", ecs.get("greenTgName"), green_pct)):
        set_id = ecs.get(key)
        if not set_id:
            continue
        ts = found.get(set_id) or {}
        out.append({
            "identifer": set_id,  # sic: the model's member name
            "desiredCount": int(ts.get("computedDesiredCount") or 0),
            "pendingCount": int(ts.get("pendingCount") or 0),
            "runningCount": int(ts.get("runningCount") or 0),
            "status": ts.get("status") or "DELETED",
            "trafficWeight": float(pct),
            "targetGroup": {"name": tg or ""},
            "taskSetLabel": label,
        })  # fmt: skip
    return out


def target_view(app: App, scope: Scope, dep: Doc, target: Doc) -> Doc:
    kind = target["type"]
    body: Doc = {
        "deploymentId": target["deploymentId"],
        "targetId": target["targetId"],
        "targetArn": target["targetArn"],
        "status": target["status"],
        "lastUpdatedAt": target["lastUpdatedAt"],
        "lifecycleEvents": _events(target),
    }
    if kind == "InstanceTarget":
        if target.get("instanceLabel"):
            body["instanceLabel"] = target["instanceLabel"]
        return {"deploymentTargetType": kind, "instanceTarget": body}
    if kind == "ECSTarget":
        body["taskSetsInfo"] = _task_sets(app, scope, dep)
        return {"deploymentTargetType": kind, "ecsTarget": body}
    body["lambdaFunctionInfo"] = target.get("lambdaFunctionInfo") or {}
    return {"deploymentTargetType": kind, "lambdaTarget": body}


def _started(ctx: RequestContext, deployment_id: str | None) -> Doc:
    dep = require_deployment(ctx.store, ctx.scope, deployment_id)
    if dep["status"] == ls.CREATED and not targets_of(ctx.store, ctx.scope, dep["deploymentId"]):
        raise err("DeploymentNotStartedException", f"The deployment {dep['deploymentId']} has not started.")
    return dep


def _target(ctx: RequestContext, dep: Doc, target_id: str | None) -> Doc:
    if not target_id:
        raise err("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
    doc = ctx.store.get(TARGET, ctx.scope, target_key(dep["deploymentId"], target_id))
    if doc is None:
        raise err("DeploymentTargetDoesNotExistException", f"The target {target_id} is not part of deployment {dep['deploymentId']}.")
    return doc


def get_deployment_target(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    dep = _started(ctx, req.get("deploymentId"))
    return {"deploymentTarget": target_view(ctx.app, ctx.scope, dep, _target(ctx, dep, req.get("targetId")))}


def batch_get_deployment_targets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    dep = _started(ctx, req.get("deploymentId"))
    ids = list(dict.fromkeys(req.get("targetIds") or []))
    if not ids:
        raise err("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
    if len(ids) > MAX_BATCH:
        raise err("DeploymentTargetListSizeExceededException", f"At most {MAX_BATCH} targets can be asked for at once.")
    return {"deploymentTargets": [target_view(ctx.app, ctx.scope, dep, _target(ctx, dep, i)) for i in ids]}


def list_deployment_targets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    dep = _started(ctx, req.get("deploymentId"))
    filters = req.get("targetFilters") or {}
    for name in filters:
        if name not in FILTERS:
            raise err("InvalidTargetFilterNameException", f"The target filter name {name} is invalid.")
    statuses, labels = set(filters.get("TargetStatus") or []), set(filters.get("ServerInstanceLabel") or [])
    ids = [
        t["targetId"] for t in targets_of(ctx.store, ctx.scope, dep["deploymentId"])
        if (not statuses or t["status"] in statuses) and (not labels or t.get("instanceLabel") in labels)
    ]  # fmt: skip
    chunk, nxt = page(ids, req.get("nextToken"))
    out: dict[str, Any] = {"targetIds": chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


# -- the older instance calls -----------------------------------------------------------------------


def _instance_summary(target: Doc) -> Doc:
    out: Doc = {
        "deploymentId": target["deploymentId"],
        "instanceId": target["targetId"],
        "status": target["status"],
        "lastUpdatedAt": target["lastUpdatedAt"],
        "lifecycleEvents": _events(target),
    }
    if target.get("instanceLabel"):
        out["instanceType"] = target["instanceLabel"]
    return out


def _server(ctx: RequestContext, deployment_id: str | None) -> Doc:
    dep = require_deployment(ctx.store, ctx.scope, deployment_id)
    if dep["computePlatform"] != "Server":
        raise err("InvalidComputePlatformException", "Deployment instances exist only for deployments to the Server compute platform.")
    return dep


def get_deployment_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    dep = _server(ctx, req.get("deploymentId"))
    if not req.get("instanceId"):
        raise err("InstanceIdRequiredException", "The instance ID was not specified.")
    doc = ctx.store.get(TARGET, ctx.scope, target_key(dep["deploymentId"], req["instanceId"]))
    if doc is None:
        raise err("InstanceDoesNotExistException", f"The instance {req['instanceId']} is not part of deployment {dep['deploymentId']}.")
    return {"instanceSummary": _instance_summary(doc)}


def list_deployment_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    dep = _server(ctx, req.get("deploymentId"))
    statuses, kinds = set(req.get("instanceStatusFilter") or []), set(req.get("instanceTypeFilter") or [])
    ids = [
        t["targetId"] for t in targets_of(ctx.store, ctx.scope, dep["deploymentId"])
        if (not statuses or t["status"] in statuses) and (not kinds or t.get("instanceLabel") in kinds)
    ]  # fmt: skip
    chunk, nxt = page(ids, req.get("nextToken"))
    out: dict[str, Any] = {"instancesList": chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


def batch_get_deployment_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    dep = _server(ctx, req.get("deploymentId"))
    found, missing = [], []
    for i in dict.fromkeys(req["instanceIds"]):
        doc = ctx.store.get(TARGET, ctx.scope, target_key(dep["deploymentId"], i))
        (found.append(_instance_summary(doc)) if doc is not None else missing.append(i))
    out: dict[str, Any] = {"instancesSummary": found}
    if missing:
        out["errorMessage"] = f"Instances not found in the deployment: {', '.join(missing)}"
    return out


OPERATIONS = {
    "GetDeploymentTarget": get_deployment_target,
    "BatchGetDeploymentTargets": batch_get_deployment_targets,
    "ListDeploymentTargets": list_deployment_targets,
    "GetDeploymentInstance": get_deployment_instance,
    "ListDeploymentInstances": list_deployment_instances,
    "BatchGetDeploymentInstances": batch_get_deployment_instances,
}
