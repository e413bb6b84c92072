"""The data plane's in-memory state: balancers, listeners, target groups.

The store is the truth; this is what the proxy reads on every request, kept
in step by the controllers (``controller.py``).  Nothing here does I/O:
listeners' sockets are opened by the controller, health checks run in
``health_checker.py``, requests in ``proxy.py``.

* :class:`GroupRt` — one target group: its targets with their health, the
  round-robin credits, requests in flight per target, and the stickiness and
  algorithm attributes.  :meth:`GroupRt.pick` chooses the target for one
  request (sticky cookie first, then the algorithm over the candidates that
  :func:`health.candidates` allows).
* :class:`LbRt` / :class:`ListenerRt` — one balancer's address, attributes
  and listeners; a listener holds its compiled rules (swapped whole when they
  change, so a request sees one consistent table).
* :class:`Counters` — what CloudWatch metrics and access logs are made from.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import Any

from gureum.core.store import Scope
from gureum.services.elbv2 import attributes, balancing, health
from gureum.services.elbv2.health import State
from gureum.services.elbv2.rules_match import CompiledRule


@dataclass
class Counters:
    requests: int = 0
    target_2xx: int = 0
    target_3xx: int = 0
    target_4xx: int = 0
    target_5xx: int = 0
    elb_4xx: int = 0
    elb_5xx: int = 0
    elb_502: int = 0
    elb_503: int = 0
    elb_504: int = 0
    client_closed: int = 0  # 460
    response_time_sum: float = 0.0
    response_time_count: int = 0
    new_connections: int = 0
    active_connections: int = 0

    def target_status(self, status: int) -> None:
        bucket = status // 100
        if bucket == 2:
            self.target_2xx += 1
        elif bucket == 3:
            self.target_3xx += 1
        elif bucket == 4:
            self.target_4xx += 1
        elif bucket == 5:
            self.target_5xx += 1

    def elb_status(self, status: int) -> None:
        if 400 <= status < 500:
            self.elb_4xx += 1
            if status == 460:
                self.client_closed += 1
        elif status >= 500:
            self.elb_5xx += 1
            if status == 502:
                self.elb_502 += 1
            elif status == 503:
                self.elb_503 += 1
            elif status == 504:
                self.elb_504 += 1

    def take(self) -> Counters:
        """A copy of the counts so far, and reset (active connections stay)."""
        snap = replace(self)
        for f in fields(self):
            if f.name != "active_connections":
                setattr(self, f.name, f.default)
        return snap


@dataclass
class TargetRt:
    key: str  # "<id>:<port>"
    target_id: str
    port: int
    address: str | None  # where to connect; None when an instance has no address
    h: health.Health = field(default_factory=health.Health)
    healthy_since: float | None = None
    outstanding: int = 0
    checker: Any = None  # the asyncio.Task running its health checks

    @property
    def state(self) -> State:
        return self.h.state

    @property
    def routable_address(self) -> tuple[str, int] | None:
        return None if self.address is None else (self.address, self.port)


@dataclass
class GroupRt:
    arn: str
    name: str
    scope: Scope
    doc: dict[str, Any]
    targets: dict[str, TargetRt] = field(default_factory=dict)
    rr: balancing.RoundRobin = field(default_factory=balancing.RoundRobin)
    counters: Counters = field(default_factory=Counters)
    _candidates: list[str] | None = None

    @property
    def attrs(self) -> dict[str, str]:
        return dict(self.doc.get("_attributes") or {})

    @property
    def protocol(self) -> str:
        return str(self.doc.get("Protocol") or "HTTP")

    def changed(self) -> None:
        self._candidates = None

    def candidates(self) -> list[str]:
        if self._candidates is None:
            states = {k: t.state for k, t in self.targets.items() if t.address is not None}
            self._candidates = health.candidates(states)
        return self._candidates

    def pick(self, now: float, cookies: dict[str, str]) -> tuple[TargetRt | None, str | None]:
        """The target for a request, and the stickiness cookie value to set (if any)."""
        cands = self.candidates()
        if not cands:
            return None, None
        attrs = self.doc.get("_attributes") or {}
        sticky = attrs.get("stickiness.enabled") == "true"
        kind = attrs.get("stickiness.type", "lb_cookie")
        if sticky:
            name = balancing.LB_COOKIE if kind == "lb_cookie" else balancing.APP_COOKIE
            chosen = balancing.sticky_pick(cookies.get(name), cands)
            if chosen is not None:
                return self.targets[chosen], balancing.encode_cookie(chosen)
        algorithm = attrs.get("load_balancing.algorithm.type", "round_robin")
        slow = attributes.number(attrs, "slow_start.duration_seconds")
        outstanding = {k: self.targets[k].outstanding for k in cands} if algorithm != "round_robin" else {}
        since = {k: t.healthy_since for k, t in self.targets.items() if t.healthy_since is not None}
        key = balancing.choose(
            algorithm, cands, self.rr, outstanding=outstanding, now=now, healthy_since=since, slow_start=slow
        )
        if key is None:
            return None, None
        return self.targets[key], (balancing.encode_cookie(key) if sticky else None)


@dataclass
class ListenerRt:
    arn: str
    port: int
    protocol: str
    rules: list[CompiledRule]
    signature: tuple[Any, ...]  # what needs a re-bind when it changes
    bound_port: int = 0
    server: Any = None  # asyncio.Server


@dataclass
class LbRt:
    arn: str
    name: str
    scope: Scope
    ip: str
    dns_name: str
    attrs: dict[str, str]
    listeners: dict[str, ListenerRt] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    access_log: deque[str] = field(default_factory=lambda: deque(maxlen=50_000))

    @property
    def idle_timeout(self) -> float:
        return attributes.number(self.attrs, "idle_timeout.timeout_seconds", 60.0)
