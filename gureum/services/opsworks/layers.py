"""CreateLayer, DescribeLayers, UpdateLayer, DeleteLayer.

A layer's ``CustomRecipes`` assign ``cookbook::recipe`` names to the
lifecycle events (Setup, Configure, Deploy, Undeploy, Shutdown);
``DefaultRecipes`` are Gureum's built-in ones (builtin.py), run first.
Shortnames are unique in a stack, and so is every layer type but
``custom`` (OpsWorks' rule).  Auto-healing is on unless
``EnableAutoHealing`` is false; Shutdown's ``ExecutionTimeout`` defaults to
120 s.  Deleting a layer needs it to have no instances; its load balancer
is detached.
"""

from __future__ import annotations

import re
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.opsworks import events
from gureum.services.opsworks.bundle import shortname_ok
from gureum.services.opsworks.records import (
    ELB,
    LAYER,
    TAGS,
    check_json,
    get_layer,
    get_stack,
    instances_of_layer,
    invalid,
    iso,
    layer_arn,
    new_id,
    of_stack,
    public,
)

Doc = dict[str, Any]
OPERATIONS: dict[str, Any] = {}
_MEMBERS = ("Name", "Shortname", "Attributes", "CloudWatchLogsConfiguration", "CustomInstanceProfileArn",
            "CustomJson", "CustomSecurityGroupIds", "Packages", "VolumeConfigurations", "EnableAutoHealing",
            "AutoAssignElasticIps", "AutoAssignPublicIps", "CustomRecipes", "InstallUpdatesOnBoot",
            "UseEbsOptimizedInstances", "LifecycleEventConfiguration")


def _op(name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS[name] = fn
        return fn

    return register


def _recipes(value: dict[str, Any] | None) -> dict[str, list[str]]:
    value = value or {}
    out = {e.value: list(value.get(e.value) or []) for e in events.Lifecycle}
    for names in out.values():
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9_.-]+(::[A-Za-z0-9_.-]+)?", name):
                raise invalid(f"Recipe name {name!r} is not cookbook::recipe")
    return out


def _shutdown_config(value: dict[str, Any] | None) -> dict[str, Any]:
    shutdown = dict((value or {}).get("Shutdown") or {})
    timeout = int(shutdown.get("ExecutionTimeout") or events.DEFAULT_SHUTDOWN_TIMEOUT)
    if not 1 <= timeout <= 900:
        raise invalid("Shutdown ExecutionTimeout must be between 1 and 900 seconds")
    return {"Shutdown": {"ExecutionTimeout": timeout,
                         "DelayUntilElbConnectionsDrained": bool(shutdown.get("DelayUntilElbConnectionsDrained"))}}


def _check_unique(ctx: RequestContext, stack_id: str, layer_type: str, shortname: str, name: str,
                  skip: str | None = None) -> None:
    if not shortname_ok(shortname):
        raise invalid(f"Shortname {shortname!r} must be lower-case letters, digits, '-' and '_'")
    for other in of_stack(ctx.store, LAYER, ctx.scope, stack_id):
        if other["LayerId"] == skip:
            continue
        if other["Shortname"] == shortname:
            raise invalid(f"There is already a layer with shortname {shortname} in stack {stack_id}")
        if other["Name"] == name:
            raise invalid(f"There is already a layer named {name} in stack {stack_id}")
        if layer_type != "custom" and other["Type"] == layer_type:
            raise invalid(f"There is already a layer of type {layer_type} in stack {stack_id}")


def new_layer(ctx: RequestContext, stack_id: str, values: dict[str, Any]) -> Doc:
    lid, now = new_id(), ctx.clock.now()
    doc: Doc = {
        "Arn": layer_arn(ctx.scope, lid), "StackId": stack_id, "LayerId": lid, "Type": values["Type"],
        "Attributes": {}, "CustomSecurityGroupIds": [], "Packages": [], "VolumeConfigurations": [],
        "EnableAutoHealing": True, "AutoAssignElasticIps": False, "AutoAssignPublicIps": False,
        "InstallUpdatesOnBoot": True, "UseEbsOptimizedInstances": False,
        "DefaultSecurityGroupNames": [f"AWS-OpsWorks-{values['Type'].capitalize()}-Server"],
        "DefaultRecipes": events.default_recipes(), "CreatedAt": iso(now), "_created": now,
    }
    doc.update({k: values[k] for k in _MEMBERS if values.get(k) is not None})
    doc["CustomRecipes"] = _recipes(values.get("CustomRecipes"))
    doc["LifecycleEventConfiguration"] = _shutdown_config(values.get("LifecycleEventConfiguration"))
    ctx.store.put(LAYER, ctx.scope, lid, doc)
    return doc


def copy_layer(ctx: RequestContext, layer: Doc, stack_id: str) -> Doc:
    return new_layer(ctx, stack_id, {k: layer.get(k) for k in ("Type", *_MEMBERS)})


@_op("CreateLayer")
def create_layer(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    stack = get_stack(ctx.store, ctx.scope, req["StackId"])
    check_json(req.get("CustomJson"), "CustomJson")
    _check_unique(ctx, stack["StackId"], req["Type"], req["Shortname"], req["Name"])
    return {"LayerId": new_layer(ctx, stack["StackId"], req)["LayerId"]}


@_op("DescribeLayers")
def describe_layers(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("LayerIds") is not None:
        docs = [get_layer(ctx.store, ctx.scope, lid) for lid in req["LayerIds"]]
    elif req.get("StackId"):
        docs = of_stack(ctx.store, LAYER, ctx.scope, get_stack(ctx.store, ctx.scope, req["StackId"])["StackId"])
    else:
        raise invalid("Please provide either a StackId or LayerIds")
    return {"Layers": [{k: v for k, v in public(d).items() if v is not None} for d in docs]}


@_op("UpdateLayer")
def update_layer(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_layer(ctx.store, ctx.scope, req["LayerId"])
    check_json(req.get("CustomJson"), "CustomJson")
    _check_unique(ctx, doc["StackId"], doc["Type"], str(req.get("Shortname") or doc["Shortname"]),
                  str(req.get("Name") or doc["Name"]), skip=doc["LayerId"])
    for member in _MEMBERS:
        if member in req:
            doc[member] = req[member]
    if "CustomRecipes" in req:
        doc["CustomRecipes"] = _recipes(req["CustomRecipes"])
    if "LifecycleEventConfiguration" in req:
        doc["LifecycleEventConfiguration"] = _shutdown_config(req["LifecycleEventConfiguration"])
    ctx.store.put(LAYER, ctx.scope, doc["LayerId"], doc)
    return {}


@_op("DeleteLayer")
def delete_layer(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_layer(ctx.store, ctx.scope, req["LayerId"])
    if instances_of_layer(ctx.store, ctx.scope, doc["LayerId"]):
        raise invalid(f"Cannot delete layer {doc['LayerId']}: it still has instances; delete them first")
    from gureum.services.opsworks.elb import detach

    for key, att in ctx.store.list(ELB, ctx.scope):
        if att["LayerId"] == doc["LayerId"]:
            detach(ctx, {"ElasticLoadBalancerName": key, "LayerId": doc["LayerId"]})
    with ctx.store.transaction():
        ctx.store.delete(TAGS, ctx.scope, doc["Arn"])
        ctx.store.delete(LAYER, ctx.scope, doc["LayerId"])
    return {}
