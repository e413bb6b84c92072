"""The default VPC of every account and region: DescribeVpcs, DescribeSubnets,
DescribeSecurityGroups.

Records, not networks: every account has, in every region, the default VPC
AWS makes (172.31.0.0/16), one default subnet per Availability Zone
(172.31.0.0/20, 172.31.16.0/20, … in zone order) and the VPC's ``default``
security group (all traffic from members of the group, all traffic out).
Their ids are derived from (account, region[, zone]), so they are the same
on every call and after a restart, with nothing stored.  SDK code that looks
up "the default subnet in zone b" or "the default security group" works.

Instances really live on the loopback addresses of
:mod:`gureum.runtime.addresses`, not inside 172.31.0.0/16: the subnet is
where an instance is *recorded*, its private IP is where it is *reachable*.

Pure apart from reading tags from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.api import RequestContext
from gureum.services.ec2 import errors, filters, paging, regions, tag_store
from gureum.services.ec2.names import stable_id

VPC_CIDR = "172.31.0.0/16"
SUBNET_SIZE = 4091  # usable addresses of a /20 (AWS reserves five per subnet)


@dataclass(frozen=True, slots=True)
class Vpc:
    id: str
    account: str
    region: str
    dhcp_options_id: str


@dataclass(frozen=True, slots=True)
class Subnet:
    id: str
    vpc_id: str
    account: str
    region: str
    zone: str
    zone_id: str
    cidr: str

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2:{self.region}:{self.account}:subnet/{self.id}"


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    id: str
    name: str
    description: str
    vpc_id: str
    account: str
    region: str

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2:{self.region}:{self.account}:security-group/{self.id}"


def default_vpc(scope: Scope) -> Vpc:
    return Vpc(
        stable_id("vpc", scope.account, scope.region),
        scope.account,
        scope.region,
        stable_id("dopt", scope.account, scope.region),
    )


def default_subnets(scope: Scope) -> list[Subnet]:
    vpc_id = default_vpc(scope).id
    out = []
    for i, zone in enumerate(regions.zones(scope.region)):
        out.append(Subnet(
            stable_id("subnet", scope.account, scope.region, zone.name), vpc_id, scope.account,
            scope.region, zone.name, zone.zone_id, f"172.31.{16 * i}.0/20",
        ))
    return out


def default_security_group(scope: Scope) -> SecurityGroup:
    return SecurityGroup(
        stable_id("sg", scope.account, scope.region, "default"), "default", "default VPC security group",
        default_vpc(scope).id, scope.account, scope.region,
    )


def security_groups(scope: Scope) -> list[SecurityGroup]:
    return [default_security_group(scope)]


def subnet_by_id(scope: Scope, subnet_id: str) -> Subnet | None:
    return next((s for s in default_subnets(scope) if s.id == subnet_id), None)


def subnet_for_zone(scope: Scope, zone: str | None) -> Subnet | None:
    """The default subnet of ``zone`` (the first zone's when None)."""
    subnets = default_subnets(scope)
    if not zone:
        return subnets[0] if subnets else None
    return next((s for s in subnets if s.zone == zone), None)


def group_by_id(scope: Scope, group_id: str) -> SecurityGroup | None:
    return next((g for g in security_groups(scope) if g.id == group_id), None)


def group_by_name(scope: Scope, name: str) -> SecurityGroup | None:
    return next((g for g in security_groups(scope) if g.name == name), None)


def exists(scope: Scope, resource_id: str) -> bool:
    if resource_id == default_vpc(scope).id:
        return True
    return subnet_by_id(scope, resource_id) is not None or group_by_id(scope, resource_id) is not None


# -- wire views ---------------------------------------------------------------------


def vpc_dict(v: Vpc, tags: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "VpcId": v.id,
        "OwnerId": v.account,
        "State": "available",
        "CidrBlock": VPC_CIDR,
        "DhcpOptionsId": v.dhcp_options_id,
        "InstanceTenancy": "default",
        "IsDefault": True,
        "CidrBlockAssociationSet": [{
            "AssociationId": stable_id("vpc-cidr-assoc", v.id),
            "CidrBlock": VPC_CIDR,
            "CidrBlockState": {"State": "associated"},
        }],
        "Ipv6CidrBlockAssociationSet": [],
    }
    if tags:
        out["Tags"] = tag_store.wire(tags)
    return out


def subnet_dict(s: Subnet, tags: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "SubnetId": s.id,
        "SubnetArn": s.arn,
        "VpcId": s.vpc_id,
        "OwnerId": s.account,
        "State": "available",
        "CidrBlock": s.cidr,
        "AvailabilityZone": s.zone,
        "AvailabilityZoneId": s.zone_id,
        "AvailableIpAddressCount": SUBNET_SIZE,
        "DefaultForAz": True,
        "MapPublicIpOnLaunch": True,
        "MapCustomerOwnedIpOnLaunch": False,
        "AssignIpv6AddressOnCreation": False,
        "EnableDns64": False,
        "Ipv6Native": False,
        "Ipv6CidrBlockAssociationSet": [],
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
    }
    if tags:
        out["Tags"] = tag_store.wire(tags)
    return out


def _all_traffic(**extra: Any) -> dict[str, Any]:
    return {"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": [], **extra}


def group_dict(g: SecurityGroup, tags: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "GroupId": g.id,
        "GroupName": g.name,
        "Description": g.description,
        "VpcId": g.vpc_id,
        "OwnerId": g.account,
        "SecurityGroupArn": g.arn,
        "IpPermissions": [_all_traffic(UserIdGroupPairs=[{"GroupId": g.id, "UserId": g.account}])],
        "IpPermissionsEgress": [_all_traffic(IpRanges=[{"CidrIp": "0.0.0.0/0"}])],
    }
    if tags:
        out["Tags"] = tag_store.wire(tags)
    return out


# -- handlers -------------------------------------------------------------------------


def _tags_getter(store: Store, scope: Scope) -> Callable[[Any], dict[str, str]]:
    return lambda item: tag_store.get(store, scope, item.id)


_VPC_FILTERS: dict[str, Callable[[Vpc], Iterable[str]]] = {
    "vpc-id": lambda v: [v.id],
    "cidr": lambda v: [VPC_CIDR],
    "cidr-block-association.cidr-block": lambda v: [VPC_CIDR],
    "dhcp-options-id": lambda v: [v.dhcp_options_id],
    "is-default": lambda v: ["true"],
    "owner-id": lambda v: [v.account],
    "state": lambda v: ["available"],
}

_SUBNET_FILTERS: dict[str, Callable[[Subnet], Iterable[str]]] = {
    "subnet-id": lambda s: [s.id],
    "subnet-arn": lambda s: [s.arn],
    "vpc-id": lambda s: [s.vpc_id],
    "availability-zone": lambda s: [s.zone],
    "availability-zone-id": lambda s: [s.zone_id],
    "availabilityZone": lambda s: [s.zone],
    "cidr-block": lambda s: [s.cidr],
    "cidr": lambda s: [s.cidr],
    "cidrBlock": lambda s: [s.cidr],
    "default-for-az": lambda s: ["true"],
    "defaultForAz": lambda s: ["true"],
    "map-public-ip-on-launch": lambda s: ["true"],
    "owner-id": lambda s: [s.account],
    "state": lambda s: ["available"],
}

_GROUP_FILTERS: dict[str, Callable[[SecurityGroup], Iterable[str]]] = {
    "group-id": lambda g: [g.id],
    "group-name": lambda g: [g.name],
    "description": lambda g: [g.description],
    "vpc-id": lambda g: [g.vpc_id],
    "owner-id": lambda g: [g.account],
    "ip-permission.protocol": lambda g: ["-1"],
    "egress.ip-permission.cidr": lambda g: ["0.0.0.0/0"],
}


def _select(items: list[Any], ids: list[str], code: str, noun: str) -> list[Any]:
    if not ids:
        return items
    known = {i.id for i in items}
    missing = [i for i in ids if i not in known]
    if missing:
        raise errors.client(code, f"The {noun} '{missing[0]}' does not exist")
    return [i for i in items if i.id in set(ids)]


def _described(ctx: RequestContext, items: list[Any], req: dict[str, Any], getters: Any,
               order: Callable[[Any], str] = lambda i: i.id) -> tuple[list[Any], str | None]:
    errors.check_dry_run(req)
    errors.check_max_results(req.get("MaxResults"), 5, 1000)
    chosen = filters.apply(items, req.get("Filters"), tag_store.TagGetters(getters, _tags_getter(ctx.store, ctx.scope)))
    chosen.sort(key=order)
    return paging.page(chosen, order, req.get("MaxResults"), req.get("NextToken"))


def _answer(member: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {member: items}
    if token:
        out["NextToken"] = token
    return out


def describe_vpcs(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    vpcs = _select([default_vpc(ctx.scope)], list(req.get("VpcIds") or []), "InvalidVpcID.NotFound", "vpc ID")
    items, token = _described(ctx, vpcs, req, _VPC_FILTERS)
    return _answer("Vpcs", [vpc_dict(v, tag_store.get(ctx.store, ctx.scope, v.id)) for v in items], token)


def describe_subnets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    subnets = _select(default_subnets(ctx.scope), list(req.get("SubnetIds") or []),
                      "InvalidSubnetID.NotFound", "subnet ID")
    items, token = _described(ctx, subnets, req, _SUBNET_FILTERS, order=lambda s: s.zone)
    return _answer("Subnets", [subnet_dict(s, tag_store.get(ctx.store, ctx.scope, s.id)) for s in items], token)


def describe_security_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    groups = _select(security_groups(ctx.scope), list(req.get("GroupIds") or []),
                     "InvalidGroup.NotFound", "security group")
    names = list(req.get("GroupNames") or [])
    for name in names:
        if group_by_name(ctx.scope, name) is None:
            raise errors.client(
                "InvalidGroup.NotFound",
                f"The security group '{name}' does not exist in default VPC '{default_vpc(ctx.scope).id}'",
            )
    if names:
        groups = [g for g in groups if g.name in names]
    items, token = _described(ctx, groups, req, _GROUP_FILTERS)
    return _answer("SecurityGroups", [group_dict(g, tag_store.get(ctx.store, ctx.scope, g.id)) for g in items], token)


OPERATIONS = {
    "DescribeVpcs": describe_vpcs,
    "DescribeSubnets": describe_subnets,
    "DescribeSecurityGroups": describe_security_groups,
}
