"""Applications (CreateApplication, GetApplication, UpdateApplication,
ListApplications, BatchGetApplications, DeleteApplication) and resource tags
(TagResource, UntagResource, ListTagsForResource on applications and
deployment groups).

An application is a name and a compute platform (Server, ECS or Lambda;
Server when not given).  Deleting it deletes its deployment groups; its
deployments stay readable, as on AWS.
"""

from __future__ import annotations

import uuid
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.codedeploy.records import (
    APPLICATION,
    GROUP,
    SEP,
    Doc,
    err,
    group_key,
    page,
    public,
    require_application,
    tags_list,
)

MAX_BATCH = 100


def _tags(raw: list[dict[str, Any]] | None) -> dict[str, str]:
    out = {}
    for t in raw or []:
        if not t.get("Key"):
            raise err("InvalidTagsToAddException", "Tag keys must not be empty.")
        out[str(t["Key"])] = str(t.get("Value") or "")
    return out


def create_application(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["applicationName"]
    if ctx.store.get(APPLICATION, ctx.scope, name) is not None:
        raise err("ApplicationAlreadyExistsException", f"{name} already exists in your account")
    doc: Doc = {
        "applicationId": str(uuid.uuid4()),
        "applicationName": name,
        "createTime": ctx.clock.now(),
        "linkedToGitHub": False,
        "computePlatform": req.get("computePlatform") or "Server",
        "_tags": _tags(req.get("tags")),
    }
    ctx.store.put(APPLICATION, ctx.scope, name, doc)
    return {"applicationId": doc["applicationId"]}


def get_application(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"application": public(require_application(ctx.store, ctx.scope, req.get("applicationName")))}


def update_application(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    old = req.get("applicationName")
    new = req.get("newApplicationName")
    doc = require_application(ctx.store, ctx.scope, old)
    if not new or new == old:
        return {}
    if ctx.store.get(APPLICATION, ctx.scope, new) is not None:
        raise err("ApplicationAlreadyExistsException", f"{new} already exists in your account")
    with ctx.store.transaction():
        doc["applicationName"] = new
        ctx.store.put(APPLICATION, ctx.scope, new, doc)
        ctx.store.delete(APPLICATION, ctx.scope, str(old))
        for key, group in ctx.store.list(GROUP, ctx.scope, prefix=f"{old}{SEP}"):
            group["applicationName"] = new
            ctx.store.put(GROUP, ctx.scope, group_key(new, group["deploymentGroupName"]), group)
            ctx.store.delete(GROUP, ctx.scope, key)
    return {}


def list_applications(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    names = [k for k, _ in ctx.store.list(APPLICATION, ctx.scope)]
    chunk, nxt = page(names, req.get("nextToken"))
    out: dict[str, Any] = {"applications": chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


def batch_get_applications(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    names = list(dict.fromkeys(req["applicationNames"]))
    if len(names) > MAX_BATCH:
        raise err("BatchLimitExceededException", f"The maximum number of names or IDs allowed for this request ({MAX_BATCH}) was exceeded.")
    return {"applicationsInfo": [public(require_application(ctx.store, ctx.scope, n)) for n in names]}


def delete_application(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["applicationName"]
    with ctx.store.transaction():
        for key, _ in ctx.store.list(GROUP, ctx.scope, prefix=f"{name}{SEP}"):
            ctx.store.delete(GROUP, ctx.scope, key)
        ctx.store.delete(APPLICATION, ctx.scope, name)
    return {}


# -- tags ----------------------------------------------------------------------------------------


def _tagged(ctx: RequestContext, resource_arn: str) -> tuple[str, str, Doc]:
    prefix = f"arn:aws:codedeploy:{ctx.scope.region}:{ctx.scope.account}:"
    if not resource_arn.startswith(prefix):
        raise err("InvalidArnException", f"The specified ARN is not in a valid format: {resource_arn}")
    resource = resource_arn[len(prefix):]
    kind, _, name = resource.partition(":")
    if kind == "application":
        doc = ctx.store.get(APPLICATION, ctx.scope, name)
        if doc is None:
            raise err("ApplicationDoesNotExistException", f"No application found for name: {name}")
        return APPLICATION, name, doc
    if kind == "deploymentgroup" and "/" in name:
        app, _, group = name.partition("/")
        doc = ctx.store.get(GROUP, ctx.scope, group_key(app, group))
        if doc is None:
            raise err("DeploymentGroupDoesNotExistException", f"No Deployment Group found for name: {group}")
        return GROUP, group_key(app, group), doc
    raise err("ArnNotSupportedException", f"Tags are supported on applications and deployment groups, not on {resource_arn}")


def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    kind, key, doc = _tagged(ctx, req["ResourceArn"])
    doc.setdefault("_tags", {}).update(_tags(req.get("Tags")))
    ctx.store.put(kind, ctx.scope, key, doc)
    return {}


def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    kind, key, doc = _tagged(ctx, req["ResourceArn"])
    for k in req.get("TagKeys") or []:
        doc.setdefault("_tags", {}).pop(k, None)
    ctx.store.put(kind, ctx.scope, key, doc)
    return {}


def list_tags_for_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, _, doc = _tagged(ctx, req["ResourceArn"])
    return {"Tags": tags_list(doc.get("_tags") or {})}


OPERATIONS = {
    "CreateApplication": create_application,
    "GetApplication": get_application,
    "UpdateApplication": update_application,
    "ListApplications": list_applications,
    "BatchGetApplications": batch_get_applications,
    "DeleteApplication": delete_application,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
