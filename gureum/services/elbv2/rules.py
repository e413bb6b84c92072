"""Listener rule handlers: CreateRule, ModifyRule, SetRulePriorities,
DeleteRule, DescribeRules.

A rule has a priority (1–50000, unique per listener: ``PriorityInUse``),
conditions (see :mod:`rules_match`) and actions (see :mod:`actions`).  Every
listener also has a default rule: it has no conditions, sorts last, shows
priority ``"default"``, cannot be deleted or re-prioritised, and its actions
are the listener's ``DefaultActions`` (ModifyRule on it changes them).

Conditions are described as AWS describes them: ``path-pattern`` and
``host-header`` carry both ``Values`` and their ``…Config``.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.elbv2 import rules_match
from gureum.services.elbv2.actions import normalize
from gureum.services.elbv2.listeners import after_change, balancer_of
from gureum.services.elbv2.records import (
    LISTENER,
    RULE,
    Doc,
    collector,
    err,
    get_listener,
    invalid,
    listener_key_of,
    new_id,
    output_page,
    public,
    rule_arn,
    rule_key_of,
    rule_not_found,
    rules_of,
)
from gureum.services.elbv2.tags import check_new_tags

OPERATIONS: dict[str, Any] = {}
op = collector(OPERATIONS)

MAX_RULES = 100


def _conditions(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        rules_match.compile_conditions(raw)
    except rules_match.RuleError as exc:
        raise invalid(str(exc)) from None
    out = []
    for c in raw:
        f = c["Field"]
        config_name = rules_match.CONFIG_OF[f]
        config = c.get(config_name)
        if config is None:
            config = {"Values": list(c.get("Values") or [])}
        shaped: dict[str, Any] = {"Field": f}
        if f in ("path-pattern", "host-header"):
            shaped["Values"] = list(config.get("Values") or [])
        shaped[config_name] = config
        out.append(shaped)
    return out


def _priority(value: Any) -> int:
    p = int(value)
    if not 1 <= p <= 50000:
        raise invalid("Priority must be between 1 and 50000")
    return p


def default_rule(scope: Any, listener_key: str, listener: Doc) -> Doc:
    return {
        "RuleArn": rule_arn(scope, f"{listener_key}/{listener['_defaultRuleId']}"),
        "Priority": "default",
        "Conditions": [],
        "Actions": listener["DefaultActions"],
        "IsDefault": True,
    }


def _listener_rules(ctx: RequestContext, listener_key: str, listener: Doc) -> list[Doc]:
    rules = sorted(rules_of(ctx.store, ctx.scope, listener_key), key=lambda r: int(r["Priority"]))
    return [*rules, default_rule(ctx.scope, listener_key, listener)]


@op("CreateRule")
def create_rule(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    listener = get_listener(ctx, req["ListenerArn"])
    key = listener_key_of(ctx.scope, listener["ListenerArn"])
    assert key is not None
    lb = balancer_of(ctx, listener)
    priority = _priority(req["Priority"])
    if not req.get("Conditions"):
        raise invalid("A rule must have at least one condition")
    conditions = _conditions(req["Conditions"])
    actions = normalize(ctx.store, ctx.scope, req["Actions"], lb["LoadBalancerArn"])
    tags = check_new_tags(req.get("Tags") or [])
    existing = rules_of(ctx.store, ctx.scope, key)
    if any(int(r["Priority"]) == priority for r in existing):
        raise err("PriorityInUse", f"Priority '{priority}' is currently in use")
    if len(existing) >= MAX_RULES:
        raise err("TooManyRules", f"A listener can have at most {MAX_RULES} rules")
    rule_key = f"{key}/{new_id()}"
    doc: Doc = {
        "RuleArn": rule_arn(ctx.scope, rule_key),
        "Priority": str(priority),
        "Conditions": conditions,
        "Actions": actions,
        "IsDefault": False,
        "_key": rule_key,
        "_tags": tags,
    }
    with ctx.store.transaction():
        ctx.store.put(RULE, ctx.scope, rule_key, doc)
        after_change(ctx, lb)
    return {"Rules": [public(doc)]}


def _find_rule(ctx: RequestContext, arn: str) -> tuple[Doc, str, Doc]:
    """(rule, its listener key, the listener); the default rule is synthesised."""
    key = rule_key_of(ctx.scope, arn)
    if key is None:
        raise rule_not_found()
    listener_key, _, rule_id = key.rpartition("/")
    listener = ctx.store.get(LISTENER, ctx.scope, listener_key)
    if listener is None:
        raise rule_not_found()
    if listener["_defaultRuleId"] == rule_id:
        return default_rule(ctx.scope, listener_key, listener), listener_key, listener
    doc = ctx.store.get(RULE, ctx.scope, key)
    if doc is None:
        raise rule_not_found()
    return doc, listener_key, listener


@op("ModifyRule")
def modify_rule(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    rule, listener_key, listener = _find_rule(ctx, req["RuleArn"])
    lb = balancer_of(ctx, listener)
    actions = None
    if req.get("Actions"):
        actions = normalize(ctx.store, ctx.scope, req["Actions"], lb["LoadBalancerArn"])
    with ctx.store.transaction():
        if rule["IsDefault"]:
            if req.get("Conditions"):
                raise ServiceError("OperationNotPermitted", "The default rule cannot have conditions")
            if actions is not None:
                listener["DefaultActions"] = actions
                ctx.store.put(LISTENER, ctx.scope, listener_key, listener)
            rule = default_rule(ctx.scope, listener_key, listener)
        else:
            if req.get("Conditions"):
                rule["Conditions"] = _conditions(req["Conditions"])
            if actions is not None:
                rule["Actions"] = actions
            ctx.store.put(RULE, ctx.scope, rule["_key"], rule)
        after_change(ctx, lb)
    return {"Rules": [public(rule)]}


@op("SetRulePriorities")
def set_rule_priorities(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    changes = req["RulePriorities"]
    found = [(_find_rule(ctx, c["RuleArn"]), _priority(c["Priority"])) for c in changes]
    if len({rule["RuleArn"] for (rule, _, _), _ in found}) != len(found):
        raise invalid("A rule can appear only once")
    if any(rule["IsDefault"] for (rule, _, _), _ in found):
        raise ServiceError("OperationNotPermitted", "The default rule's priority cannot be changed")
    listener_keys = {lk for (_, lk, _), _ in found}
    if len(listener_keys) != 1:
        raise invalid("All rules must belong to the same listener")
    listener_key = listener_keys.pop()
    new = {rule["RuleArn"]: p for (rule, _, _), p in found}
    after: dict[int, str] = {}
    for r in rules_of(ctx.store, ctx.scope, listener_key):
        p = new.get(r["RuleArn"], int(r["Priority"]))
        if p in after:
            raise err("PriorityInUse", f"Priority '{p}' is currently in use")
        after[p] = r["RuleArn"]
    out = []
    listener = found[0][0][2]
    with ctx.store.transaction():
        for (rule, _, _), p in found:
            rule["Priority"] = str(p)
            ctx.store.put(RULE, ctx.scope, rule["_key"], rule)
            out.append(public(rule))
        after_change(ctx, balancer_of(ctx, listener))
    return {"Rules": out}


@op("DeleteRule")
def delete_rule(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    rule, _, listener = _find_rule(ctx, req["RuleArn"])
    if rule["IsDefault"]:
        raise ServiceError("OperationNotPermitted", "Default rules cannot be deleted")
    with ctx.store.transaction():
        ctx.store.delete(RULE, ctx.scope, rule["_key"])
        after_change(ctx, balancer_of(ctx, listener))
    return {}


@op("DescribeRules")
def describe_rules(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    listener_ref, arns = req.get("ListenerArn"), req.get("RuleArns")
    if bool(listener_ref) == bool(arns):
        raise invalid("Exactly one of ListenerArn and RuleArns must be specified")
    if arns:
        docs = [_find_rule(ctx, a)[0] for a in dict.fromkeys(arns)]
    else:
        listener = get_listener(ctx, str(listener_ref))
        key = listener_key_of(ctx.scope, listener["ListenerArn"])
        assert key is not None
        docs = _listener_rules(ctx, key, listener)
    return output_page("Rules", [public(d) for d in docs], req)
