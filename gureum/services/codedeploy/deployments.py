"""Deployments: CreateDeployment, GetDeployment, BatchGetDeployments,
ListDeployments, StopDeployment, ContinueDeployment.

CreateDeployment checks the request (the group, a revision fitting the
compute platform, the configuration, no other deployment in progress in the
group: ``DeploymentLimitExceededException``), writes the deployment
``Created`` with a snapshot of its group and configuration, marks it active
and wakes the controller (:mod:`controller`); it never waits.  StopDeployment
and ContinueDeployment record a request the controller acts on.  What a
deployment shows is the stored record, its ``deploymentOverview`` counted
from its targets when asked.

Revisions: Server deployments take an S3 bundle (``zip``, ``tar``, ``tgz``;
the type is inferred from the key's extension when not given); ECS and Lambda
ones an AppSpec as ``AppSpecContent``/``String`` or an S3 ``YAML``/``JSON``
object.  GitHub revisions are refused (Gureum has no network access).
"""

from __future__ import annotations

import copy
import hashlib
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.codedeploy import lifecycle_status as ls
from gureum.services.codedeploy.deployment_configs import require_config
from gureum.services.codedeploy.records import (
    ACTIVE,
    CONTROLLER,
    DEPLOYMENT,
    GROUP,
    Doc,
    all_deployments,
    err,
    group_key,
    new_deployment_id,
    page,
    public,
    require_application,
    require_deployment,
    require_group,
    runner_key,
    targets_of,
)

if TYPE_CHECKING:
    from gureum.app import App

MAX_BATCH = 25
BUNDLE_TYPES = {"Server": ("zip", "tar", "tgz"), "ECS": ("YAML", "JSON"), "Lambda": ("YAML", "JSON")}
_EXTENSIONS = {".zip": "zip", ".tar": "tar", ".tgz": "tgz", ".tar.gz": "tgz", ".yaml": "YAML", ".yml": "YAML", ".json": "JSON"}


def _invalid_revision(message: str) -> Exception:
    return err("InvalidRevisionException", message)


def check_revision(revision: dict[str, Any] | None, platform: str) -> Doc:
    """The revision as the deployment records it (bundle type and sha256 filled in)."""
    if not revision or not revision.get("revisionType"):
        raise err("RevisionRequiredException", "The revision ID was not specified.")
    rev = copy.deepcopy(revision)
    kind = rev["revisionType"]
    if kind == "S3":
        loc = rev.get("s3Location") or {}
        if not loc.get("bucket") or not loc.get("key"):
            raise _invalid_revision("An S3 revision needs s3Location.bucket and s3Location.key.")
        if not loc.get("bundleType"):
            ext = next((t for e, t in _EXTENSIONS.items() if loc["key"].lower().endswith(e)), None)
            if ext is None:
                raise _invalid_revision("The bundle type of the S3 revision was not specified and cannot be told from its key.")
            loc["bundleType"] = ext
        if loc["bundleType"] not in BUNDLE_TYPES[platform]:
            raise _invalid_revision(f"Bundle type {loc['bundleType']} cannot be deployed to compute platform {platform}.")
        return rev
    if kind in ("AppSpecContent", "String"):
        member = "appSpecContent" if kind == "AppSpecContent" else "string"
        body = rev.get(member) or {}
        if platform == "Server":
            raise _invalid_revision(f"A {kind} revision cannot be deployed to compute platform Server: use an S3 bundle.")
        if not body.get("content"):
            raise _invalid_revision(f"The {member}.content of the revision is empty.")
        body["sha256"] = hashlib.sha256(body["content"].encode()).hexdigest()
        return rev
    if kind == "GitHub":
        raise _invalid_revision("Gureum cannot fetch revisions from GitHub: upload the bundle to S3.")
    raise _invalid_revision(f"Unknown revision type {kind}.")


def active_in_group(app: App, scope: Scope, group_id: str) -> Doc | None:
    for _, active in app.store.list(ACTIVE, scope):
        doc = app.store.get(DEPLOYMENT, scope, active["deploymentId"])
        if doc is not None and doc["_group"]["deploymentGroupId"] == group_id and doc["status"] in ls.ACTIVE:
            return doc
    return None


