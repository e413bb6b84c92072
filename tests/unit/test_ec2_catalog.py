"""EC2's pure tables: instance types, the default VPC records, ids, paging,
tag-aware filters and the instance container spec."""

from __future__ import annotations

import ipaddress

import pytest

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.ec2 import filters, instance_types, names, paging, tag_store, vpc
from gureum.services.ec2.instance_runtime import container_spec, init_script
from gureum.services.ec2.instance_views import FILTERS, instance_view, reservations

SCOPE = Scope("123456789012", "eu-west-1")


@pytest.mark.parametrize(
    ("name", "vcpus", "mib", "burstable"),
    [
        ("t2.nano", 1, 512, True), ("t2.micro", 1, 1024, True), ("t2.2xlarge", 8, 32768, True),
        ("t3.nano", 2, 512, True), ("t3.large", 2, 8192, True), ("t3.2xlarge", 8, 32768, True),
        ("m5.large", 2, 8192, False), ("m5.24xlarge", 96, 393216, False),
        ("c5.large", 2, 4096, False), ("c5.9xlarge", 36, 73728, False), ("c5.24xlarge", 96, 196608, False),
        ("m1.small", 1, 1740, False),
    ],
)
def test_instance_type_table(name: str, vcpus: int, mib: int, burstable: bool) -> None:
    t = instance_types.require(name)
    assert (t.vcpus, t.memory_mib, t.burstable) == (vcpus, mib, burstable)
    info = instance_types.info(t)
    assert info["VCpuInfo"]["DefaultVCpus"] == vcpus
    assert info["MemoryInfo"]["SizeInMiB"] == mib
    assert info["BurstablePerformanceSupported"] is burstable


def test_burstable_credits_match_the_baseline() -> None:
    for t in instance_types.TYPES:
        if t.burstable:
            assert t.baseline is not None and t.credits_per_hour is not None
            assert t.credits_per_hour == pytest.approx(t.baseline * t.vcpus * 60, rel=0.01), t.name
    assert instance_types.require("t2.medium").launch_credits == 60
    assert instance_types.require("t3.micro").launch_credits == 0


def test_unknown_instance_type_and_cpu_cap() -> None:
    with pytest.raises(ServiceError) as exc:
        instance_types.require("t9.huge")
    assert exc.value.code == "InvalidParameterValue"
    assert instance_types.cpu_limit(instance_types.require("c5.24xlarge"), host_cpus=2) == 2.0
    assert instance_types.cpu_limit(instance_types.require("t2.micro"), host_cpus=8) == 1.0


def test_default_vpc_records_are_stable_and_well_formed() -> None:
    v = vpc.default_vpc(SCOPE)
    assert v == vpc.default_vpc(SCOPE) and names.is_id(v.id, "vpc")
    assert vpc.default_vpc(Scope("123456789012", "us-east-1")).id != v.id
    subnets = vpc.default_subnets(SCOPE)
    assert [s.zone for s in subnets] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    nets = [ipaddress.ip_network(s.cidr) for s in subnets]
    assert all(n.subnet_of(ipaddress.ip_network(vpc.VPC_CIDR)) and n.prefixlen == 20 for n in nets)
    assert len(set(nets)) == len(nets)
    assert vpc.subnet_for_zone(SCOPE, "eu-west-1b") == subnets[1]
    assert vpc.subnet_for_zone(SCOPE, None) == subnets[0]
    assert vpc.subnet_for_zone(SCOPE, "eu-west-1z") is None
    sg = vpc.default_security_group(SCOPE)
    assert sg.name == "default" and vpc.group_by_id(SCOPE, sg.id) == sg
    assert all(vpc.exists(SCOPE, rid) for rid in (v.id, subnets[2].id, sg.id))
    assert not vpc.exists(SCOPE, "vpc-00000000")


def test_ids_and_names() -> None:
    assert names.is_id("i-0123456789abcdef0", "i") and names.is_id("i-0123abcd", "i")
    assert not names.is_id("i-xyz", "i") and not names.is_id("ami-0123abcd", "i")
    assert names.is_id(names.BUILTIN_AMI, "ami")
    assert names.private_dns_name("127.0.1.5", "us-east-1") == "ip-127-0-1-5.ec2.internal"
    assert names.private_dns_name("127.0.1.5", "eu-west-1") == "ip-127-0-1-5.eu-west-1.compute.internal"
    assert names.iso(0.5) == "1970-01-01T00:00:00.500Z"


def test_paging_walks_every_item_once() -> None:
    items = [f"k{i:02d}" for i in range(23)]
    seen: list[str] = []
    token = None
    while True:
        chunk, token = paging.page(items, str, 5, token)
        seen += chunk
        if token is None:
            break
    assert seen == items
    with pytest.raises(ServiceError):
        paging.page(items, str, 5, "not-a-token")


