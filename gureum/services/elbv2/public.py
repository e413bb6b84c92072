"""What other services (ECS services with ``loadBalancers``, Auto Scaling
groups with target groups, the CLI) may call on elbv2.

    register_targets(app, scope, tg_arn, [{"Id": "127.0.1.5", "Port": 8080}])
    deregister_targets(app, scope, tg_arn, [{"Id": "127.0.1.5", "Port": 8080}])
    target_health(app, scope, tg_arn)   # TargetHealthDescription dicts, as the API
    target_group(app, scope, tg_arn)    # the TargetGroup dict, or None
    resolve(app, "my-alb-123.us-east-1.elb.localhost")  # ("127.0.1.7", {80: 80})

They behave exactly as the API operations (same checks, same errors:
``ServiceError`` with elbv2's codes) and return at once; the ``elbv2.tg``
controller does the rest (health checks, draining).  A target is gone from
``target_health`` when its deregistration delay has passed: an ECS task can
wait for that before it stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.ids import request_id
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.elbv2.records import LB, find_tg, public

if TYPE_CHECKING:
    from gureum.app import App


def _ctx(app: App, scope: Scope, operation: str) -> RequestContext:
    app.service_api("elbv2")  # loads the service and starts its controllers
    return RequestContext("elbv2", operation, scope.account, scope.region, request_id(), app)


def register_targets(app: App, scope: Scope, tg_arn: str, targets: list[dict[str, Any]]) -> None:
    from gureum.services.elbv2.targets import register_targets as handler

    handler(_ctx(app, scope, "RegisterTargets"), {"TargetGroupArn": tg_arn, "Targets": targets})


def deregister_targets(app: App, scope: Scope, tg_arn: str, targets: list[dict[str, Any]]) -> None:
    from gureum.services.elbv2.targets import deregister_targets as handler

    handler(_ctx(app, scope, "DeregisterTargets"), {"TargetGroupArn": tg_arn, "Targets": targets})


def target_health(
    app: App, scope: Scope, tg_arn: str, targets: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    from gureum.services.elbv2.targets import describe_target_health as handler

    req: dict[str, Any] = {"TargetGroupArn": tg_arn}
    if targets:
        req["Targets"] = targets
    out = handler(_ctx(app, scope, "DescribeTargetHealth"), req)
    return list(out["TargetHealthDescriptions"])


def target_group(app: App, scope: Scope, tg_arn: str) -> dict[str, Any] | None:
    doc = find_tg(app.store, scope, tg_arn)
    return None if doc is None else public(doc)


def resolve(app: App, dns_name: str) -> tuple[str, dict[int, int]] | None:
    """The loopback IP a balancer's DNS name stands for, and listener port → bound port."""
    name = dns_name.rstrip(".").lower()
    for scope in app.store.list_scopes(LB):
        for _, doc in app.store.list(LB, scope):
            if doc["DNSName"].lower() == name:
                bound = doc.get("_bound") or {}
                if not bound.get("address"):
                    return None
                ports = {int(k): int(v) for k, v in (bound.get("ports") or {}).items()}
                return str(bound["address"]), ports
    return None
