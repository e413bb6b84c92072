"""OpsWorks Stacks end to end with boto3 and real instances (process driver,
``--time-scale 30``: the 300 s heal timeout passes in 10 s).

One stack, one layer with a custom cookbook from S3, two instances and a
static app from an S3 zip served by busybox httpd; the tests run in order
on it: start (Setup, Deploy, Configure), deploy through an ALB, rollback,
auto-healing of an instance whose agent was stopped, stop (Shutdown).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Server, start_server, stop_server
from opsworks_helpers import (
    clients,
    commands,
    http_get,
    log_of,
    new_stack,
    stop_agent_process_driver,
    wait_deployment,
    wait_for,
    wait_status,
    wipe_process_instances,
    zipped,
)

from gureum.runtime.images import BaseImageError, find_busybox

pytestmark = pytest.mark.e2e

COOKBOOKS = {
    "site-cookbooks/web/attributes/default.json": json.dumps({"web": {"greeting": "hello"}}),
    "site-cookbooks/web/attributes/more.yml": "web:\n  owner: ops\n",
    "site-cookbooks/web/templates/motd.txt.j2": "{{ node.web.greeting }} from {{ node.opsworks.instance.hostname }}"
                                                " ({{ web.owner }})\n",
    "site-cookbooks/web/recipes/setup.sh": 'echo "setup ran on $OPSWORKS_HOSTNAME greeting=$OPSWORKS_ATTR_WEB_GREETING"\n'
                                          'opsworks-template motd.txt "$OPSWORKS_ROOT/etc/motd" && cat "$OPSWORKS_ROOT/etc/motd"\n',
    "site-cookbooks/web/recipes/configure.sh": 'echo "configure sees: $OPSWORKS_ONLINE_HOSTS"\n',
    "site-cookbooks/web/recipes/deploy.sh": 'echo "deployed $OPSWORKS_APP_SHORTNAME $OPSWORKS_RELEASE"\n',
    "site-cookbooks/web/recipes/shutdown.sh": 'echo "shutting down $OPSWORKS_HOSTNAME"\n',
}
RECIPES = {"Setup": ["web::setup"], "Configure": ["web::configure"], "Deploy": ["web::deploy"],
           "Shutdown": ["web::shutdown"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        find_busybox()
    except BaseImageError as exc:
        pytest.skip(f"the process driver's busybox AMI needs the host's busybox: {exc}")
    srv = start_server(tmp_path_factory.mktemp("opsworks") / "data", "--runtime", "process", "--time-scale", "30")
    yield srv
    stop_server(srv)
    wipe_process_instances(srv.data_dir)


@pytest.fixture(scope="module")
def aws(server: Server) -> dict[str, Any]:
    return clients(server.endpoint)


@pytest.fixture(scope="module")
def stack(aws: dict[str, Any]) -> dict[str, Any]:
    """The stack, started: both instances online."""
    ow, s3 = aws["opsworks"], aws["s3"]
    s3.create_bucket(Bucket="ops-artifacts")
    s3.put_object(Bucket="ops-artifacts", Key="cookbooks.zip", Body=zipped(COOKBOOKS))
    s3.put_object(Bucket="ops-artifacts", Key="site-v1.zip", Body=zipped({"public/index.html": "site v1\n"}))
    s3.put_object(Bucket="ops-artifacts", Key="site-v2.zip", Body=zipped({"public/index.html": "site v2\n"}))
    sid = new_stack(ow, "web-stack", "s3://ops-artifacts/cookbooks.zip")
    lid = ow.create_layer(StackId=sid, Type="custom", Name="Web", Shortname="web", CustomRecipes=RECIPES)["LayerId"]
    aid = ow.create_app(StackId=sid, Name="Site", Shortname="site", Type="static", Attributes={"DocumentRoot": "public"},
                        AppSource={"Type": "s3", "Url": f"{aws['s3'].meta.endpoint_url}/ops-artifacts/site-v1.zip"})["AppId"]
    first = ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano")["InstanceId"]
    second = ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano")["InstanceId"]
    assert {i["Status"] for i in ow.describe_instances(StackId=sid)["Instances"]} == {"stopped"}
    ow.start_instance(InstanceId=first)
    ow.get_waiter("instance_online").wait(InstanceIds=[first], WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    ow.start_instance(InstanceId=second)
    insts = wait_status(ow, sid, {"web1": "online", "web2": "online"}, 30)
    return {"id": sid, "layer": lid, "app": aid, "web1": insts["web1"], "web2": insts["web2"]}


def test_start_runs_setup_deploy_and_configure(aws: dict[str, Any], stack: dict[str, Any]) -> None:
    ow = aws["opsworks"]
    for host in ("web1", "web2"):
        inst = stack[host]
        [setup] = commands(ow, inst["InstanceId"], "setup")
        assert setup["Status"] == "successful" and setup["ExitCode"] == 0
        assert setup["AcknowledgedAt"] >= setup["CreatedAt"] and setup["CompletedAt"] >= setup["AcknowledgedAt"]
        text = log_of(setup)
        assert f"setup ran on {host} greeting=hello" in text
        assert f"hello from {host} (ops)" in text  # the rendered Jinja2 template, with yml and json attributes
        assert "Running recipe deploy::default for app site" in text and "deployed site" in text
        assert http_get(f"http://{inst['PrivateIp']}/") == "site v1\n"
    # Configure ran on web1 when web2 came online, with both in its topology.
    def configured() -> bool:
        done = [c for c in commands(ow, stack["web1"]["InstanceId"], "configure") if c["Status"] == "successful"]
        return any("web2=" in log_of(c) and "web1=" in log_of(c) for c in done)

    wait_for(configured, 20, "a Configure on web1 that sees web2")
    summary = ow.describe_stack_summary(StackId=stack["id"])["StackSummary"]
    assert summary["InstancesCount"]["Online"] == 2 and summary["LayersCount"] == 1 and summary["AppsCount"] == 1


def _alb(elbv2: Any) -> tuple[str, str]:
    tg = elbv2.create_target_group(Name="ops-web", Protocol="HTTP", Port=80, TargetType="instance",
                                   HealthCheckIntervalSeconds=15, HealthCheckTimeoutSeconds=12,
                                   HealthyThresholdCount=2)["TargetGroups"][0]
    lb = elbv2.create_load_balancer(Name="ops-alb")["LoadBalancers"][0]
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    arn = listener["Listeners"][0]["ListenerArn"]

    def bound() -> str | None:
        attrs = {a["Key"]: a["Value"] for a in elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"]}
        return attrs.get("gureum.bound_address")

    return tg["TargetGroupName"], wait_for(bound, 20, "the ALB listener to bind")


def test_deploy_answers_through_an_attached_alb(aws: dict[str, Any], stack: dict[str, Any]) -> None:
    ow, elbv2 = aws["opsworks"], aws["elbv2"]
    tg_name, address = _alb(elbv2)
    ow.attach_elastic_load_balancer(ElasticLoadBalancerName=tg_name, LayerId=stack["layer"])
    [elb] = ow.describe_elastic_load_balancers(LayerIds=[stack["layer"]])["ElasticLoadBalancers"]
    assert sorted(elb["Ec2InstanceIds"]) == sorted(stack[h]["Ec2InstanceId"] for h in ("web1", "web2"))
    assert elb["DnsName"].startswith("ops-alb-") and elb["StackId"] == stack["id"]
    wait_for(lambda: http_get(f"http://{address}/") == "site v1\n", 20, "v1 through the ALB")

    ow.update_app(AppId=stack["app"], AppSource={"Type": "s3", "Url": "s3://ops-artifacts/site-v2.zip"})
    did = ow.create_deployment(StackId=stack["id"], AppId=stack["app"], Command={"Name": "deploy"},
                               Comment="v2")["DeploymentId"]
    ow.get_waiter("deployment_successful").wait(DeploymentIds=[did], WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    dep = wait_deployment(ow, did)
    assert dep["Status"] == "successful" and sorted(dep["InstanceIds"]) == sorted(
        stack[h]["InstanceId"] for h in ("web1", "web2"))
    assert dep["Duration"] >= 0 and dep["CompletedAt"] >= dep["CreatedAt"]
    cmds = ow.describe_commands(DeploymentId=did)["Commands"]
    assert {c["Status"] for c in cmds} == {"successful"} and len(cmds) == 2
    for host in ("web1", "web2"):
        assert http_get(f"http://{stack[host]['PrivateIp']}/") == "site v2\n"
    wait_for(lambda: {http_get(f"http://{address}/") for _ in range(4)} == {"site v2\n"}, 20, "v2 through the ALB")


def test_rollback_serves_the_previous_release(aws: dict[str, Any], stack: dict[str, Any]) -> None:
    ow = aws["opsworks"]
    did = ow.create_deployment(StackId=stack["id"], AppId=stack["app"], Command={"Name": "rollback"},
                               InstanceIds=[stack["web1"]["InstanceId"]])["DeploymentId"]
    assert wait_deployment(ow, did)["Status"] == "successful"
    [cmd] = ow.describe_commands(DeploymentId=did)["Commands"]
    assert "rolled site back from" in log_of(cmd)
    assert http_get(f"http://{stack['web1']['PrivateIp']}/") == "site v1\n"
    assert http_get(f"http://{stack['web2']['PrivateIp']}/") == "site v2\n"
    # web1 has no older release left: a second rollback fails, with its reason in the log.
    did = ow.create_deployment(StackId=stack["id"], AppId=stack["app"], Command={"Name": "rollback"},
                               InstanceIds=[stack["web1"]["InstanceId"]])["DeploymentId"]
    assert wait_deployment(ow, did)["Status"] == "failed"
    [cmd] = ow.describe_commands(DeploymentId=did)["Commands"]
    assert cmd["ExitCode"] == 1 and "no release of site before" in log_of(cmd)
    assert http_get(f"http://{stack['web1']['PrivateIp']}/") == "site v1\n"


def test_update_custom_cookbooks_changes_recipes_while_instances_run(aws: dict[str, Any], stack: dict[str, Any]) -> None:
    ow, s3 = aws["opsworks"], aws["s3"]
    newer = {**COOKBOOKS, "site-cookbooks/web/recipes/report.sh": 'echo "report from $OPSWORKS_HOSTNAME"\n'}
    s3.put_object(Bucket="ops-artifacts", Key="cookbooks.zip", Body=zipped(newer))
    run = {"Name": "execute_recipes", "Args": {"recipes": ["web::report"]}}
    did = ow.create_deployment(StackId=stack["id"], Command=run)["DeploymentId"]
    assert wait_deployment(ow, did)["Status"] == "failed"  # the instances still have their Setup-time copy
    [cmd, _] = ow.describe_commands(DeploymentId=did)["Commands"]
    assert "could not find recipe(s) web::report" in log_of(cmd)
    did = ow.create_deployment(StackId=stack["id"], Command={"Name": "update_custom_cookbooks"})["DeploymentId"]
    assert wait_deployment(ow, did)["Status"] == "successful"
    did = ow.create_deployment(StackId=stack["id"], Command=run, InstanceIds=[stack["web2"]["InstanceId"]])["DeploymentId"]
    assert wait_deployment(ow, did)["Status"] == "successful"
    [cmd] = ow.describe_commands(DeploymentId=did)["Commands"]
    assert cmd["Type"] == "execute_recipes" and "report from web2" in log_of(cmd)


def test_a_silent_agent_is_healed(server: Server, aws: dict[str, Any], stack: dict[str, Any]) -> None:
    ow = aws["opsworks"]
    web1 = stack["web1"]
    stop_agent_process_driver(server.data_dir, "web1")
    # 300 s heal timeout / time scale 30 = 10 s of silence; then connection_lost → stopping → stopped →
    # requested → … → online (the quick steps take milliseconds: not every one is seen by polling).
    def healed() -> bool:
        errors = ow.describe_service_errors(InstanceId=web1["InstanceId"])["ServiceErrors"]
        inst = ow.describe_instances(InstanceIds=[web1["InstanceId"]])["Instances"][0]
        return inst["Status"] == "online" and any(e["Type"] == "auto_healing" for e in errors)

    wait_for(healed, 40, "web1 healed and online again")
    inst = ow.describe_instances(InstanceIds=[web1["InstanceId"]])["Instances"][0]
    assert inst["Ec2InstanceId"] == web1["Ec2InstanceId"]  # the same instance, stopped and started
    [error] = ow.describe_service_errors(InstanceId=web1["InstanceId"])["ServiceErrors"]
    assert error["Type"] == "auto_healing" and "has not reported for" in error["Message"]
    assert inst["LastServiceErrorId"] == error["ServiceErrorId"]
    assert [c["Status"] for c in commands(ow, web1["InstanceId"], "setup")] == ["successful", "successful"]
    console = aws["ec2"].get_console_output(InstanceId=web1["Ec2InstanceId"])["Output"]
    assert console.count("booting") == 2  # stopped and started: booted twice
    # Setup deployed the app again; the other instance never stopped serving.
    wait_for(lambda: http_get(f"http://{inst['PrivateIp']}/") == "site v2\n", 10, "web1 serving after healing")
    assert ow.describe_instances(InstanceIds=[stack["web2"]["InstanceId"]])["Instances"][0]["Status"] == "online"


def test_stop_runs_shutdown_and_leaves_the_load_balancer(aws: dict[str, Any], stack: dict[str, Any]) -> None:
    ow = aws["opsworks"]
    web2 = stack["web2"]
    ow.stop_instance(InstanceId=web2["InstanceId"])
    wait_status(ow, stack["id"], {"web2": "stopped"}, 30)
    [shutdown] = commands(ow, web2["InstanceId"], "shutdown")
    assert shutdown["Status"] == "successful" and "shutting down web2" in log_of(shutdown)
    assert http_get(f"http://{web2['PrivateIp']}/", timeout=1) is None
    [elb] = ow.describe_elastic_load_balancers(StackId=stack["id"])["ElasticLoadBalancers"]
    assert elb["Ec2InstanceIds"] == [stack["web1"]["Ec2InstanceId"]]
    ow.delete_instance(InstanceId=web2["InstanceId"])
    wait_for(lambda: "web2" not in {i["Hostname"] for i in ow.describe_instances(StackId=stack["id"])["Instances"]},
             20, "web2 deleted")


def test_deleting_the_app_undeploys_it(aws: dict[str, Any], stack: dict[str, Any]) -> None:
    ow = aws["opsworks"]
    web1 = stack["web1"]
    ow.delete_app(AppId=stack["app"])
    wait_for(lambda: [c["Status"] for c in commands(ow, web1["InstanceId"], "undeploy")] == ["successful"], 20,
             "an Undeploy on web1")
    assert "undeployed site" in log_of(commands(ow, web1["InstanceId"], "undeploy")[0])
    assert http_get(f"http://{web1['PrivateIp']}/", timeout=1) is None
