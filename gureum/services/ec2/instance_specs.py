"""What RunInstances launches: the request merged with its launch template,
validated, and turned into instance documents.

Rules (EC2 RunInstances):

* members of the request win over the launch template's data; tags of both
  are merged (the request's win on the same key), and an instance launched
  from a template carries the system tags ``aws:ec2launchtemplate:id`` and
  ``aws:ec2launchtemplate:version``;
* ``ImageId`` is required (from the request or the template); the type
  defaults to ``m1.small``; ``MinCount`` ≤ ``MaxCount``, both ≥ 1;
* ``UserData`` is base64 (boto3 encodes RunInstances' itself; launch
  template data must be encoded by the caller), at most 16 KB decoded;
* the subnet is ``SubnetId`` (or the first network interface's), else the
  default subnet of ``Placement.AvailabilityZone``, else of the first zone;
  security groups are ``SecurityGroupIds`` / ``SecurityGroups`` (names),
  else the VPC's ``default`` group.

Reads the store (images, templates, tags) but performs no other I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.ec2 import errors, images, instance_types, launch_templates, tag_store, vpc
from gureum.services.ec2.instance_states import Reason, State, reason_dict, wire_state
from gureum.services.ec2.names import instance_arn, private_dns_name

Doc = dict[str, Any]

MAX_USER_DATA = 16 * 1024
_TEMPLATE_KEYS = (
    "ImageId", "InstanceType", "KeyName", "UserData", "SecurityGroupIds", "SecurityGroups", "Monitoring",
    "Placement", "InstanceInitiatedShutdownBehavior", "IamInstanceProfile", "MetadataOptions",
    "DisableApiTermination", "NetworkInterfaces", "EbsOptimized", "CreditSpecification",
)


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    image: Doc
    instance_type: instance_types.InstanceType
    min_count: int
    max_count: int
    subnet: vpc.Subnet
    groups: tuple[vpc.SecurityGroup, ...]
    user_data: str = ""  # base64, as given
    key_name: str | None = None
    monitoring: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    shutdown_behavior: str = "stop"
    disable_api_termination: bool = False
    client_token: str | None = None
    iam_profile: Doc | None = None
    metadata: Doc | None = None
    cpu_credits: str | None = None  # CreditSpecification.CpuCredits (burstable types; see credits.py)
    requester_id: str | None = None


def decode_user_data(value: str) -> bytes:
    try:
        raw = base64.b64decode(value.encode(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.invalid("Invalid BASE64 encoding of user data.") from exc
    if len(raw) > MAX_USER_DATA:
        raise errors.invalid(f"User data is limited to {MAX_USER_DATA} bytes")
    return raw


def merged_request(store: Store, scope: Scope, req: Mapping[str, Any]) -> tuple[Doc, dict[str, str]]:
    """The request with its launch template's data under it, and the template's system tags."""
    merged: Doc = dict(req)
    ref = req.get("LaunchTemplate")
    if not ref:
        return merged, {}
    template, version = launch_templates.resolve(store, scope, dict(ref))
    data = version["LaunchTemplateData"]
    for key in _TEMPLATE_KEYS:
        if merged.get(key) in (None, [], {}) and data.get(key) not in (None, [], {}):
            merged[key] = data[key]
    specs = list(data.get("TagSpecifications") or []) + list(req.get("TagSpecifications") or [])
    merged["TagSpecifications"] = specs
    system = {
        "aws:ec2launchtemplate:id": template["LaunchTemplateId"],
        "aws:ec2launchtemplate:version": str(version["VersionNumber"]),
    }
    return merged, system


def _counts(req: Mapping[str, Any]) -> tuple[int, int]:
    low = int(req["MinCount"]) if req.get("MinCount") is not None else 1
    high = int(req["MaxCount"]) if req.get("MaxCount") is not None else 1
    if low < 1:
        raise errors.invalid(f"Invalid value '{low}' for MinCount. Must be at least 1.")
    if high < 1:
        raise errors.invalid(f"Invalid value '{high}' for MaxCount. Must be at least 1.")
    if low > high:
        raise errors.invalid(f"Invalid value '{low}' for MinCount: it must not be greater than MaxCount ({high}).")
    return low, high


def _network(scope: Scope, req: Mapping[str, Any]) -> tuple[vpc.Subnet, tuple[vpc.SecurityGroup, ...]]:
    enis = list(req.get("NetworkInterfaces") or [])
    primary: Doc = enis[0] if enis else {}
    subnet_id = req.get("SubnetId") or primary.get("SubnetId")
    zone = (req.get("Placement") or {}).get("AvailabilityZone")
    if subnet_id:
        subnet = vpc.subnet_by_id(scope, str(subnet_id))
        if subnet is None:
            raise errors.client("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id}' does not exist")
        if zone and zone != subnet.zone:
            raise errors.invalid(f"The subnet '{subnet_id}' is not in the Availability Zone {zone}")
    else:
        found = vpc.subnet_for_zone(scope, zone)
        if found is None:
            raise errors.invalid_value(zone, "availabilityZone")
        subnet = found
    groups: list[vpc.SecurityGroup] = []
    for gid in list(req.get("SecurityGroupIds") or []) + list(primary.get("Groups") or []):
        group = vpc.group_by_id(scope, str(gid))
        if group is None:
            raise errors.client("InvalidGroup.NotFound", f"The security group '{gid}' does not exist")
        groups.append(group)
    for name in req.get("SecurityGroups") or []:
        group = vpc.group_by_name(scope, str(name))
        if group is None:
            raise errors.client("InvalidGroup.NotFound", f"The security group '{name}' does not exist in VPC '{subnet.vpc_id}'")
        groups.append(group)
    unique = {g.id: g for g in groups} or {vpc.default_security_group(scope).id: vpc.default_security_group(scope)}
    return subnet, tuple(unique.values())


def _iam_profile(value: Mapping[str, Any] | None, account: str) -> Doc | None:
    if not value:
        return None
    arn = value.get("Arn") or f"arn:aws:iam::{account}:instance-profile/{value.get('Name')}"
    return {"Arn": arn, "Id": "AIPA" + hashlib.sha256(arn.encode()).hexdigest()[:17].upper()}


def build_spec(store: Store, scope: Scope, req: Mapping[str, Any], requester_id: str | None = None) -> LaunchSpec:
    merged, system_tags = merged_request(store, scope, req)
    if not merged.get("ImageId"):
        raise errors.missing("ImageId")
    image = images.require_launchable(store, scope, str(merged["ImageId"]))
    itype = instance_types.require(str(merged.get("InstanceType") or instance_types.DEFAULT_TYPE))
    low, high = _counts(merged)
    user_data = str(merged.get("UserData") or "")
    if user_data:
        decode_user_data(user_data)
    behavior = str(merged.get("InstanceInitiatedShutdownBehavior") or "stop")
    if behavior not in ("stop", "terminate"):
        raise errors.invalid_value(behavior, "InstanceInitiatedShutdownBehavior")
    subnet, groups = _network(scope, merged)
    cpu_credits = (merged.get("CreditSpecification") or {}).get("CpuCredits")
    if cpu_credits is not None and cpu_credits not in ("standard", "unlimited"):
        raise errors.invalid_value(str(cpu_credits), "CreditSpecification.CpuCredits")
    cpu_credits = cpu_credits if itype.burstable else None  # other types have no credits
    tags = {**tag_store.from_specs(merged.get("TagSpecifications"), "instance"), **system_tags}
    return LaunchSpec(
        image=image, instance_type=itype, min_count=low, max_count=high, subnet=subnet, groups=groups,
        user_data=user_data, key_name=merged.get("KeyName"),
        monitoring=bool((merged.get("Monitoring") or {}).get("Enabled")), tags=tags,
        shutdown_behavior=behavior, disable_api_termination=bool(merged.get("DisableApiTermination")),
        client_token=merged.get("ClientToken"), iam_profile=_iam_profile(merged.get("IamInstanceProfile"), scope.account),
        metadata=merged.get("MetadataOptions"), requester_id=requester_id, cpu_credits=cpu_credits,
    )


def new_instance(spec: LaunchSpec, scope: Scope, instance_id: str, reservation_id: str,
                 index: int, ip: str, now: float) -> Doc:
    """The stored document of one new, pending instance."""
    doc: Doc = {
        "InstanceId": instance_id,
        "ImageId": spec.image["ImageId"],
        "InstanceType": spec.instance_type.name,
        "AmiLaunchIndex": index,
        "LaunchTime": now,
        "Placement": {"AvailabilityZone": spec.subnet.zone, "GroupName": "", "Tenancy": "default"},
        "Monitoring": {"State": "enabled" if spec.monitoring else "disabled"},
        "SubnetId": spec.subnet.id,
        "VpcId": spec.subnet.vpc_id,
        "PrivateIpAddress": ip,
        "PrivateDnsName": private_dns_name(ip, scope.region),
        "SecurityGroups": [{"GroupId": g.id, "GroupName": g.name} for g in spec.groups],
        "Architecture": spec.image.get("Architecture", "x86_64"),
        "State": wire_state(State.PENDING),
        "StateReason": reason_dict(Reason.PENDING),
        "StateTransitionReason": "",
        "_reservation": {"ReservationId": reservation_id, "OwnerId": scope.account},
        "_arn": instance_arn(scope, instance_id),
        "_dockerImage": images.docker_image(spec.image),
        "_userData": spec.user_data,
        "_shutdownBehavior": spec.shutdown_behavior,
        "_disableApiTermination": spec.disable_api_termination,
        "_gen": 1,
        "_reboot": 0,
        "_rebooted": 0,
        "_since": now,
    }
    if spec.requester_id:
        doc["_reservation"]["RequesterId"] = spec.requester_id
    optional = {"KeyName": spec.key_name, "ClientToken": spec.client_token, "IamInstanceProfile": spec.iam_profile}
    doc.update({k: v for k, v in optional.items() if v})
    if spec.metadata:
        doc["_metadata"] = dict(spec.metadata)
    if spec.cpu_credits:
        doc["_cpuCredits"] = spec.cpu_credits
    return doc
