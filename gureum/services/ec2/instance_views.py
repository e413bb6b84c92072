"""Instances as DescribeInstances shows them, the filters it knows, and the
grouping into reservations.  Pure: documents and tags in, wire dicts out.

A stored instance keeps its wire fields; private ``_…`` fields are
dropped here, and what EC2 derives (the primary network interface, the
reservation, tags) is added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gureum.services.ec2 import tag_store
from gureum.services.ec2.names import stable_id

Doc = dict[str, Any]


def _eni(doc: Doc, account: str) -> Doc:
    ip = doc.get("PrivateIpAddress")
    eni_id = stable_id("eni", doc["InstanceId"])
    octets = [int(x) for x in (ip or "0.0.0.0").split(".")]
    mac = "0e:" + ":".join(f"{o:02x}" for o in octets) + ":01"
    out: Doc = {
        "NetworkInterfaceId": eni_id,
        "SubnetId": doc.get("SubnetId"),
        "VpcId": doc.get("VpcId"),
        "OwnerId": account,
        "Status": "in-use",
        "MacAddress": mac,
        "SourceDestCheck": True,
        "InterfaceType": "interface",
        "Description": "",
        "Groups": doc.get("SecurityGroups", []),
        "Attachment": {
            "AttachmentId": stable_id("eni-attach", doc["InstanceId"]),
            "AttachTime": doc["LaunchTime"],
            "DeleteOnTermination": True,
            "DeviceIndex": 0,
            "NetworkCardIndex": 0,
            "Status": "attached",
        },
        "Ipv6Addresses": [],
    }
    if ip:
        out.update(PrivateIpAddress=ip, PrivateDnsName=doc.get("PrivateDnsName"),
                   PrivateIpAddresses=[{"Primary": True, "PrivateIpAddress": ip,
                                        "PrivateDnsName": doc.get("PrivateDnsName")}])
    return out


def instance_view(doc: Doc, tags: Mapping[str, str]) -> Doc:
    """One ``Instance`` of DescribeInstances / RunInstances."""
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    account = doc.get("_reservation", {}).get("OwnerId", "")
    terminated = doc["State"]["Name"] == "terminated"
    out.update(
        PublicDnsName="",
        ProductCodes=[],
        RootDeviceName="/dev/xvda",
        RootDeviceType="ebs",
        BlockDeviceMappings=[],
        VirtualizationType="hvm",
        Hypervisor="xen",
        EbsOptimized=False,
        EnaSupport=True,
        SourceDestCheck=True,
        PlatformDetails="Linux/UNIX",
        UsageOperation="RunInstances",
        UsageOperationUpdateTime=doc["LaunchTime"],
        CpuOptions=doc.get("_cpuOptions", {"CoreCount": 1, "ThreadsPerCore": 1}),
        HibernationOptions={"Configured": False},
        EnclaveOptions={"Enabled": False},
        BootMode="uefi-preferred",
        CurrentInstanceBootMode="legacy-bios",
        PrivateDnsNameOptions={"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                               "EnableResourceNameDnsAAAARecord": False},
        MaintenanceOptions={"AutoRecovery": "default"},
        MetadataOptions=_metadata(doc),
        NetworkInterfaces=[] if terminated else [_eni(doc, account)],
    )
    if terminated:  # AWS drops the network details of a terminated instance
        for key in ("PrivateIpAddress", "SubnetId", "VpcId"):
            out.pop(key, None)
        out["PrivateDnsName"] = ""
        out["SecurityGroups"] = []
    if tags:
        out["Tags"] = tag_store.wire(tags)
    return out


def _metadata(doc: Doc) -> Doc:
    given = doc.get("_metadata") or {}
    return {
        "State": "applied",
        "HttpTokens": given.get("HttpTokens", "required"),
        "HttpPutResponseHopLimit": given.get("HttpPutResponseHopLimit", 2),
        "HttpEndpoint": given.get("HttpEndpoint", "enabled"),
        "HttpProtocolIpv6": given.get("HttpProtocolIpv6", "disabled"),
        "InstanceMetadataTags": given.get("InstanceMetadataTags", "disabled"),
    }


def reservations(docs: Iterable[Doc], tags_of: Callable[[Doc], Mapping[str, str]]) -> list[Doc]:
    """Group instances by reservation, in the order their first instance comes."""
    groups: dict[str, Doc] = {}
    for doc in docs:
        res = doc["_reservation"]
        rid = res["ReservationId"]
        if rid not in groups:
            groups[rid] = {**res, "Groups": [], "Instances": []}
        groups[rid]["Instances"].append(instance_view(doc, tags_of(doc)))
    return list(groups.values())


def _group_values(key: str) -> Callable[[Doc], list[str]]:
    return lambda d: [g[key] for g in d.get("SecurityGroups", [])]


FILTERS: dict[str, Callable[[Doc], Iterable[str]]] = {
    "instance-id": lambda d: [d["InstanceId"]],
    "instance-state-name": lambda d: [d["State"]["Name"]],
    "instance-state-code": lambda d: [str(d["State"]["Code"])],
    "instance-type": lambda d: [d["InstanceType"]],
    "image-id": lambda d: [d["ImageId"]],
    "private-ip-address": lambda d: [d["PrivateIpAddress"]] if d.get("PrivateIpAddress") else [],
    "network-interface.addresses.private-ip-address": lambda d: [d["PrivateIpAddress"]] if d.get("PrivateIpAddress") else [],
    "private-dns-name": lambda d: [d["PrivateDnsName"]] if d.get("PrivateDnsName") else [],
    "subnet-id": lambda d: [d["SubnetId"]] if d.get("SubnetId") else [],
    "vpc-id": lambda d: [d["VpcId"]] if d.get("VpcId") else [],
    "availability-zone": lambda d: [d["Placement"]["AvailabilityZone"]],
    "key-name": lambda d: [d["KeyName"]] if d.get("KeyName") else [],
    "reservation-id": lambda d: [d["_reservation"]["ReservationId"]],
    "owner-id": lambda d: [d["_reservation"]["OwnerId"]],
    "requester-id": lambda d: [d["_reservation"]["RequesterId"]] if d["_reservation"].get("RequesterId") else [],
    "monitoring-state": lambda d: [d["Monitoring"]["State"]],
    "architecture": lambda d: [d.get("Architecture", "")],
    "launch-index": lambda d: [str(d["AmiLaunchIndex"])],
    "client-token": lambda d: [d["ClientToken"]] if d.get("ClientToken") else [],
    "instance.group-id": _group_values("GroupId"),
    "instance.group-name": _group_values("GroupName"),
    "group-id": _group_values("GroupId"),
    "group-name": _group_values("GroupName"),
    "state-reason-code": lambda d: [d["StateReason"]["Code"]] if d.get("StateReason") else [],
    "tenancy": lambda d: ["default"],
    "root-device-type": lambda d: ["ebs"],
    "virtualization-type": lambda d: ["hvm"],
    "iam-instance-profile.arn": lambda d: [d["IamInstanceProfile"]["Arn"]] if d.get("IamInstanceProfile") else [],
}

STATUS_FILTERS: dict[str, Callable[[Doc], Iterable[str]]] = {
    "availability-zone": lambda d: [d["Placement"]["AvailabilityZone"]],
    "instance-state-name": lambda d: [d["State"]["Name"]],
    "instance-state-code": lambda d: [str(d["State"]["Code"])],
}
