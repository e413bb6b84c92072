"""Load balancer handlers: create, describe, delete, attributes, subnets and
security groups.

A handler records intent and returns: CreateLoadBalancer stores the balancer
in state ``provisioning``; the ``elbv2.lb`` controller leases its address,
opens its listeners and moves it to ``active`` (what boto3's
``load_balancer_available`` waiter waits for).  Deleting removes the balancer
with its listeners and rules at once; the controller closes the sockets and
frees the address.

Only application load balancers are built; ``network`` and ``gateway`` are
refused with a ValidationError that says so.
"""

from __future__ import annotations

import re
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.elbv2 import attributes, network
from gureum.services.elbv2.actions import refresh_references
from gureum.services.elbv2.records import (
    LB,
    LISTENER,
    RULE,
    Doc,
    bad_config,
    collector,
    err,
    find_lb,
    get_lb,
    invalid,
    kick_lb,
    kick_tg,
    lb_arn,
    lb_not_found,
    lb_prefix,
    new_id,
    output_page,
    public,
)
from gureum.services.elbv2.tags import check_new_tags

OPERATIONS: dict[str, Any] = {}
op = collector(OPERATIONS)

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
MAX_LOAD_BALANCERS = 50


def check_name(name: str, what: str = "Load balancer") -> None:
    if not _NAME.match(name or "") or name.startswith("internal-"):
        raise invalid(
            f"{what} name '{name}' must have at most 32 characters, contain only alphanumerics and "
            "hyphens, and must not begin or end with a hyphen"
        )


def _zones(ctx: RequestContext, req: dict[str, Any]) -> list[dict[str, Any]]:
    subnets = list(req.get("Subnets") or [])
    subnets += [m["SubnetId"] for m in req.get("SubnetMappings") or [] if m.get("SubnetId")]
    if not subnets:
        subnets = network.default_subnets(ctx.scope)
    zones = network.subnet_zones(ctx.scope, subnets)
    names = [z["ZoneName"] for z in zones]
    if len(set(names)) != len(names):
        raise bad_config("A load balancer cannot be attached to multiple subnets in the same Availability Zone")
    if len(zones) < 2:
        raise invalid("At least two subnets in two different Availability Zones must be specified")
    if len({z["VpcId"] for z in zones}) != 1:
        raise invalid("The subnets must all belong to the same VPC")
    return zones


