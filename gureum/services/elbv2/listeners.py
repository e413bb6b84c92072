"""Listener handlers: create, modify, describe, delete.

A listener is a protocol (HTTP or HTTPS) and a port on one load balancer,
with default actions (its default rule).  Two listeners of one balancer
cannot share a port (``DuplicateListener``); balancers never clash with each
other, because each binds its own loopback address (see ``network``).
HTTPS listeners need one ACM certificate (``CertificateNotFound`` when the
ARN names none) and take an SSL policy (default ``ELBSecurityPolicy-2016-08``).

Creating the same listener twice (same port, protocol, actions) answers the
existing one, as AWS does; different settings on a taken port are a
``DuplicateListener``.  Every change re-computes which target groups the
balancer uses and kicks the ``elbv2.lb`` controller, which re-binds sockets
and swaps the routing table the proxy reads.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.elbv2 import tls
from gureum.services.elbv2.actions import normalize, refresh_references, used_groups
from gureum.services.elbv2.records import (
    LB,
    LISTENER,
    RULE,
    Doc,
    bad_config,
    collector,
    err,
    find_lb,
    get_lb,
    get_listener,
    invalid,
    kick_lb,
    kick_tg,
    listener_arn,
    listener_key_of,
    listener_not_found,
    listeners_of,
    new_id,
    output_page,
    public,
    rules_of,
)
from gureum.services.elbv2.tags import check_new_tags

OPERATIONS: dict[str, Any] = {}
op = collector(OPERATIONS)

MAX_LISTENERS = 50


def after_change(ctx: RequestContext, lb: Doc) -> None:
    """Re-point target groups at this balancer and wake the controllers."""
    used = used_groups(ctx.store, ctx.scope, lb)
    for name in refresh_references(ctx.store, ctx.scope, lb["LoadBalancerArn"], used):
        kick_tg(ctx, name)
    kick_lb(ctx, lb["LoadBalancerName"])


def _certificates(ctx: RequestContext, protocol: str, certs: list[dict[str, Any]] | None) -> list[Doc]:
    if protocol == "HTTP":
        if certs:
            raise invalid("Certificates cannot be specified for an HTTP listener")
        return []
    if not certs:
        raise invalid("A certificate must be specified for HTTPS listeners")
    if len(certs) != 1:
        raise invalid("Exactly one default certificate must be specified")
    arn = certs[0].get("CertificateArn") or ""
    if not tls.certificate_exists(ctx.store, ctx.scope, arn):
        raise err("CertificateNotFound", f"Certificate '{arn}' not found")
    return [{"CertificateArn": arn}]


def _check_port_protocol(port: int, protocol: str) -> None:
    if protocol not in ("HTTP", "HTTPS"):
        raise err("UnsupportedProtocol", f"Protocol '{protocol}' is not supported by application load balancers")
    if not 1 <= port <= 65535:
        raise invalid("The listener port must be between 1 and 65535")


def _port_taken(ctx: RequestContext, lb: Doc, port: int, but: str = "") -> Doc | None:
    for other in listeners_of(ctx.store, ctx.scope, lb):
        if other["Port"] == port and other["ListenerArn"] != but:
            return other
    return None


@op("CreateListener")
def create_listener(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    lb = get_lb(ctx, req["LoadBalancerArn"])
    protocol = req.get("Protocol") or "HTTP"
    port = int(req.get("Port") or (443 if protocol == "HTTPS" else 80))
    _check_port_protocol(port, protocol)
    certs = _certificates(ctx, protocol, req.get("Certificates"))
    policy = tls.check_policy(req.get("SslPolicy")) if protocol == "HTTPS" else None
    actions = normalize(ctx.store, ctx.scope, req["DefaultActions"], lb["LoadBalancerArn"])
    tags = check_new_tags(req.get("Tags") or [])
    taken = _port_taken(ctx, lb, port)
    if taken is not None:
        if taken["Protocol"] == protocol and taken["DefaultActions"] == actions:
            return {"Listeners": [public(taken)]}
        raise err("DuplicateListener", "A listener already exists on this port for this load balancer")
    if len(listeners_of(ctx.store, ctx.scope, lb)) >= MAX_LISTENERS:
        raise err("TooManyListeners", f"A load balancer can have at most {MAX_LISTENERS} listeners")
    key = f"{lb['LoadBalancerName']}/{lb['_id']}/{new_id()}"
    doc: Doc = {
        "ListenerArn": listener_arn(ctx.scope, key),
        "LoadBalancerArn": lb["LoadBalancerArn"],
        "Port": port,
        "Protocol": protocol,
        "DefaultActions": actions,
        "_defaultRuleId": new_id(),
        "_tags": tags,
    }
    if certs:
        doc.update(Certificates=certs, SslPolicy=policy)
    with ctx.store.transaction():
        ctx.store.put(LISTENER, ctx.scope, key, doc)
        after_change(ctx, lb)
    return {"Listeners": [public(doc)]}


@op("ModifyListener")
def modify_listener(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_listener(ctx, req["ListenerArn"])
    key = listener_key_of(ctx.scope, doc["ListenerArn"])
    lb = find_lb(ctx.store, ctx.scope, doc["LoadBalancerArn"])
    assert key is not None and lb is not None
    protocol = req.get("Protocol") or doc["Protocol"]
    port = int(req.get("Port") or doc["Port"])
    _check_port_protocol(port, protocol)
    if _port_taken(ctx, lb, port, but=doc["ListenerArn"]) is not None:
        raise err("DuplicateListener", "A listener already exists on this port for this load balancer")
    if protocol == "HTTPS":
        certs = _certificates(ctx, protocol, req.get("Certificates") or doc.get("Certificates"))
        policy = tls.check_policy(req.get("SslPolicy") or doc.get("SslPolicy"))
        doc.update(Certificates=certs, SslPolicy=policy)
    else:
        if req.get("Certificates"):
            raise invalid("Certificates cannot be specified for an HTTP listener")
        doc.pop("Certificates", None)
        doc.pop("SslPolicy", None)
    if req.get("DefaultActions"):
        doc["DefaultActions"] = normalize(ctx.store, ctx.scope, req["DefaultActions"], lb["LoadBalancerArn"])
    doc.update(Port=port, Protocol=protocol)
    with ctx.store.transaction():
        ctx.store.put(LISTENER, ctx.scope, key, doc)
        after_change(ctx, lb)
    return {"Listeners": [public(doc)]}


@op("DescribeListeners")
def describe_listeners(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    lb_ref, arns = req.get("LoadBalancerArn"), req.get("ListenerArns")
    if bool(lb_ref) == bool(arns):
        raise invalid("Exactly one of LoadBalancerArn and ListenerArns must be specified")
    if arns:
        docs = [get_listener(ctx, a) for a in dict.fromkeys(arns)]
    else:
        docs = listeners_of(ctx.store, ctx.scope, get_lb(ctx, str(lb_ref)))
    return output_page("Listeners", [public(d) for d in docs], req)


@op("DeleteListener")
def delete_listener(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    key = listener_key_of(ctx.scope, req["ListenerArn"])
    doc = None if key is None else ctx.store.get(LISTENER, ctx.scope, key)
    if doc is None or key is None:
        raise listener_not_found()
    lb = find_lb(ctx.store, ctx.scope, doc["LoadBalancerArn"])
    with ctx.store.transaction():
        for rule in rules_of(ctx.store, ctx.scope, key):
            ctx.store.delete(RULE, ctx.scope, rule["_key"])
        ctx.store.delete(LISTENER, ctx.scope, key)
        if lb is not None:
            after_change(ctx, lb)
    return {}


LISTENER_ATTRIBUTES = {
    "routing.http.response.server.enabled": "true",
    "tcp.idle_timeout.seconds": "350",
}
BOUND = "gureum.bound_address"  # read-only: where the listener really listens


@op("DescribeListenerAttributes")
def describe_listener_attributes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_listener(ctx, req["ListenerArn"])
    attrs = {**LISTENER_ATTRIBUTES, **(doc.get("_attributes") or {})}
    lb = balancer_of(ctx, doc)
    bound = lb.get("_bound") or {}
    port = (bound.get("ports") or {}).get(str(doc["Port"]))
    if port:
        attrs[BOUND] = f"{bound['address']}:{port}"
    return {"Attributes": [{"Key": k, "Value": v} for k, v in sorted(attrs.items())]}


@op("ModifyListenerAttributes")
def modify_listener_attributes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_listener(ctx, req["ListenerArn"])
    attrs = dict(doc.get("_attributes") or {})
    for a in req["Attributes"]:
        if a["Key"] not in LISTENER_ATTRIBUTES:
            raise bad_config(f"Key {a['Key']} not valid")
        if a["Key"] == "routing.http.response.server.enabled" and a["Value"] not in ("true", "false"):
            raise bad_config(f"{a['Key']} must be true or false")
        attrs[a["Key"]] = a["Value"]
    doc["_attributes"] = attrs
    key = listener_key_of(ctx.scope, doc["ListenerArn"])
    assert key is not None
    ctx.store.put(LISTENER, ctx.scope, key, doc)
    return {"Attributes": [{"Key": k, "Value": v} for k, v in sorted({**LISTENER_ATTRIBUTES, **attrs}.items())]}


def balancer_of(ctx: RequestContext, listener: Doc) -> Doc:
    lb = ctx.store.get(LB, ctx.scope, listener["ListenerArn"].split(":listener/app/", 1)[1].split("/")[0])
    if lb is None:
        raise listener_not_found()
    return lb
