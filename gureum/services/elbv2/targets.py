"""Target handlers: RegisterTargets, DeregisterTargets, DescribeTargetHealth.

A registration is one ``elbv2.target`` document holding the target, when it
was registered, and its health (``State``, ``Reason``, ``Description``) as
the health checker last wrote it.  Registering writes ``initial`` (or
``unused`` / ``Target.NotInUse`` while no listener forwards to the group);
deregistering writes ``draining`` with the time it began, and the
``elbv2.tg`` controller removes the document once the group's
``deregistration_delay.timeout_seconds`` has passed.  A group no balancer
uses has nothing to drain: its targets go at once.

``DescribeTargetHealth`` for a named target that is not registered answers
``unused`` / ``Target.NotRegistered`` (not an error): boto3's
``target_deregistered`` waiter relies on it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.elbv2 import attributes, network
from gureum.services.elbv2.health import Reason, State, describe, registered
from gureum.services.elbv2.records import (
    TARGET,
    Doc,
    collector,
    err,
    get_tg,
    invalid,
    kick_tg,
    target_key,
    targets_of,
)

OPERATIONS: dict[str, Any] = {}
op = collector(OPERATIONS)

MAX_TARGETS = 1000


def _port(tg: Doc, target: dict[str, Any]) -> int:
    if tg["TargetType"] == "lambda":
        return 0
    port = target.get("Port") or tg.get("Port")
    if not port or not 1 <= int(port) <= 65535:
        raise invalid("Target port must be between 1 and 65535")
    return int(port)


def _check_target(ctx: RequestContext, tg: Doc, target: dict[str, Any]) -> None:
    tid = target["Id"]
    kind = tg["TargetType"]
    if kind == "ip":
        try:
            ipaddress.ip_address(tid)
        except ValueError:
            raise err("InvalidTarget", f"The IP address '{tid}' is not a valid IPv4 address") from None
    elif kind == "instance":
        if not tid.startswith("i-") or not network.instance_known(ctx.app, ctx.scope, tid):
            raise err("InvalidTarget", f"The following targets are not valid instances: '{tid}'")
    elif kind == "lambda" and not tid.startswith("arn:"):
        raise err("InvalidTarget", f"The target '{tid}' is not a Lambda function ARN")


@op("RegisterTargets")
def register_targets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    tg = get_tg(ctx, req["TargetGroupArn"])
    name = tg["TargetGroupName"]
    if tg["TargetType"] == "lambda" and len(req["Targets"]) > 1:
        raise err("TooManyTargets", "A target group of type lambda can have only one target")
    in_use = bool(tg.get("LoadBalancerArns"))
    now = ctx.clock.now()
    with ctx.store.transaction():
        for target in req["Targets"]:
            _check_target(ctx, tg, target)
            port = _port(tg, target)
            key = target_key(name, target["Id"], port)
            current = ctx.store.get(TARGET, ctx.scope, key)
            if current is not None and current.get("State") != State.DRAINING:
                continue  # registering twice changes nothing
            h = registered(bool(tg.get("HealthCheckEnabled", True)), in_use)
            doc: Doc = {
                "Id": target["Id"],
                "Port": port,
                "RegisteredAt": now,
                "State": str(h.state),
                "Reason": str(h.reason),
                "Description": h.description,
            }
            if target.get("AvailabilityZone"):
                doc["AvailabilityZone"] = target["AvailabilityZone"]
            ctx.store.put(TARGET, ctx.scope, key, doc)
        if len(targets_of(ctx.store, ctx.scope, name)) > MAX_TARGETS:
            raise err("TooManyTargets", f"A target group can have at most {MAX_TARGETS} targets")
    kick_tg(ctx, name)
    return {}


def _matching(ctx: RequestContext, tg: Doc, target: dict[str, Any]) -> list[tuple[str, Doc]]:
    rows = targets_of(ctx.store, ctx.scope, tg["TargetGroupName"])
    port = target.get("Port")
    return [(k, d) for k, d in rows if d["Id"] == target["Id"] and (port is None or d["Port"] == port)]


@op("DeregisterTargets")
def deregister_targets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    tg = get_tg(ctx, req["TargetGroupArn"])
    delay = attributes.number(tg["_attributes"], "deregistration_delay.timeout_seconds", 300)
    in_use = bool(tg.get("LoadBalancerArns"))
    now = ctx.clock.now()
    with ctx.store.transaction():
        for target in req["Targets"]:
            rows = _matching(ctx, tg, target)
            if not rows:
                raise err(
                    "InvalidTarget",
                    f"The following targets are not registered in target group: '{target['Id']}'",
                )
            for key, doc in rows:
                if doc.get("State") == State.DRAINING:
                    continue
                if not in_use or delay <= 0:
                    ctx.store.delete(TARGET, ctx.scope, key)
                    continue
                doc.update(
                    State=str(State.DRAINING),
                    Reason=str(Reason.DEREGISTRATION_IN_PROGRESS),
                    Description=describe(Reason.DEREGISTRATION_IN_PROGRESS),
                    DrainingSince=now,
                )
                ctx.store.put(TARGET, ctx.scope, key, doc)
    kick_tg(ctx, tg["TargetGroupName"])
    return {}


def _description(tg: Doc, doc: Doc) -> dict[str, Any]:
    target: dict[str, Any] = {"Id": doc["Id"]}
    if tg["TargetType"] != "lambda":
        target["Port"] = doc["Port"]
    if doc.get("AvailabilityZone"):
        target["AvailabilityZone"] = doc["AvailabilityZone"]
    health: dict[str, Any] = {"State": doc["State"]}
    if doc.get("Reason"):
        health["Reason"] = doc["Reason"]
        health["Description"] = doc.get("Description", "")
    hc_port = tg.get("HealthCheckPort", "traffic-port")
    out: dict[str, Any] = {"Target": target, "TargetHealth": health}
    if tg["TargetType"] != "lambda":
        out["HealthCheckPort"] = str(doc["Port"]) if hc_port == "traffic-port" else hc_port
    return out


@op("DescribeTargetHealth")
def describe_target_health(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    tg = get_tg(ctx, req["TargetGroupArn"])
    wanted = req.get("Targets")
    if not wanted:
        rows = targets_of(ctx.store, ctx.scope, tg["TargetGroupName"])
        return {"TargetHealthDescriptions": [_description(tg, d) for _, d in rows]}
    out: list[dict[str, Any]] = []
    for target in wanted:
        rows = _matching(ctx, tg, target)
        if rows:
            out.extend(_description(tg, d) for _, d in rows)
            continue
        missing: Doc = {
            "Id": target["Id"],
            "Port": target.get("Port") or tg.get("Port") or 0,
            "State": str(State.UNUSED),
            "Reason": str(Reason.NOT_REGISTERED),
            "Description": describe(Reason.NOT_REGISTERED),
        }
        out.append(_description(tg, missing))
    return {"TargetHealthDescriptions": out}
