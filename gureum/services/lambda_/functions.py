"""CreateFunction, GetFunction(Configuration), ListFunctions, UpdateFunctionCode,
UpdateFunctionConfiguration, DeleteFunction.

Handlers record intent: the package is stored and checked (a bad zip is
``InvalidParameterValueException`` at once, as on AWS), the record written
with ``State: Pending`` / ``LastUpdateStatus: InProgress``, the controller
enqueued; it unpacks the code and flips the states (see :mod:`.controller`).
Any update of ``$LATEST`` retires its warm workers, so the next invocation
runs the new code and settings.

``Code.Location`` in GetFunction is
``<endpoint>/_gureum/lambda/code/<account>/<region>/<name>/<sha256 hex>.zip``,
served by :func:`gureum.services.lambda_.public.code_response` (the gateway
routes ``/_gureum/lambda/`` to it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.lambda_ import config as cfgs
from gureum.services.lambda_.common import (
    api,
    check_revision,
    enqueue,
    paged,
    receive_code,
    reference,
)
from gureum.services.lambda_.names import LATEST, conflict, invalid, is_version, not_found
from gureum.services.lambda_.records import (
    ALIAS,
    FUNCTION,
    VERSION,
    get_function,
    list_aliases,
    list_versions,
    resolve,
    sha_hex,
    version_key,
)
from gureum.services.lambda_.state import state
from gureum.services.lambda_.versions import publish


def code_location(ctx: RequestContext, cfg: dict[str, Any]) -> str:
    return (
        f"{ctx.app.settings.endpoint}/_gureum/lambda/code/{ctx.account}/{ctx.region}/"
        f"{cfg['FunctionName']}/{sha_hex(cfg)}.zip"
    )


@api.operation("CreateFunction")
async def create_function(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    if ref.qualifier:
        raise invalid("A function name with a qualifier cannot be created; remove the qualifier.")
    cfgs.check_create(req)
    name = ref.name
    if ctx.store.get(FUNCTION, ctx.scope, name) is not None:
        raise conflict(f"Function already exist: {name}")
    async with state(ctx.app).lock(ctx.scope, name):
        code = await receive_code(ctx, name, req["Code"])
        cfg = cfgs.new_configuration(ctx.account, ctx.region, name, req, code, ctx.clock.now())
        doc = {"Configuration": cfg, "Tags": dict(req.get("Tags") or {}), "Policies": {}, "LastVersion": 0}
        with ctx.store.transaction():
            if not ctx.store.insert(FUNCTION, ctx.scope, name, doc):
                raise conflict(f"Function already exist: {name}")
            out = publish(ctx, name, req.get("Description")) if req.get("Publish") else cfg
    enqueue(ctx, name)
    return out


@api.operation("GetFunction")
def get_function_op(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    target = resolve(ctx.store, ctx.scope, ref.name, ref.qualifier, pick=lambda: 1.0)
    out: dict[str, Any] = {
        "Configuration": target.config,
        "Code": {"RepositoryType": "S3", "Location": code_location(ctx, target.config)},
    }
    if target.function.get("Tags"):
        out["Tags"] = target.function["Tags"]
    return out


@api.operation("GetFunctionConfiguration")
def get_function_configuration(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    return dict(resolve(ctx.store, ctx.scope, ref.name, ref.qualifier, pick=lambda: 1.0).config)


@api.operation("ListFunctions")
def list_functions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    every_version = req.get("FunctionVersion") == "ALL"
    items: list[tuple[str, Any]] = []
    for name, doc in ctx.store.list(FUNCTION, ctx.scope):
        items.append((f"{name}\x00{0:010d}", doc["Configuration"]))
        if every_version:
            items += [(f"{name}\x00{int(c['Version']):010d}", c) for c in list_versions(ctx.store, ctx.scope, name)]
    items.sort(key=lambda item: item[0])
    functions, marker = paged(items, req)
    out: dict[str, Any] = {"Functions": functions}
    if marker:
        out["NextMarker"] = marker
    return out


@api.operation("UpdateFunctionCode")
async def update_function_code(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    doc = get_function(ctx.store, ctx.scope, ref.name)
    check_revision(doc["Configuration"], req.get("RevisionId"))
    async with state(ctx.app).lock(ctx.scope, ref.name):
        code = await receive_code(ctx, ref.name, req)
        if req.get("DryRun"):
            enqueue(ctx, ref.name)  # the controller drops the package nothing names
            return cfgs.with_code(doc["Configuration"], code, ctx.clock.now())
        with ctx.store.transaction():
            doc = get_function(ctx.store, ctx.scope, ref.name)
            doc["Configuration"] = cfgs.with_code(doc["Configuration"], code, ctx.clock.now())
            ctx.store.put(FUNCTION, ctx.scope, ref.name, doc)
            out = publish(ctx, ref.name, None) if req.get("Publish") else doc["Configuration"]
    state(ctx.app).pools.retire(ctx.account, ctx.region, ref.name, LATEST)
    enqueue(ctx, ref.name)
    return out


@api.operation("UpdateFunctionConfiguration")
def update_function_configuration(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    cfgs.check_update(req)
    with ctx.store.transaction():
        doc = get_function(ctx.store, ctx.scope, ref.name)
        check_revision(doc["Configuration"], req.get("RevisionId"))
        doc["Configuration"] = cfgs.updated_configuration(doc["Configuration"], req, ctx.clock.now())
        ctx.store.put(FUNCTION, ctx.scope, ref.name, doc)
    state(ctx.app).pools.retire(ctx.account, ctx.region, ref.name, LATEST)
    enqueue(ctx, ref.name)
    return dict(doc["Configuration"])


@api.operation("DeleteFunction")
async def delete_function(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    get_function(ctx.store, ctx.scope, ref.name, ref.qualifier)
    if ref.qualifier:
        _delete_version(ctx, ref.name, ref.qualifier)
        return {"StatusCode": 204}
    with ctx.store.transaction():
        for alias in list_aliases(ctx.store, ctx.scope, ref.name):
            ctx.store.delete(ALIAS, ctx.scope, f"{ref.name}:{alias['Name']}")
        for cfg in list_versions(ctx.store, ctx.scope, ref.name):
            ctx.store.delete(VERSION, ctx.scope, version_key(ref.name, cfg["Version"]))
        ctx.store.delete(FUNCTION, ctx.scope, ref.name)
    st = state(ctx.app)
    st.pools.retire(ctx.account, ctx.region, ref.name)
    async with st.lock(ctx.scope, ref.name):
        if ctx.store.get(FUNCTION, ctx.scope, ref.name) is None:  # not made again meanwhile
            await asyncio.to_thread(st.code.remove_function, ctx.scope, ref.name)
    return {"StatusCode": 204}


def _delete_version(ctx: RequestContext, name: str, qualifier: str) -> None:
    if qualifier == LATEST:
        raise invalid("$LATEST version cannot be deleted without deleting the function.")
    if not is_version(qualifier):
        raise invalid("Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.")
    with ctx.store.transaction():
        if ctx.store.get(VERSION, ctx.scope, version_key(name, qualifier)) is None:
            raise not_found(ctx.account, ctx.region, name, qualifier)
        users = sorted(
            a["AliasArn"] for a in list_aliases(ctx.store, ctx.scope, name)
            if a["FunctionVersion"] == qualifier
            or qualifier in ((a.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})
        )
        if users:
            raise conflict(f"Unable to delete version because the following aliases reference it: {users}")
        ctx.store.delete(VERSION, ctx.scope, version_key(name, qualifier))
    state(ctx.app).pools.retire(ctx.account, ctx.region, name, qualifier)
    enqueue(ctx, name)  # the controller removes code nothing names any more
