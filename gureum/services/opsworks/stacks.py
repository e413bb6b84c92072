"""CreateStack, DescribeStacks, UpdateStack, DeleteStack, CloneStack,
DescribeStackSummary, StartStack, StopStack, DescribeStackProvisioningParameters.

A stack lives in the scope of the request; its ``Region`` is where its EC2
instances (and the load balancers of its layers) are.  Custom cookbooks are
used only with ``UseCustomCookbooks`` true, as on OpsWorks; source passwords
and SSH keys are shown as ``*****FILTERED*****``.  A stack can be deleted
once it has no instances, layers or apps.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.opsworks import instances, layers
from gureum.services.opsworks.lifecycle import Event, Status
from gureum.services.opsworks.records import (
    APP,
    DEPLOYMENT,
    INSTANCE,
    LAYER,
    SERVICE_ERROR,
    STACK,
    TAGS,
    check_json,
    get_stack,
    invalid,
    iso,
    new_id,
    of_stack,
    public,
    stack_arn,
)

Doc = dict[str, Any]
OPERATIONS: dict[str, Any] = {}
FILTERED = "*****FILTERED*****"
# Members CreateStack/UpdateStack/CloneStack take as they are.
_MEMBERS = ("Name", "Region", "VpcId", "Attributes", "ServiceRoleArn", "DefaultInstanceProfileArn", "DefaultOs",
            "HostnameTheme", "DefaultAvailabilityZone", "DefaultSubnetId", "CustomJson", "ConfigurationManager",
            "ChefConfiguration", "UseCustomCookbooks", "UseOpsworksSecurityGroups", "CustomCookbooksSource",
            "DefaultSshKeyName", "DefaultRootDeviceType", "AgentVersion")
_DEFAULTS: Doc = {
    "Attributes": {"Color": None}, "DefaultOs": "Amazon Linux 2", "HostnameTheme": "Layer_Dependent",
    "ConfigurationManager": {"Name": "Chef", "Version": "12"}, "ChefConfiguration": {"ManageBerkshelf": False},
    "UseCustomCookbooks": False, "UseOpsworksSecurityGroups": True, "DefaultRootDeviceType": "ebs",
    "AgentVersion": "LATEST",
}
_COUNTS = {s.value: "".join(p.capitalize() for p in s.value.split("_")) for s in Status}


def _op(name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS[name] = fn
        return fn

    return register


def _check(req: dict[str, Any]) -> None:
    check_json(req.get("CustomJson"), "CustomJson")
    source = req.get("CustomCookbooksSource")
    if source and source.get("Type") not in (None, "s3", "archive", "git", "svn"):
        raise invalid(f"Unsupported custom cookbooks source type {source.get('Type')}")
    if "Name" in req and not (req["Name"] or "").strip():
        raise invalid("Name must not be empty")


def new_stack(ctx: RequestContext, values: dict[str, Any]) -> Doc:
    sid, now = new_id(), ctx.clock.now()
    doc: Doc = {**_DEFAULTS, **{k: values[k] for k in _MEMBERS if values.get(k) is not None}}
    doc.update(StackId=sid, Arn=stack_arn(ctx.scope, sid), CreatedAt=iso(now), _created=now)
    doc.setdefault("DefaultAvailabilityZone", f"{doc['Region']}a")
    ctx.store.put(STACK, ctx.scope, sid, doc)
    return doc


def view(doc: Doc) -> Doc:
    out = {k: v for k, v in public(doc).items() if v is not None}
    source = out.get("CustomCookbooksSource")
    if source:
        out["CustomCookbooksSource"] = {k: (FILTERED if k in ("Password", "SshKey") and v else v)
                                        for k, v in source.items()}
    return out


@_op("CreateStack")
def create_stack(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _check(req)
    return {"StackId": new_stack(ctx, req)["StackId"]}


@_op("DescribeStacks")
def describe_stacks(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ids = req.get("StackIds")
    if ids is not None:
        docs = [get_stack(ctx.store, ctx.scope, sid) for sid in ids]
    else:
        docs = sorted((d for _, d in ctx.store.list(STACK, ctx.scope)), key=lambda d: d.get("_created", 0.0))
    return {"Stacks": [view(d) for d in docs]}


@_op("UpdateStack")
def update_stack(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_stack(ctx.store, ctx.scope, req["StackId"])
    _check(req)
    for member in _MEMBERS:
        if member in req and member != "Region":
            value = req[member]
            if member == "CustomCookbooksSource" and value:
                old = doc.get(member) or {}
                value = {k: (old.get(k) if v == FILTERED else v) for k, v in value.items()}
            doc[member] = value
    ctx.store.put(STACK, ctx.scope, doc["StackId"], doc)
    return {}


@_op("DeleteStack")
def delete_stack(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_stack(ctx.store, ctx.scope, req["StackId"])
    sid = doc["StackId"]
    for kind, what in ((INSTANCE, "instances"), (LAYER, "layers"), (APP, "apps")):
        if of_stack(ctx.store, kind, ctx.scope, sid):
            raise invalid(f"Cannot delete stack {sid}: it still has {what}; delete its instances, layers "
                          "and apps first")
    with ctx.store.transaction():
        for kind in (DEPLOYMENT, SERVICE_ERROR):
            for d in of_stack(ctx.store, kind, ctx.scope, sid):
                key = str(d.get("DeploymentId") or d.get("ServiceErrorId"))
                ctx.store.delete(kind, ctx.scope, key)
        ctx.store.delete(TAGS, ctx.scope, doc["Arn"])
        ctx.store.delete(STACK, ctx.scope, sid)
    return {}


@_op("CloneStack")
def clone_stack(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    source = get_stack(ctx.store, ctx.scope, req["SourceStackId"])
    _check(req)
    values = {k: source.get(k) for k in _MEMBERS}
    values.update({k: req[k] for k in _MEMBERS if req.get(k) is not None})
    if "Name" not in req:
        values["Name"] = f"Clone of {source['Name']}"
    clone = new_stack(ctx, values)
    for layer in of_stack(ctx.store, LAYER, ctx.scope, source["StackId"]):
        layers.copy_layer(ctx, layer, clone["StackId"])
    from gureum.services.opsworks.apps import copy_app

    wanted = set(req.get("CloneAppIds") or [])
    for app_doc in of_stack(ctx.store, APP, ctx.scope, source["StackId"]):
        if app_doc["AppId"] in wanted:
            copy_app(ctx, app_doc, clone["StackId"])
    return {"StackId": clone["StackId"]}


@_op("DescribeStackSummary")
def describe_stack_summary(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_stack(ctx.store, ctx.scope, req["StackId"])
    sid = doc["StackId"]
    counts: dict[str, int] = {}
    for inst in of_stack(ctx.store, INSTANCE, ctx.scope, sid):
        name = _COUNTS.get(inst["Status"])
        if name:
            counts[name] = counts.get(name, 0) + 1
    return {"StackSummary": {
        "StackId": sid, "Name": doc["Name"], "Arn": doc["Arn"],
        "LayersCount": len(of_stack(ctx.store, LAYER, ctx.scope, sid)),
        "AppsCount": len(of_stack(ctx.store, APP, ctx.scope, sid)),
        "InstancesCount": counts,
    }}


@_op("StartStack")
def start_stack(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    """Starts the stack's 24/7 instances (load- and time-based ones are the scaler's)."""
    doc = get_stack(ctx.store, ctx.scope, req["StackId"])
    for inst in of_stack(ctx.store, INSTANCE, ctx.scope, doc["StackId"]):
        if not inst.get("AutoScalingType") and inst["Status"] in ("stopped", "start_failed", "setup_failed"):
            instances.change_status(ctx.app, ctx.scope, inst, Event.START, "StartStack")
    return {}


@_op("StopStack")
def stop_stack(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_stack(ctx.store, ctx.scope, req["StackId"])
    for inst in of_stack(ctx.store, INSTANCE, ctx.scope, doc["StackId"]):
        if inst["Status"] not in ("stopped", "stopping", "terminating", "terminated"):
            instances.change_status(ctx.app, ctx.scope, inst, Event.STOP, "StopStack")
    return {}


@_op("DescribeStackProvisioningParameters")
def describe_stack_provisioning_parameters(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_stack(ctx.store, ctx.scope, req["StackId"])
    return {"AgentInstallerUrl": "", "Parameters": {
        "assets_download_bucket": "", "charlie_public_key": "", "instance_service_endpoint": "",
        "instance_service_port": "", "instance_service_region": doc["Region"], "instance_service_ssl_verify_peer": "",
        "instance_service_use_ssl": "false", "stack_id": doc["StackId"]}}
