"""Deployment configurations: the predefined ``CodeDeployDefault.*`` ones and
custom ones (CreateDeploymentConfig, GetDeploymentConfig,
ListDeploymentConfigs, DeleteDeploymentConfig).

A Server configuration says how many instances must stay healthy
(``minimumHealthyHosts``, see :mod:`inplace_plan`); an ECS or Lambda one how
traffic moves (``trafficRoutingConfig``, see :mod:`traffic_plan`).  The
predefined ones are AWS's, with AWS's values — ``OneAtATime`` reports the
type ``MOST_CONCURRENCY`` (value 1) as the API reference says it does.
Custom names may not start with ``CodeDeployDefault.``; a configuration a
deployment group uses cannot be deleted.
"""

from __future__ import annotations

import uuid
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.api import RequestContext
from gureum.services.codedeploy.records import CONFIG, GROUP, Doc, err, page

PREFIX = "CodeDeployDefault."
_EPOCH = 1411081164.0  # predefined configurations have existed since CodeDeploy launched


def _canary(pct: int, minutes: int) -> dict[str, Any]:
    return {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": pct, "canaryInterval": minutes}}


def _linear(pct: int, minutes: int) -> dict[str, Any]:
    return {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": pct, "linearInterval": minutes}}


_ALL = {"type": "AllAtOnce"}

PREDEFINED: dict[str, tuple[str, dict[str, Any]]] = {
    "OneAtATime": ("Server", {"minimumHealthyHosts": {"type": "MOST_CONCURRENCY", "value": 1}}),
    "HalfAtATime": ("Server", {"minimumHealthyHosts": {"type": "FLEET_PERCENT", "value": 50}}),
    "AllAtOnce": ("Server", {"minimumHealthyHosts": {"type": "HOST_COUNT", "value": 0}}),
    "ECSAllAtOnce": ("ECS", {"trafficRoutingConfig": _ALL}),
    "ECSLinear10PercentEvery1Minutes": ("ECS", {"trafficRoutingConfig": _linear(10, 1)}),
    "ECSLinear10PercentEvery3Minutes": ("ECS", {"trafficRoutingConfig": _linear(10, 3)}),
    "ECSCanary10Percent5Minutes": ("ECS", {"trafficRoutingConfig": _canary(10, 5)}),
    "ECSCanary10Percent15Minutes": ("ECS", {"trafficRoutingConfig": _canary(10, 15)}),
    "LambdaAllAtOnce": ("Lambda", {"trafficRoutingConfig": _ALL}),
    "LambdaCanary10Percent5Minutes": ("Lambda", {"trafficRoutingConfig": _canary(10, 5)}),
    "LambdaCanary10Percent10Minutes": ("Lambda", {"trafficRoutingConfig": _canary(10, 10)}),
    "LambdaCanary10Percent15Minutes": ("Lambda", {"trafficRoutingConfig": _canary(10, 15)}),
    "LambdaCanary10Percent30Minutes": ("Lambda", {"trafficRoutingConfig": _canary(10, 30)}),
    "LambdaLinear10PercentEvery1Minute": ("Lambda", {"trafficRoutingConfig": _linear(10, 1)}),
    "LambdaLinear10PercentEvery2Minutes": ("Lambda", {"trafficRoutingConfig": _linear(10, 2)}),
    "LambdaLinear10PercentEvery3Minutes": ("Lambda", {"trafficRoutingConfig": _linear(10, 3)}),
    "LambdaLinear10PercentEvery10Minutes": ("Lambda", {"trafficRoutingConfig": _linear(10, 10)}),
}

DEFAULT_FOR_PLATFORM = {
    "Server": PREFIX + "OneAtATime",
    "ECS": PREFIX + "ECSAllAtOnce",
    "Lambda": PREFIX + "LambdaAllAtOnce",
}


def _predefined(name: str) -> Doc | None:
    if not name.startswith(PREFIX) or name[len(PREFIX):] not in PREDEFINED:
        return None
    platform, body = PREDEFINED[name[len(PREFIX):]]
    doc: Doc = {
        "deploymentConfigId": str(uuid.uuid5(uuid.NAMESPACE_URL, "codedeploy:" + name)),
        "deploymentConfigName": name,
        "createTime": _EPOCH,
        "computePlatform": platform,
        **body,
    }
    return doc


def find_config(store: Store, scope: Scope, name: str) -> Doc | None:
    return _predefined(name) or store.get(CONFIG, scope, name)


def require_config(store: Store, scope: Scope, name: str | None) -> Doc:
    if not name:
        raise err("DeploymentConfigNameRequiredException", "Deployment configuration name was not specified.")
    doc = find_config(store, scope, name)
    if doc is None:
        raise err("DeploymentConfigDoesNotExistException", f"No deployment configuration found for name: {name}")
    return doc


def _check_min_healthy(mhh: dict[str, Any] | None) -> dict[str, Any]:
    if not mhh or mhh.get("type") not in ("HOST_COUNT", "FLEET_PERCENT") or mhh.get("value") is None:
        raise err("InvalidMinimumHealthyHostValueException", "The minimum healthy instance value was specified in an invalid format.")
    value = int(mhh["value"])
    if value < 0 or (mhh["type"] == "FLEET_PERCENT" and value > 99):
        raise err(
            "InvalidMinimumHealthyHostValueException",
            "The minimum healthy instance value must be a non-negative count, or a percentage from 0 to 99.",
        )
    return {"type": mhh["type"], "value": value}


def _check_routing(routing: dict[str, Any] | None) -> dict[str, Any]:
    routing = routing or {"type": "AllAtOnce"}
    kind = routing.get("type") or "AllAtOnce"
    bad = err("InvalidTrafficRoutingConfigurationException", "The configuration that specifies how traffic is routed during a deployment is invalid.")
    if kind == "AllAtOnce":
        return {"type": "AllAtOnce"}
    member, pct_key, interval_key = {
        "TimeBasedCanary": ("timeBasedCanary", "canaryPercentage", "canaryInterval"),
        "TimeBasedLinear": ("timeBasedLinear", "linearPercentage", "linearInterval"),
    }.get(kind, ("", "", ""))
    body = routing.get(member) if member else None
    if not body or body.get(pct_key) is None or body.get(interval_key) is None:
        raise bad
    pct, interval = int(body[pct_key]), int(body[interval_key])
    if not 1 <= pct <= 99 or interval < 1:
        raise bad
    return {"type": kind, member: {pct_key: pct, interval_key: interval}}


def create_deployment_config(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["deploymentConfigName"]
    if name.startswith(PREFIX):
        raise err("InvalidDeploymentConfigNameException", f"Deployment configuration names cannot start with {PREFIX}")
    if ctx.store.get(CONFIG, ctx.scope, name) is not None:
        raise err("DeploymentConfigAlreadyExistsException", f"Deployment Configuration already exists with name: {name}")
    if req.get("zonalConfig"):
        raise err("InvalidZonalDeploymentConfigurationException", "Gureum does not run zonal deployments.")
    platform = req.get("computePlatform") or "Server"
    doc: Doc = {
        "deploymentConfigId": str(uuid.uuid4()),
        "deploymentConfigName": name,
        "createTime": ctx.clock.now(),
        "computePlatform": platform,
    }
    if platform == "Server":
        if req.get("trafficRoutingConfig") and req["trafficRoutingConfig"].get("type") not in (None, "AllAtOnce"):
            raise err("InvalidTrafficRoutingConfigurationException", "A Server deployment configuration cannot shift traffic over time.")
        doc["minimumHealthyHosts"] = _check_min_healthy(req.get("minimumHealthyHosts"))
    else:
        if req.get("minimumHealthyHosts"):
            raise err("InvalidMinimumHealthyHostValueException", f"Minimum healthy hosts cannot be set for compute platform {platform}.")
        doc["trafficRoutingConfig"] = _check_routing(req.get("trafficRoutingConfig"))
    ctx.store.put(CONFIG, ctx.scope, name, doc)
    return {"deploymentConfigId": doc["deploymentConfigId"]}


def get_deployment_config(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"deploymentConfigInfo": require_config(ctx.store, ctx.scope, req.get("deploymentConfigName"))}


def list_deployment_configs(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    names = sorted([PREFIX + n for n in PREDEFINED] + [k for k, _ in ctx.store.list(CONFIG, ctx.scope)])
    chunk, nxt = page(names, req.get("nextToken"))
    out: dict[str, Any] = {"deploymentConfigsList": chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


def delete_deployment_config(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["deploymentConfigName"]
    if name.startswith(PREFIX):
        raise err("InvalidOperationException", "The default deployment configurations cannot be deleted.")
    for _, group in ctx.store.list(GROUP, ctx.scope):
        if group.get("deploymentConfigName") == name:
            raise err("DeploymentConfigInUseException", f"The deployment configuration {name} is still in use by deployment group {group['deploymentGroupName']}.")
    ctx.store.delete(CONFIG, ctx.scope, name)
    return {}


OPERATIONS = {
    "CreateDeploymentConfig": create_deployment_config,
    "GetDeploymentConfig": get_deployment_config,
    "ListDeploymentConfigs": list_deployment_configs,
    "DeleteDeploymentConfig": delete_deployment_config,
}
