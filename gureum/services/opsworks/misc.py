"""DescribeAgentVersions, DescribeServiceErrors, DescribeOperatingSystems,
TagResource, UntagResource, ListTags.

Service errors are what the service says about instances: a failed start
or Setup, and every auto-healing (type ``auto_healing``).  Tags go on stacks
and layers (by ARN), at most 40 per resource as on OpsWorks.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.opsworks.records import (
    AGENT_VERSION,
    INSTANCE,
    LAYER,
    SERVICE_ERROR,
    STACK,
    TAGS,
    get_instance,
    get_stack,
    invalid,
    not_found,
    public,
)

Doc = dict[str, Any]
OPERATIONS: dict[str, Any] = {}
MAX_TAGS = 40


def _op(name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS[name] = fn
        return fn

    return register


@_op("DescribeAgentVersions")
def describe_agent_versions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("StackId"):
        get_stack(ctx.store, ctx.scope, req["StackId"])
    wanted = (req.get("ConfigurationManager") or {}).get("Version")
    versions = [{"Version": AGENT_VERSION, "ConfigurationManager": {"Name": "Chef", "Version": v}}
                for v in ("12", "11.10") if not wanted or v == wanted]
    return {"AgentVersions": versions}


@_op("DescribeOperatingSystems")
def describe_operating_systems(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cms = [{"Name": "Chef", "Version": "12"}]
    return {"OperatingSystems": [
        {"Name": "Amazon Linux 2", "Id": "Amazon Linux 2", "Type": "Linux", "ConfigurationManagers": cms,
         "ReportedName": "Gureum busybox", "ReportedVersion": "2", "Supported": True},
        {"Name": "Custom", "Id": "Custom", "Type": "Linux", "ConfigurationManagers": cms,
         "ReportedName": "AMI", "ReportedVersion": "", "Supported": True},
    ]}


@_op("DescribeServiceErrors")
def describe_service_errors(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    docs = [d for _, d in ctx.store.list(SERVICE_ERROR, ctx.scope)]
    if req.get("ServiceErrorIds") is not None:
        found = {d["ServiceErrorId"]: d for d in docs}
        for eid in req["ServiceErrorIds"]:
            if eid not in found:
                raise not_found("service error", eid)
        docs = [found[eid] for eid in req["ServiceErrorIds"]]
    elif req.get("InstanceId"):
        docs = [d for d in docs if d["InstanceId"] == get_instance(ctx.store, ctx.scope, req["InstanceId"])["InstanceId"]]
    elif req.get("StackId"):
        docs = [d for d in docs if d["StackId"] == get_stack(ctx.store, ctx.scope, req["StackId"])["StackId"]]
    docs.sort(key=lambda d: d.get("_created", 0.0), reverse=True)
    return {"ServiceErrors": [public(d) for d in docs]}


def _resource(ctx: RequestContext, arn: str) -> None:
    """Stacks and layers can be tagged; anything else is not found."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "opsworks":
        kind, _, ident = parts[5].partition("/")
        ident = ident.rstrip("/")
        store_kind = {"stack": STACK, "layer": LAYER, "instance": INSTANCE}.get(kind)
        if store_kind in (STACK, LAYER) and ctx.store.get(store_kind, ctx.scope, ident) is not None:
            return
    raise not_found("resource", arn)


@_op("TagResource")
def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    arn = req["ResourceArn"]
    _resource(ctx, arn)
    doc = ctx.store.get(TAGS, ctx.scope, arn) or {"Tags": {}}
    tags = {**doc["Tags"], **req["Tags"]}
    if len(tags) > MAX_TAGS:
        raise invalid(f"A resource can have at most {MAX_TAGS} tags")
    for key in req["Tags"]:
        if key.lower().startswith("aws:"):
            raise invalid("Tag keys may not start with aws:")
    ctx.store.put(TAGS, ctx.scope, arn, {"Tags": tags})
    return {}


@_op("UntagResource")
def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    arn = req["ResourceArn"]
    _resource(ctx, arn)
    doc = ctx.store.get(TAGS, ctx.scope, arn) or {"Tags": {}}
    for key in req["TagKeys"]:
        doc["Tags"].pop(key, None)
    ctx.store.put(TAGS, ctx.scope, arn, doc)
    return {}


@_op("ListTags")
def list_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    arn = req["ResourceArn"]
    _resource(ctx, arn)
    tags = (ctx.store.get(TAGS, ctx.scope, arn) or {"Tags": {}})["Tags"]
    return {"Tags": tags}
