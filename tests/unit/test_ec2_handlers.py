"""EC2 handlers called directly on an App (real store, no HTTP): RunInstances
validation and intent, state calls, launch templates, tags, images, VPC."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.runtime.addresses import AddressAllocator
from gureum.services.api import RequestContext
from gureum.services.ec2 import public
from gureum.services.ec2.names import BUILTIN_AMI, INSTANCE, STATE_TOPIC
from gureum.settings import Settings

ACCOUNT = "123456789012"
SCOPE = Scope(ACCOUNT, "us-east-1")
NOW = 1_700_000_000.0


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    a.service_api("ec2")
    yield a
    a.store.close()


def call(app: App, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api("ec2")
    assert api is not None
    ctx = RequestContext("ec2", op, ACCOUNT, "us-east-1", "rid", app)
    return api.handlers[op](ctx, req)  # type: ignore[return-value]


def fails(app: App, op: str, code: str, **req: Any) -> str:
    with pytest.raises(ServiceError) as exc:
        call(app, op, **req)
    assert exc.value.code == code, exc.value.message
    return exc.value.message


def run(app: App, n: int = 1, **req: Any) -> list[dict[str, Any]]:
    out = call(app, "RunInstances", ImageId=BUILTIN_AMI, MinCount=n, MaxCount=n, **req)
    return out["Instances"]  # type: ignore[no-any-return]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_run_instances_records_pending_instances_with_addresses(app: App) -> None:
    events: list[dict[str, Any]] = []
    app.bus.subscribe(STATE_TOPIC, lambda _t, p: events.append(p))
    out = call(app, "RunInstances", ImageId=BUILTIN_AMI, MinCount=2, MaxCount=2, InstanceType="t3.micro",
               KeyName="k", UserData=b64("#!/bin/sh\necho hi\n"), Monitoring={"Enabled": True},
               TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}])
    assert out["OwnerId"] == ACCOUNT and out["ReservationId"].startswith("r-")
    insts = out["Instances"]
    assert [i["AmiLaunchIndex"] for i in insts] == [0, 1]
    assert all(i["State"] == {"Code": 0, "Name": "pending"} for i in insts)
    assert all(i["StateReason"]["Code"] == "pending" for i in insts)
    ips = [i["PrivateIpAddress"] for i in insts]
    assert len(set(ips)) == 2 and all(ip.startswith("127.0.1.") for ip in ips)
    assert insts[0]["PrivateDnsName"] == f"ip-{ips[0].replace('.', '-')}.ec2.internal"
    assert insts[0]["Monitoring"] == {"State": "enabled"} and insts[0]["KeyName"] == "k"
    assert insts[0]["Tags"] == [{"Key": "Name", "Value": "web"}]
    assert insts[0]["SecurityGroups"][0]["GroupName"] == "default"
    assert insts[0]["Placement"]["AvailabilityZone"] == "us-east-1a"
    leases = AddressAllocator(app.store).leases()
    assert {leases[ip] for ip in ips} == {f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{i['InstanceId']}" for i in insts}
    assert [e["state"] for e in events] == ["pending", "pending"]
    assert app.runner.controllers["ec2.instance"].queued == {f"{ACCOUNT}|us-east-1|{i['InstanceId']}" for i in insts}


def test_run_instances_defaults_and_client_token(app: App) -> None:
    first = run(app, ClientToken="tok-1")
    assert first[0]["InstanceType"] == "m1.small"
    again = run(app, ClientToken="tok-1")
    assert [i["InstanceId"] for i in again] == [first[0]["InstanceId"]]
    assert len(app.store.list(INSTANCE, SCOPE)) == 1


@pytest.mark.parametrize(
    ("req", "code", "words"),
    [
        ({"ImageId": "ami-00000000000000000"}, "InvalidAMIID.NotFound", "does not exist"),
        ({"ImageId": "bogus"}, "InvalidAMIID.Malformed", "Invalid id"),
        ({"ImageId": BUILTIN_AMI, "InstanceType": "t9.huge"}, "InvalidParameterValue", "t9.huge"),
        ({"ImageId": BUILTIN_AMI, "MinCount": 3, "MaxCount": 2}, "InvalidParameterValue", "MinCount"),
        ({"ImageId": BUILTIN_AMI, "MinCount": 0, "MaxCount": 2}, "InvalidParameterValue", "MinCount"),
        ({"ImageId": BUILTIN_AMI, "UserData": "%%%not base64"}, "InvalidParameterValue", "BASE64"),
        ({"ImageId": BUILTIN_AMI, "SubnetId": "subnet-0123abcd"}, "InvalidSubnetID.NotFound", "subnet-0123abcd"),
        ({"ImageId": BUILTIN_AMI, "SecurityGroupIds": ["sg-0123abcd"]}, "InvalidGroup.NotFound", "sg-0123abcd"),
        ({"ImageId": BUILTIN_AMI, "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "aws:x", "Value": "1"}]}]},
         "InvalidParameterValue", "aws:"),
        ({}, "MissingParameter", "ImageId"),
        ({"ImageId": BUILTIN_AMI, "DryRun": True}, "DryRunOperation", "DryRun"),
    ],
)
def test_run_instances_errors(app: App, req: dict[str, Any], code: str, words: str) -> None:
    req.setdefault("MinCount", 1)
    req.setdefault("MaxCount", 1)
    assert words in fails(app, "RunInstances", code, **req)
    assert app.store.list(INSTANCE, SCOPE) == []
    assert AddressAllocator(app.store).leases() == {}


def test_run_instances_stops_at_the_free_addresses(app: App) -> None:
    allocator = AddressAllocator(app.store)
    hosts = 253
    for n in range(hosts - 3):
        allocator.allocate(f"other-{n}")
    fails(app, "RunInstances", "InsufficientInstanceCapacity", ImageId=BUILTIN_AMI, MinCount=4, MaxCount=4)
    assert len(allocator.leases()) == hosts - 3  # nothing half-launched
    out = call(app, "RunInstances", ImageId=BUILTIN_AMI, MinCount=1, MaxCount=10)
    assert len(out["Instances"]) == 3  # MinCount 1: as many as fit


def test_state_calls_move_states_and_refuse_wrong_ones(app: App) -> None:
    iid = run(app)[0]["InstanceId"]
    msg = fails(app, "StopInstances", "IncorrectInstanceState", InstanceIds=[iid])
    assert iid in msg and "stopped" in msg
    doc = app.store.get(INSTANCE, SCOPE, iid)
    assert doc is not None
    doc["State"] = {"Code": 16, "Name": "running"}
    app.store.put(INSTANCE, SCOPE, iid, doc)
    out = call(app, "StopInstances", InstanceIds=[iid])["StoppingInstances"]
    assert out == [{"InstanceId": iid, "CurrentState": {"Code": 64, "Name": "stopping"},
                    "PreviousState": {"Code": 16, "Name": "running"}}]
    doc = app.store.get(INSTANCE, SCOPE, iid)
    assert doc is not None and doc["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert doc["StateTransitionReason"].startswith("User initiated (2023-11-14 ")
    fails(app, "StartInstances", "IncorrectInstanceState", InstanceIds=[iid])  # stopping
    out = call(app, "TerminateInstances", InstanceIds=[iid])["TerminatingInstances"]
    assert out[0]["CurrentState"]["Name"] == "shutting-down"
    fails(app, "RebootInstances", "IncorrectInstanceState", InstanceIds=[iid])
    assert "i-0000000000000dead" in fails(app, "TerminateInstances", "InvalidInstanceID.NotFound",
                                           InstanceIds=[iid, "i-0000000000000dead"])
    fails(app, "StopInstances", "InvalidInstanceID.Malformed", InstanceIds=["instance-1"])


def test_disable_api_termination(app: App) -> None:
    iid = run(app, DisableApiTermination=True)[0]["InstanceId"]
    fails(app, "TerminateInstances", "OperationNotPermitted", InstanceIds=[iid])


def test_describe_instances_filters_and_pages(app: App) -> None:
    a = run(app, 3, InstanceType="t2.micro")
    b = run(app, 2, InstanceType="c5.large",
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "batch"}]}])
    got = call(app, "DescribeInstances", Filters=[{"Name": "instance-type", "Values": ["c5.*"]}])
    assert {i["InstanceId"] for r in got["Reservations"] for i in r["Instances"]} == {i["InstanceId"] for i in b}
    got = call(app, "DescribeInstances", Filters=[{"Name": "tag:role", "Values": ["batch"]}])
    assert len(got["Reservations"]) == 1 and len(got["Reservations"][0]["Instances"]) == 2
    seen, token, pages = [], None, 0
    while True:
        page = call(app, "DescribeInstances", MaxResults=5, **({"NextToken": token} if token else {}))
        seen += [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 1 and sorted(seen) == sorted(i["InstanceId"] for i in a + b)
    run(app, 4)
    page = call(app, "DescribeInstances", MaxResults=5)
    assert page["NextToken"] and sum(len(r["Instances"]) for r in page["Reservations"]) == 5
    fails(app, "DescribeInstances", "InvalidParameterCombination", InstanceIds=[a[0]["InstanceId"]], MaxResults=5)
    fails(app, "DescribeInstances", "InvalidParameterValue", MaxResults=2)
    fails(app, "DescribeInstances", "InvalidParameterValue", Filters=[{"Name": "nope", "Values": ["1"]}])


def test_describe_instance_status(app: App) -> None:
    iid = run(app)[0]["InstanceId"]
    assert call(app, "DescribeInstanceStatus")["InstanceStatuses"] == []
    got = call(app, "DescribeInstanceStatus", IncludeAllInstances=True)["InstanceStatuses"]
    assert got[0]["InstanceId"] == iid and got[0]["InstanceStatus"] == {"Status": "not-applicable"}
    assert got[0]["AvailabilityZoneId"] == "use1-az1"


def test_launch_templates_and_running_from_one(app: App) -> None:
    lt = call(app, "CreateLaunchTemplate", LaunchTemplateName="web-tpl", VersionDescription="v1",
              LaunchTemplateData={"ImageId": BUILTIN_AMI, "InstanceType": "t3.small", "UserData": b64("#!/bin/sh\n"),
                                  "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "from", "Value": "tpl"}]}]},
              TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "team", "Value": "a"}]}])["LaunchTemplate"]
    assert (lt["DefaultVersionNumber"], lt["LatestVersionNumber"]) == (1, 1) and lt["Tags"][0]["Key"] == "team"
    fails(app, "CreateLaunchTemplate", "InvalidLaunchTemplateName.AlreadyExistsException",
          LaunchTemplateName="web-tpl", LaunchTemplateData={})
    fails(app, "CreateLaunchTemplate", "InvalidLaunchTemplateName.MalformedException",
          LaunchTemplateName="a b", LaunchTemplateData={})
    v2 = call(app, "CreateLaunchTemplateVersion", LaunchTemplateName="web-tpl", SourceVersion="1",
              LaunchTemplateData={"InstanceType": "m5.large"})["LaunchTemplateVersion"]
    assert v2["VersionNumber"] == 2 and v2["LaunchTemplateData"]["ImageId"] == BUILTIN_AMI
    assert v2["DefaultVersion"] is False

    inst = run(app, LaunchTemplate={"LaunchTemplateName": "web-tpl"})[0]
    assert inst["InstanceType"] == "t3.small"  # $Default is still 1
    tags = {t["Key"]: t["Value"] for t in inst["Tags"]}
    assert tags == {"from": "tpl", "aws:ec2launchtemplate:id": lt["LaunchTemplateId"],
                    "aws:ec2launchtemplate:version": "1"}
    assert run(app, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "$Latest"})[0]["InstanceType"] == "m5.large"
    assert run(app, LaunchTemplate={"LaunchTemplateName": "web-tpl"}, InstanceType="c5.large")[0]["InstanceType"] == "c5.large"

    call(app, "ModifyLaunchTemplate", LaunchTemplateId=lt["LaunchTemplateId"], DefaultVersion="2")
    assert run(app, LaunchTemplate={"LaunchTemplateName": "web-tpl"})[0]["InstanceType"] == "m5.large"
    versions = call(app, "DescribeLaunchTemplateVersions", LaunchTemplateName="web-tpl")["LaunchTemplateVersions"]
    assert [(v["VersionNumber"], v["DefaultVersion"]) for v in versions] == [(1, False), (2, True)]
    only = call(app, "DescribeLaunchTemplateVersions", LaunchTemplateName="web-tpl", Versions=["$Default"])
    assert [v["VersionNumber"] for v in only["LaunchTemplateVersions"]] == [2]
    fails(app, "DescribeLaunchTemplateVersions", "InvalidLaunchTemplateId.VersionNotFound",
          LaunchTemplateName="web-tpl", Versions=["7"])
    got = call(app, "DescribeLaunchTemplates", Filters=[{"Name": "tag:team", "Values": ["a"]}])["LaunchTemplates"]
    assert [t["LaunchTemplateName"] for t in got] == ["web-tpl"]
    call(app, "DeleteLaunchTemplate", LaunchTemplateName="web-tpl")
    fails(app, "DescribeLaunchTemplates", "InvalidLaunchTemplateName.NotFoundException", LaunchTemplateNames=["web-tpl"])
    fails(app, "RunInstances", "InvalidLaunchTemplateId.NotFound", MinCount=1, MaxCount=1,
          LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]})


def test_tags_on_every_resource_kind(app: App) -> None:
    iid = run(app)[0]["InstanceId"]
    vpc_id = call(app, "DescribeVpcs")["Vpcs"][0]["VpcId"]
    call(app, "CreateTags", Resources=[iid, vpc_id, BUILTIN_AMI], Tags=[{"Key": "env", "Value": "dev"}])
    call(app, "CreateTags", Resources=[iid], Tags=[{"Key": "Name", "Value": "box"}])
    got = call(app, "DescribeTags", Filters=[{"Name": "resource-type", "Values": ["instance"]}])["Tags"]
    assert [(t["Key"], t["Value"]) for t in got] == [("Name", "box"), ("env", "dev")]
    got = call(app, "DescribeTags", Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]
    assert {t["ResourceType"] for t in got} == {"instance", "vpc", "image"}
    call(app, "DeleteTags", Resources=[iid], Tags=[{"Key": "env", "Value": "other"}])  # value differs: kept
    call(app, "DeleteTags", Resources=[iid], Tags=[{"Key": "Name"}])
    got = call(app, "DescribeTags", Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    assert [t["Key"] for t in got] == ["env"]
    fails(app, "CreateTags", "InvalidInstanceID.NotFound", Resources=["i-0000000000000beef"], Tags=[{"Key": "a", "Value": "b"}])
    fails(app, "CreateTags", "InvalidID", Resources=["bogus"], Tags=[{"Key": "a", "Value": "b"}])
    assert call(app, "DescribeVpcs", Filters=[{"Name": "tag:env", "Values": ["dev"]}])["Vpcs"][0]["VpcId"] == vpc_id


def test_default_vpc_subnets_and_security_group(app: App) -> None:
    vpcs = call(app, "DescribeVpcs", Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["CidrBlock"] == "172.31.0.0/16" and vpcs[0]["IsDefault"] is True
    subnets = call(app, "DescribeSubnets", Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]},
                                                    {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    assert [s["AvailabilityZone"] for s in subnets] == [f"us-east-1{c}" for c in "abcdef"]
    one = call(app, "DescribeSubnets", Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}])["Subnets"]
    assert one[0]["CidrBlock"] == "172.31.16.0/20" and one[0]["DefaultForAz"] is True
    inst = run(app, SubnetId=one[0]["SubnetId"])[0]
    assert inst["Placement"]["AvailabilityZone"] == "us-east-1b"
    groups = call(app, "DescribeSecurityGroups", Filters=[{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert groups[0]["VpcId"] == vpcs[0]["VpcId"] and groups[0]["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert call(app, "DescribeSecurityGroups", GroupNames=["default"])["SecurityGroups"][0]["GroupId"] == groups[0]["GroupId"]
    fails(app, "DescribeSecurityGroups", "InvalidGroup.NotFound", GroupNames=["web"])
    fails(app, "DescribeSubnets", "InvalidSubnetID.NotFound", SubnetIds=["subnet-0123abcd"])
    fails(app, "DescribeVpcs", "InvalidVpcID.NotFound", VpcIds=["vpc-0123abcd"])


def test_images(app: App) -> None:
    builtin = call(app, "DescribeImages", Owners=["amazon"])["Images"]
    assert [(i["ImageId"], i["Name"], i["State"]) for i in builtin] == [(BUILTIN_AMI, "gureum-busybox", "available")]
    assert call(app, "DescribeImages", Owners=["self"])["Images"] == []
    ami = call(app, "RegisterImage", Name="my-app", ImageLocation="docker://nginx:alpine", Description="d")["ImageId"]
    img = call(app, "DescribeImages", ImageIds=[ami])["Images"][0]
    assert (img["State"], img["ImageLocation"], img["OwnerId"], img["Description"]) == ("pending", "nginx:alpine", ACCOUNT, "d")
    fails(app, "RegisterImage", "InvalidAMIName.Duplicate", Name="my-app", ImageLocation="x:y")
    fails(app, "RegisterImage", "InvalidParameterValue", Name="no-location")
    assert "not available" in fails(app, "RunInstances", "InvalidAMIID.Unavailable", ImageId=ami, MinCount=1, MaxCount=1)
    got = call(app, "DescribeImages", Filters=[{"Name": "name", "Values": ["my-*"]}])["Images"]
    assert [i["ImageId"] for i in got] == [ami]
    fails(app, "DescribeImages", "InvalidAMIID.NotFound", ImageIds=["ami-00000000000000000"])
    fails(app, "CreateImage", "IncorrectInstanceState", InstanceId=run(app)[0]["InstanceId"], Name="bake")  # pending
    call(app, "DeregisterImage", ImageId=ami)
    fails(app, "DescribeImages", "InvalidAMIID.NotFound", ImageIds=[ami])
    fails(app, "DeregisterImage", "AuthFailure", ImageId=BUILTIN_AMI)


def test_instance_types_handler(app: App) -> None:
    got = call(app, "DescribeInstanceTypes", InstanceTypes=["t3.micro", "c5.large"])["InstanceTypes"]
    assert [(t["InstanceType"], t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"]) for t in got] == [
        ("c5.large", 2, 4096), ("t3.micro", 2, 1024)]
    burst = call(app, "DescribeInstanceTypes", Filters=[{"Name": "burstable-performance-supported", "Values": ["true"]}])
    assert {t["InstanceType"].split(".")[0] for t in burst["InstanceTypes"]} == {"t2", "t3"}
    page = call(app, "DescribeInstanceTypes", MaxResults=5)
    assert len(page["InstanceTypes"]) == 5 and page["NextToken"]
    fails(app, "DescribeInstanceTypes", "InvalidInstanceType", InstanceTypes=["t9.huge"])


def test_public_functions(app: App) -> None:
    ids = public.run_instances(app, SCOPE, {"ImageId": BUILTIN_AMI, "MinCount": 2, "MaxCount": 2}, requester_id="asg",
                               system_tags={"aws:autoscaling:groupName": "web"})
    got = call(app, "DescribeInstances", Filters=[{"Name": "tag:aws:autoscaling:groupName", "Values": ["web"]}])
    assert sorted(i["InstanceId"] for r in got["Reservations"] for i in r["Instances"]) == sorted(ids)
    public.tag(app, SCOPE, ids[:1], {"aws:autoscaling:lifecycle": "InService"})
    assert {"Key": "aws:autoscaling:lifecycle", "Value": "InService"} in public.describe(app, SCOPE, ids[:1])[0]["Tags"]
    seen = public.describe(app, SCOPE, ids)
    assert [i["InstanceId"] for i in seen] == ids and all(i["State"]["Name"] == "pending" for i in seen)
    got = call(app, "DescribeInstances", Filters=[{"Name": "requester-id", "Values": ["asg"]}])
    assert got["Reservations"][0]["RequesterId"] == "asg"
    changes = public.terminate(app, SCOPE, ids)
    assert [c["CurrentState"]["Name"] for c in changes] == ["shutting-down", "shutting-down"]


def test_addresses_in_use_on_the_host_are_skipped(app: App) -> None:
    import socket

    from gureum.services.ec2 import address_probe

    allocator = AddressAllocator(app.store)
    squatter, everywhere = socket.socket(), socket.socket()
    try:
        squatter.bind(("127.0.1.2", 0))  # another program on the first address the range hands out
        squatter.listen()
        port = squatter.getsockname()[1]
        everywhere.bind(("0.0.0.0", 0))  # a wildcard listener is busy everywhere: not counted
        everywhere.listen()
        wild = everywhere.getsockname()[1]
        ip = address_probe.lease(allocator, "owner-1", (port, wild), NOW)
        assert ip == "127.0.1.3"
        assert allocator.owner_of("127.0.1.2") == address_probe.BUSY_OWNER
        squatter.close()
        assert address_probe.lease(allocator, "owner-2", (port,), NOW + 10) == "127.0.1.4"  # still marked
        assert address_probe.lease(allocator, "owner-3", (port,), NOW + address_probe.BUSY_TTL + 11) == "127.0.1.5"
        assert allocator.owner_of("127.0.1.2") is None  # the old mark is gone: .2 comes back round
    finally:
        squatter.close()
        everywhere.close()
