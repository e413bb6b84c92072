"""OpsWorks on the docker driver: the agent, recipes and the app run inside
busybox containers (no python there), the app answers on the instance's
private IP, and stopping the agent with ``docker exec … opsworks-agent-cli
stop`` gets the instance healed.  Skipped, saying why, when no engine answers.
"""

from __future__ import annotations

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
    stop_agent_docker,
    wait_for,
    wait_status,
    zipped,
)

from gureum.runtime.selection import data_dir_id

pytestmark = pytest.mark.e2e


def _docker() -> Any:
    try:
        import docker

        from gureum.runtime.images import build_base

        client = docker.from_env(timeout=30)
        client.ping()
        build_base(client)
        return client
    except Exception as exc:  # any failure to reach an engine means: skip, saying why
        pytest.skip(f"no Docker engine answers ({exc}); start one with: bash .ci/setup-docker.sh")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    engine = _docker()
    srv = start_server(tmp_path_factory.mktemp("opsworks-docker") / "data", "--runtime", "docker",
                       "--time-scale", "30")
    yield srv
    stop_server(srv)
    for container in engine.containers.list(all=True, filters={"label": f"gureum.data-dir-id={data_dir_id(srv.data_dir)}"}):
        container.remove(force=True)


def test_an_instance_on_docker_is_set_up_serves_and_heals(server: Server) -> None:
    aws = clients(server.endpoint)
    ow, s3 = aws["opsworks"], aws["s3"]
    s3.create_bucket(Bucket="docker-ops")
    s3.put_object(Bucket="docker-ops", Key="cb.zip", Body=zipped({
        "app/recipes/setup.sh": 'echo "root is [$OPSWORKS_ROOT], binding $OPSWORKS_BIND_IP"\nuname -s\n'}))
    s3.put_object(Bucket="docker-ops", Key="site.zip", Body=zipped({"index.html": "hello from docker\n"}))
    # A heal timeout of 150 s (the stack's CustomJson) is 5 real seconds at --time-scale 30.
    sid = new_stack(ow, "docker-stack", "s3://docker-ops/cb.zip", CustomJson='{"gureum": {"heal_timeout": 150}}')
    lid = ow.create_layer(StackId=sid, Type="custom", Name="App", Shortname="app",
                          CustomRecipes={"Setup": ["app::setup"]})["LayerId"]
    ow.create_app(StackId=sid, Name="site", Type="static", AppSource={"Type": "s3", "Url": "s3://docker-ops/site.zip"})
    iid = ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano")["InstanceId"]
    ow.start_instance(InstanceId=iid)
    inst = wait_status(ow, sid, {"app1": "online"}, 60)["app1"]
    [setup] = commands(ow, iid, "setup")
    text = log_of(setup)
    assert "root is [], binding 0.0.0.0" in text and "Linux" in text
    assert wait_for(lambda: http_get(f"http://{inst['PrivateIp']}/"), 10, "the app") == "hello from docker\n"

    stop_agent_docker(inst["Ec2InstanceId"])

    def healed() -> bool:
        errors = ow.describe_service_errors(InstanceId=iid)["ServiceErrors"]
        now = ow.describe_instances(InstanceIds=[iid])["Instances"][0]
        return now["Status"] == "online" and any(e["Type"] == "auto_healing" for e in errors)

    wait_for(healed, 60, "the instance healed on docker")
    [error] = ow.describe_service_errors(InstanceId=iid)["ServiceErrors"]
    assert "heal timeout 150 s" in error["Message"]
    assert len(commands(ow, iid, "setup")) == 2
    assert wait_for(lambda: http_get(f"http://{inst['PrivateIp']}/"), 10, "the app after healing") == \
        "hello from docker\n"


def test_load_based_instances_follow_the_cpu(server: Server) -> None:
    """A busy loop in the 24/7 instance starts the layer's load-based instance; calm stops it again."""
    aws = clients(server.endpoint)
    ow, s3 = aws["opsworks"], aws["s3"]
    s3.create_bucket(Bucket="docker-load")
    s3.put_object(Bucket="docker-load", Key="cb.zip", Body=zipped({
        "load/recipes/burn.sh": 'opsworks-daemon "$OPSWORKS_ROOT/var/run/burn.pid" sh -c "while :; do :; done"\n',
        "load/recipes/calm.sh": 'kill "$(cat "$OPSWORKS_ROOT/var/run/burn.pid")"\n'}))
    sid = new_stack(ow, "load-stack", "s3://docker-load/cb.zip")
    lid = ow.create_layer(StackId=sid, Type="custom", Name="Work", Shortname="work")["LayerId"]
    base = ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano")["InstanceId"]
    ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano", AutoScalingType="load")
    ow.set_load_based_auto_scaling(LayerId=lid, Enable=True, UpScaling={
        "InstanceCount": 1, "ThresholdsWaitTime": 1, "IgnoreMetricsTime": 1, "CpuThreshold": 12.0},
        DownScaling={"InstanceCount": 1, "ThresholdsWaitTime": 1, "IgnoreMetricsTime": 1, "CpuThreshold": 8.0})
    cfg = ow.describe_load_based_auto_scaling(LayerIds=[lid])["LoadBasedAutoScalingConfigurations"][0]
    assert cfg["Enable"] and cfg["UpScaling"]["CpuThreshold"] == 12.0 and cfg["DownScaling"]["LoadThreshold"] == -1
    ow.start_instance(InstanceId=base)
    wait_status(ow, sid, {"work1": "online", "work2": "stopped"}, 60)
    ow.create_deployment(StackId=sid, Command={"Name": "execute_recipes", "Args": {"recipes": ["load::burn"]}})
    wait_status(ow, sid, {"work2": "online"}, 90)
    ow.create_deployment(StackId=sid, InstanceIds=[base],
                         Command={"Name": "execute_recipes", "Args": {"recipes": ["load::calm"]}})
    wait_status(ow, sid, {"work1": "online", "work2": "stopped"}, 90)