@op("CreateLoadBalancer")
def create_load_balancer(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["Name"]
    check_name(name)
    kind = req.get("Type") or "application"
    if kind != "application":
        raise invalid(f"Load balancer type '{kind}' is not supported by Gureum (application only)")
    scheme = req.get("Scheme") or "internet-facing"
    zones = _zones(ctx, req)
    tags = check_new_tags(req.get("Tags") or [])
    existing = ctx.store.get(LB, ctx.scope, name)
    if existing is not None:
        same = existing["Scheme"] == scheme and [z["SubnetId"] for z in existing["AvailabilityZones"]] == [
            z["SubnetId"] for z in zones
        ]
        if same:  # CreateLoadBalancer is idempotent for the same settings
            return {"LoadBalancers": [public(existing)]}
        raise err("DuplicateLoadBalancerName", f"A load balancer with the name '{name}' already exists")
    if ctx.store.count(LB, ctx.scope) >= MAX_LOAD_BALANCERS:
        raise err("TooManyLoadBalancers", f"You have reached the limit of {MAX_LOAD_BALANCERS} load balancers")
    lb_id = new_id()
    doc: Doc = {
        "LoadBalancerArn": lb_arn(ctx.scope, name, lb_id),
        "DNSName": network.dns_name(name, ctx.region, scheme == "internal"),
        "CanonicalHostedZoneId": network.HOSTED_ZONE_ID,
        "CreatedTime": ctx.clock.now(),
        "LoadBalancerName": name,
        "Scheme": scheme,
        "VpcId": zones[0]["VpcId"],
        "State": {"Code": "provisioning"},
        "Type": "application",
        "AvailabilityZones": [
            {"ZoneName": z["ZoneName"], "SubnetId": z["SubnetId"], "LoadBalancerAddresses": []} for z in zones
        ],
        "SecurityGroups": list(req.get("SecurityGroups") or []),
        "IpAddressType": req.get("IpAddressType") or "ipv4",
        "_id": lb_id,
        "_attributes": attributes.defaults(attributes.LOAD_BALANCER),
        "_tags": tags,
    }
    if not ctx.store.insert(LB, ctx.scope, name, doc):
        raise err("DuplicateLoadBalancerName", f"A load balancer with the name '{name}' already exists")
    kick_lb(ctx, name)
    return {"LoadBalancers": [public(doc)]}


@op("DescribeLoadBalancers")
def describe_load_balancers(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    arns, names = req.get("LoadBalancerArns"), req.get("Names")
    if arns and names:
        raise invalid("Load balancer names and load balancer ARNs cannot be specified at the same time")
    if arns:
        docs = [get_lb(ctx, a) for a in dict.fromkeys(arns)]
    elif names:
        docs = []
        for n in dict.fromkeys(names):
            doc = ctx.store.get(LB, ctx.scope, n)
            if doc is None:
                raise lb_not_found()
            docs.append(doc)
    else:
        docs = [d for _, d in ctx.store.list(LB, ctx.scope)]
    return output_page("LoadBalancers", [public(d) for d in docs], req)


@op("DeleteLoadBalancer")
def delete_load_balancer(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    arn = req["LoadBalancerArn"]
    doc = find_lb(ctx.store, ctx.scope, arn)
    if doc is None:
        return {}  # "If the load balancer does not exist or has already been deleted, the call succeeds."
    if attributes.flag(doc["_attributes"], "deletion_protection.enabled"):
        raise err(
            "OperationNotPermitted",
            f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled",
        )
    name = doc["LoadBalancerName"]
    with ctx.store.transaction():
        for kind in (RULE, LISTENER):
            for key, _ in ctx.store.list(kind, ctx.scope, prefix=lb_prefix(doc)):
                ctx.store.delete(kind, ctx.scope, key)
        ctx.store.delete(LB, ctx.scope, name)
        changed = refresh_references(ctx.store, ctx.scope, arn, set())
    kick_lb(ctx, name)
    for tg in changed:
        kick_tg(ctx, tg)
    return {}


@op("DescribeLoadBalancerAttributes")
def describe_attributes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_lb(ctx, req["LoadBalancerArn"])
    return {"Attributes": attributes.as_list(doc["_attributes"])}


@op("ModifyLoadBalancerAttributes")
def modify_attributes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_lb(ctx, req["LoadBalancerArn"])
    attrs, problem = attributes.apply(attributes.LOAD_BALANCER, doc["_attributes"], req["Attributes"])
    if problem:
        raise bad_config(problem)
    if attributes.flag(attrs, "access_logs.s3.enabled"):
        _check_bucket(ctx, attrs.get("access_logs.s3.bucket", ""))
    doc["_attributes"] = attrs
    ctx.store.put(LB, ctx.scope, doc["LoadBalancerName"], doc)
    kick_lb(ctx, doc["LoadBalancerName"])
    return {"Attributes": attributes.as_list(attrs)}


def _check_bucket(ctx: RequestContext, bucket: str) -> None:
    if not bucket:
        raise bad_config("The access log bucket must be specified when access logs are enabled")
    from gureum.core.errors import ServiceError
    from gureum.services.s3 import public as s3

    try:
        s3.bucket_versioning(ctx.app, bucket)
    except ServiceError:
        raise bad_config(f"Access Denied for bucket: {bucket}. Please check S3bucket permission") from None


@op("SetSecurityGroups")
def set_security_groups(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_lb(ctx, req["LoadBalancerArn"])
    doc["SecurityGroups"] = list(req["SecurityGroups"])
    ctx.store.put(LB, ctx.scope, doc["LoadBalancerName"], doc)
    return {"SecurityGroupIds": doc["SecurityGroups"]}


@op("SetSubnets")
def set_subnets(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_lb(ctx, req["LoadBalancerArn"])
    zones = _zones(ctx, req)
    doc["AvailabilityZones"] = [
        {"ZoneName": z["ZoneName"], "SubnetId": z["SubnetId"], "LoadBalancerAddresses": []} for z in zones
    ]
    ctx.store.put(LB, ctx.scope, doc["LoadBalancerName"], doc)
    return {"AvailabilityZones": doc["AvailabilityZones"], "IpAddressType": doc["IpAddressType"]}


@op("SetIpAddressType")
def set_ip_address_type(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = get_lb(ctx, req["LoadBalancerArn"])
    doc["IpAddressType"] = req["IpAddressType"]
    ctx.store.put(LB, ctx.scope, doc["LoadBalancerName"], doc)
    return {"IpAddressType": doc["IpAddressType"]}
