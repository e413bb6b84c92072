"""elbv2 controllers: make the store's balancers and groups real.

``elbv2.lb`` (key ``account|region|name``) — for a balancer in the store:
lease its loopback address, open a server for every listener on
``<address>:<port>`` (TLS for HTTPS, with the ACM certificate), swap in the
compiled rules, close listeners that are gone, and move ``provisioning`` to
``active``.  A listener whose port, protocol, certificate or policy changed
is re-bound.  When the balancer is gone: close everything, free the address.
If the port cannot be bound (taken by another program, or no privilege for
ports below 1024) the listener binds an ephemeral port instead and says so
in the log; :func:`gureum.services.elbv2.public.resolve` reports the port
actually bound (also kept in the document's private ``_bound`` field).

``elbv2.tg`` (key ``account|region|name``) — sync a group's runtime from the
store: targets and their addresses, in-use or not (``unused`` /
``Target.NotInUse``; a stopped or terminated instance is ``unused`` /
``Target.InvalidState``, re-checked on EC2's ``ec2.instance.state`` bus
events), one health-check loop per live target, draining
targets removed once ``deregistration_delay.timeout_seconds`` has passed
(requeued for that moment).

Both resync every few seconds (which is also how they resume after a
restart).  ``elbv2.metrics`` publishes the CloudWatch metrics every minute;
``elbv2.access-logs`` ships access logs to S3 every 5 minutes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from gureum.core.errors import TemporaryError
from gureum.core.runner import Requeue
from gureum.core.store import GLOBAL
from gureum.runtime.addresses import KIND as ADDRESS_KIND
from gureum.services.elbv2 import attributes, health, health_checker, rules_match, tls
from gureum.services.elbv2.plane import GroupRt, LbRt, ListenerRt, TargetRt
from gureum.services.elbv2.records import (
    LB,
    LB_CONTROLLER,
    TARGET,
    TG,
    TG_CONTROLLER,
    Doc,
    ckey,
    listener_key_of,
    listeners_of,
    rules_of,
    split_ckey,
    targets_of,
)
from gureum.services.elbv2.runtime import Runtime, runtime_of

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.elbv2")

RESYNC = 5.0
METRICS_PERIOD = 60.0


def _keys(app: App, kind: str) -> list[str]:
    return [ckey(scope, key) for scope in app.store.list_scopes(kind) for key, _ in app.store.list(kind, scope)]


def register(app: App) -> None:
    rt = runtime_of(app)
    sweep_addresses(rt)

    async def lb(key: str) -> Requeue | None:
        return await reconcile_lb(rt, key)

    async def tg(key: str) -> Requeue | None:
        return await reconcile_tg(rt, key)

    async def metrics(key: str) -> Requeue | None:
        from gureum.services.elbv2.metrics import publish_all

        publish_all(rt)
        return None

    app.runner.register(LB_CONTROLLER, lb, list_keys=lambda: _keys(app, LB) + list(rt.lbs), period=RESYNC)
    app.runner.register(TG_CONTROLLER, tg, list_keys=lambda: _keys(app, TG) + list(rt.group_arns), period=RESYNC)
    app.runner.register("elbv2.metrics", metrics, list_keys=lambda: ["all"] if rt.lbs else [], period=METRICS_PERIOD)

    async def access_logs(key: str) -> Requeue | None:
        from gureum.services.elbv2.access_log import ship

        await ship(rt)
        return None

    def shipping() -> list[str]:
        return ["all"] if any(lb.attrs.get("access_logs.s3.enabled") == "true" for lb in rt.lbs.values()) else []

    from gureum.services.elbv2.access_log import SHIP_PERIOD

    app.runner.register("elbv2.access-logs", access_logs, list_keys=shipping, period=SHIP_PERIOD)

    def instance_changed(topic: str, event: dict[str, Any]) -> None:
        """An EC2 instance changed state: look again at the groups it is registered in."""
        instance_id = event.get("instanceId")
        for key, arn in list(rt.group_arns.items()):
            group = rt.groups.get(arn)
            if group is not None and any(t.target_id == instance_id for t in group.targets.values()):
                app.runner.enqueue(TG_CONTROLLER, key)

    app.bus.subscribe("ec2.instance.state", instance_changed)


def sweep_addresses(rt: Runtime) -> None:
    """Free addresses leased to balancers that no longer exist (a crash between steps)."""
    live = {d["LoadBalancerArn"] for s in rt.store.list_scopes(LB) for _, d in rt.store.list(LB, s)}
    for ip, lease in rt.store.list(ADDRESS_KIND, GLOBAL):
        owner = str(lease.get("owner", ""))
        if owner.startswith("arn:aws:elasticloadbalancing:") and owner not in live:
            rt.addresses.release(ip)


# -- load balancers ----------------------------------------------------------------


async def reconcile_lb(rt: Runtime, key: str) -> Requeue | None:
    scope, name = split_ckey(key)
    doc = rt.store.get(LB, scope, name)
    current = rt.lbs.get(key)
    if current is not None and (doc is None or doc["LoadBalancerArn"] != current.arn):
        teardown(rt, key)
        current = None
    if doc is None:
        return None
    if current is None:
        ip = rt.addresses.allocate(doc["LoadBalancerArn"])
        current = LbRt(doc["LoadBalancerArn"], name, scope, ip, doc["DNSName"], dict(doc["_attributes"]))
        rt.lbs[key] = current
        log.info("load balancer %s: %s at %s", name, doc["DNSName"], ip)
    current.attrs = dict(doc["_attributes"])
    wanted = listeners_of(rt.store, scope, doc)
    failed = False
    for listener in wanted:
        failed |= not await _ensure_listener(rt, current, listener)
    for arn in [a for a in current.listeners if a not in {w["ListenerArn"] for w in wanted}]:
        _close_listener(current.listeners.pop(arn))
    _record(rt, key, current)
    if failed:
        raise TemporaryError("some listeners could not open", delay=2.0)
    return None


def _record(rt: Runtime, key: str, lb: LbRt) -> None:
    """State ``active`` and the bound address/ports, written without an await in between."""
    scope, name = split_ckey(key)
    doc = rt.store.get(LB, scope, name)
    if doc is None or doc["LoadBalancerArn"] != lb.arn:
        return
    bound = {"address": lb.ip, "ports": {str(lr.port): lr.bound_port for lr in lb.listeners.values()}}
    if doc.get("State", {}).get("Code") == "active" and doc.get("_bound") == bound:
        return
    doc["State"] = {"Code": "active"}
    doc["_bound"] = bound
    for zone in doc["AvailabilityZones"]:
        zone["LoadBalancerAddresses"] = [{"IpAddress": lb.ip, "PrivateIPv4Address": lb.ip}]
    rt.store.put(LB, scope, name, doc)


def compile_rules(rt: Runtime, lb: LbRt, listener: Doc) -> list[rules_match.CompiledRule]:
    key = listener_key_of(lb.scope, listener["ListenerArn"]) or ""
    compiled = []
    for rule in rules_of(rt.store, lb.scope, key):
        conds = rules_match.compile_conditions([_as_given(c) for c in rule["Conditions"]])
        compiled.append(rules_match.CompiledRule(int(rule["Priority"]), conds, tuple(rule["Actions"]), rule["RuleArn"]))
    compiled.append(rules_match.CompiledRule(0, (), tuple(listener["DefaultActions"]), "", is_default=True))
    return rules_match.sort_rules(compiled)


def _as_given(cond: Doc) -> Doc:
    """A stored condition (described with both ``Values`` and its config) as input."""
    if rules_match.CONFIG_OF.get(cond.get("Field", "")) in cond:
        return {k: v for k, v in cond.items() if k != "Values"}
    return cond


def _signature(listener: Doc) -> tuple[Any, ...]:
    certs = tuple(c.get("CertificateArn") for c in listener.get("Certificates") or [])
    return (listener["Port"], listener["Protocol"], certs, listener.get("SslPolicy"))


async def _ensure_listener(rt: Runtime, lb: LbRt, listener: Doc) -> bool:
    arn = listener["ListenerArn"]
    rules = compile_rules(rt, lb, listener)
    sig = _signature(listener)
    current = lb.listeners.get(arn)
    if current is not None and current.signature != sig:
        _close_listener(lb.listeners.pop(arn))
        current = None
    if current is not None:
        current.rules = rules  # swapped whole: a request sees one table
        return True
    lr = ListenerRt(arn, listener["Port"], listener["Protocol"], rules, sig)
    ssl_ctx = None
    if lr.protocol == "HTTPS":
        cert = (listener.get("Certificates") or [{}])[0].get("CertificateArn", "")
        try:
            ssl_ctx = tls.server_context(rt.store, lb.scope, cert, listener.get("SslPolicy") or tls.DEFAULT_POLICY)
        except (ValueError, OSError) as exc:
            log.warning("listener %s:%s of %s: certificate not usable: %s", lb.ip, lr.port, lb.name, exc)
            return False
    loop = asyncio.get_running_loop()
    factory = rt.proxy.factory(lb, lr)
    try:
        lr.server = await loop.create_server(factory, lb.ip, lr.port, ssl=ssl_ctx, reuse_address=True, backlog=1024)
    except OSError as exc:
        lr.server = await loop.create_server(factory, lb.ip, 0, ssl=ssl_ctx, reuse_address=True, backlog=1024)
        log.warning(
            "listener %s of %s: port %s not available on %s (%s); bound port %s instead",
            lr.protocol, lb.name, lr.port, lb.ip, exc, lr.server.sockets[0].getsockname()[1],
        )  # fmt: skip
    lr.bound_port = int(lr.server.sockets[0].getsockname()[1])
    lb.listeners[arn] = lr
    log.info("listener %s %s://%s:%s (%s)", lb.name, lr.protocol.lower(), lb.ip, lr.bound_port, lb.dns_name)
    return True


def _close_listener(lr: ListenerRt) -> None:
    if lr.server is not None:
        lr.server.close()
        lr.server = None


def teardown(rt: Runtime, key: str) -> None:
    lb = rt.lbs.pop(key, None)
    if lb is None:
        return
    for lr in lb.listeners.values():
        _close_listener(lr)
    lb.listeners.clear()
    pool = rt.pools.pop(lb.arn, None)
    if pool is not None:
        pool.close_all()
    rt.addresses.release_owner(lb.arn)
    log.info("load balancer %s closed, %s released", lb.name, lb.ip)


# -- target groups -------------------------------------------------------------------


def _address(rt: Runtime, group: GroupRt, target_id: str) -> str | None:
    if group.doc.get("TargetType") == "instance":
        from gureum.services.elbv2.network import instance_address

        return instance_address(rt.app, group.scope, target_id)
    if group.doc.get("TargetType") == "ip":
        return target_id
    return None


def drop_group(rt: Runtime, key: str) -> None:
    arn = rt.group_arns.pop(key, None)
    group = rt.groups.pop(arn or "", None)
    if group is not None:
        for t in group.targets.values():
            _stop_checks(t)


def _stop_checks(t: TargetRt) -> None:
    if t.checker is not None:
        t.checker.cancel()
        t.checker = None


async def reconcile_tg(rt: Runtime, key: str) -> Requeue | None:
    scope, name = split_ckey(key)
    doc = rt.store.get(TG, scope, name)
    if doc is None or rt.group_arns.get(key, doc["TargetGroupArn"]) != doc["TargetGroupArn"]:
        drop_group(rt, key)
        if doc is None:
            return None
    arn = doc["TargetGroupArn"]
    group = rt.groups.get(arn)
    if group is None:
        group = GroupRt(arn, name, scope, doc)
        rt.groups[arn] = group
        rt.group_arns[key] = arn
    group.doc = doc
    now = rt.clock.now()
    delay = attributes.number(doc["_attributes"], "deregistration_delay.timeout_seconds", 300)
    next_due: float | None = None
    seen: set[str] = set()
    for doc_key, tdoc in targets_of(rt.store, scope, name):
        tkey = f"{tdoc['Id']}:{tdoc['Port']}"
        if tdoc.get("State") == health.State.DRAINING:
            due = float(tdoc.get("DrainingSince", now)) + delay
            if now >= due or not doc.get("LoadBalancerArns"):
                rt.store.delete(TARGET, scope, doc_key)
                continue
            next_due = due if next_due is None else min(next_due, due)
        seen.add(tkey)
        _sync_target(rt, group, tkey, tdoc)
    for gone in [k for k in group.targets if k not in seen]:
        _stop_checks(group.targets.pop(gone))
    group.changed()
    return Requeue(after=max(0.05, next_due - now)) if next_due is not None else None


def _sync_target(rt: Runtime, group: GroupRt, tkey: str, tdoc: Doc) -> None:
    t = group.targets.get(tkey)
    draining = tdoc.get("State") == health.State.DRAINING
    if t is None or (t.state is health.State.DRAINING and not draining):
        state = health.State(tdoc.get("State") or "initial")
        reason = health.Reason(tdoc.get("Reason") or "")
        h = health.Health(state, reason, tdoc.get("Description", ""))
        old = t
        t = TargetRt(tkey, tdoc["Id"], int(tdoc["Port"]), None, h, tdoc.get("HealthySince"))
        if old is not None:
            _stop_checks(old)
            t.outstanding = old.outstanding
        group.targets[tkey] = t
    t.address = _address(rt, group, t.target_id)
    if group.doc.get("TargetType") == "instance" and t.address is None and not draining:
        rt.set_health(group, t, health.Event.INVALID_STATE)  # stopped or terminated
        _stop_checks(t)
        return
    if draining:
        if t.state is not health.State.DRAINING:
            rt.set_health(group, t, health.Event.DEREGISTER)
        _stop_checks(t)
        return
    in_use = bool(group.doc.get("LoadBalancerArns"))
    enabled = bool(group.doc.get("HealthCheckEnabled", True))
    if not in_use:
        rt.set_health(group, t, health.Event.NOT_IN_USE)
    elif t.state is health.State.UNUSED or (enabled and t.state is health.State.UNAVAILABLE):
        rt.set_health(group, t, health.Event.IN_USE)
    if in_use and not enabled and t.state is not health.State.UNAVAILABLE:
        rt.set_health(group, t, health.Event.CHECKS_DISABLED)
    if in_use and enabled and t.state in health_checker.CHECKED_STATES:
        if t.checker is None or t.checker.done():
            t.checker = rt.spawn(health_checker.run(rt, group.arn, tkey))
    else:
        _stop_checks(t)


def reset(app: App) -> None:
    """After the store was wiped: close every listener, forget every group."""
    rt = getattr(app, "_elbv2_runtime", None)
    if rt is None:
        return
    for key in list(rt.lbs):
        lb = rt.lbs.pop(key)
        for lr in lb.listeners.values():
            _close_listener(lr)
        pool = rt.pools.pop(lb.arn, None)
        if pool is not None:
            pool.close_all()
    for key in list(rt.group_arns):
        drop_group(rt, key)
