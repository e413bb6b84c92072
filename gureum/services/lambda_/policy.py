"""Resource-based policies (AddPermission, RemovePermission, GetPolicy) and tags.

Policies are recorded and returned as AWS shapes them (one policy per
function or qualifier, ``Id: default``); Gureum does not evaluate them, as
it has no IAM: every caller may invoke every function of its account.
Tags live on the function (not on versions or aliases, as on AWS).
"""

from __future__ import annotations

import json
from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.lambda_.common import api, check_revision, reference
from gureum.services.lambda_.config import new_revision
from gureum.services.lambda_.names import check_function_name, conflict, invalid
from gureum.services.lambda_.records import FUNCTION, get_function, resolve


def _missing(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 404, sender_fault=True)


def _principal(value: str) -> dict[str, str] | str:
    if value == "*":
        return "*"
    if value.endswith(".amazonaws.com") or value.endswith(".amazon.com"):
        return {"Service": value}
    if value.isdigit():
        value = f"arn:aws:iam::{value}:root"
    return {"AWS": value}


def _statement(req: dict[str, Any], resource: str) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Sid": req["StatementId"],
        "Effect": "Allow",
        "Principal": _principal(str(req["Principal"])),
        "Action": req["Action"],
        "Resource": resource,
    }
    condition: dict[str, Any] = {}
    if req.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": req["SourceArn"]}
    if req.get("SourceAccount"):
        condition["StringEquals"] = {"AWS:SourceAccount": req["SourceAccount"]}
    if req.get("PrincipalOrgID"):
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = req["PrincipalOrgID"]
    if condition:
        st["Condition"] = condition
    return st


@api.operation("AddPermission")
def add_permission(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    with ctx.store.transaction():
        target = resolve(ctx.store, ctx.scope, ref.name, ref.qualifier, pick=lambda: 1.0)
        fn = target.function
        policies = fn.setdefault("Policies", {})
        slot = policies.setdefault(ref.qualifier or "", {"Statements": [], "RevisionId": new_revision()})
        check_revision(slot, req.get("RevisionId"))
        if any(s["Sid"] == req["StatementId"] for s in slot["Statements"]):
            raise conflict(
                "The statement id (" + str(req["StatementId"]) + ") provided already exists. "
                "Please provide a new statement id, or remove the existing statement."
            )
        statement = _statement(req, target.invoked_arn)
        slot["Statements"].append(statement)
        slot["RevisionId"] = new_revision()
        ctx.store.put(FUNCTION, ctx.scope, ref.name, fn)
    return {"Statement": json.dumps(statement, separators=(",", ":"))}


@api.operation("RemovePermission")
def remove_permission(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    with ctx.store.transaction():
        fn = get_function(ctx.store, ctx.scope, ref.name, ref.qualifier)
        slot = (fn.get("Policies") or {}).get(ref.qualifier or "")
        if slot is None:
            raise _missing("No policy is associated with the given resource.")
        check_revision(slot, req.get("RevisionId"))
        kept = [s for s in slot["Statements"] if s["Sid"] != req["StatementId"]]
        if len(kept) == len(slot["Statements"]):
            raise _missing(f"Statement {req['StatementId']} is not found in resource policy.")
        if kept:
            slot.update(Statements=kept, RevisionId=new_revision())
        else:
            del fn["Policies"][ref.qualifier or ""]
        ctx.store.put(FUNCTION, ctx.scope, ref.name, fn)
    return {}


@api.operation("GetPolicy")
def get_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    fn = resolve(ctx.store, ctx.scope, ref.name, ref.qualifier, pick=lambda: 1.0).function
    slot = (fn.get("Policies") or {}).get(ref.qualifier or "")
    if not slot:
        raise _missing("The resource you requested does not exist.")
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": slot["Statements"]}
    return {"Policy": json.dumps(policy, separators=(",", ":")), "RevisionId": slot["RevisionId"]}


# -- tags ------------------------------------------------------------------------------


def _tagged_function(ctx: RequestContext, resource: str) -> tuple[str, dict[str, Any]]:
    ref = check_function_name(resource)
    if ref.qualifier:
        raise invalid("Tags on function aliases and versions are not supported. Please specify a function ARN.")
    return ref.name, get_function(ctx.store, ctx.scope, ref.name)


@api.operation("TagResource")
def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        name, fn = _tagged_function(ctx, str(req["Resource"]))
        fn.setdefault("Tags", {}).update(req.get("Tags") or {})
        ctx.store.put(FUNCTION, ctx.scope, name, fn)
    return {}


@api.operation("UntagResource")
def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        name, fn = _tagged_function(ctx, str(req["Resource"]))
        for key in req.get("TagKeys") or []:
            fn.setdefault("Tags", {}).pop(key, None)
        ctx.store.put(FUNCTION, ctx.scope, name, fn)
    return {}


@api.operation("ListTags")
def list_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, fn = _tagged_function(ctx, str(req["Resource"]))
    return {"Tags": fn.get("Tags") or {}}

