"""Launch configurations: CreateLaunchConfiguration, DescribeLaunchConfigurations,
DeleteLaunchConfiguration, and turning one into a RunInstances request.

Rules (CreateLaunchConfiguration API reference): names are unique per
account and region; ``ImageId`` and ``InstanceType`` are required (creating
from an ``InstanceId`` is not supported by Gureum); ``UserData`` is base64
as sent (boto3 encodes it); a configuration used by a group cannot be
deleted.  A configuration never changes: groups move to a new one.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.autoscaling import names, records

Doc = dict[str, Any]
_KEPT = ("ImageId", "KeyName", "SecurityGroups", "ClassicLinkVPCId", "ClassicLinkVPCSecurityGroups", "UserData",
         "InstanceType", "KernelId", "RamdiskId", "BlockDeviceMappings", "InstanceMonitoring", "SpotPrice",
         "IamInstanceProfile", "EbsOptimized", "AssociatePublicIpAddress", "PlacementTenancy", "MetadataOptions")


def create_launch_configuration(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["LaunchConfigurationName"]
    if ctx.store.get(names.LAUNCH_CONFIG, ctx.scope, name) is not None:
        raise names.already_exists(f"Launch Configuration by this name already exists - A launch configuration "
                                   f"already exists with the name {name}")
    if req.get("InstanceId"):
        raise names.invalid("Creating a launch configuration from an instance (InstanceId) is not supported by "
                            "Gureum; give ImageId and InstanceType.")
    for member in ("ImageId", "InstanceType"):
        if not req.get(member):
            raise names.invalid(f"{member} is required when no InstanceId is given.")
    doc: Doc = {k: req[k] for k in _KEPT if req.get(k) is not None}
    doc.update(LaunchConfigurationName=name, LaunchConfigurationARN=names.launch_config_arn(ctx.scope, name),
               CreatedTime=ctx.clock.now())
    doc.setdefault("SecurityGroups", [])
    doc.setdefault("InstanceMonitoring", {"Enabled": True})
    ctx.store.put(names.LAUNCH_CONFIG, ctx.scope, name, doc)
    return {}


def describe_launch_configurations(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    wanted = set(req.get("LaunchConfigurationNames") or [])
    docs = [d for _, d in ctx.store.list(names.LAUNCH_CONFIG, ctx.scope)
            if not wanted or d["LaunchConfigurationName"] in wanted]
    items, token = names.page(docs, lambda d: d["LaunchConfigurationName"], req.get("MaxRecords"), req.get("NextToken"))
    out: dict[str, Any] = {"LaunchConfigurations": items}
    if token:
        out["NextToken"] = token
    return out


def delete_launch_configuration(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["LaunchConfigurationName"]
    if ctx.store.get(names.LAUNCH_CONFIG, ctx.scope, name) is None:
        raise names.invalid(f"Launch configuration name not found - Launch configuration {name} not found")
    users = [g["AutoScalingGroupName"] for g in records.all_groups(ctx.store, ctx.scope)
             if g.get("LaunchConfigurationName") == name]
    if users:
        raise names.in_use(f"Cannot delete launch configuration {name} because it is attached to AutoScalingGroup "
                           f"{users[0]}")
    ctx.store.delete(names.LAUNCH_CONFIG, ctx.scope, name)
    return {}


def run_request(lc: Doc) -> Doc:
    """The RunInstances members a launch configuration stands for."""
    spec: Doc = {"ImageId": lc["ImageId"], "InstanceType": lc["InstanceType"]}
    if lc.get("KeyName"):
        spec["KeyName"] = lc["KeyName"]
    if lc.get("UserData"):
        spec["UserData"] = lc["UserData"]
    groups = list(lc.get("SecurityGroups") or [])
    ids = [g for g in groups if g.startswith("sg-")]
    if ids:
        spec["SecurityGroupIds"] = ids
    if len(ids) != len(groups):
        spec["SecurityGroups"] = [g for g in groups if not g.startswith("sg-")]
    if lc.get("IamInstanceProfile"):
        profile = lc["IamInstanceProfile"]
        spec["IamInstanceProfile"] = {"Arn": profile} if profile.startswith("arn:") else {"Name": profile}
    spec["Monitoring"] = {"Enabled": bool((lc.get("InstanceMonitoring") or {}).get("Enabled", True))}
    if lc.get("MetadataOptions"):
        spec["MetadataOptions"] = lc["MetadataOptions"]
    return spec


OPERATIONS = {
    "CreateLaunchConfiguration": create_launch_configuration,
    "DescribeLaunchConfigurations": describe_launch_configurations,
    "DeleteLaunchConfiguration": delete_launch_configuration,
}