def _doc(iid: str, state: str, ip: str, reservation: str) -> dict[str, object]:
    return {
        "InstanceId": iid, "ImageId": names.BUILTIN_AMI, "InstanceType": "t3.micro", "AmiLaunchIndex": 0,
        "LaunchTime": 1.0, "Placement": {"AvailabilityZone": "eu-west-1a"}, "Monitoring": {"State": "disabled"},
        "SubnetId": "subnet-1", "VpcId": "vpc-1", "PrivateIpAddress": ip, "PrivateDnsName": "ip",
        "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "default"}],
        "State": {"Code": 16 if state == "running" else 48, "Name": state},
        "_reservation": {"ReservationId": reservation, "OwnerId": SCOPE.account}, "_cid": "secret",
    }


def test_instance_filters_with_tags_and_reservations() -> None:
    docs = [_doc("i-1", "running", "127.0.1.2", "r-1"), _doc("i-2", "terminated", "127.0.1.3", "r-1"),
            _doc("i-3", "running", "127.0.1.4", "r-2")]
    tags = {"i-1": {"Name": "web", "env": "prod"}, "i-3": {"Name": "db"}}
    getters = tag_store.TagGetters(FILTERS, lambda d: tags.get(d["InstanceId"], {}))

    def ids(fs: list[dict[str, object]]) -> list[str]:
        return [d["InstanceId"] for d in filters.apply(docs, fs, getters)]  # type: ignore[misc]

    assert ids([{"Name": "instance-state-name", "Values": ["running"]}]) == ["i-1", "i-3"]
    assert ids([{"Name": "tag:Name", "Values": ["w*"]}]) == ["i-1"]
    assert ids([{"Name": "tag-key", "Values": ["env"]}]) == ["i-1"]
    assert ids([{"Name": "private-ip-address", "Values": ["127.0.1.4"]}]) == ["i-3"]
    assert ids([{"Name": "reservation-id", "Values": ["r-1"]},
                {"Name": "instance-state-code", "Values": ["48"]}]) == ["i-2"]
    with pytest.raises(ServiceError):
        ids([{"Name": "no-such-filter", "Values": ["x"]}])
    grouped = reservations(docs, lambda d: tags.get(d["InstanceId"], {}))
    assert [(r["ReservationId"], [i["InstanceId"] for i in r["Instances"]]) for r in grouped] == [
        ("r-1", ["i-1", "i-2"]), ("r-2", ["i-3"])]
    view = instance_view(docs[0], tags["i-1"])
    assert "_cid" not in view and view["Tags"] == [{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "prod"}]
    assert view["NetworkInterfaces"][0]["PrivateIpAddress"] == "127.0.1.2"
    assert "PrivateIpAddress" not in instance_view(docs[1], {})  # terminated: no network any more


def test_tag_rules() -> None:
    assert tag_store.check([{"Key": "a", "Value": None}]) == {"a": ""}
    for bad in ([{"Key": ""}], [{"Key": "aws:x", "Value": "1"}], [{"Key": "k" * 129, "Value": ""}]):
        with pytest.raises(ServiceError):
            tag_store.check(bad)
    assert tag_store.check([{"Key": "aws:ec2launchtemplate:id", "Value": "lt-1"}], system=True)
    assert tag_store.resource_type("i-0123abcd") == "instance"
    assert tag_store.resource_type("subnet-0123abcd") == "subnet"
    assert tag_store.resource_type("nope") is None


def test_container_spec_carries_limits_labels_and_address() -> None:
    doc = {**_doc("i-0123abcd", "pending", "127.0.1.9", "r-1"), "_dockerImage": "gureum/busybox:latest",
           "_arn": names.instance_arn(SCOPE, "i-0123abcd"), "_userData": "IyEvYmluL3NoCg=="}
    spec = container_spec(doc, instance_types.require("t3.micro"), skey="k", region="eu-west-1",
                          driver_name="docker", host_cpus=4)
    assert spec.name == "gureum-ec2-i-0123abcd" and spec.ip == "127.0.1.9" and spec.hostname == "ip-127-0-1-9"
    assert (spec.cpus, spec.memory_bytes) == (2.0, 1024 * 1024 * 1024)
    assert spec.labels["gureum.ec2.key"] == "k" and spec.labels["gureum.service"] == "ec2"
    assert spec.owner.endswith(":instance/i-0123abcd")
    assert spec.env["GUREUM_USER_DATA"] == "IyEvYmluL3NoCg=="
    assert {p.container_port for p in spec.ports} >= {22, 80}
    assert 'R=""' in init_script("i-1", "docker") and 'R="$HOME"' in init_script("i-1", "process")
