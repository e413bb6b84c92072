"""AttachElasticLoadBalancer, DetachElasticLoadBalancer, DescribeElasticLoadBalancers,
and keeping a layer's load balancer in step with its online instances.

OpsWorks attached *Classic* load balancers to layers; Gureum has Application
Load Balancers (elbv2), so ``ElasticLoadBalancerName`` names an elbv2
**target group** (its name or ARN) in the stack's region.  While attached,
the layer's online instances are its targets — by EC2 instance id for a
target group of type ``instance``, by private IP for type ``ip``, on the
target group's port — and an instance leaves it as soon as it leaves online
(stop, Setup, lost agent).  ``DnsName`` is that of the first load balancer
forwarding to the target group.  A target group attaches to one layer, and a
layer has at most one.  Attaching and detaching run Configure on the stack,
as OpsWorks did.

Blue/green: two layers (or stacks), each attached to its own target group,
and a listener switch with elbv2's ModifyListener (README.md shows the
commands).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.opsworks.commands import queue_configure
from gureum.services.opsworks.records import (
    ELB,
    get_layer,
    get_stack,
    instances_of_layer,
    invalid,
)

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.opsworks.elb")
Doc = dict[str, Any]
ELBV2_TG = "elbv2.tg"  # elbv2's store kind of target groups, keyed by name
ELBV2_LB = "elbv2.lb"
OPERATIONS: dict[str, Any] = {}


def _op(name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS[name] = fn
        return fn

    return register


def region_scope(scope: Scope, stack: Doc) -> Scope:
    return Scope(scope.account, stack.get("Region") or scope.region)


def _target_group(app: App, scope: Scope, name: str) -> Doc | None:
    from gureum.services.elbv2.public import target_group

    if name.startswith("arn:"):
        app.service_api("elbv2")
        return target_group(app, scope, name)
    doc = app.store.get(ELBV2_TG, scope, name)
    return None if doc is None else {k: v for k, v in doc.items() if not k.startswith("_")}


def _target(tg: Doc, inst: Doc) -> dict[str, Any] | None:
    if tg.get("TargetType") == "ip":
        return {"Id": inst["PrivateIp"], "Port": int(tg["Port"])} if inst.get("PrivateIp") else None
    if inst.get("Ec2InstanceId"):
        return {"Id": inst["Ec2InstanceId"], "Port": int(tg["Port"])}
    return None


def sync_layer(app: App, scope: Scope, layer_id: str) -> None:
    """Register the layer's online instances with its load balancer; deregister the rest."""
    from gureum.services.elbv2.public import deregister_targets, register_targets

    for _, att in app.store.list(ELB, scope):
        if att["LayerId"] != layer_id:
            continue
        rscope = Scope(scope.account, att["Region"])
        tg = _target_group(app, rscope, att["TargetGroupArn"])
        if tg is None:
            continue
        wanted = {}
        for inst in instances_of_layer(app.store, scope, layer_id):
            target = _target(tg, inst) if inst["Status"] == "online" else None
            if target is not None:
                wanted[f"{target['Id']}:{target['Port']}"] = {**target, "Ec2InstanceId": inst.get("Ec2InstanceId")}
        have = {f"{t['Id']}:{t['Port']}": t for t in att.get("_registered") or []}
        try:
            add = [{"Id": t["Id"], "Port": t["Port"]} for k, t in wanted.items() if k not in have]
            gone = [{"Id": t["Id"], "Port": t["Port"]} for k, t in have.items() if k not in wanted]
            if add:
                register_targets(app, rscope, tg["TargetGroupArn"], add)
            if gone:
                deregister_targets(app, rscope, tg["TargetGroupArn"], gone)
        except ServiceError as exc:
            log.warning("opsworks: syncing %s with target group %s failed: %s", layer_id, tg["TargetGroupName"], exc)
            continue
        att["_registered"] = list(wanted.values())
        app.store.put(ELB, scope, att["ElasticLoadBalancerName"], att)


def draining(app: App, scope: Scope, inst: Doc) -> bool:
    """Whether a target of the instance is still registered or draining in a layer's target group."""
    from gureum.services.elbv2.public import target_health

    for _, att in app.store.list(ELB, scope):
        if att["LayerId"] not in (inst.get("LayerIds") or []):
            continue
        rscope = Scope(scope.account, att["Region"])
        ids = {inst.get("Ec2InstanceId"), inst.get("PrivateIp")} - {None}
        try:
            health = target_health(app, rscope, att["TargetGroupArn"])
        except ServiceError:
            continue
        if any(h["Target"]["Id"] in ids for h in health):
            return True
    return False


