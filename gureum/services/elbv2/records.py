"""Store layout, ARNs and look-ups shared by the elbv2 handlers and controllers.

Documents (scope = account + region) keep AWS's wire fields (PascalCase) as
the Describe calls return them, plus private fields starting with ``_``:

==================  ==========================================  ===================================
kind                key                                         what
==================  ==========================================  ===================================
``elbv2.lb``        ``<name>``                                  a load balancer (+ ``_attributes``,
                                                                ``_tags``, ``_id``)
``elbv2.tg``        ``<name>``                                  a target group (+ ``_attributes``…)
``elbv2.listener``  ``<lb name>/<lb id>/<listener id>``         a listener (+ ``_defaultRuleId``)
``elbv2.rule``      ``<lb name>/<lb id>/<listener id>/<rule>``  a non-default rule
``elbv2.target``    ``<tg name>|<target id>|<port>``            a registered target and its health
==================  ==========================================  ===================================

Controller keys are ``account|region|name`` (see :func:`ckey`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError, ValidationError
from gureum.core.ids import hex_id
from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.core.store import Store
    from gureum.services.api import RequestContext

Doc = dict[str, Any]

LB = "elbv2.lb"
TG = "elbv2.tg"
LISTENER = "elbv2.listener"
RULE = "elbv2.rule"
TARGET = "elbv2.target"

LB_CONTROLLER = "elbv2.lb"
TG_CONTROLLER = "elbv2.tg"

SERVICE = "elasticloadbalancing"


def public(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def new_id() -> str:
    return hex_id(16)


def ckey(scope: Scope, name: str) -> str:
    return f"{scope.account}|{scope.region}|{name}"


def split_ckey(key: str) -> tuple[Scope, str]:
    account, region, name = key.split("|", 2)
    return Scope(account, region), name


def _arn_prefix(scope: Scope) -> str:
    return f"arn:aws:{SERVICE}:{scope.region}:{scope.account}:"


def lb_arn(scope: Scope, name: str, lb_id: str) -> str:
    return f"{_arn_prefix(scope)}loadbalancer/app/{name}/{lb_id}"


def tg_arn(scope: Scope, name: str, tg_id: str) -> str:
    return f"{_arn_prefix(scope)}targetgroup/{name}/{tg_id}"


def listener_arn(scope: Scope, listener_key: str) -> str:
    return f"{_arn_prefix(scope)}listener/app/{listener_key}"


def rule_arn(scope: Scope, rule_key: str) -> str:
    return f"{_arn_prefix(scope)}listener-rule/app/{rule_key}"


def target_key(tg_name: str, target_id: str, port: int) -> str:
    return f"{tg_name}|{target_id}|{port}"


def _resource(scope: Scope, arn: str, kind: str) -> list[str] | None:
    """The path parts after ``<kind>/`` of an ARN of this scope, or None."""
    prefix = _arn_prefix(scope) + kind + "/"
    if not isinstance(arn, str) or not arn.startswith(prefix):
        return None
    return arn[len(prefix) :].split("/")


# -- errors ---------------------------------------------------------------------------


def err(code: str, message: str) -> ServiceError:
    return ServiceError(code, message)


def lb_not_found() -> ServiceError:
    return err("LoadBalancerNotFound", "One or more load balancers not found")


def tg_not_found() -> ServiceError:
    return err("TargetGroupNotFound", "One or more target groups not found")


def listener_not_found() -> ServiceError:
    return err("ListenerNotFound", "One or more listeners not found")


def rule_not_found() -> ServiceError:
    return err("RuleNotFound", "One or more rules not found")


def invalid(message: str) -> ValidationError:
    return ValidationError(message)


def bad_config(message: str) -> ServiceError:
    return err("InvalidConfigurationRequest", message)


# -- look-ups -----------------------------------------------------------------------------


def find_lb(store: Store, scope: Scope, arn: str) -> Doc | None:
    parts = _resource(scope, arn, "loadbalancer")
    if not parts or len(parts) != 3 or parts[0] != "app":
        return None
    doc = store.get(LB, scope, parts[1])
    return doc if doc is not None and doc["LoadBalancerArn"] == arn else None


def get_lb(ctx: RequestContext, arn: str) -> Doc:
    doc = find_lb(ctx.store, ctx.scope, arn)
    if doc is None:
        raise lb_not_found()
    return doc


def find_tg(store: Store, scope: Scope, arn: str) -> Doc | None:
    parts = _resource(scope, arn, "targetgroup")
    if not parts or len(parts) != 2:
        return None
    doc = store.get(TG, scope, parts[0])
    return doc if doc is not None and doc["TargetGroupArn"] == arn else None


def get_tg(ctx: RequestContext, arn: str) -> Doc:
    doc = find_tg(ctx.store, ctx.scope, arn)
    if doc is None:
        raise tg_not_found()
    return doc


def listener_key_of(scope: Scope, arn: str) -> str | None:
    parts = _resource(scope, arn, "listener")
    if not parts or len(parts) != 4 or parts[0] != "app":
        return None
    return "/".join(parts[1:])


def find_listener(store: Store, scope: Scope, arn: str) -> Doc | None:
    key = listener_key_of(scope, arn)
    return None if key is None else store.get(LISTENER, scope, key)


def get_listener(ctx: RequestContext, arn: str) -> Doc:
    doc = find_listener(ctx.store, ctx.scope, arn)
    if doc is None:
        raise listener_not_found()
    return doc


def rule_key_of(scope: Scope, arn: str) -> str | None:
    parts = _resource(scope, arn, "listener-rule")
    if not parts or len(parts) != 5 or parts[0] != "app":
        return None
    return "/".join(parts[1:])


def lb_prefix(doc: Doc) -> str:
    """The key prefix of a load balancer's listeners and rules."""
    return f"{doc['LoadBalancerName']}/{doc['_id']}/"


