"""OpsWorks: bad input and things that fail — OpsWorks-style errors, or failed
commands with readable logs, never a stuck instance; time-based instances;
the model on ``AWS_DATA_PATH`` for boto3 in a fresh process and for the AWS CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import Server, start_server, stop_server
from opsworks_helpers import (
    clients,
    commands,
    log_of,
    new_stack,
    wait_status,
    wipe_process_instances,
    zipped,
)

from gureum.runtime.images import BaseImageError, find_busybox

pytestmark = pytest.mark.e2e

MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        find_busybox()
    except BaseImageError as exc:
        pytest.skip(f"the process driver's busybox AMI needs the host's busybox: {exc}")
    srv = start_server(tmp_path_factory.mktemp("opsworks-bad") / "data", "--runtime", "process", "--time-scale", "30")
    yield srv
    stop_server(srv)
    wipe_process_instances(srv.data_dir)


@pytest.fixture(scope="module")
def aws(server: Server) -> dict[str, Any]:
    return clients(server.endpoint)


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    return err["Code"], err["Message"]


def test_unknown_ids_are_resource_not_found(aws: dict[str, Any]) -> None:
    ow = aws["opsworks"]
    assert _error(ow.describe_stacks, StackIds=[MISSING]) == (
        "ResourceNotFoundException", f"Unable to find stack with ID {MISSING}")
    assert _error(ow.describe_layers, LayerIds=[MISSING]) == (
        "ResourceNotFoundException", f"Unable to find layer with ID {MISSING}")
    assert _error(ow.start_instance, InstanceId=MISSING)[1] == f"Unable to find instance with ID {MISSING}"
    assert _error(ow.describe_apps, AppIds=[MISSING])[1] == f"Unable to find app with ID {MISSING}"
    assert _error(ow.describe_deployments, DeploymentIds=[MISSING])[1] == f"Unable to find deployment with ID {MISSING}"
    assert _error(ow.describe_commands, CommandIds=[MISSING])[0] == "ResourceNotFoundException"
    assert _error(ow.create_layer, StackId=MISSING, Type="custom", Name="x", Shortname="x")[0] == \
        "ResourceNotFoundException"
    assert _error(ow.create_instance, StackId=MISSING, LayerIds=[MISSING], InstanceType="t3.nano")[0] == \
        "ResourceNotFoundException"


def test_bad_input_is_a_validation_exception(aws: dict[str, Any]) -> None:
    ow = aws["opsworks"]
    code, _ = _error(new_stack, ow=ow, name="bad-json", CustomJson="{not json")
    assert code == "ValidationException"
    sid = new_stack(ow, "validation")
    lid = ow.create_layer(StackId=sid, Type="custom", Name="A", Shortname="a")["LayerId"]
    assert "already a layer with shortname a" in _error(ow.create_layer, StackId=sid, Type="custom", Name="B",
                                                        Shortname="a")[1]
    ow.create_layer(StackId=sid, Type="php-app", Name="PHP", Shortname="php")
    assert _error(ow.create_layer, StackId=sid, Type="php-app", Name="PHP2", Shortname="php2")[0] == "ValidationException"
    assert _error(ow.create_layer, StackId=sid, Type="nope", Name="C", Shortname="c")[0] == "ValidationException"
    assert _error(ow.describe_instances)[0] == "ValidationException"
    app = ow.create_app(StackId=sid, Name="My App", Type="static")["AppId"]
    assert ow.describe_apps(AppIds=[app])["Apps"][0]["Shortname"] == "my_app"
    assert "AppId is required" in _error(ow.create_deployment, StackId=sid, Command={"Name": "deploy"})[1]
    assert "no online instances" in _error(ow.create_deployment, StackId=sid, AppId=app,
                                           Command={"Name": "deploy"})[1]
    clone = ow.clone_stack(SourceStackId=sid, ServiceRoleArn="arn:aws:iam::000000000000:role/r", CloneAppIds=[app])
    layers = ow.describe_layers(StackId=clone["StackId"])["Layers"]
    assert sorted(la["Shortname"] for la in layers) == ["a", "php"] and {la["StackId"] for la in layers} == {
        clone["StackId"]}
    assert [a["Shortname"] for a in ow.describe_apps(StackId=clone["StackId"])["Apps"]] == ["my_app"]
    assert ow.describe_stacks(StackIds=[clone["StackId"]])["Stacks"][0]["Name"] == "Clone of validation"
    iid = ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano")["InstanceId"]
    assert _error(ow.reboot_instance, InstanceId=iid)[0] == "ValidationException"  # a stopped instance
    assert "delete its instances, layers and apps first" in _error(ow.delete_stack, StackId=sid)[1]
    ow.delete_instance(InstanceId=iid)  # never started: gone at once
    assert ow.describe_instances(StackId=sid)["Instances"] == []
    arn = ow.describe_stacks(StackIds=[sid])["Stacks"][0]["Arn"]
    ow.tag_resource(ResourceArn=arn, Tags={"team": "ops"})
    assert ow.list_tags(ResourceArn=arn)["Tags"] == {"team": "ops"}
    assert _error(ow.list_tags, ResourceArn=arn.replace(sid, MISSING))[0] == "ResourceNotFoundException"


def test_failures_end_in_setup_failed_with_logs(aws: dict[str, Any]) -> None:
    """A recipe that exits non-zero, a missing recipe, missing cookbooks, a missing app archive."""
    ow, s3 = aws["opsworks"], aws["s3"]
    s3.create_bucket(Bucket="bad-cookbooks")
    s3.put_object(Bucket="bad-cookbooks", Key="cb.zip", Body=zipped({
        "ops/recipes/fail.sh": 'echo "about to fail on $OPSWORKS_HOSTNAME"\nexit 3\n',
        "ops/recipes/ok.sh": "echo fine\n"}))
    sid = new_stack(ow, "failing", "s3://bad-cookbooks/cb.zip")
    cases = {
        "exits": {"Setup": ["ops::fail"]},
        "norecipe": {"Setup": ["ops::nope"]},
    }
    ids = {}
    for short, recipes in cases.items():
        lid = ow.create_layer(StackId=sid, Type="custom", Name=short, Shortname=short, CustomRecipes=recipes)["LayerId"]
        ids[short] = ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano", Hostname=short)["InstanceId"]
    other = new_stack(ow, "no-cookbooks", "s3://bad-cookbooks/missing.zip")
    lid = ow.create_layer(StackId=other, Type="custom", Name="l", Shortname="l")["LayerId"]
    ids["nocookbooks"] = ow.create_instance(StackId=other, LayerIds=[lid], InstanceType="t3.nano",
                                            Hostname="nocookbooks")["InstanceId"]
    ghost = new_stack(ow, "ghost-app", "s3://bad-cookbooks/cb.zip")
    lid = ow.create_layer(StackId=ghost, Type="custom", Name="g", Shortname="g",
                          CustomRecipes={"Setup": ["ops::ok"]})["LayerId"]
    ids["noapp"] = ow.create_instance(StackId=ghost, LayerIds=[lid], InstanceType="t3.nano", Hostname="noapp")["InstanceId"]
    ow.create_app(StackId=ghost, Name="ghost", Type="static", AppSource={"Type": "s3", "Url": "s3://bad-cookbooks/no.zip"})
    for iid in ids.values():
        ow.start_instance(InstanceId=iid)
    wait_status(ow, sid, {"exits": "setup_failed", "norecipe": "setup_failed"}, 40)
    wait_status(ow, ghost, {"noapp": "setup_failed"}, 40)
    wait_status(ow, other, {"nocookbooks": "setup_failed"}, 40)

    [setup] = commands(ow, ids["exits"], "setup")
    assert setup["Status"] == "failed" and setup["ExitCode"] == 3
    text = log_of(setup)
    assert "about to fail on exits" in text and "Recipe ops::fail failed with exit code 3" in text
    assert "Running recipe deploy::default" not in text  # nothing after the failure
    [setup] = commands(ow, ids["norecipe"], "setup")
    assert "could not find recipe(s) ops::nope" in log_of(setup)
    [setup] = commands(ow, ids["noapp"], "setup")
    assert "cannot download the source of app ghost" in log_of(setup) and "NoSuchKey" in log_of(setup)
    [setup] = commands(ow, ids["nocookbooks"], "setup")
    assert "cannot download the custom cookbooks" in log_of(setup)
    errors = ow.describe_service_errors(StackId=sid)["ServiceErrors"]
    assert sorted(e["Type"] for e in errors) == ["setup_failed"] * 2
    # A failed instance can be stopped, fixed and started again.
    ow.stop_instance(InstanceId=ids["exits"])
    wait_status(ow, sid, {"exits": "stopped"}, 30)
    ow.update_layer(LayerId=ow.describe_instances(InstanceIds=[ids["exits"]])["Instances"][0]["LayerIds"][0],
                    CustomRecipes={"Setup": ["ops::ok"]})
    ow.start_instance(InstanceId=ids["exits"])
    wait_status(ow, sid, {"exits": "online"}, 30)
    assert [c["Status"] for c in commands(ow, ids["exits"], "setup")] == ["failed", "successful"]


def test_model_on_aws_data_path_for_boto3_and_the_cli(server: Server, tmp_path: Any) -> None:
    path = subprocess.run([sys.executable, "-m", "gureum", "data-path"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert os.path.isfile(os.path.join(path, "opsworks", "2013-02-18", "service-2.json"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_DATA_PATH=path, AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "creds"),
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1")
    script = (
        "import boto3, json, sys\n"
        "c = boto3.client('opsworks', endpoint_url=sys.argv[1])\n"
        "sid = c.create_stack(Name='from-boto3', Region='us-east-1', ServiceRoleArn='r', "
        "DefaultInstanceProfileArn='p')['StackId']\n"
        "print(json.dumps({'sid': sid, 'names': [s['Name'] for s in c.describe_stacks()['Stacks']]}))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", script, server.endpoint], capture_output=True, text=True,
                                    env=env, check=True, timeout=60).stdout)
    assert "from-boto3" in out["names"]
    cli = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "opsworks",
                          "describe-stacks", "--stack-ids", out["sid"]], capture_output=True, text=True, env=env,
                         timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["Stacks"][0]["Name"] == "from-boto3"
    bad = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "opsworks",
                          "describe-stacks", "--stack-ids", MISSING], capture_output=True, text=True, env=env,
                         timeout=60)
    assert bad.returncode == 255 and "ResourceNotFoundException" in bad.stderr


def test_time_based_instances_follow_their_schedule(aws: dict[str, Any]) -> None:
    ow = aws["opsworks"]
    sid = new_stack(ow, "timed")
    lid = ow.create_layer(StackId=sid, Type="custom", Name="T", Shortname="t")["LayerId"]
    iid = ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano", AutoScalingType="timer")["InstanceId"]
    always = {day: {str(h): "on" for h in range(24)} for day in
              ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
    ow.set_time_based_auto_scaling(InstanceId=iid, AutoScalingSchedule=always)
    [cfg] = ow.describe_time_based_auto_scaling(InstanceIds=[iid])["TimeBasedAutoScalingConfigurations"]
    assert cfg["AutoScalingSchedule"]["Friday"]["13"] == "on"
    ow.start_stack(StackId=sid)  # StartStack leaves time-based instances to the scaler
    wait_status(ow, sid, {"t1": "online"}, 30)
    ow.set_time_based_auto_scaling(InstanceId=iid, AutoScalingSchedule={})
    wait_status(ow, sid, {"t1": "stopped"}, 30)
