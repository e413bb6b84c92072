"""Group tags and scaling activities: CreateOrUpdateTags, DeleteTags,
DescribeTags, DescribeScalingActivities.

Tags live on the group document (``Tags``); those with
``PropagateAtLaunch`` go onto every instance the group launches from then on.
Activities are read from :mod:`activities`' records, newest first.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.autoscaling import activities, names, records, validation

Doc = dict[str, Any]
MAX_TAGS = 50
_FILTERS: dict[str, Any] = {
    "auto-scaling-group": lambda t: t["ResourceId"],
    "key": lambda t: t["Key"],
    "value": lambda t: t["Value"],
    "propagate-at-launch": lambda t: str(t["PropagateAtLaunch"]).lower(),
}


def _by_group(req_tags: list[Doc]) -> dict[str, list[Doc]]:
    out: dict[str, list[Doc]] = {}
    for t in req_tags:
        if t.get("ResourceType", "auto-scaling-group") != "auto-scaling-group":
            raise names.invalid(f"Invalid resource type {t.get('ResourceType')}: only auto-scaling-group is valid.")
        if not t.get("ResourceId"):
            raise names.invalid("ResourceId is required for a tag.")
        out.setdefault(t["ResourceId"], []).append(t)
    return out


def create_or_update_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    for group, tags in _by_group(list(req["Tags"])).items():
        doc = records.require_group(ctx.store, ctx.scope, group)
        have = {t["Key"]: t for t in doc.get("Tags") or []}
        have.update({t["Key"]: t for t in validation.check_tags(group, tags)})
        if len(have) > MAX_TAGS:
            raise names.limit_exceeded(f"The number of tags can not exceed {MAX_TAGS} for a group.")
        doc["Tags"] = list(have.values())
        records.save_group(ctx.store, ctx.scope, doc)
    return {}


def delete_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    for group, tags in _by_group(list(req["Tags"])).items():
        doc = records.require_group(ctx.store, ctx.scope, group)
        gone = {t["Key"] for t in tags}
        doc["Tags"] = [t for t in doc.get("Tags") or [] if t["Key"] not in gone]
        records.save_group(ctx.store, ctx.scope, doc)
    return {}


def describe_tags(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    tags = [t for g in records.all_groups(ctx.store, ctx.scope) for t in g.get("Tags") or []]
    for f in req.get("Filters") or []:
        getter = _FILTERS.get(f.get("Name", ""))
        if getter is None:
            raise names.invalid(f"Filter type {f.get('Name')} is not correct. Allowed Filter types are: "
                                f"{' '.join(_FILTERS)}")
        values = set(f.get("Values") or [])
        tags = [t for t in tags if getter(t) in values]
    items, token = names.page(tags, lambda t: f"{t['ResourceId']}\x00{t['Key']}", req.get("MaxRecords"),
                              req.get("NextToken"))
    out: dict[str, Any] = {"Tags": items}
    if token:
        out["NextToken"] = token
    return out


def describe_scaling_activities(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = req.get("AutoScalingGroupName")
    docs = activities.listing(ctx.store, ctx.scope, group)
    wanted = set(req.get("ActivityIds") or [])
    if wanted:
        docs = [d for d in docs if d["ActivityId"] in wanted]
    if not req.get("IncludeDeletedGroups") and not group:
        alive = {g["AutoScalingGroupName"] for g in records.all_groups(ctx.store, ctx.scope)}
        docs = [d for d in docs if d["AutoScalingGroupName"] in alive]
    items, token = names.page(docs, lambda d: d["ActivityId"], req.get("MaxRecords"), req.get("NextToken"),
                              default=100, limit=100)
    out: dict[str, Any] = {"Activities": items}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS = {
    "CreateOrUpdateTags": create_or_update_tags,
    "DeleteTags": delete_tags,
    "DescribeTags": describe_tags,
    "DescribeScalingActivities": describe_scaling_activities,
}
