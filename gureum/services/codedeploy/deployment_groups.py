"""Deployment groups: CreateDeploymentGroup, GetDeploymentGroup,
BatchGetDeploymentGroups, ListDeploymentGroups, UpdateDeploymentGroup,
DeleteDeploymentGroup.

What a group must say, by the application's compute platform (checked at
creation and on every update, with CodeDeploy's error codes):

* **Server** — which instances: ``ec2TagFilters`` (any filter matches) or
  ``ec2TagSet`` (every list matches; not both), and/or
  ``autoScalingGroups`` (instances tagged ``aws:autoscaling:groupName``);
  ``deploymentStyle`` IN_PLACE, and with WITH_TRAFFIC_CONTROL a
  ``loadBalancerInfo.targetGroupInfoList``.  Gureum does not run EC2
  blue/green deployments (``InvalidDeploymentStyleException``).
* **ECS** — one ``ecsServices`` entry naming a service whose deployment
  controller is CODE_DEPLOY and that no other group deploys; one
  ``targetGroupPairInfoList`` entry with two existing target groups, a
  production listener (``prodTrafficRoute``) and optionally a test listener;
  ``deploymentStyle`` BLUE_GREEN with WITH_TRAFFIC_CONTROL.
* **all** — a deployment configuration of the same platform (default
  ``CodeDeployDefault.OneAtATime`` / ``ECSAllAtOnce`` / ``LambdaAllAtOnce``);
  at most 10 alarms; auto rollback with events when enabled.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.codedeploy import links
from gureum.services.codedeploy.deployment_configs import DEFAULT_FOR_PLATFORM, find_config
from gureum.services.codedeploy.records import (
    GROUP,
    SEP,
    Doc,
    err,
    group_key,
    page,
    public,
    require_application,
    require_group,
)

MAX_ALARMS = 10
_SETTABLE = (
    "deploymentConfigName", "ec2TagFilters", "onPremisesInstanceTagFilters", "autoScalingGroups", "serviceRoleArn",
    "triggerConfigurations", "alarmConfiguration", "autoRollbackConfiguration", "outdatedInstancesStrategy",
    "deploymentStyle", "blueGreenDeploymentConfiguration", "loadBalancerInfo", "ec2TagSet", "ecsServices",
    "onPremisesTagSet", "terminationHookEnabled",
)  # fmt: skip


def _apply(doc: Doc, req: dict[str, Any]) -> None:
    for k in _SETTABLE:
        if req.get(k) is None:
            continue
        if k == "autoScalingGroups":
            doc[k] = [{"name": n} for n in req[k]]
        else:
            doc[k] = copy.deepcopy(req[k])


def _defaults(doc: Doc, platform: str) -> None:
    doc.setdefault("deploymentConfigName", DEFAULT_FOR_PLATFORM[platform])
    if platform == "Server":
        doc.setdefault("deploymentStyle", {"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"})
    else:
        doc.setdefault("deploymentStyle", {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"})
    doc.setdefault("alarmConfiguration", {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []})
    doc.setdefault("autoRollbackConfiguration", {"enabled": False, "events": []})
    doc.setdefault("outdatedInstancesStrategy", "UPDATE")
    doc.setdefault("triggerConfigurations", [])
    if platform == "ECS":
        bg = doc.setdefault("blueGreenDeploymentConfiguration", {})
        bg.setdefault("terminateBlueInstancesOnDeploymentSuccess", {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0})
        bg.setdefault("deploymentReadyOption", {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0})


def _check_common(ctx: RequestContext, doc: Doc, platform: str) -> None:
    config = find_config(ctx.store, ctx.scope, doc["deploymentConfigName"])
    if config is None:
        raise err("DeploymentConfigDoesNotExistException", f"No deployment configuration found for name: {doc['deploymentConfigName']}")
    if config["computePlatform"] != platform:
        raise err(
            "InvalidDeploymentConfigNameException",
            f"The deployment configuration {doc['deploymentConfigName']} is for compute platform {config['computePlatform']}, "
            f"not {platform}.",
        )
    alarms = doc["alarmConfiguration"]
    if len(alarms.get("alarms") or []) > MAX_ALARMS:
        raise err("AlarmsLimitExceededException", f"The maximum number of alarms for a deployment group ({MAX_ALARMS}) was exceeded.")
    if alarms.get("enabled") and not alarms.get("alarms"):
        raise err("InvalidAlarmConfigException", "The alarm configuration is enabled but names no alarms.")
    rollback = doc["autoRollbackConfiguration"]
    if rollback.get("enabled") and not rollback.get("events"):
        raise err("InvalidAutoRollbackConfigException", "Automatic rollback is enabled but no rollback events are specified.")


def _check_server(doc: Doc) -> None:
    style = doc["deploymentStyle"]
    if style.get("deploymentType") == "BLUE_GREEN":
        raise err("InvalidDeploymentStyleException", "Gureum runs in-place deployments on EC2 instances; EC2 blue/green is not supported.")
    if doc.get("ec2TagFilters") and (doc.get("ec2TagSet") or {}).get("ec2TagSetList"):
        raise err("InvalidEC2TagCombinationException", "ec2TagFilters and ec2TagSet cannot be used in the same deployment group.")
    if len((doc.get("ec2TagSet") or {}).get("ec2TagSetList") or []) > 3:
        raise err("TagSetListLimitExceededException", "An ec2TagSet can hold at most 3 tag groups.")
    for f in doc.get("ec2TagFilters") or []:
        kind = f.get("Type") or ("KEY_AND_VALUE" if f.get("Key") and f.get("Value") else "KEY_ONLY" if f.get("Key") else "VALUE_ONLY")
        if (kind in ("KEY_ONLY", "KEY_AND_VALUE") and not f.get("Key")) or (kind in ("VALUE_ONLY", "KEY_AND_VALUE") and not f.get("Value")):
            raise err("InvalidEC2TagException", f"The tag filter {f} is incomplete for type {kind}.")
    if style.get("deploymentOption") == "WITH_TRAFFIC_CONTROL":
        if not (doc.get("loadBalancerInfo") or {}).get("targetGroupInfoList"):
            raise err("InvalidLoadBalancerInfoException", "An in-place deployment with traffic control needs loadBalancerInfo.targetGroupInfoList.")


def _check_ecs(ctx: RequestContext, doc: Doc) -> None:
    style = doc["deploymentStyle"]
    if style.get("deploymentType") != "BLUE_GREEN" or style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
        raise err("InvalidDeploymentStyleException", "An ECS deployment group must use BLUE_GREEN deployments WITH_TRAFFIC_CONTROL.")
    services = doc.get("ecsServices") or []
    if len(services) != 1:
        raise err("InvalidECSServiceException", "An ECS deployment group must name exactly one ECS service.")
    svc = services[0]
    found = links.ecs().service(ctx.app, ctx.scope, svc["clusterName"], svc["serviceName"])
    if found is None or found.get("status") != "ACTIVE":
        raise err("InvalidECSServiceException", f"The ECS service {svc['serviceName']} does not exist in cluster {svc['clusterName']}.")
    if (found.get("deploymentController") or {}).get("type") != "CODE_DEPLOY":
        raise err("InvalidECSServiceException", "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller.")
    for _, other in ctx.store.list(GROUP, ctx.scope):
        if other["deploymentGroupId"] != doc["deploymentGroupId"] and any(
            s.get("clusterName") == svc["clusterName"] and s.get("serviceName") == svc["serviceName"] for s in other.get("ecsServices") or []
        ):
            raise err("ECSServiceMappingLimitExceededException", f"The ECS service {svc['serviceName']} is already in deployment group {other['deploymentGroupName']}.")
    pairs = (doc.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    if len(pairs) != 1 or len(pairs[0].get("targetGroups") or []) != 2:
        raise err("InvalidTargetGroupPairException", "An ECS deployment group needs one target group pair of exactly two target groups.")
    pair = pairs[0]
    for tg in pair["targetGroups"]:
        if links.target_group_by_name(ctx.app, ctx.scope, tg.get("name", "")) is None:
            raise err("InvalidTargetGroupPairException", f"The target group {tg.get('name')} does not exist.")
    if pair["targetGroups"][0].get("name") == pair["targetGroups"][1].get("name"):
        raise err("InvalidTargetGroupPairException", "The two target groups of the pair must differ.")
    prod = (pair.get("prodTrafficRoute") or {}).get("listenerArns") or []
    test = (pair.get("testTrafficRoute") or {}).get("listenerArns") or []
    if len(prod) != 1 or len(test) > 1:
        raise err("InvalidTargetGroupPairException", "A target group pair needs one production listener and at most one test listener.")
    for arn in prod + test:
        if links.listener(ctx.app, ctx.scope, arn) is None:
            raise err("InvalidTargetGroupPairException", f"The listener {arn} does not exist.")


def _validate(ctx: RequestContext, doc: Doc, platform: str) -> None:
    _defaults(doc, platform)
    _check_common(ctx, doc, platform)
    if platform == "Server":
        _check_server(doc)
    elif platform == "ECS":
        _check_ecs(ctx, doc)


def create_deployment_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    app = require_application(ctx.store, ctx.scope, req.get("applicationName"))
    name = req["deploymentGroupName"]
    key = group_key(app["applicationName"], name)
    if ctx.store.get(GROUP, ctx.scope, key) is not None:
        raise err("DeploymentGroupAlreadyExistsException", f"The deployment group {name} already exists for application {app['applicationName']}.")
    doc: Doc = {
        "applicationName": app["applicationName"],
        "deploymentGroupId": str(uuid.uuid4()),
        "deploymentGroupName": name,
        "computePlatform": app["computePlatform"],
        "_tags": {t["Key"]: t.get("Value", "") for t in req.get("tags") or []},
    }
    _apply(doc, req)
    _validate(ctx, doc, app["computePlatform"])
    ctx.store.put(GROUP, ctx.scope, key, doc)
    return {"deploymentGroupId": doc["deploymentGroupId"]}


def get_deployment_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    app = require_application(ctx.store, ctx.scope, req.get("applicationName"))
    return {"deploymentGroupInfo": public(require_group(ctx.store, ctx.scope, app["applicationName"], req.get("deploymentGroupName")))}


def batch_get_deployment_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    app = require_application(ctx.store, ctx.scope, req.get("applicationName"))
    names = list(dict.fromkeys(req["deploymentGroupNames"]))
    if len(names) > 100:
        raise err("BatchLimitExceededException", "The maximum number of names or IDs allowed for this request (100) was exceeded.")
    found, missing = [], []
    for n in names:
        doc = ctx.store.get(GROUP, ctx.scope, group_key(app["applicationName"], n))
        (found.append(public(doc)) if doc is not None else missing.append(n))
    out: dict[str, Any] = {"deploymentGroupsInfo": found}
    if missing:
        out["errorMessage"] = f"Deployment groups not found: {', '.join(missing)}"
    return out


def list_deployment_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    app = require_application(ctx.store, ctx.scope, req.get("applicationName"))
    names = [d["deploymentGroupName"] for _, d in ctx.store.list(GROUP, ctx.scope, prefix=app["applicationName"] + SEP)]
    chunk, nxt = page(names, req.get("nextToken"))
    out: dict[str, Any] = {"applicationName": app["applicationName"], "deploymentGroups": chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


def update_deployment_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    app = require_application(ctx.store, ctx.scope, req.get("applicationName"))
    current = req["currentDeploymentGroupName"]
    doc = require_group(ctx.store, ctx.scope, app["applicationName"], current)
    new = req.get("newDeploymentGroupName") or current
    if new != current and ctx.store.get(GROUP, ctx.scope, group_key(app["applicationName"], new)) is not None:
        raise err("DeploymentGroupAlreadyExistsException", f"The deployment group {new} already exists for application {app['applicationName']}.")
    _apply(doc, req)
    doc["deploymentGroupName"] = new
    _validate(ctx, doc, app["computePlatform"])
    with ctx.store.transaction():
        if new != current:
            ctx.store.delete(GROUP, ctx.scope, group_key(app["applicationName"], current))
        ctx.store.put(GROUP, ctx.scope, group_key(app["applicationName"], new), doc)
    return {"hooksNotCleanedUp": []}


def delete_deployment_group(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    app = require_application(ctx.store, ctx.scope, req.get("applicationName"))
    ctx.store.delete(GROUP, ctx.scope, group_key(app["applicationName"], req["deploymentGroupName"]))
    return {"hooksNotCleanedUp": []}


OPERATIONS = {
    "CreateDeploymentGroup": create_deployment_group,
    "GetDeploymentGroup": get_deployment_group,
    "BatchGetDeploymentGroups": batch_get_deployment_groups,
    "ListDeploymentGroups": list_deployment_groups,
    "UpdateDeploymentGroup": update_deployment_group,
    "DeleteDeploymentGroup": delete_deployment_group,
}
