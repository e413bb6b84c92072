"""Listener and rule actions: validation, the shape Describe returns, and
which target groups a load balancer uses.

Handlers call :func:`normalize` on the ``Actions``/``DefaultActions`` they
receive; it checks them against the store (target groups exist, speak HTTP,
belong to no other load balancer) and returns them the way AWS describes
them: a forward to one group carries both ``TargetGroupArn`` and a
``ForwardConfig`` with weight 1 and group stickiness off.

Rules: exactly one terminal action (forward, redirect, fixed-response), the
last by ``Order``; forwards name 1–5 distinct groups with weights 0–999;
authenticate-* actions are refused (Gureum has no identity provider to send
users to).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope, Store
from gureum.services.elbv2.records import TG, Doc, bad_config, err, find_tg, invalid

TERMINAL = ("forward", "redirect", "fixed-response")
MAX_GROUPS = 5
CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript", "application/json")
_STATUS = re.compile(r"^[245]\d\d$")


def groups_of(actions: Iterable[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for a in actions:
        if a.get("Type") != "forward":
            continue
        fc = a.get("ForwardConfig") or {}
        arns = [t["TargetGroupArn"] for t in fc.get("TargetGroups") or []]
        if not arns and a.get("TargetGroupArn"):
            arns = [a["TargetGroupArn"]]
        out.extend(x for x in arns if x not in out)
    return out


def normalize(store: Store, scope: Scope, raw: Sequence[dict[str, Any]], lb_arn: str) -> list[dict[str, Any]]:
    if not raw:
        raise invalid("At least one action must be specified")
    actions = [dict(a) for a in raw]
    orders = [a.get("Order") for a in actions]
    given = [o for o in orders if o is not None]
    if len(set(given)) != len(given):
        raise invalid("Action orders must be unique")
    if any(not 1 <= o <= 50000 for o in given):
        raise invalid("Action order must be between 1 and 50000")
    for i, a in enumerate(actions):
        if a.get("Order") is None and len(actions) > 1:
            a["Order"] = i + 1
    actions.sort(key=lambda a: a.get("Order") or 0)
    out = [_one(store, scope, a, lb_arn) for a in actions]
    terminal = [a for a in out if a["Type"] in TERMINAL]
    if len(terminal) != 1 or out[-1]["Type"] not in TERMINAL:
        raise ServiceError(
            "InvalidLoadBalancerAction", "Exactly one forward, redirect or fixed-response action must come last"
        )
    return out


def _one(store: Store, scope: Scope, a: dict[str, Any], lb_arn: str) -> dict[str, Any]:
    kind = a.get("Type")
    if kind == "forward":
        return _forward(store, scope, a, lb_arn)
    if kind == "redirect":
        return _redirect(a)
    if kind == "fixed-response":
        return _fixed(a)
    if kind in ("authenticate-oidc", "authenticate-cognito", "jwt-validation"):
        raise ServiceError("InvalidLoadBalancerAction", f"Action type '{kind}' is not supported by Gureum")
    raise invalid(f"Action type '{kind}' is not valid")


def _forward(store: Store, scope: Scope, a: dict[str, Any], lb_arn: str) -> dict[str, Any]:
    fc = a.get("ForwardConfig") or {}
    tuples = list(fc.get("TargetGroups") or [])
    single = a.get("TargetGroupArn")
    if single and tuples and [t["TargetGroupArn"] for t in tuples] != [single]:
        raise invalid("TargetGroupArn and ForwardConfig must name the same target group")
    if not tuples:
        if not single:
            raise invalid("A forward action needs a target group")
        tuples = [{"TargetGroupArn": single}]
    if len(tuples) > MAX_GROUPS:
        raise ServiceError("TooManyTargetGroups", f"A forward action can name at most {MAX_GROUPS} target groups")
    arns = [t["TargetGroupArn"] for t in tuples]
    if len(set(arns)) != len(arns):
        raise invalid("A target group can appear only once in a forward action")
    groups = []
    for t in tuples:
        weight = int(t.get("Weight", 1))
        if not 0 <= weight <= 999:
            raise invalid("Target group weights must be between 0 and 999")
        _check_group(store, scope, t["TargetGroupArn"], lb_arn)
        groups.append({"TargetGroupArn": t["TargetGroupArn"], "Weight": weight})
    sticky = dict(fc.get("TargetGroupStickinessConfig") or {"Enabled": False})
    sticky["Enabled"] = bool(sticky.get("Enabled", False))
    if sticky["Enabled"]:
        d = int(sticky.get("DurationSeconds") or 0)
        if not 1 <= d <= 604800:
            raise invalid("Target group stickiness duration must be between 1 and 604800 seconds")
        sticky["DurationSeconds"] = d
    out: dict[str, Any] = {"Type": "forward"}
    if len(groups) == 1:
        out["TargetGroupArn"] = groups[0]["TargetGroupArn"]
    out["ForwardConfig"] = {"TargetGroups": groups, "TargetGroupStickinessConfig": sticky}
    if a.get("Order") is not None:
        out["Order"] = a["Order"]
    return out


def _check_group(store: Store, scope: Scope, arn: str, lb_arn: str) -> Doc:
    tg = find_tg(store, scope, arn)
    if tg is None:
        raise err("TargetGroupNotFound", f"Target group '{arn}' not found")
    if tg.get("TargetType") != "lambda" and tg.get("Protocol") not in ("HTTP", "HTTPS"):
        raise err(
            "IncompatibleProtocols",
            f"The protocol of target group '{arn}' is not compatible with an application load balancer",
        )
    others = [x for x in tg.get("LoadBalancerArns") or [] if x != lb_arn]
    if others:
        raise err(
            "TargetGroupAssociationLimit",
            f"The following target groups cannot be associated with more than one load balancer: {arn}",
        )
    return tg


def _redirect(a: dict[str, Any]) -> dict[str, Any]:
    rc = dict(a.get("RedirectConfig") or {})
    if rc.get("StatusCode") not in ("HTTP_301", "HTTP_302"):
        raise invalid("A redirect action needs StatusCode HTTP_301 or HTTP_302")
    rc.setdefault("Protocol", "#{protocol}")
    rc.setdefault("Port", "#{port}")
    rc.setdefault("Host", "#{host}")
    rc.setdefault("Path", "/#{path}")
    rc.setdefault("Query", "#{query}")
    if rc["Protocol"] not in ("HTTP", "HTTPS", "#{protocol}"):
        raise invalid("Redirect protocol must be HTTP, HTTPS or #{protocol}")
    port = rc["Port"]
    if "#{" not in port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise invalid("Redirect port must be between 1 and 65535")
    if not rc["Path"].startswith("/"):
        raise invalid("Redirect path must start with '/'")
    out: dict[str, Any] = {"Type": "redirect", "RedirectConfig": rc}
    if a.get("Order") is not None:
        out["Order"] = a["Order"]
    return out


def _fixed(a: dict[str, Any]) -> dict[str, Any]:
    fc = dict(a.get("FixedResponseConfig") or {})
    if not _STATUS.match(str(fc.get("StatusCode", ""))):
        raise invalid("A fixed-response status code must be 2XX, 4XX or 5XX")
    if fc.get("ContentType") and fc["ContentType"] not in CONTENT_TYPES:
        raise invalid("Fixed-response content type must be one of " + ", ".join(CONTENT_TYPES))
    if len(fc.get("MessageBody") or "") > 1024:
        raise invalid("A fixed-response message body can be at most 1024 characters")
    out: dict[str, Any] = {"Type": "fixed-response", "FixedResponseConfig": fc}
    if a.get("Order") is not None:
        out["Order"] = a["Order"]
    return out


# -- which groups a load balancer uses ---------------------------------------------------


def refresh_references(store: Store, scope: Scope, lb_arn: str, used: set[str]) -> list[str]:
    """Make each group's ``LoadBalancerArns`` say whether ``lb_arn`` uses it.

    Returns the names of the groups whose list changed (their targets move
    between ``unused`` and ``initial``)."""
    changed: list[str] = []
    for name, tg in store.list(TG, scope):
        lbs = list(tg.get("LoadBalancerArns") or [])
        want = tg["TargetGroupArn"] in used
        if want and lb_arn not in lbs:
            lbs.append(lb_arn)
        elif not want and lb_arn in lbs:
            lbs.remove(lb_arn)
        else:
            continue
        tg["LoadBalancerArns"] = lbs
        store.put(TG, scope, name, tg)
        changed.append(name)
    return changed


def check_config(cond: bool, message: str) -> None:
    if not cond:
        raise bad_config(message)


def used_groups(store: Store, scope: Scope, lb: Doc) -> set[str]:
    """Every target group a load balancer's listeners and rules forward to."""
    from gureum.services.elbv2.records import listeners_of, rules_of

    used: set[str] = set()
    for listener in listeners_of(store, scope, lb):
        used.update(groups_of(listener.get("DefaultActions") or []))
        key = listener["ListenerArn"].split(":listener/app/", 1)[1]
        for rule in rules_of(store, scope, key):
            used.update(groups_of(rule.get("Actions") or []))
    return used