def new_deployment(app: App, scope: Scope, req: dict[str, Any], *, creator: str = "user", rollback_of: str | None = None) -> Doc:
    """Check and record a deployment (CreateDeployment's work); returns the record."""
    application = require_application(app.store, scope, req.get("applicationName"))
    group = require_group(app.store, scope, application["applicationName"], req.get("deploymentGroupName"))
    platform = application["computePlatform"]
    revision = check_revision(req.get("revision") or group.get("targetRevision"), platform)
    config = require_config(app.store, scope, req.get("deploymentConfigName") or group["deploymentConfigName"])
    if config["computePlatform"] != platform:
        raise err("InvalidDeploymentConfigNameException", f"The deployment configuration is for {config['computePlatform']}, not {platform}.")
    if rollback_of is None:
        busy = active_in_group(app, scope, group["deploymentGroupId"])
        if busy is not None:
            raise err(
                "DeploymentLimitExceededException",
                f"The Deployment Group '{group['deploymentGroupName']}' already has an active Deployment '{busy['deploymentId']}'",
            )
    return _record(app, scope, req, application, group, revision, config, creator, rollback_of)


def _record(app: App, scope: Scope, req: dict[str, Any], application: Doc, group: Doc, revision: Doc, config: Doc,
            creator: str, rollback_of: str | None) -> Doc:  # fmt: skip
    now = app.clock.now()
    dep_id = new_deployment_id()
    alarms = req.get("overrideAlarmConfiguration") or group["alarmConfiguration"]
    doc: Doc = {
        "applicationName": application["applicationName"],
        "deploymentGroupName": group["deploymentGroupName"],
        "deploymentConfigName": config["deploymentConfigName"],
        "deploymentId": dep_id,
        "revision": revision,
        "status": ls.CREATED,
        "createTime": now,
        "deploymentOverview": ls.overview([]),
        "creator": creator,
        "ignoreApplicationStopFailures": bool(req.get("ignoreApplicationStopFailures")),
        "autoRollbackConfiguration": copy.deepcopy(req.get("autoRollbackConfiguration") or group["autoRollbackConfiguration"]),
        "updateOutdatedInstancesOnly": bool(req.get("updateOutdatedInstancesOnly")),
        "deploymentStyle": copy.deepcopy(group["deploymentStyle"]),
        "instanceTerminationWaitTimeStarted": False,
        "fileExistsBehavior": req.get("fileExistsBehavior") or "DISALLOW",
        "deploymentStatusMessages": [],
        "computePlatform": application["computePlatform"],
        "_group": copy.deepcopy(public(group)),
        "_config": copy.deepcopy(config),
        "_alarms": copy.deepcopy(alarms),
        "_run": {},
    }
    for k in ("description", "targetInstances", "overrideAlarmConfiguration"):
        if req.get(k):
            doc[k] = copy.deepcopy(req[k])
    for k in ("blueGreenDeploymentConfiguration", "loadBalancerInfo"):
        if group.get(k):
            doc[k] = copy.deepcopy(group[k])
    last = group.get("lastSuccessfulDeployment")
    if last:
        prev = app.store.get(DEPLOYMENT, scope, last["deploymentId"])
        if prev is not None:
            doc["previousRevision"] = copy.deepcopy(prev["revision"])
    if rollback_of:
        doc["rollbackInfo"] = {"rollbackTriggeringDeploymentId": rollback_of}
    with app.store.transaction():
        app.store.put(DEPLOYMENT, scope, dep_id, doc)
        app.store.put(ACTIVE, scope, dep_id, {"deploymentId": dep_id})
        group["lastAttemptedDeployment"] = {"deploymentId": dep_id, "status": ls.CREATED, "createTime": now}
        app.store.put(GROUP, scope, group_key(application["applicationName"], group["deploymentGroupName"]), group)
    app.service_api("codedeploy")  # the controller runs (a call from another service)
    app.runner.enqueue(CONTROLLER, runner_key(scope, dep_id))
    return doc


def view(app: App, scope: Scope, doc: Doc) -> Doc:
    out = public(doc)
    targets = targets_of(app.store, scope, doc["deploymentId"])
    out["deploymentOverview"] = ls.overview(t["status"] for t in targets)
    return out


