"""Which EC2 instances a Server deployment group deploys to.  Pure.

* ``ec2TagFilters`` — an instance matches if *any* filter matches it;
* ``ec2TagSet`` — it must match at least one filter of *every* list;
* ``autoScalingGroups`` — instances tagged ``aws:autoscaling:groupName``
  with one of the names (EC2 Auto Scaling tags its instances so).

A filter is ``KEY_ONLY`` (the key is present), ``VALUE_ONLY`` (some tag has
the value) or ``KEY_AND_VALUE``; without a Type, the members given decide.
Only running instances are deployed to, oldest launch first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ASG_TAG = "aws:autoscaling:groupName"


def filter_matches(tags: Mapping[str, str], f: Mapping[str, Any]) -> bool:
    key, value = f.get("Key"), f.get("Value")
    kind = f.get("Type") or ("KEY_AND_VALUE" if key and value else "KEY_ONLY" if key else "VALUE_ONLY")
    if kind == "KEY_ONLY":
        return bool(key) and key in tags
    if kind == "VALUE_ONLY":
        return value is not None and value in tags.values()
    return bool(key) and tags.get(str(key)) == value


def group_matches(tags: Mapping[str, str], group: Mapping[str, Any]) -> bool:
    filters = group.get("ec2TagFilters") or []
    tag_set = (group.get("ec2TagSet") or {}).get("ec2TagSetList") or []
    asgs = {g["name"] if isinstance(g, dict) else str(g) for g in group.get("autoScalingGroups") or []}
    if filters and any(filter_matches(tags, f) for f in filters):
        return True
    if tag_set and all(any(filter_matches(tags, f) for f in lst) for lst in tag_set):
        return True
    return bool(asgs) and tags.get(ASG_TAG) in asgs


def select_instances(instances: Sequence[Mapping[str, Any]], group: Mapping[str, Any]) -> list[str]:
    """Ids of the running ``instances`` (DescribeInstances dicts) the group covers, oldest first."""
    chosen = []
    for inst in instances:
        if (inst.get("State") or {}).get("Name") != "running":
            continue
        tags = {t["Key"]: t.get("Value", "") for t in inst.get("Tags") or []}
        if group_matches(tags, group):
            chosen.append(inst)
    chosen.sort(key=lambda i: (_launched(i.get("LaunchTime")), i["InstanceId"]))
    return [i["InstanceId"] for i in chosen]


def _launched(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0
