"""Target groups of an Auto Scaling group, through elbv2's public functions.

INTEGRATION POINT: elbv2 (:mod:`gureum.services.elbv2.public`) was being
built alongside this service.  Every call goes through here and degrades to
"no load balancer" when elbv2 (or its public module) is not there, so groups
with ``TargetGroupARNs`` still work without it; once it is, instances are
registered when they come into service, deregistered when they start
terminating, and ``HealthCheckType=ELB`` reads their target health.

Targets are registered by instance id (instance target groups), on the
target group's port.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.autoscaling.elb")

UNHEALTHY = "unhealthy"


def _public(app: App) -> Any | None:
    from gureum.services import SERVICES

    if "elbv2" not in SERVICES:
        return None
    try:
        from gureum.services.elbv2 import public
    except ImportError:
        return None
    return public


def target_group_exists(app: App, scope: Scope, tg_arn: str) -> bool | None:
    """Whether the target group exists (None: elbv2 cannot say)."""
    public = _public(app)
    if public is None:
        return None
    return public.target_group(app, scope, tg_arn) is not None


def register(app: App, scope: Scope, tg_arns: Iterable[str], instance_id: str) -> None:
    if not tg_arns:
        return  # (most groups: no import of elbv2 at all)
    public = _public(app)
    if public is None:
        return
    for arn in tg_arns:
        try:
            public.register_targets(app, scope, arn, [{"Id": instance_id}])
        except ServiceError as exc:
            log.warning("registering %s in %s failed: %s", instance_id, arn, exc.message)


def deregister(app: App, scope: Scope, tg_arns: Iterable[str], instance_id: str) -> None:
    if not tg_arns:
        return  # (most groups: no import of elbv2 at all)
    public = _public(app)
    if public is None:
        return
    for arn in tg_arns:
        try:
            public.deregister_targets(app, scope, arn, [{"Id": instance_id}])
        except ServiceError as exc:
            log.info("deregistering %s from %s: %s", instance_id, arn, exc.message)


def health(app: App, scope: Scope, tg_arns: Iterable[str], instance_id: str) -> str | None:
    """``unhealthy`` when a target group says so, else the first state seen (None: unknown)."""
    public = _public(app)
    seen: str | None = None
    if public is None:
        return None
    for arn in tg_arns:
        try:
            found = public.target_health(app, scope, arn, [{"Id": instance_id}])
        except ServiceError:
            continue
        for d in found:
            state = (d.get("TargetHealth") or {}).get("State")
            if state == UNHEALTHY:
                return UNHEALTHY
            seen = seen or state
    return seen