@_op("AttachElasticLoadBalancer")
def attach(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["ElasticLoadBalancerName"]
    layer = get_layer(ctx.store, ctx.scope, req["LayerId"])
    stack = get_stack(ctx.store, ctx.scope, layer["StackId"])
    rscope = region_scope(ctx.scope, stack)
    tg = _target_group(ctx.app, rscope, name)
    if tg is None:
        raise ServiceError("ResourceNotFoundException",
                           f"Unable to find load balancer (elbv2 target group) with name {name}", 400)
    for _, att in ctx.store.list(ELB, ctx.scope):
        if att["TargetGroupArn"] == tg["TargetGroupArn"] and att["LayerId"] != layer["LayerId"]:
            raise invalid(f"Load balancer {name} is already attached to layer {att['LayerId']}")
        if att["LayerId"] == layer["LayerId"] and att["TargetGroupArn"] != tg["TargetGroupArn"]:
            raise invalid(f"Layer {layer['LayerId']} already has load balancer {att['ElasticLoadBalancerName']}")
    doc = {"ElasticLoadBalancerName": tg["TargetGroupName"], "LayerId": layer["LayerId"],
           "StackId": stack["StackId"], "Region": rscope.region, "TargetGroupArn": tg["TargetGroupArn"],
           "_registered": []}
    key = tg["TargetGroupName"]
    existing = ctx.store.get(ELB, ctx.scope, key)
    if existing is None:
        ctx.store.put(ELB, ctx.scope, key, doc)
    sync_layer(ctx.app, ctx.scope, layer["LayerId"])
    queue_configure(ctx.app, ctx.scope, stack["StackId"])
    return {}


def _find(ctx: RequestContext, name: str, layer_id: str) -> tuple[str, Doc] | None:
    for key, att in ctx.store.list(ELB, ctx.scope):
        if att["LayerId"] == layer_id and name in (key, att["TargetGroupArn"]):
            return key, att
    return None


@_op("DetachElasticLoadBalancer")
def detach(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    from gureum.services.elbv2.public import deregister_targets

    layer = get_layer(ctx.store, ctx.scope, req["LayerId"])
    found = _find(ctx, req["ElasticLoadBalancerName"], layer["LayerId"])
    if found is None:
        return {}  # OpsWorks answers detaching what is not attached with success
    key, att = found
    targets = [{"Id": t["Id"], "Port": t["Port"]} for t in att.get("_registered") or []]
    if targets:
        try:
            deregister_targets(ctx.app, Scope(ctx.account, att["Region"]), att["TargetGroupArn"], targets)
        except ServiceError as exc:
            log.info("opsworks: deregistering from %s: %s", key, exc)
    ctx.store.delete(ELB, ctx.scope, key)
    queue_configure(ctx.app, ctx.scope, layer["StackId"])
    return {}


def _dns_name(app: App, scope: Scope, tg: Doc | None) -> str | None:
    for lb_arn in (tg or {}).get("LoadBalancerArns") or []:
        for _, lb in app.store.list(ELBV2_LB, scope):
            if lb.get("LoadBalancerArn") == lb_arn:
                return str(lb.get("DNSName"))
    return None


@_op("DescribeElasticLoadBalancers")
def describe(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    stack_id, layer_ids = req.get("StackId"), req.get("LayerIds")
    if stack_id:
        get_stack(ctx.store, ctx.scope, stack_id)
    for lid in layer_ids or []:
        get_layer(ctx.store, ctx.scope, lid)
    out = []
    for _, att in ctx.store.list(ELB, ctx.scope):
        if stack_id and att["StackId"] != stack_id or layer_ids and att["LayerId"] not in layer_ids:
            continue
        rscope = Scope(ctx.account, att["Region"])
        tg = _target_group(ctx.app, rscope, att["TargetGroupArn"])
        out.append({
            "ElasticLoadBalancerName": att["ElasticLoadBalancerName"], "Region": att["Region"],
            "DnsName": _dns_name(ctx.app, rscope, tg), "StackId": att["StackId"], "LayerId": att["LayerId"],
            "VpcId": (tg or {}).get("VpcId"), "AvailabilityZones": [], "SubnetIds": [],
            "Ec2InstanceIds": [t["Ec2InstanceId"] for t in att.get("_registered") or [] if t.get("Ec2InstanceId")],
        })
    return {"ElasticLoadBalancers": out}
