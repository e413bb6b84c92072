"""CreateAutoScalingGroup / UpdateAutoScalingGroup input rules, with AWS's messages.

Reads the launch configurations in the store and asks the fleet (EC2) about
zones, subnets and launch templates; writes nothing.  Rules
(CreateAutoScalingGroup API reference):

* exactly one of ``LaunchTemplate``, ``LaunchConfigurationName`` and
  ``MixedInstancesPolicy`` (``InstanceId`` is not supported by Gureum);
* a launch template by id or by name (not both) that exists with the version
  named (``$Default`` when none); a configuration that exists;
* ``MinSize`` ≤ ``MaxSize``; ``DesiredCapacity`` within them (it defaults to
  ``MinSize`` on create; an update that moves the bounds past it drags it
  along);
* at least one zone or subnet; zones of the region; subnets that exist;
  zones of ``VPCZoneIdentifier`` win over ``AvailabilityZones``;
* ``HealthCheckType`` EC2 or ELB; known termination policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope, Store
from gureum.services.autoscaling import names, termination
from gureum.services.autoscaling.fleet import Fleet, TemplateRef

Doc = dict[str, Any]
HEALTH_CHECK_TYPES = ("EC2", "ELB")
SOURCES = "LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy"


def template_spec(req: Mapping[str, Any]) -> Doc | None:
    if req.get("LaunchTemplate"):
        return dict(req["LaunchTemplate"])
    mixed = req.get("MixedInstancesPolicy")
    if mixed:
        spec = ((mixed.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification")) or None
        if spec is None:
            raise names.invalid("A launch template must be specified in the MixedInstancesPolicy.")
        return dict(spec)
    return None


def check_source(store: Store, scope: Scope, fleet: Fleet, req: Mapping[str, Any]) -> TemplateRef | None:
    """The launch source named: a resolved template, or None for a launch configuration."""
    given = [k for k in ("LaunchTemplate", "LaunchConfigurationName", "InstanceId", "MixedInstancesPolicy")
             if req.get(k)]
    if len(given) != 1:
        raise names.invalid(f"Valid requests must contain either {SOURCES} parameter.")
    if given[0] == "InstanceId":
        raise names.invalid("Creating a group from an instance (InstanceId) is not supported by Gureum; "
                            "use a launch template.")
    if given[0] == "LaunchConfigurationName":
        name = req["LaunchConfigurationName"]
        if store.get(names.LAUNCH_CONFIG, scope, name) is None:
            raise names.invalid(f"Launch configuration name not found - Launch configuration {name} not found")
        return None
    spec = template_spec(req) or {}
    if spec.get("LaunchTemplateId") and spec.get("LaunchTemplateName"):
        raise names.invalid("Valid requests must contain either launchTemplateId or LaunchTemplateName.")
    if not spec.get("LaunchTemplateId") and not spec.get("LaunchTemplateName"):
        raise names.invalid("Valid requests must contain either launchTemplateId or LaunchTemplateName.")
    try:
        return fleet.resolve_template(scope, spec)
    except ServiceError as exc:
        raise names.invalid(f"You must use a valid fully-formed launch template. {exc.message}") from None


def check_sizes(min_size: int, max_size: int, desired: int | None) -> None:
    if min_size > max_size:
        raise names.invalid(f"Max bound, {max_size}, must be greater than or equal to min bound, {min_size}")
    if desired is not None and not min_size <= desired <= max_size:
        raise names.invalid(f"Desired capacity:{desired} must be between the specified min size:{min_size} "
                            f"and max size:{max_size}")


def check_zones(scope: Scope, fleet: Fleet, zones: list[str] | None, subnets_text: str | None,
                ) -> tuple[list[str], str]:
    """(zones, VPCZoneIdentifier) of a group."""
    subnets = [s.strip() for s in (subnets_text or "").split(",") if s.strip()]
    if subnets:
        found: list[str] = []
        for subnet in subnets:
            zone = fleet.subnet_zone(scope, subnet)
            if zone is None:
                raise names.invalid(f"The subnet ID '{subnet}' does not exist")
            if zone not in found:
                found.append(zone)
        return found, ",".join(subnets)
    if not zones:
        raise names.invalid("At least one Availability Zone or VPC Subnet is required.")
    known = fleet.zones(scope)
    bad = [z for z in zones if z not in known]
    if bad:
        raise names.invalid(f"Invalid Availability Zone(s): [{', '.join(bad)}]")
    return list(dict.fromkeys(zones)), ""


def check_options(req: Mapping[str, Any]) -> None:
    kind = req.get("HealthCheckType")
    if kind is not None and kind not in HEALTH_CHECK_TYPES:
        raise names.invalid(f"Unsupported health check type: {kind}. Valid values are EC2 and ELB.")
    for policy in req.get("TerminationPolicies") or []:
        if policy not in termination.POLICIES:
            raise names.invalid(f"Termination policy {policy} is not supported. Valid values are "
                                f"{', '.join(termination.POLICIES)}.")
    for field in ("DefaultCooldown", "HealthCheckGracePeriod", "DefaultInstanceWarmup"):
        value = req.get(field)
        if value is not None and int(value) < (-1 if field == "DefaultInstanceWarmup" else 0):
            raise names.invalid(f"{field} must not be negative.")


def check_tags(group: str, tags: list[Doc]) -> list[Doc]:
    """Tags as the group shows them (ResourceId/ResourceType filled in)."""
    out: dict[str, Doc] = {}
    for t in tags:
        rid = t.get("ResourceId") or group
        if rid != group:
            raise names.invalid(f"Tag resource id {rid} does not match the group {group}.")
        if str(t.get("Key", "")).lower().startswith("aws:"):
            raise names.invalid("Tag keys starting with 'aws:' are reserved for internal use.")
        out[t["Key"]] = {"ResourceId": group, "ResourceType": "auto-scaling-group", "Key": t["Key"],
                         "Value": t.get("Value") or "", "PropagateAtLaunch": bool(t.get("PropagateAtLaunch"))}
    return list(out.values())
