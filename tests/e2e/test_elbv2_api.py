"""The elbv2 control plane through boto3: shapes, defaults, errors, waiters.

Runs against the session server; every resource gets a unique name, and the
balancers made here are deleted again (a region allows 50).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e


@pytest.fixture
def elb(client: Callable[..., Any]) -> Any:
    return client("elbv2")


@pytest.fixture
def name() -> Callable[[str], str]:
    tag = uuid.uuid4().hex[:8]
    return lambda kind: f"{kind}-{tag}"


@pytest.fixture
def lbs(elb: Any) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for arn in made:
        elb.modify_load_balancer_attributes(
            LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}]
        )
        elb.delete_load_balancer(LoadBalancerArn=arn)


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def make_lb(elb: Any, lbs: list[str], lb_name: str, **kw: Any) -> dict[str, Any]:
    lb = elb.create_load_balancer(Name=lb_name, **kw)["LoadBalancers"][0]
    lbs.append(lb["LoadBalancerArn"])
    return dict(lb)


def make_tg(elb: Any, tg_name: str, **kw: Any) -> str:
    args = {"Protocol": "HTTP", "Port": 80, "TargetType": "ip", **kw}
    return str(elb.create_target_group(Name=tg_name, **args)["TargetGroups"][0]["TargetGroupArn"])


def test_load_balancer_lifecycle(elb: Any, client: Callable[..., Any], name: Callable[[str], str], lbs: list[str]) -> None:
    lb = make_lb(elb, lbs, name("web"), Tags=[{"Key": "team", "Value": "a"}])
    assert lb["State"]["Code"] == "provisioning" and lb["Type"] == "application"
    assert re.fullmatch(rf"{lb['LoadBalancerName']}-\d{{10}}\.us-east-1\.elb\.localhost", lb["DNSName"])
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:us-east-1:\d{12}:loadbalancer/app/[\w-]+/[0-9a-f]{16}", lb["LoadBalancerArn"])
    # no subnets named: EC2's default subnets of two zones
    defaults = {s["SubnetId"]: s["AvailabilityZone"] for s in client("ec2").describe_subnets()["Subnets"]}
    assert {z["SubnetId"]: z["ZoneName"] for z in lb["AvailabilityZones"]}.items() <= defaults.items()
    elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[lb["LoadBalancerArn"]], WaiterConfig={"Delay": 0.2})
    got = elb.describe_load_balancers(Names=[lb["LoadBalancerName"]])["LoadBalancers"][0]
    ip = got["AvailabilityZones"][0]["LoadBalancerAddresses"][0]["IpAddress"]
    assert got["State"] == {"Code": "active"} and ip.startswith("127.")
    # the same settings again: the same balancer; other settings: a duplicate
    again = elb.create_load_balancer(Name=lb["LoadBalancerName"])["LoadBalancers"][0]
    assert again["LoadBalancerArn"] == lb["LoadBalancerArn"]
    with pytest.raises(ClientError) as exc:
        elb.create_load_balancer(Name=lb["LoadBalancerName"], Scheme="internal")
    assert code(exc) == "DuplicateLoadBalancerName"
    internal = make_lb(elb, lbs, name("in"), Scheme="internal", Subnets=["subnet-1", "subnet-2"])
    assert internal["DNSName"].startswith("internal-")
    assert [z["ZoneName"] for z in internal["AvailabilityZones"]] == ["us-east-1a", "us-east-1b"]
    for bad in ({"Name": "-bad"}, {"Name": "x" * 33}, {"Name": "internal-x"}, {"Name": name("n"), "Type": "network"},
                {"Name": name("one"), "Subnets": ["subnet-1"]}):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            elb.create_load_balancer(**bad)
        assert code(exc) == "ValidationError", bad
    with pytest.raises(ClientError) as exc:
        elb.describe_load_balancers(Names=["no-such-lb"])
    assert code(exc) == "LoadBalancerNotFound"


def test_describe_pages(elb: Any, name: Callable[[str], str], lbs: list[str]) -> None:
    mine = {make_lb(elb, lbs, name(f"p{i}"))["LoadBalancerArn"] for i in range(3)}
    seen: list[str] = []
    for page in elb.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["LoadBalancers"]) <= 2
        seen += [lb["LoadBalancerArn"] for lb in page["LoadBalancers"]]
    assert mine <= set(seen) and len(seen) == len(set(seen))


def test_attributes_and_deletion_protection(elb: Any, name: Callable[[str], str], lbs: list[str]) -> None:
    arn = make_lb(elb, lbs, name("attr"))["LoadBalancerArn"]
    attrs = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    assert attrs["idle_timeout.timeout_seconds"] == "60"
    assert attrs["deletion_protection.enabled"] == "false"
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "false"
    with pytest.raises(ClientError) as exc:
        elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "0"}])
    assert code(exc) == "InvalidConfigurationRequest"
    out = elb.modify_load_balancer_attributes(
        LoadBalancerArn=arn,
        Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}, {"Key": "idle_timeout.timeout_seconds", "Value": "120"}],
    )["Attributes"]
    assert {"Key": "idle_timeout.timeout_seconds", "Value": "120"} in out
    with pytest.raises(ClientError) as exc:
        elb.delete_load_balancer(LoadBalancerArn=arn)
    assert code(exc) == "OperationNotPermitted"
    elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}])
    elb.delete_load_balancer(LoadBalancerArn=arn)
    lbs.remove(arn)
    elb.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[arn], WaiterConfig={"Delay": 0.2})
    elb.delete_load_balancer(LoadBalancerArn=arn)  # already gone: still a success


def test_target_group_defaults_attributes_and_errors(elb: Any, name: Callable[[str], str]) -> None:
    tg = elb.create_target_group(Name=name("tg"), Protocol="HTTP", Port=8080, VpcId="vpc-12345678")["TargetGroups"][0]
    assert tg["TargetType"] == "instance" and tg["LoadBalancerArns"] == []
    assert (tg["HealthCheckProtocol"], tg["HealthCheckPort"], tg["HealthCheckPath"]) == ("HTTP", "traffic-port", "/")
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (5, 2)
    assert tg["Matcher"] == {"HttpCode": "200"} and tg["HealthCheckEnabled"] is True
    lam = elb.create_target_group(Name=name("lam"), TargetType="lambda")["TargetGroups"][0]
    assert lam["HealthCheckEnabled"] is False and lam["HealthCheckIntervalSeconds"] == 35 and "Port" not in lam
    attrs = {a["Key"]: a["Value"] for a in elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]}
    assert attrs["deregistration_delay.timeout_seconds"] == "300"
    assert attrs["stickiness.enabled"] == "false" and attrs["stickiness.type"] == "lb_cookie"
    assert attrs["load_balancing.algorithm.type"] == "round_robin" and attrs["slow_start.duration_seconds"] == "0"
    elb.modify_target_group_attributes(
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"},
                    {"Key": "slow_start.duration_seconds", "Value": "30"}],
    )  # fmt: skip
    for bad in ([{"Key": "slow_start.duration_seconds", "Value": "10"}],
                [{"Key": "stickiness.type", "Value": "app_cookie"}, {"Key": "stickiness.enabled", "Value": "true"}],
                [{"Key": "no.such", "Value": "1"}]):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            elb.modify_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"], Attributes=bad)
        assert code(exc) == "InvalidConfigurationRequest"
    mod = elb.modify_target_group(TargetGroupArn=tg["TargetGroupArn"], HealthCheckPath="/ping", Matcher={"HttpCode": "200-299"})
    assert mod["TargetGroups"][0]["HealthCheckPath"] == "/ping"
    for bad_args in ({"Protocol": "HTTP", "TargetType": "ip"},  # no port
                     {"Protocol": "HTTP", "Port": 80, "HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 5},
                     {"Protocol": "HTTP", "Port": 80, "Matcher": {"HttpCode": "600"}}):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            elb.create_target_group(Name=name("bad"), **bad_args)
        assert code(exc) == "ValidationError", bad_args
    with pytest.raises(ClientError) as exc:
        elb.create_target_group(Name=tg["TargetGroupName"], Protocol="HTTPS", Port=443, VpcId="vpc-12345678")
    assert code(exc) == "DuplicateTargetGroupName"
    with pytest.raises(ClientError) as exc:
        elb.describe_target_groups(Names=["no-such-tg"])
    assert code(exc) == "TargetGroupNotFound"


def test_targets_outside_any_balancer(elb: Any, name: Callable[[str], str]) -> None:
    tg = make_tg(elb, name("t"))
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.3.1"}, {"Id": "127.0.3.2", "Port": 8080}])
    health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert {(d["Target"]["Id"], d["Target"]["Port"]) for d in health} == {("127.0.3.1", 80), ("127.0.3.2", 8080)}
    assert {d["TargetHealth"]["Reason"] for d in health} == {"Target.NotInUse"}
    unknown = elb.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": "127.0.3.9"}])["TargetHealthDescriptions"]
    assert unknown[0]["TargetHealth"]["State"] == "unused" and unknown[0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
    with pytest.raises(ClientError) as exc:
        elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.3.9"}])
    assert code(exc) == "InvalidTarget"
    with pytest.raises(ClientError) as exc:
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "not-an-ip"}])
    assert code(exc) == "InvalidTarget"
    inst = elb.create_target_group(Name=name("i"), Protocol="HTTP", Port=80)["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as exc:
        elb.register_targets(TargetGroupArn=inst, Targets=[{"Id": "i-0123456789abcdef0"}])
    assert code(exc) == "InvalidTarget"
    # a group no balancer uses has nothing to drain: deregistered targets go at once
    elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.3.1"}])
    elb.get_waiter("target_deregistered").wait(TargetGroupArn=tg, Targets=[{"Id": "127.0.3.1", "Port": 80}], WaiterConfig={"Delay": 0.2})
    elb.delete_target_group(TargetGroupArn=tg)
    elb.delete_target_group(TargetGroupArn=tg)  # gone already: still a success


def test_listeners_and_groups_in_use(elb: Any, name: Callable[[str], str], lbs: list[str]) -> None:
    lb = make_lb(elb, lbs, name("lis"))["LoadBalancerArn"]
    tg = make_tg(elb, name("g"))
    fwd = [{"Type": "forward", "TargetGroupArn": tg}]
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8081, DefaultActions=fwd)["Listeners"][0]
    assert listener["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": tg, "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": tg, "Weight": 1}], "TargetGroupStickinessConfig": {"Enabled": False}}}]  # fmt: skip
    same = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8081, DefaultActions=fwd)["Listeners"][0]
    assert same["ListenerArn"] == listener["ListenerArn"]
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}]
    errors = [
        ({"Port": 8081, "Protocol": "HTTP", "DefaultActions": fixed}, "DuplicateListener"),
        ({"Port": 8443, "Protocol": "HTTPS", "DefaultActions": fixed}, "ValidationError"),
        ({"Port": 8443, "Protocol": "HTTPS", "DefaultActions": fixed,
          "Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/nope"}]}, "CertificateNotFound"),
        ({"Port": 8082, "Protocol": "HTTP", "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg + "x"}]}, "TargetGroupNotFound"),
        ({"Port": 8082, "Protocol": "HTTP", "DefaultActions": [{"Type": "authenticate-oidc", "Order": 1}] + fixed}, "InvalidLoadBalancerAction"),
        ({"Port": 8082, "Protocol": "HTTP", "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "302"}}]}, "ValidationError"),
    ]  # fmt: skip
    for args, expected in errors:
        with pytest.raises(ClientError) as exc:
            elb.create_listener(LoadBalancerArn=lb, **args)
        assert code(exc) == expected, args
    group = elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]
    assert group["LoadBalancerArns"] == [lb]
    assert [g["TargetGroupArn"] for g in elb.describe_target_groups(LoadBalancerArn=lb)["TargetGroups"]] == [tg]
    with pytest.raises(ClientError) as exc:
        elb.delete_target_group(TargetGroupArn=tg)
    assert code(exc) == "ResourceInUse"
    other = make_lb(elb, lbs, name("oth"))["LoadBalancerArn"]
    with pytest.raises(ClientError) as exc:
        elb.create_listener(LoadBalancerArn=other, Protocol="HTTP", Port=80, DefaultActions=fwd)
    assert code(exc) == "TargetGroupAssociationLimit"
    moved = elb.modify_listener(ListenerArn=listener["ListenerArn"], Port=8090, DefaultActions=fixed)["Listeners"][0]
    assert moved["Port"] == 8090 and moved["DefaultActions"][0]["Type"] == "fixed-response"
    assert elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["LoadBalancerArns"] == []
    elb.delete_target_group(TargetGroupArn=tg)  # no longer used
    listed = elb.describe_listeners(LoadBalancerArn=lb)["Listeners"]
    assert [x["Port"] for x in listed] == [8090]
    elb.delete_listener(ListenerArn=listener["ListenerArn"])
    with pytest.raises(ClientError) as exc:
        elb.describe_listeners(ListenerArns=[listener["ListenerArn"]])
    assert code(exc) == "ListenerNotFound"


def test_rules(elb: Any, name: Callable[[str], str], lbs: list[str]) -> None:
    lb = make_lb(elb, lbs, name("rul"))["LoadBalancerArn"]
    fixed = lambda s: [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": s}}]  # noqa: E731
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8081, DefaultActions=fixed("404"))["Listeners"][0]["ListenerArn"]
    path = lambda p: [{"Field": "path-pattern", "PathPatternConfig": {"Values": [p]}}]  # noqa: E731
    r1 = elb.create_rule(ListenerArn=listener, Priority=5, Conditions=path("/a/*"), Actions=fixed("200"))["Rules"][0]
    assert r1["Conditions"] == [{"Field": "path-pattern", "Values": ["/a/*"], "PathPatternConfig": {"Values": ["/a/*"]}}]
    assert r1["Priority"] == "5" and r1["IsDefault"] is False
    r2 = elb.create_rule(
        ListenerArn=listener, Priority=6, Actions=fixed("201"),
        Conditions=[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["beta"]}},
                    {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}}],
    )["Rules"][0]  # fmt: skip
    with pytest.raises(ClientError) as exc:
        elb.create_rule(ListenerArn=listener, Priority=5, Conditions=path("/b"), Actions=fixed("200"))
    assert code(exc) == "PriorityInUse"
    for conds in (path("/" + "x" * 200), [{"Field": "source-ip", "SourceIpConfig": {"Values": ["nope"]}}], []):
        with pytest.raises(ClientError) as exc:
            elb.create_rule(ListenerArn=listener, Priority=9, Conditions=conds, Actions=fixed("200"))
        assert code(exc) == "ValidationError"
    swapped = elb.set_rule_priorities(RulePriorities=[{"RuleArn": r1["RuleArn"], "Priority": 6}, {"RuleArn": r2["RuleArn"], "Priority": 5}])
    assert {r["RuleArn"]: r["Priority"] for r in swapped["Rules"]} == {r1["RuleArn"]: "6", r2["RuleArn"]: "5"}
    with pytest.raises(ClientError) as exc:
        elb.set_rule_priorities(RulePriorities=[{"RuleArn": r1["RuleArn"], "Priority": 5}])
    assert code(exc) == "PriorityInUse"
    rules = elb.describe_rules(ListenerArn=listener)["Rules"]
    assert [r["Priority"] for r in rules] == ["5", "6", "default"] and rules[-1]["IsDefault"]
    default = rules[-1]["RuleArn"]
    with pytest.raises(ClientError) as exc:
        elb.delete_rule(RuleArn=default)
    assert code(exc) == "OperationNotPermitted"
    elb.modify_rule(RuleArn=default, Actions=fixed("503"))
    listed = elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]
    assert listed["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "503"
    elb.modify_rule(RuleArn=r1["RuleArn"], Conditions=path("/c/*"))
    assert elb.describe_rules(RuleArns=[r1["RuleArn"]])["Rules"][0]["Conditions"][0]["Values"] == ["/c/*"]
    elb.delete_rule(RuleArn=r1["RuleArn"])
    with pytest.raises(ClientError) as exc:
        elb.describe_rules(RuleArns=[r1["RuleArn"]])
    assert code(exc) == "RuleNotFound"


def test_tags(elb: Any, name: Callable[[str], str], lbs: list[str]) -> None:
    lb = make_lb(elb, lbs, name("tag"), Tags=[{"Key": "a", "Value": "1"}])["LoadBalancerArn"]
    tg = make_tg(elb, name("tg"))
    elb.add_tags(ResourceArns=[lb, tg], Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "x"}])
    out = {d["ResourceArn"]: d["Tags"] for d in elb.describe_tags(ResourceArns=[lb, tg])["TagDescriptions"]}
    assert out[lb] == [{"Key": "a", "Value": "x"}, {"Key": "b", "Value": "2"}]
    assert out[tg] == [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "x"}]
    elb.remove_tags(ResourceArns=[lb], TagKeys=["a"])
    assert elb.describe_tags(ResourceArns=[lb])["TagDescriptions"][0]["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as exc:
        elb.add_tags(ResourceArns=[lb], Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}])
    assert code(exc) == "DuplicateTagKeys"
    with pytest.raises(ClientError) as exc:
        elb.add_tags(ResourceArns=[lb], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert code(exc) == "TooManyTags"
    with pytest.raises(ClientError) as exc:
        elb.describe_tags(ResourceArns=[lb.replace("/app/", "/app/x")])
    assert code(exc) == "LoadBalancerNotFound"
    elb.delete_target_group(TargetGroupArn=tg)
