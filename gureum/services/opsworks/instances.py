"""CreateInstance, DescribeInstances, UpdateInstance, DeleteInstance,
StartInstance, StopInstance, RebootInstance, GetHostnameSuggestion.

Handlers record intent only: Start/Stop/Reboot/Delete move the status by
the lifecycle table (``requested``, ``stopping``, ``rebooting``,
``terminating``), bump ``_gen`` and wake the instance controller, which does
the rest.  A new instance is ``stopped`` and has no EC2 instance until its
first start (as on OpsWorks); its hostname follows the stack's
``Layer_Dependent`` theme: the first layer's shortname and a number.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gureum.services.api import RequestContext
from gureum.services.opsworks import controller
from gureum.services.opsworks.lifecycle import Event, Refused, Status, api_transition
from gureum.services.opsworks.records import (
    INSTANCE,
    get_instance,
    get_layer,
    get_stack,
    instance_arn,
    invalid,
    iso,
    new_id,
    of_stack,
    public,
)

if TYPE_CHECKING:
    from gureum.app import App
    from gureum.core.store import Scope

Doc = dict[str, Any]
OPERATIONS: dict[str, Any] = {}
_HOSTNAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,62}$")


def _op(name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS[name] = fn
        return fn

    return register


def change_status(app: App, scope: Scope, doc: Doc, event: Event, reason: str) -> bool:
    """Apply an API event to an instance (ValidationException when refused); True if it changed."""
    before = Status(doc["Status"])
    try:
        to = api_transition(before, event)
    except Refused:
        raise invalid(f"Instance {doc['InstanceId']} cannot be {_VERBS[event]} while it is {before.value}") from None
    if to is None:
        return False
    doc["Status"] = to.value
    doc["_gen"] = int(doc.get("_gen", 0)) + 1
    if event in (Event.STOP, Event.DELETE):
        doc["_healing"] = False
    controller.enter(app, scope, doc, reason)
    app.store.put(INSTANCE, scope, doc["InstanceId"], doc)
    controller.after_change(app, scope, doc, before.value)
    return True


_VERBS = {Event.START: "started", Event.STOP: "stopped", Event.REBOOT: "rebooted", Event.DELETE: "deleted"}


def suggest_hostname(app: App, scope: Scope, stack_id: str, layer: Doc) -> str:
    taken = {d.get("Hostname") for d in of_stack(app.store, INSTANCE, scope, stack_id)}
    n = 1
    while f"{layer['Shortname']}{n}" in taken:
        n += 1
    return f"{layer['Shortname']}{n}"


def view(doc: Doc) -> Doc:
    out = public(doc)
    return {k: v for k, v in out.items() if v is not None}


@_op("CreateInstance")
def create_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    stack = get_stack(ctx.store, ctx.scope, req["StackId"])
    if not req["LayerIds"]:
        raise invalid("LayerIds must name at least one layer")
    layers = [get_layer(ctx.store, ctx.scope, lid) for lid in req["LayerIds"]]
    for layer in layers:
        if layer["StackId"] != stack["StackId"]:
            raise invalid(f"Layer {layer['LayerId']} does not belong to stack {stack['StackId']}")
    hostname = req.get("Hostname") or suggest_hostname(ctx.app, ctx.scope, stack["StackId"], layers[0])
    if not _HOSTNAME_RE.match(hostname):
        raise invalid(f"Hostname {hostname!r} is not valid: letters, digits and hyphens, starting with a letter")
    if any(d.get("Hostname") == hostname for d in of_stack(ctx.store, INSTANCE, ctx.scope, stack["StackId"])):
        raise invalid(f"Hostname {hostname} is already in use in stack {stack['StackId']}")
    iid, now = new_id(), ctx.clock.now()
    os_name = req.get("Os") or stack.get("DefaultOs") or "Amazon Linux 2"
    if req.get("AmiId"):
        os_name = "Custom"
    doc = {
        "InstanceId": iid, "Arn": instance_arn(ctx.scope, iid), "StackId": stack["StackId"],
        "LayerIds": list(req["LayerIds"]), "InstanceType": req["InstanceType"],
        "AutoScalingType": req.get("AutoScalingType"), "Hostname": hostname, "Os": os_name,
        "AmiId": req.get("AmiId"), "SshKeyName": req.get("SshKeyName") or stack.get("DefaultSshKeyName"),
        "AvailabilityZone": req.get("AvailabilityZone") or stack.get("DefaultAvailabilityZone"),
        "VirtualizationType": req.get("VirtualizationType") or "hvm", "SubnetId": req.get("SubnetId"),
        "Architecture": req.get("Architecture") or "x86_64",
        "RootDeviceType": req.get("RootDeviceType") or stack.get("DefaultRootDeviceType") or "ebs",
        "BlockDeviceMappings": req.get("BlockDeviceMappings") or [],
        "InstallUpdatesOnBoot": req.get("InstallUpdatesOnBoot", True), "EbsOptimized": bool(req.get("EbsOptimized")),
        "AgentVersion": req.get("AgentVersion") or "INHERIT", "Tenancy": req.get("Tenancy") or "default",
        "InfrastructureClass": "ec2", "Platform": "linux", "SecurityGroupIds": [],
        "Status": Status.STOPPED.value, "CreatedAt": iso(now), "_created": now, "_statusAt": now, "_gen": 0,
    }
    ctx.store.put(INSTANCE, ctx.scope, iid, doc)
    return {"InstanceId": iid}


@_op("DescribeInstances")
def describe_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    stack_id, layer_id, ids = req.get("StackId"), req.get("LayerId"), req.get("InstanceIds")
    if sum(x is not None for x in (stack_id, layer_id, ids)) != 1:
        raise invalid("Please provide exactly one of StackId, LayerId or InstanceIds")
    if ids is not None:
        docs = [get_instance(ctx.store, ctx.scope, i) for i in ids]
    elif stack_id is not None:
        docs = of_stack(ctx.store, INSTANCE, ctx.scope, get_stack(ctx.store, ctx.scope, stack_id)["StackId"])
    else:
        layer = get_layer(ctx.store, ctx.scope, layer_id)
        docs = [d for d in of_stack(ctx.store, INSTANCE, ctx.scope, layer["StackId"])
                if layer["LayerId"] in d.get("LayerIds", [])]
    return {"Instances": [view(d) for d in docs]}


@_op("StartInstance")
def start_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_instance(ctx.store, ctx.scope, req["InstanceId"])
    change_status(ctx.app, ctx.scope, doc, Event.START, "StartInstance")
    return {}


@_op("StopInstance")
def stop_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_instance(ctx.store, ctx.scope, req["InstanceId"])
    change_status(ctx.app, ctx.scope, doc, Event.STOP, "StopInstance")
    return {}


@_op("RebootInstance")
def reboot_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_instance(ctx.store, ctx.scope, req["InstanceId"])
    change_status(ctx.app, ctx.scope, doc, Event.REBOOT, "RebootInstance")
    return {}


@_op("DeleteInstance")
def delete_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_instance(ctx.store, ctx.scope, req["InstanceId"])
    if doc["Status"] != Status.STOPPED.value:
        raise invalid(f"Instance {doc['InstanceId']} must be stopped before it can be deleted (it is {doc['Status']})")
    if not doc.get("Ec2InstanceId"):
        controller.forget(ctx.app, ctx.scope, doc)  # never started: nothing to terminate
        return {}
    change_status(ctx.app, ctx.scope, doc, Event.DELETE, "DeleteInstance")
    return {}


@_op("UpdateInstance")
def update_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_instance(ctx.store, ctx.scope, req["InstanceId"])
    stopped = doc["Status"] == Status.STOPPED.value
    if "LayerIds" in req:
        if not req["LayerIds"]:
            raise invalid("LayerIds must name at least one layer")
        for lid in req["LayerIds"]:
            if get_layer(ctx.store, ctx.scope, lid)["StackId"] != doc["StackId"]:
                raise invalid(f"Layer {lid} does not belong to stack {doc['StackId']}")
    for member in ("InstanceType", "AmiId", "Os", "Architecture"):
        if member in req and req[member] != doc.get(member) and not stopped:
            raise invalid(f"{member} can only be changed while the instance is stopped")
    if "Hostname" in req and not _HOSTNAME_RE.match(req["Hostname"]):
        raise invalid(f"Hostname {req['Hostname']!r} is not valid")
    for member in ("LayerIds", "InstanceType", "AutoScalingType", "Hostname", "Os", "AmiId", "SshKeyName",
                   "Architecture", "InstallUpdatesOnBoot", "EbsOptimized", "AgentVersion"):
        if member in req:
            doc[member] = req[member]
    doc["_gen"] = int(doc.get("_gen", 0)) + 1
    ctx.store.put(INSTANCE, ctx.scope, doc["InstanceId"], doc)
    return {}


@_op("GetHostnameSuggestion")
def get_hostname_suggestion(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    layer = get_layer(ctx.store, ctx.scope, req["LayerId"])
    return {"LayerId": layer["LayerId"], "Hostname": suggest_hostname(ctx.app, ctx.scope, layer["StackId"], layer)}
