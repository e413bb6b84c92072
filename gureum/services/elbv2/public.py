"""What other services (ECS services with ``loadBalancers``, Auto Scaling
groups with target groups, the CLI) may call on elbv2.

    register_targets(app, scope, tg_arn, [{"Id": "127.0.1.5", "Port": 8080}])
    deregister_targets(app, scope, tg_arn, [{"Id": "127.0.1.5", "Port": 8080}])
    target_health(app, scope, tg_arn)   # TargetHealthDescription dicts, as the API
    target_group(app, scope, tg_arn)    # the TargetGroup dict, or None
    resolve(app, "my-alb-123.us-east-1.elb.localhost")  # ("127.0.1.7", {80: 80})
    target_group_by_name(app, scope, "web-blue")   # the TargetGroup dict, or None
    listener(app, scope, listener_arn)              # the Listener dict, or None
    listener_rules(app, scope, listener_arn)        # its Rule dicts (default rule included), as DescribeRules
    set_rule_actions(app, scope, rule_arn, actions) # ModifyRule(Actions=…); the default rule too

(The last four were added for CodeDeploy's blue/green traffic shifting.)

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
from gureum.services.elbv2.records import LB, TG, find_listener, find_tg, public

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


def target_group_by_name(app: App, scope: Scope, name: str) -> dict[str, Any] | None:
    doc = app.store.get(TG, scope, name)
    return None if doc is None else public(doc)


def listener(app: App, scope: Scope, listener_arn: str) -> dict[str, Any] | None:
    doc = find_listener(app.store, scope, listener_arn)
    return None if doc is None else public(doc)


def listener_rules(app: App, scope: Scope, listener_arn: str) -> list[dict[str, Any]]:
    """The listener's rules as DescribeRules answers them (the default rule last); ListenerNotFound if unknown."""
    from gureum.services.elbv2.rules import describe_rules as handler

    out = handler(_ctx(app, scope, "DescribeRules"), {"ListenerArn": listener_arn, "PageSize": 400})
    return list(out["Rules"])


def set_rule_actions(app: App, scope: Scope, rule_arn: str, actions: list[dict[str, Any]]) -> None:
    """ModifyRule with new actions (the default rule's are the listener's default actions)."""
    from gureum.services.elbv2.rules import modify_rule as handler

    handler(_ctx(app, scope, "ModifyRule"), {"RuleArn": rule_arn, "Actions": actions})
