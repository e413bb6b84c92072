"""Adding and taking out members: what one launch or one termination writes.

:func:`launch_one` asks the fleet (EC2) for one instance from the group's
launch template or configuration, in a zone (the first of the group's
subnets there, else the zone's default subnet), with the group's tags that
propagate at launch, and records the member and its "Launching a new EC2
instance" activity — or a Failed activity when EC2 refuses.
:func:`take_out` moves a member to Terminating with its "Terminating EC2
instance" activity and deregisters it from the group's target groups.

Both change the group document in memory; the caller saves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.autoscaling import activities, elb_link, lifecycle, names
from gureum.services.autoscaling.fleet import Fleet, TemplateRef
from gureum.services.autoscaling.launch_configs_api import run_request

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]


class LaunchRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def group_template(group: Doc) -> Doc | None:
    """The group's template reference, by id (the group shows both id and name)."""
    shown = group.get("LaunchTemplate")
    mixed = group.get("MixedInstancesPolicy")
    if not shown and mixed:
        shown = mixed["LaunchTemplate"]["LaunchTemplateSpecification"]
    if not shown:
        return None
    return {"LaunchTemplateId": shown["LaunchTemplateId"], "Version": shown.get("Version") or "$Default"}


def launch_request(app: App, scope: Scope, fleet: Fleet, group: Doc, zone: str,
                   template: Doc | None = None) -> tuple[Doc, Doc, str]:
    """(RunInstances request, member source fields, subnet id or "") for one instance in ``zone``.

    ``template`` (``LaunchTemplateId``/``Name`` and ``Version``) launches from
    that template instead of the group's (an instance refresh's desired
    configuration); the group's own resolved version is then left alone.
    """
    source: Doc = {}
    override = template is not None
    template = template if override else group_template(group)
    if template is not None:
        try:
            ref: TemplateRef = fleet.resolve_template(scope, template)
        except ServiceError as exc:
            raise LaunchRefused(exc.message) from None
        spec: Doc = {"LaunchTemplate": {"LaunchTemplateId": ref.template_id, "Version": str(ref.version)}}
        source["LaunchTemplate"] = {"LaunchTemplateId": ref.template_id, "LaunchTemplateName": ref.name,
                                    "Version": str(ref.version)}
        if not override:
            group["_template"] = {"LaunchTemplateId": ref.template_id, "Version": ref.version}
        overrides = ((group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get("Overrides") or []
        if overrides and overrides[0].get("InstanceType"):
            spec["InstanceType"] = overrides[0]["InstanceType"]
    else:
        lc = app.store.get(names.LAUNCH_CONFIG, scope, group.get("LaunchConfigurationName", ""))
        if lc is None:
            raise LaunchRefused(f"Launch configuration {group.get('LaunchConfigurationName')} not found")
        spec = run_request(lc)
        source["LaunchConfigurationName"] = lc["LaunchConfigurationName"]
        source["InstanceType"] = lc["InstanceType"]
    subnet = ""
    for candidate in (s for s in (group.get("VPCZoneIdentifier") or "").split(",") if s):
        if fleet.subnet_zone(scope, candidate) == zone:
            subnet = candidate
            break
    if subnet:
        spec["SubnetId"] = subnet
    else:
        spec["Placement"] = {"AvailabilityZone": zone}
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in group.get("Tags") or [] if t.get("PropagateAtLaunch")]
    if tags:
        spec["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tags}]
    return spec, source, subnet


def launch_one(app: App, scope: Scope, fleet: Fleet, group: Doc, zone: str, cause: str, why: str,
               now: float, template: Doc | None = None) -> str:
    """Launch one member (from ``template`` when given, see :func:`launch_request`); its id.

    Raises :class:`LaunchRefused` after recording the Failed activity.
    """
    try:
        spec, source, subnet = launch_request(app, scope, fleet, group, zone, template)
        launched = fleet.launch(scope, spec, group["AutoScalingGroupName"])
    except (ServiceError, LaunchRefused) as exc:
        message = exc.message
        activities.start(app.store, scope, group,
                         f"Launching a new EC2 instance.  Status Reason: {message.rstrip('.')}. Launching EC2 instance failed.",
                         cause, now, details={"Availability Zone": zone}, status=activities.FAILED, message=message)
        raise LaunchRefused(message) from None
    iid = str(launched["InstanceId"])
    subnet = str(launched.get("SubnetId") or subnet)
    details = {"Subnet ID": subnet, "Availability Zone": zone} if subnet else {"Availability Zone": zone}
    key = activities.start(app.store, scope, group, f"Launching a new EC2 instance: {iid}", cause, now,
                           details=details)
    rec: Doc = {"InstanceId": iid, "AvailabilityZone": zone, "LifecycleState": lifecycle.LState.PENDING.value,
                "HealthStatus": "Healthy", "ProtectedFromScaleIn": bool(group.get("NewInstancesProtectedFromScaleIn")),
                "_launchedAt": now, "_launchedFor": why, "_subnet": subnet, "_activity": key}
    rec.update(source)
    rec["InstanceType"] = launched.get("InstanceType") or rec.get("InstanceType") or "m1.small"
    group.setdefault("_instances", {})[iid] = rec
    return iid


def take_out(app: App, scope: Scope, group: Doc, rec: Doc, cause: str, now: float) -> str:
    """Move a member to Terminating with its activity; the activity key.

    A member taken out before it came into service has its launch activity cancelled.
    """
    if rec["LifecycleState"] in lifecycle.LAUNCH_STATES:
        activities.update(app.store, scope, rec.get("_activity"), now, status=activities.CANCELLED,
                          message=f"Instance {rec['InstanceId']} was taken out of service before it came into service.")
    rec["_actions"] = {}
    rec["LifecycleState"] = lifecycle.LState.TERMINATING.value
    details = {"Availability Zone": rec["AvailabilityZone"]}
    if rec.get("_subnet"):
        details = {"Subnet ID": rec["_subnet"], **details}
    key = activities.start(app.store, scope, group, f"Terminating EC2 instance: {rec['InstanceId']}", cause, now,
                           details=details, progress=50)
    rec["_termActivity"] = key
    elb_link.deregister(app, scope, group.get("TargetGroupARNs") or [], rec["InstanceId"])
    return key
