"""CreateTags, DeleteTags, DescribeTags over every EC2 resource Gureum has.

Storage and rules live in :mod:`tag_store`.  CreateTags and DeleteTags
check that each resource exists first (EC2 answers ``InvalidID`` for an
id it cannot read and ``Invalid<Type>ID.NotFound`` for one it does not
have), then change all or none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.api import RequestContext
from gureum.services.ec2 import errors, filters, images, paging, tag_store, vpc
from gureum.services.ec2.names import INSTANCE, LAUNCH_TEMPLATE

_NOT_FOUND = {
    "instance": ("InvalidInstanceID.NotFound", "The instance ID '{}' does not exist"),
    "image": ("InvalidAMIID.NotFound", "The image id '[{}]' does not exist"),
    "launch-template": ("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID {}, does not exist."),
    "vpc": ("InvalidVpcID.NotFound", "The vpc ID '{}' does not exist"),
    "subnet": ("InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist"),
    "security-group": ("InvalidGroup.NotFound", "The security group '{}' does not exist"),
}


def _exists(store: Store, scope: Scope, rtype: str, rid: str) -> bool:
    if rtype == "instance":
        return store.get(INSTANCE, scope, rid) is not None
    if rtype == "image":
        return images.find(store, scope, rid) is not None
    if rtype == "launch-template":
        return store.get(LAUNCH_TEMPLATE, scope, rid) is not None
    return vpc.exists(scope, rid)


def _check_resources(store: Store, scope: Scope, ids: list[str]) -> None:
    for rid in ids:
        rtype = tag_store.resource_type(rid)
        if rtype not in _NOT_FOUND:
            raise errors.client("InvalidID", f'The ID \'{rid}\' is not valid')
        if not _exists(store, scope, rtype, rid):
            code, text = _NOT_FOUND[rtype]
            raise errors.client(code, text.format(rid))


def create_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    ids = list(req["Resources"])
    tags = tag_store.check(req["Tags"])
    with ctx.store.transaction():
        _check_resources(ctx.store, ctx.scope, ids)
        for rid in ids:
            tag_store.add(ctx.store, ctx.scope, rid, tags)
    return {}


def delete_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    ids = list(req["Resources"])
    given = req.get("Tags")
    with ctx.store.transaction():
        _check_resources(ctx.store, ctx.scope, ids)
        for rid in ids:
            tag_store.remove(ctx.store, ctx.scope, rid, None if given is None else list(given))
    return {}


Row = tuple[str, str, str, str]  # resource id, type, key, value

_FILTERS: dict[str, Callable[[Row], Iterable[str]]] = {
    "resource-id": lambda r: [r[0]],
    "resource-type": lambda r: [r[1]],
    "key": lambda r: [r[2]],
    "value": lambda r: [r[3]],
}


def describe_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    errors.check_max_results(req.get("MaxResults"), 5, 1000)
    rows = list(tag_store.all_tags(ctx.store, ctx.scope))
    getters = tag_store.TagGetters(_FILTERS, lambda r: {r[2]: r[3]})
    chosen = filters.apply(rows, req.get("Filters"), getters)
    items, token = paging.page(chosen, lambda r: f"{r[0]}\x00{r[2]}", req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {
        "Tags": [{"ResourceId": r[0], "ResourceType": r[1], "Key": r[2], "Value": r[3]} for r in items]
    }
    if token:
        out["NextToken"] = token
    return out


OPERATIONS = {"CreateTags": create_tags, "DeleteTags": delete_tags, "DescribeTags": describe_tags}
