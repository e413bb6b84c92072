"""CreateApp, DescribeApps, UpdateApp, DeleteApp.

An app's source (``AppSource``) is an archive in Gureum's S3 (``Type`` s3 or
archive, see sources.py); it is read when a deployment runs, so a missing
archive fails that deployment's commands with a log, not CreateApp.
``Environment`` (at most 20 variables) reaches the app's recipes and its
``deploy/*.sh`` hooks as environment variables; ``Secure`` values are never
shown again (``*****FILTERED*****``), nor are source passwords and SSL keys.
Deleting an app runs Undeploy on the stack's online instances.
"""

from __future__ import annotations

import re
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.opsworks import commands
from gureum.services.opsworks.bundle import shortname_ok
from gureum.services.opsworks.lifecycle import ONLINE_STATUSES
from gureum.services.opsworks.records import (
    APP,
    INSTANCE,
    get_app,
    get_stack,
    invalid,
    iso,
    new_id,
    of_stack,
    public,
)

Doc = dict[str, Any]
OPERATIONS: dict[str, Any] = {}
FILTERED = "*****FILTERED*****"
_MEMBERS = ("Name", "Description", "DataSources", "Type", "AppSource", "Domains", "EnableSsl", "SslConfiguration",
            "Attributes", "Environment")


def _op(name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS[name] = fn
        return fn

    return register


def _shortname(name: str) -> str:
    short = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return short or "app"


def _check(req: dict[str, Any]) -> None:
    env = req.get("Environment") or []
    if len(env) > 20:
        raise invalid("An app can have at most 20 environment variables")
    keys = [e["Key"] for e in env]
    if len(set(keys)) != len(keys):
        raise invalid("Environment variable keys must be unique")
    for key in keys:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", key):
            raise invalid(f"Environment variable key {key!r} must be letters, digits and '_'")


def new_app(ctx: RequestContext, stack_id: str, values: dict[str, Any]) -> Doc:
    short = values.get("Shortname") or _shortname(values["Name"])
    if not shortname_ok(short):
        raise invalid(f"Shortname {short!r} must be lower-case letters, digits, '-' and '_'")
    if any(a["Shortname"] == short for a in of_stack(ctx.store, APP, ctx.scope, stack_id)):
        raise invalid(f"There is already an app with shortname {short} in stack {stack_id}")
    aid, now = new_id(), ctx.clock.now()
    doc: Doc = {"AppId": aid, "StackId": stack_id, "Shortname": short, "Attributes": {}, "Environment": [],
                "Domains": [], "EnableSsl": False, "DataSources": [], "CreatedAt": iso(now), "_created": now}
    doc.update({k: values[k] for k in _MEMBERS if values.get(k) is not None})
    ctx.store.put(APP, ctx.scope, aid, doc)
    return doc


def copy_app(ctx: RequestContext, app_doc: Doc, stack_id: str) -> Doc:
    return new_app(ctx, stack_id, {k: app_doc.get(k) for k in ("Shortname", *_MEMBERS)})


def view(doc: Doc) -> Doc:
    out = {k: v for k, v in public(doc).items() if v is not None}
    if out.get("AppSource"):
        out["AppSource"] = {k: (FILTERED if k in ("Password", "SshKey") and v else v)
                            for k, v in out["AppSource"].items()}
    if out.get("SslConfiguration"):
        out["SslConfiguration"] = {k: (FILTERED if k == "PrivateKey" else v)
                                   for k, v in out["SslConfiguration"].items()}
    out["Environment"] = [{**e, "Value": FILTERED} if e.get("Secure") else e for e in out.get("Environment", [])]
    return out


@_op("CreateApp")
def create_app(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    stack = get_stack(ctx.store, ctx.scope, req["StackId"])
    _check(req)
    return {"AppId": new_app(ctx, stack["StackId"], req)["AppId"]}


@_op("DescribeApps")
def describe_apps(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("AppIds") is not None:
        docs = [get_app(ctx.store, ctx.scope, aid) for aid in req["AppIds"]]
    elif req.get("StackId"):
        docs = of_stack(ctx.store, APP, ctx.scope, get_stack(ctx.store, ctx.scope, req["StackId"])["StackId"])
    else:
        raise invalid("Please provide either a StackId or AppIds")
    return {"Apps": [view(d) for d in docs]}


@_op("UpdateApp")
def update_app(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_app(ctx.store, ctx.scope, req["AppId"])
    _check(req)
    for member in _MEMBERS:
        if member in req:
            value = req[member]
            if member == "Environment":  # a filtered secure value means "keep it"
                old = {e["Key"]: e for e in doc.get("Environment") or []}
                value = [{**e, "Value": old[e["Key"]]["Value"]} if e.get("Value") == FILTERED and e["Key"] in old
                         else e for e in value]
            doc[member] = value
    ctx.store.put(APP, ctx.scope, doc["AppId"], doc)
    return {}


@_op("DeleteApp")
def delete_app(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_app(ctx.store, ctx.scope, req["AppId"])
    snapshot = dict(doc)
    online = [i for i in of_stack(ctx.store, INSTANCE, ctx.scope, doc["StackId"]) if i["Status"] in ONLINE_STATUSES]
    ctx.store.delete(APP, ctx.scope, doc["AppId"])
    undeploys = [commands.new_command(ctx.app, ctx.scope, inst, "undeploy", app_snapshot=snapshot)
                 for inst in online]
    commands.put(ctx.app, ctx.scope, undeploys)
    return {}