def create_deployment(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = new_deployment(ctx.app, ctx.scope, req)
    return {"deploymentId": doc["deploymentId"]}


def get_deployment(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = require_deployment(ctx.store, ctx.scope, req.get("deploymentId"))
    return {"deploymentInfo": view(ctx.app, ctx.scope, doc)}


def batch_get_deployments(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ids = list(dict.fromkeys(req["deploymentIds"]))
    if len(ids) > MAX_BATCH:
        raise err("BatchLimitExceededException", f"The maximum number of names or IDs allowed for this request ({MAX_BATCH}) was exceeded.")
    out = []
    for i in ids:
        doc = ctx.store.get(DEPLOYMENT, ctx.scope, i)
        if doc is not None:
            out.append(view(ctx.app, ctx.scope, doc))
    return {"deploymentsInfo": out}


def list_deployments(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    app_name, group_name = req.get("applicationName"), req.get("deploymentGroupName")
    group_id = None
    if app_name or group_name:
        if not app_name:
            raise err("ApplicationNameRequiredException", "If deploymentGroupName is specified, applicationName must be specified too.")
        require_application(ctx.store, ctx.scope, app_name)
        if not group_name:
            raise err("DeploymentGroupNameRequiredException", "If applicationName is specified, deploymentGroupName must be specified too.")
        group_id = require_group(ctx.store, ctx.scope, app_name, group_name)["deploymentGroupId"]
    statuses = set(req.get("includeOnlyStatuses") or [])
    rng = req.get("createTimeRange") or {}
    start, end = _epoch(rng.get("start")), _epoch(rng.get("end"))
    docs = [
        d for d in all_deployments(ctx.store, ctx.scope)
        if (group_id is None or d["_group"]["deploymentGroupId"] == group_id)
        and (not statuses or d["status"] in statuses)
        and (start is None or d["createTime"] >= start) and (end is None or d["createTime"] <= end)
    ]  # fmt: skip
    docs.sort(key=lambda d: d["createTime"], reverse=True)
    chunk, nxt = page([d["deploymentId"] for d in docs], req.get("nextToken"))
    out: dict[str, Any] = {"deployments": chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value)


def stop_deployment(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = require_deployment(ctx.store, ctx.scope, req.get("deploymentId"))
    if doc["status"] in ls.TERMINAL:
        raise err("DeploymentAlreadyCompletedException", f"The deployment {doc['deploymentId']} has already completed.")
    rollback = req.get("autoRollbackEnabled")
    if rollback is None:
        cfg = doc["autoRollbackConfiguration"]
        rollback = bool(cfg.get("enabled")) and "DEPLOYMENT_STOP_ON_REQUEST" in (cfg.get("events") or [])
    doc["_run"]["stop"] = {"rollback": bool(rollback)}
    ctx.store.put(DEPLOYMENT, ctx.scope, doc["deploymentId"], doc)
    ctx.app.runner.enqueue(CONTROLLER, runner_key(ctx.scope, doc["deploymentId"]))
    return {"status": "Pending", "statusMessage": "Stopping Pending. Stopping to schedule commands in the deployment instances"}


def continue_deployment(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = require_deployment(ctx.store, ctx.scope, req.get("deploymentId"))
    if doc["status"] in ls.TERMINAL:
        raise err("DeploymentAlreadyCompletedException", f"The deployment {doc['deploymentId']} has already completed.")
    wait = req.get("deploymentWaitType") or "READY_WAIT"
    if wait == "READY_WAIT":
        if doc["status"] != ls.READY:
            raise err("DeploymentIsNotInReadyStateException", f"The deployment {doc['deploymentId']} is not in the Ready state.")
        doc["_run"]["continueReady"] = True
    else:
        if doc["status"] != ls.BAKING:
            raise err("InvalidDeploymentStatusException", f"The deployment {doc['deploymentId']} is not waiting to terminate its original environment.")
        doc["_run"]["skipBake"] = True
    ctx.store.put(DEPLOYMENT, ctx.scope, doc["deploymentId"], doc)
    ctx.app.runner.enqueue(CONTROLLER, runner_key(ctx.scope, doc["deploymentId"]))
    return {}


OPERATIONS = {
    "CreateDeployment": create_deployment,
    "GetDeployment": get_deployment,
    "BatchGetDeployments": batch_get_deployments,
    "ListDeployments": list_deployments,
    "StopDeployment": stop_deployment,
    "ContinueDeployment": continue_deployment,
}
