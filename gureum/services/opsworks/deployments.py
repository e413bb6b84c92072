"""CreateDeployment, DescribeDeployments, DescribeCommands.

A deployment is one command run on a set of instances: those named by
``InstanceIds``, else the online instances of ``LayerIds``, else every
online instance of the stack.  Each instance gets its own command (queued
behind what it runs already); a named instance that is not online gets a
``skipped`` one.  App commands (deploy, rollback, undeploy, start, stop,
restart) need ``AppId``; ``execute_recipes`` needs ``Args.recipes``.  The
deployment's Status, CompletedAt and Duration are computed from its
commands (deployment_status.py).

``DescribeCommands`` gives each finished command's ``LogUrl``: Gureum serves
the log itself under ``/_gureum/opsworks/logs/…`` on the address the client
used.
"""

from __future__ import annotations

from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.api import RequestContext
from gureum.services.opsworks import commands, deployment_status, events
from gureum.services.opsworks.lifecycle import ONLINE_STATUSES
from gureum.services.opsworks.records import (
    COMMAND,
    COMMAND_LOG,
    DEPLOYMENT,
    INSTANCE,
    check_json,
    get_app,
    get_instance,
    get_layer,
    get_stack,
    invalid,
    iso,
    new_id,
    not_found,
    of_stack,
)

Doc = dict[str, Any]
OPERATIONS: dict[str, Any] = {}


def _op(name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS[name] = fn
        return fn

    return register


def _targets(ctx: RequestContext, stack_id: str, req: dict[str, Any]) -> list[Doc]:
    if req.get("InstanceIds"):
        docs = [get_instance(ctx.store, ctx.scope, iid) for iid in req["InstanceIds"]]
        for d in docs:
            if d["StackId"] != stack_id:
                raise invalid(f"Instance {d['InstanceId']} does not belong to stack {stack_id}")
        return docs
    online = [d for d in of_stack(ctx.store, INSTANCE, ctx.scope, stack_id) if d["Status"] in ONLINE_STATUSES]
    if req.get("LayerIds"):
        wanted = {get_layer(ctx.store, ctx.scope, lid)["LayerId"] for lid in req["LayerIds"]}
        online = [d for d in online if wanted & set(d.get("LayerIds") or [])]
    return online


def _check_command(command: dict[str, Any], app_id: str | None) -> None:
    name = command["Name"]
    if name in events.APP_COMMANDS and not app_id:
        raise invalid(f"AppId is required for the {name} command")
    if name == "execute_recipes" and not (command.get("Args") or {}).get("recipes"):
        raise invalid("The execute_recipes command needs Args {\"recipes\": [\"cookbook::recipe\", ...]}")


@_op("CreateDeployment")
def create_deployment(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    stack = get_stack(ctx.store, ctx.scope, req["StackId"])
    check_json(req.get("CustomJson"), "CustomJson")
    command = req["Command"]
    app_doc = get_app(ctx.store, ctx.scope, req["AppId"]) if req.get("AppId") else None
    if app_doc is not None and app_doc["StackId"] != stack["StackId"]:
        raise invalid(f"App {app_doc['AppId']} does not belong to stack {stack['StackId']}")
    _check_command(command, req.get("AppId"))
    targets = _targets(ctx, stack["StackId"], req)
    if not targets:
        raise invalid(f"There are no online instances in stack {stack['StackId']} to run {command['Name']} on")
    did, now = new_id(), ctx.clock.now()
    ctype = command["Name"]
    docs = []
    for inst in targets:
        cmd = commands.new_command(ctx.app, ctx.scope, inst, ctype, deployment_id=did, app_snapshot=app_doc,
                                   args=command.get("Args"), custom_json=req.get("CustomJson"))
        if inst["Status"] not in ONLINE_STATUSES:
            cmd.update(Status="skipped", CompletedAt=iso(now), _completed=now)
        docs.append(cmd)
    ctx.store.put(DEPLOYMENT, ctx.scope, did, {
        "DeploymentId": did, "StackId": stack["StackId"], "AppId": req.get("AppId"), "CreatedAt": iso(now),
        "IamUserArn": f"arn:aws:iam::{ctx.account}:root", "Comment": req.get("Comment"), "Command": command,
        "CustomJson": req.get("CustomJson"), "InstanceIds": [d["InstanceId"] for d in targets], "_created": now})
    commands.put(ctx.app, ctx.scope, docs)
    return {"DeploymentId": did}


def deployment_view(store: Store, scope: Scope, doc: Doc) -> Doc:
    cmds = [d for _, d in store.list(COMMAND, scope) if d.get("DeploymentId") == doc["DeploymentId"]]
    views = [deployment_status.CommandView(c["Status"], c["_created"], c.get("_completed")) for c in cmds]
    agg = deployment_status.aggregate(views, doc["_created"])
    out = {k: v for k, v in doc.items() if not k.startswith("_") and v is not None}
    out["Status"] = agg.status
    if agg.completed_at is not None:
        out["CompletedAt"] = iso(agg.completed_at)
        out["Duration"] = deployment_status.duration(doc["_created"], agg.completed_at)
    return out


@_op("DescribeDeployments")
def describe_deployments(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("DeploymentIds") is not None:
        docs = []
        for did in req["DeploymentIds"]:
            doc = ctx.store.get(DEPLOYMENT, ctx.scope, did)
            if doc is None:
                raise not_found("deployment", did)
            docs.append(doc)
    elif req.get("AppId"):
        app_doc = get_app(ctx.store, ctx.scope, req["AppId"])
        docs = [d for d in of_stack(ctx.store, DEPLOYMENT, ctx.scope, app_doc["StackId"])
                if d.get("AppId") == app_doc["AppId"]]
    elif req.get("StackId"):
        docs = of_stack(ctx.store, DEPLOYMENT, ctx.scope, get_stack(ctx.store, ctx.scope, req["StackId"])["StackId"])
    else:
        raise invalid("Please provide a StackId, an AppId or DeploymentIds")
    docs = sorted(docs, key=lambda d: d["_created"], reverse=True)  # newest first, as OpsWorks lists them
    return {"Deployments": [deployment_view(ctx.store, ctx.scope, d) for d in docs]}


def _base_url(ctx: RequestContext) -> str:
    host = ctx.request.headers.get("host") if ctx.request is not None else None
    return f"http://{host}" if host else ctx.app.settings.endpoint


@_op("DescribeCommands")
def describe_commands(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("CommandIds") is not None:
        docs = []
        for cid in req["CommandIds"]:
            doc = ctx.store.get(COMMAND, ctx.scope, cid)
            if doc is None:
                raise not_found("command", cid)
            docs.append(doc)
    elif req.get("DeploymentId"):
        if ctx.store.get(DEPLOYMENT, ctx.scope, req["DeploymentId"]) is None:
            raise not_found("deployment", req["DeploymentId"])
        docs = [d for _, d in ctx.store.list(COMMAND, ctx.scope) if d.get("DeploymentId") == req["DeploymentId"]]
    elif req.get("InstanceId"):
        docs = commands.of_instance(ctx.store, ctx.scope, get_instance(ctx.store, ctx.scope, req["InstanceId"])["InstanceId"])
    else:
        raise invalid("Please provide a DeploymentId, an InstanceId or CommandIds")
    docs = sorted(docs, key=lambda d: d["_order"])
    base = _base_url(ctx)
    return {"Commands": [commands.view(d, ctx.scope, base, ctx.store.get(COMMAND_LOG, ctx.scope, d["CommandId"]) is not None)
                         for d in docs]}
