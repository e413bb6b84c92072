"""EC2 DescribeRegions / DescribeAvailabilityZones through boto3 (ec2 protocol)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e


def test_describe_regions(client: Callable[..., Any]) -> None:
    ec2 = client("ec2")
    enabled = ec2.describe_regions()["Regions"]
    names = {r["RegionName"] for r in enabled}
    assert {"us-east-1", "eu-west-1", "ap-northeast-2"} <= names
    assert "af-south-1" not in names  # opt-in region, not opted in
    assert all(r["OptInStatus"] == "opt-in-not-required" for r in enabled)
    us = next(r for r in enabled if r["RegionName"] == "us-east-1")
    assert us["Endpoint"] == "ec2.us-east-1.amazonaws.com"

    everything = ec2.describe_regions(AllRegions=True)["Regions"]
    assert len(everything) > len(enabled)
    cape = next(r for r in everything if r["RegionName"] == "af-south-1")
    assert cape["OptInStatus"] == "not-opted-in"

    two = ec2.describe_regions(RegionNames=["eu-west-1", "us-west-2"])["Regions"]
    assert sorted(r["RegionName"] for r in two) == ["eu-west-1", "us-west-2"]
    filtered = ec2.describe_regions(AllRegions=True, Filters=[{"Name": "region-name", "Values": ["eu-*"]},
                                                              {"Name": "opt-in-status", "Values": ["not-opted-in"]}])
    assert {r["RegionName"] for r in filtered["Regions"]} == {"eu-south-1", "eu-south-2", "eu-central-2"}
    with pytest.raises(ClientError) as exc:
        ec2.describe_regions(RegionNames=["us-nowhere-1"])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "us-nowhere-1" in exc.value.response["Error"]["Message"]


def test_describe_availability_zones(client: Callable[..., Any]) -> None:
    zones = client("ec2").describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == [f"us-east-1{c}" for c in "abcdef"]
    assert [z["ZoneId"] for z in zones][:2] == ["use1-az1", "use1-az2"]
    assert all(z["State"] == "available" and z["RegionName"] == "us-east-1" for z in zones)

    eu = client("ec2", region="eu-west-1")
    names = [z["ZoneName"] for z in eu.describe_availability_zones()["AvailabilityZones"]]
    assert names == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    one = eu.describe_availability_zones(ZoneNames=["eu-west-1b"])["AvailabilityZones"]
    assert [(z["ZoneName"], z["ZoneId"]) for z in one] == [("eu-west-1b", "euw1-az2")]
    by_filter = eu.describe_availability_zones(Filters=[{"Name": "zone-name", "Values": ["eu-west-1a", "eu-west-1c"]},
                                                        {"Name": "state", "Values": ["available"]}])
    assert [z["ZoneName"] for z in by_filter["AvailabilityZones"]] == ["eu-west-1a", "eu-west-1c"]
    assert eu.describe_availability_zones(Filters=[{"Name": "state", "Values": ["impaired"]}])["AvailabilityZones"] == []
    with pytest.raises(ClientError) as exc:
        eu.describe_availability_zones(ZoneNames=["us-east-1a"])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "us-east-1a" in exc.value.response["Error"]["Message"]
