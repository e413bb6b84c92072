"""The elbv2 data plane of one App: its balancers, groups, pools and proxy.

One :class:`Runtime` per App (``runtime_of(app)``), made when the service
loads.  The controllers fill it from the store; the proxy and the health
checker read it.  :meth:`Runtime.set_health` is the one place a target's
health changes: it steps the state machine, stamps ``healthy_since`` for
slow start, and writes a changed state through to the target's document so
``DescribeTargetHealth`` (and anything reading the store) sees it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gureum.runtime.addresses import AddressAllocator
from gureum.services.elbv2 import health, tls
from gureum.services.elbv2.plane import GroupRt, LbRt, TargetRt
from gureum.services.elbv2.proxy import Proxy
from gureum.services.elbv2.records import TARGET, target_key
from gureum.services.elbv2.upstream import Pool

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.elbv2")


class Runtime:
    def __init__(self, app: App) -> None:
        self.app = app
        self.clock = app.clock
        self.store = app.store
        self.lbs: dict[str, LbRt] = {}  # controller key → balancer
        self.groups: dict[str, GroupRt] = {}  # ARN → group
        self.group_arns: dict[str, str] = {}  # controller key → ARN
        self.pools: dict[str, Pool] = {}  # balancer ARN → pool
        self.addresses = AddressAllocator(app.store)
        self.proxy = Proxy(self)
        self._client_tls: Any = None

    def spawn(self, coro: Any) -> Any:
        return self.app.runner.spawn(coro)

    def pool(self, lb: LbRt) -> Pool:
        pool = self.pools.get(lb.arn)
        if pool is None:
            pool = Pool(self.clock, self.spawn, lambda: lb.idle_timeout, self.client_tls)
            self.pools[lb.arn] = pool
        return pool

    def client_tls(self) -> Any:
        if self._client_tls is None:
            self._client_tls = tls.client_context()
        return self._client_tls

    def set_health(
        self, group: GroupRt, target: TargetRt, event: health.Event, result: health.CheckResult | None = None
    ) -> None:
        limits = health.Thresholds(
            int(group.doc.get("HealthyThresholdCount", 5)), int(group.doc.get("UnhealthyThresholdCount", 2))
        )
        before = target.h
        after = health.step(before, event, limits, result)
        target.h = after
        if after.state is before.state and after.reason is before.reason and after.description == before.description:
            return
        if after.state is health.State.HEALTHY and before.state is not health.State.HEALTHY:
            target.healthy_since = self.clock.now()
        elif after.state is not health.State.HEALTHY:
            target.healthy_since = None
        group.changed()
        if after.state is not before.state:
            log.info(
                "target group %s: %s %s -> %s %s", group.name, target.key, before.state, after.state, after.reason
            )
        key = target_key(group.name, target.target_id, target.port)
        doc = self.store.get(TARGET, group.scope, key)
        if doc is None or doc.get("State") == health.State.DRAINING:
            return
        doc.update(State=str(after.state), Reason=str(after.reason), Description=after.description)
        if target.healthy_since is not None:
            doc["HealthySince"] = target.healthy_since
        self.store.put(TARGET, group.scope, key, doc)


def runtime_of(app: App) -> Runtime:
    rt = getattr(app, "_elbv2_runtime", None)
    if rt is None:
        rt = Runtime(app)
        app._elbv2_runtime = rt  # type: ignore[attr-defined]
    return rt
