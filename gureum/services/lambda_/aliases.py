"""CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases.

An alias names a version (``$LATEST`` or a number) and may send a share of
invocations to one more published version (``RoutingConfig``, weights 0–1;
the rest goes to the primary).  Rules checked as AWS checks them: the
versions exist, weighted routing needs a published primary (not
``$LATEST``) and one additional version that differs from it.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.lambda_.common import api, check_revision, paged, reference
from gureum.services.lambda_.config import new_revision
from gureum.services.lambda_.names import LATEST, check_alias_name, conflict, invalid, is_version
from gureum.services.lambda_.records import (
    ALIAS,
    alias_key,
    get_alias,
    get_function,
    get_version,
    list_aliases,
)


def _alias_arn(fn: dict[str, Any], alias: str) -> str:
    return f"{fn['Configuration']['FunctionArn']}:{alias}"


def _missing(arn: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Alias not found: {arn}", 404, sender_fault=True)


def _check_targets(ctx: RequestContext, name: str, version: str, routing: dict[str, Any] | None) -> None:
    if version != LATEST:
        if not is_version(version):
            raise invalid(f"Version {version} is not a valid function version ($LATEST or a number).")
        get_version(ctx.store, ctx.scope, name, version)
    weights = ((routing or {}).get("AdditionalVersionWeights")) or {}
    if not weights:
        return
    if version == LATEST:
        raise invalid("$LATEST is not supported for an alias pointing to more than 1 version")
    if len(weights) > 1:
        raise invalid("Number of entries in AdditionalVersionWeights must not exceed 1")
    for extra in weights:
        if extra == version:
            raise invalid(f"Invalid function version {extra}. Function version {extra} is already included in routing configuration.")
        get_version(ctx.store, ctx.scope, name, str(extra))


@api.operation("CreateAlias")
def create_alias(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    alias = str(req["Name"])
    check_alias_name(alias)
    with ctx.store.transaction():
        fn = get_function(ctx.store, ctx.scope, ref.name)
        _check_targets(ctx, ref.name, str(req["FunctionVersion"]), req.get("RoutingConfig"))
        doc: dict[str, Any] = {
            "AliasArn": _alias_arn(fn, alias),
            "Name": alias,
            "FunctionVersion": str(req["FunctionVersion"]),
            "Description": req.get("Description") or "",
            "RevisionId": new_revision(),
        }
        if req.get("RoutingConfig"):
            doc["RoutingConfig"] = req["RoutingConfig"]
        if not ctx.store.insert(ALIAS, ctx.scope, alias_key(ref.name, alias), doc):
            raise conflict(f"Alias already exists: {doc['AliasArn']}")
    return doc


def _require(ctx: RequestContext, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ref = reference(req)
    fn = get_function(ctx.store, ctx.scope, ref.name)
    doc = get_alias(ctx.store, ctx.scope, ref.name, str(req["Name"]))
    if doc is None:
        raise _missing(_alias_arn(fn, str(req["Name"])))
    return ref.name, doc


@api.operation("GetAlias")
def get_alias_op(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return _require(ctx, req)[1]


@api.operation("UpdateAlias")
def update_alias(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        name, doc = _require(ctx, req)
        check_revision(doc, req.get("RevisionId"))
        version = str(req.get("FunctionVersion") or doc["FunctionVersion"])
        routing = req["RoutingConfig"] if "RoutingConfig" in req else doc.get("RoutingConfig")
        _check_targets(ctx, name, version, routing)
        doc["FunctionVersion"] = version
        if req.get("Description") is not None:
            doc["Description"] = req["Description"]
        if routing and (routing.get("AdditionalVersionWeights") or {}):
            doc["RoutingConfig"] = routing
        else:
            doc.pop("RoutingConfig", None)
        doc["RevisionId"] = new_revision()
        ctx.store.put(ALIAS, ctx.scope, alias_key(name, doc["Name"]), doc)
    return doc


@api.operation("DeleteAlias")
def delete_alias(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name, doc = _require(ctx, req)
    ctx.store.delete(ALIAS, ctx.scope, alias_key(name, doc["Name"]))
    return {}


@api.operation("ListAliases")
def list_aliases_op(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    get_function(ctx.store, ctx.scope, ref.name)
    wanted = req.get("FunctionVersion")
    items = [
        (a["Name"], a) for a in list_aliases(ctx.store, ctx.scope, ref.name)
        if not wanted or a["FunctionVersion"] == wanted
    ]
    aliases, marker = paged(items, req)
    out: dict[str, Any] = {"Aliases": aliases}
    if marker:
        out["NextMarker"] = marker
    return out
