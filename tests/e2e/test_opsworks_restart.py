"""OpsWorks across a ``kill -9`` of Gureum: instances and their agents keep
running, the restarted server adopts them (no false auto-healing), and a
command that was running when Gureum died is polled to its end, not run twice.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

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
ARGS = ("--runtime", "process", "--time-scale", "30")


@pytest.fixture
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    try:
        find_busybox()
    except BaseImageError as exc:
        pytest.skip(f"the process driver's busybox AMI needs the host's busybox: {exc}")
    data = tmp_path_factory.mktemp("opsworks-restart") / "data"
    yield data
    srv = start_server(data, *ARGS)
    stop_server(srv)
    wipe_process_instances(srv.data_dir)


def _kill9(srv: Server) -> None:
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)


def test_kill_9_then_restart_adopts_instances_and_commands(data_dir: Path) -> None:
    srv = start_server(data_dir, *ARGS)
    aws = clients(srv.endpoint)
    ow, s3 = aws["opsworks"], aws["s3"]
    s3.create_bucket(Bucket="restart-ops")
    s3.put_object(Bucket="restart-ops", Key="cb.zip", Body=zipped({
        "r/recipes/slow.sh": 'n=$(cat "$OPSWORKS_ROOT/runs" 2>/dev/null || echo 0); echo $((n + 1)) > "$OPSWORKS_ROOT/runs"\n'
                             'echo "slow recipe run $((n + 1))"; sleep 3; echo "slow recipe done"\n'}))
    s3.put_object(Bucket="restart-ops", Key="site.zip", Body=zipped({"index.html": "still here\n"}))
    # Heal timeout 90 s = 3 real seconds at --time-scale 30: a restart that lost the agents would heal.
    sid = new_stack(ow, "restart", "s3://restart-ops/cb.zip", CustomJson=json.dumps({"gureum": {"heal_timeout": 90}}))
    lid = ow.create_layer(StackId=sid, Type="custom", Name="R", Shortname="r")["LayerId"]
    ow.create_app(StackId=sid, Name="site", Type="static", AppSource={"Type": "s3", "Url": "s3://restart-ops/site.zip"})
    iid = ow.create_instance(StackId=sid, LayerIds=[lid], InstanceType="t3.nano")["InstanceId"]
    ow.start_instance(InstanceId=iid)
    inst = wait_status(ow, sid, {"r1": "online"}, 30)["r1"]
    did = ow.create_deployment(StackId=sid, Command={"Name": "execute_recipes", "Args": {"recipes": ["r::slow"]}})[
        "DeploymentId"]
    wait_for(lambda: ow.describe_commands(DeploymentId=did)["Commands"][0].get("AcknowledgedAt"), 10, "the agent to take it")
    _kill9(srv)

    srv = start_server(data_dir, *ARGS)
    try:
        ow = clients(srv.endpoint)["opsworks"]
        assert http_get(f"http://{inst['PrivateIp']}/") == "still here\n"
        dep = wait_deployment(ow, did, timeout=30)
        assert dep["Status"] == "successful"
        [cmd] = ow.describe_commands(DeploymentId=did)["Commands"]
        text = log_of(cmd)
        assert "slow recipe run 1" in text and "slow recipe done" in text and "run 2" not in text
        deadline = time.monotonic() + 6  # twice the heal timeout: the adopted agent keeps it online
        while time.monotonic() < deadline:
            assert ow.describe_instances(InstanceIds=[iid])["Instances"][0]["Status"] == "online"
            time.sleep(0.2)
        assert ow.describe_service_errors(StackId=sid)["ServiceErrors"] == []
        assert ow.describe_instances(InstanceIds=[iid])["Instances"][0]["Status"] == "online"
        assert len(commands(ow, iid, "setup")) == 1
        # …and the adopted agent is really watched: stopping it now gets the instance healed.
        stop_agent_process_driver(data_dir, "r1")
        wait_for(lambda: ow.describe_service_errors(StackId=sid)["ServiceErrors"], 20, "auto-healing after the restart")
        wait_status(ow, sid, {"r1": "online"}, 30)
    finally:
        stop_server(srv)

