"""EC2 regions and Availability Zones: DescribeRegions, DescribeAvailabilityZones.

The table below is the AWS commercial partition (facts from AWS's region
list and botocore's ``partitions.json``).  Regions launched after March 2019
are opt-in: a new account sees them as ``not-opted-in`` and DescribeRegions
leaves them out unless ``AllRegions`` is true (or they are named).

Zones are deterministic per region: letters from the table, zone ids
``<short region>-az<N>`` in the same order (on AWS the name→id mapping is
shuffled per account; one fixed mapping keeps subnets and placement
reproducible here).  The short region code is the AWS one: ``us-east-1`` →
``use1``, ``ap-southeast-2`` → ``apse2``.

Pure: the handlers read nothing but the request's region.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.ec2 import filters

OPT_IN_NOT_REQUIRED = "opt-in-not-required"
NOT_OPTED_IN = "not-opted-in"


@dataclass(frozen=True, slots=True)
class RegionInfo:
    name: str
    description: str
    opt_in: bool = False
    zone_letters: str = "abc"

    @property
    def opt_in_status(self) -> str:
        return NOT_OPTED_IN if self.opt_in else OPT_IN_NOT_REQUIRED

    @property
    def endpoint(self) -> str:
        return f"ec2.{self.name}.amazonaws.com"


REGIONS: tuple[RegionInfo, ...] = (
    RegionInfo("af-south-1", "Africa (Cape Town)", True),
    RegionInfo("ap-east-1", "Asia Pacific (Hong Kong)", True),
    RegionInfo("ap-east-2", "Asia Pacific (Taipei)", True),
    RegionInfo("ap-northeast-1", "Asia Pacific (Tokyo)", zone_letters="acd"),
    RegionInfo("ap-northeast-2", "Asia Pacific (Seoul)", zone_letters="abcd"),
    RegionInfo("ap-northeast-3", "Asia Pacific (Osaka)"),
    RegionInfo("ap-south-1", "Asia Pacific (Mumbai)"),
    RegionInfo("ap-south-2", "Asia Pacific (Hyderabad)", True),
    RegionInfo("ap-southeast-1", "Asia Pacific (Singapore)"),
    RegionInfo("ap-southeast-2", "Asia Pacific (Sydney)"),
    RegionInfo("ap-southeast-3", "Asia Pacific (Jakarta)", True),
    RegionInfo("ap-southeast-4", "Asia Pacific (Melbourne)", True),
    RegionInfo("ap-southeast-5", "Asia Pacific (Malaysia)", True),
    RegionInfo("ap-southeast-6", "Asia Pacific (New Zealand)", True),
    RegionInfo("ap-southeast-7", "Asia Pacific (Thailand)", True),
    RegionInfo("ca-central-1", "Canada (Central)", zone_letters="abd"),
    RegionInfo("ca-west-1", "Canada West (Calgary)", True),
    RegionInfo("eu-central-1", "Europe (Frankfurt)"),
    RegionInfo("eu-central-2", "Europe (Zurich)", True),
    RegionInfo("eu-north-1", "Europe (Stockholm)"),
    RegionInfo("eu-south-1", "Europe (Milan)", True),
    RegionInfo("eu-south-2", "Europe (Spain)", True),
    RegionInfo("eu-west-1", "Europe (Ireland)"),
    RegionInfo("eu-west-2", "Europe (London)"),
    RegionInfo("eu-west-3", "Europe (Paris)"),
    RegionInfo("il-central-1", "Israel (Tel Aviv)", True),
    RegionInfo("me-central-1", "Middle East (UAE)", True),
    RegionInfo("me-south-1", "Middle East (Bahrain)", True),
    RegionInfo("mx-central-1", "Mexico (Central)", True),
    RegionInfo("sa-east-1", "South America (Sao Paulo)"),
    RegionInfo("us-east-1", "US East (N. Virginia)", zone_letters="abcdef"),
    RegionInfo("us-east-2", "US East (Ohio)"),
    RegionInfo("us-west-1", "US West (N. California)", zone_letters="bc"),
    RegionInfo("us-west-2", "US West (Oregon)", zone_letters="abcd"),
)

BY_NAME: dict[str, RegionInfo] = {r.name: r for r in REGIONS}

_DIRECTIONS = {
    "east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}


def short_code(region: str) -> str:
    """``us-east-1`` → ``use1``; ``ap-southeast-2`` → ``apse2``."""
    parts = region.split("-")
    if len(parts) != 3:
        return region.replace("-", "")
    area, direction, number = parts
    return f"{area}{_DIRECTIONS.get(direction, direction[:1])}{number}"


@dataclass(frozen=True, slots=True)
class Zone:
    region: str
    name: str
    zone_id: str
    state: str = "available"
    opt_in_status: str = OPT_IN_NOT_REQUIRED


def zones(region: str) -> list[Zone]:
    """The Availability Zones of ``region`` (a sensible default for unknown names)."""
    info = BY_NAME.get(region)
    letters = info.zone_letters if info else "abc"
    code = short_code(region)
    return [Zone(region, f"{region}{ch}", f"{code}-az{i + 1}") for i, ch in enumerate(letters)]


def region_dict(info: RegionInfo) -> dict[str, Any]:
    return {"RegionName": info.name, "Endpoint": info.endpoint, "OptInStatus": info.opt_in_status}


def zone_dict(zone: Zone) -> dict[str, Any]:
    return {
        "ZoneName": zone.name,
        "ZoneId": zone.zone_id,
        "State": zone.state,
        "OptInStatus": zone.opt_in_status,
        "Messages": [],
        "RegionName": zone.region,
        "GroupName": zone.region,
        "GroupLongName": _description(zone.region),
        "NetworkBorderGroup": zone.region,
        "ZoneType": "availability-zone",
    }


def _description(region: str) -> str:
    info = BY_NAME.get(region)
    return f"{info.description} 1" if info else region


_REGION_FILTERS: dict[str, Callable[[RegionInfo], Iterable[str]]] = {
    "endpoint": lambda r: [r.endpoint],
    "opt-in-status": lambda r: [r.opt_in_status],
    "region-name": lambda r: [r.name],
}

_ZONE_FILTERS: dict[str, Callable[[Zone], Iterable[str]]] = {
    "zone-name": lambda z: [z.name],
    "zone-id": lambda z: [z.zone_id],
    "state": lambda z: [z.state],
    "region-name": lambda z: [z.region],
    "group-name": lambda z: [z.region],
    "network-border-group": lambda z: [z.region],
    "opt-in-status": lambda z: [z.opt_in_status],
    "zone-type": lambda z: ["availability-zone"],
    "message": lambda z: [],
}


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message, 400, sender_fault=True)


def describe_regions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    names = list(req.get("RegionNames") or [])
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise _invalid(f"Invalid region: [{', '.join(unknown)}]")
    if names:
        candidates = [BY_NAME[n] for n in names]
    elif req.get("AllRegions"):
        candidates = list(REGIONS)
    else:
        candidates = [r for r in REGIONS if not r.opt_in]
    chosen = filters.apply(candidates, req.get("Filters"), _REGION_FILTERS)
    return {"Regions": [region_dict(r) for r in chosen]}


def describe_availability_zones(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    all_zones = zones(ctx.region)
    by_name = {z.name: z for z in all_zones}
    by_id = {z.zone_id: z for z in all_zones}
    names = list(req.get("ZoneNames") or [])
    ids = list(req.get("ZoneIds") or [])
    bad_names = [n for n in names if n not in by_name]
    if bad_names:
        raise _invalid(f"Invalid availability zone: [{', '.join(bad_names)}]")
    bad_ids = [i for i in ids if i not in by_id]
    if bad_ids:
        raise _invalid(f"Invalid availability zone ID: [{', '.join(bad_ids)}]")
    chosen = all_zones
    if names or ids:
        wanted = set(names) | {by_id[i].name for i in ids}
        chosen = [z for z in all_zones if z.name in wanted]
    chosen = filters.apply(chosen, req.get("Filters"), _ZONE_FILTERS)
    return {"AvailabilityZones": [zone_dict(z) for z in chosen]}


OPERATIONS = {
    "DescribeRegions": describe_regions,
    "DescribeAvailabilityZones": describe_availability_zones,
}
