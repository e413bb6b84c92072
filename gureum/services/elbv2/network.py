"""Where load balancers and targets are: subnets, zones, instance addresses,
and how a ``DNSName`` maps to the address a load balancer listens on.

Addressing:

* Each load balancer leases its own loopback IP from
  :class:`gureum.runtime.addresses.AddressAllocator` (owner = its ARN), e.g.
  ``127.0.1.7``, and every listener binds that IP on the listener's own port,
  so two load balancers can both listen on port 80.  ``DescribeLoadBalancers``
  shows the IP in AWS's own place for balancer addresses:
  ``AvailabilityZones[].LoadBalancerAddresses[].IpAddress``.
* Its ``DNSName`` is ``<name>-<digits>.<region>.elb.localhost``
  (``internal-…`` for internal ones): AWS's shape under ``.elb.localhost``.
  Nothing on the machine resolves that name by itself; reach it with
  ``curl --resolve <dns>:80:<ip> http://<dns>/`` (or ``--connect-to
  <dns>:80:<ip>:80``), or connect to the IP and send ``Host: <dns>``.
  :func:`gureum.services.elbv2.public.resolve` answers the IP and the real
  port of each listener for a DNS name.
* If a listener's port cannot be bound on that IP (another program holds it)
  the listener binds an ephemeral port; ``DescribeListenerAttributes`` then
  shows the real one as ``gureum.bound_address`` (``ip:port``).

Instance targets: the address is the instance's ``PrivateIpAddress`` as
:func:`gureum.services.ec2.public.describe` reports it; an instance that is
unknown, stopped or terminated has none (its target fails health checks).

Subnets: EC2's default subnets (one per zone, ids derived from account,
region and zone; :mod:`gureum.services.ec2.vpc`) give each subnet its zone
and VPC.  Any other subnet id is accepted and placed in the zones
``<region>a``, ``<region>b``… in the order given, in the default VPC.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.app import App

ZONE_LETTERS = "abcdef"
DNS_SUFFIX = "elb.localhost"
HOSTED_ZONE_ID = "Z35SXDOTRQ7X7K"  # ALB's canonical hosted zone in us-east-1


def default_vpc(scope: Scope) -> str:
    from gureum.services.ec2 import vpc

    return vpc.default_vpc(scope).id


def default_subnets(scope: Scope) -> list[str]:
    """The first two default subnets, when CreateLoadBalancer names none."""
    from gureum.services.ec2 import vpc

    return [s.id for s in vpc.default_subnets(scope)[:2]]


def subnet_zones(scope: Scope, subnets: list[str]) -> list[dict[str, Any]]:
    """``[{SubnetId, ZoneName, VpcId}]`` for the given subnets, in order."""
    from gureum.services.ec2 import vpc

    out = []
    for i, subnet_id in enumerate(subnets):
        known = vpc.subnet_by_id(scope, subnet_id)
        if known is not None:
            out.append({"SubnetId": subnet_id, "ZoneName": known.zone, "VpcId": known.vpc_id})
        else:
            zone = f"{scope.region}{ZONE_LETTERS[i % len(ZONE_LETTERS)]}"
            out.append({"SubnetId": subnet_id, "ZoneName": zone, "VpcId": default_vpc(scope)})
    return out


def dns_name(name: str, region: str, internal: bool) -> str:
    digits = str(1_000_000_000 + secrets.randbelow(8_999_999_999))
    prefix = "internal-" if internal else ""
    return f"{prefix}{name}-{digits}.{region}.{DNS_SUFFIX}"


def _instance(app: App, scope: Scope, instance_id: str) -> dict[str, Any] | None:
    from gureum.services.ec2 import public as ec2

    try:
        found = ec2.describe(app, scope, [instance_id])
    except ServiceError:
        return None
    return found[0] if found else None


def instance_address(app: App, scope: Scope, instance_id: str) -> str | None:
    """The private IP of a running (or pending) EC2 instance, else None."""
    inst = _instance(app, scope, instance_id)
    if inst is None or (inst.get("State") or {}).get("Name") not in ("pending", "running"):
        return None
    ip = inst.get("PrivateIpAddress")
    return str(ip) if ip else None


def instance_known(app: App, scope: Scope, instance_id: str) -> bool:
    """Whether ``instance_id`` names an instance that is not terminated."""
    inst = _instance(app, scope, instance_id)
    return inst is not None and (inst.get("State") or {}).get("Name") != "terminated"