def listeners_of(store: Store, scope: Scope, lb: Doc) -> list[Doc]:
    return [d for _, d in store.list(LISTENER, scope, prefix=lb_prefix(lb))]


def rules_of(store: Store, scope: Scope, listener_key: str) -> list[Doc]:
    return [d for _, d in store.list(RULE, scope, prefix=listener_key + "/")]


def targets_of(store: Store, scope: Scope, tg_name: str) -> list[tuple[str, Doc]]:
    return store.list(TARGET, scope, prefix=tg_name + "|")


# -- pagination ---------------------------------------------------------------------------


def page(items: list[Any], marker: str | None, size: int | None) -> tuple[list[Any], str | None]:
    """One page of ``items`` from an opaque ``marker`` (an offset)."""
    start = 0
    if marker:
        try:
            start = int(json.loads(marker)["o"])
        except (ValueError, KeyError, TypeError):
            raise invalid("The marker is not valid") from None
    size = size or 400
    if not 1 <= size <= 400:
        raise invalid("Page size must be between 1 and 400")
    chunk = items[start : start + size]
    nxt = json.dumps({"o": start + size}) if start + size < len(items) else None
    return chunk, nxt


def output_page(key: str, items: list[Any], req: dict[str, Any]) -> dict[str, Any]:
    chunk, nxt = page(items, req.get("Marker"), req.get("PageSize"))
    out: dict[str, Any] = {key: chunk}
    if nxt:
        out["NextMarker"] = nxt
    return out


# -- telling the controllers ----------------------------------------------------------------


def kick_lb(ctx: RequestContext, name: str) -> None:
    ctx.app.runner.enqueue(LB_CONTROLLER, ckey(ctx.scope, name))


def kick_tg(ctx: RequestContext, name: str) -> None:
    ctx.app.runner.enqueue(TG_CONTROLLER, ckey(ctx.scope, name))


Handler = Callable[["RequestContext", dict[str, Any]], Any]


def collector(table: dict[str, Any]) -> Callable[[str], Callable[[Handler], Handler]]:
    """``op = collector(OPERATIONS)`` then ``@op("Name")`` on each handler."""

    def op(name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if name in table:
                raise ValueError(f"elbv2.{name} declared twice")
            table[name] = fn
            return fn

        return register

    return op
