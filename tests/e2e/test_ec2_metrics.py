"""Metrics that come from the workloads: CPU credits of a t2.micro burning real CPU,
and the CloudWatch agent in an instance (memory, disk, a tailed log file).

Docker runtime (real CPU accounting in cgroups), skipped with the reason only
when no engine answers.  The server runs with ``--time-scale 60``: a minute of
the server's clock passes in a second, so the per-minute credit tick and the
agent's 60 s collection interval come round every second or so.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server
from test_ec2_instances import AMI, FAST, _docker

from gureum.runtime.selection import data_dir_id

pytestmark = pytest.mark.e2e

BURN = "#!/bin/sh\nwhile :; do :; done\n"
AGENT_FILE = {"metrics": {"metrics_collection_interval": 60,
                          "append_dimensions": {"InstanceId": "${aws:InstanceId}"},
                          "metrics_collected": {"disk": {"measurement": ["used_percent"], "resources": ["/"]}}}}
WRITE_CONFIG = ("#!/bin/sh\nmkdir -p /opt/aws/amazon-cloudwatch-agent/etc\n"
                f"echo '{json.dumps(AGENT_FILE)}' > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json\n"
                "while :; do :; done\n")
AGENT_TAG = json.dumps({
    "metrics": {"append_dimensions": {"InstanceId": "${aws:InstanceId}"},
                "metrics_collected": {"mem": {"measurement": ["mem_used_percent"]}}},
    "logs": {"logs_collected": {"files": {"collect_list": [
        {"file_path": "/var/log/app.log", "log_group_name": "app-logs"}]}}},
}, separators=(",", ":"))
LOGGER = "#!/bin/sh\nfor i in 1 2 3; do echo \"line $i\" >> /var/log/app.log; done\nsleep 100000\n"


def _client(server: Server, name: str) -> Any:
    return boto3.client(name, endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="t",
                        aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    docker = _docker()
    data: Path = tmp_path_factory.mktemp("ec2-metrics") / "data"
    s = start_server(data, "--runtime", "docker", "--time-scale", "60")
    yield s
    stop_server(s)
    for c in docker.containers.list(all=True, filters={"label": f"gureum.data-dir-id={data_dir_id(data)}"}):
        c.remove(force=True)


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.3)


def series(cw: Any, namespace: str, name: str, dims: dict[str, str], since: dt.datetime) -> list[dict[str, Any]]:
    out = cw.get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=since - dt.timedelta(minutes=5), EndTime=since + dt.timedelta(hours=20), Period=60,
        Statistics=["Average", "Sum", "SampleCount"])
    return sorted(out["Datapoints"], key=lambda p: p["Timestamp"])


def test_t2_micro_burning_cpu_spends_its_credits(server: Server) -> None:
    ec2, cw = _client(server, "ec2"), _client(server, "cloudwatch")
    out = ec2.run_instances(ImageId=AMI, InstanceType="t2.micro", MinCount=1, MaxCount=1, UserData=WRITE_CONFIG)
    iid, launched = out["Instances"][0]["InstanceId"], out["Instances"][0]["LaunchTime"]
    spec = ec2.describe_instance_credit_specifications(InstanceIds=[iid])["InstanceCreditSpecifications"]
    assert spec == [{"InstanceId": iid, "CpuCredits": "standard"}]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)

    def falling() -> list[dict[str, Any]] | None:
        points = series(cw, "AWS/EC2", "CPUCreditBalance", {"InstanceId": iid}, launched)
        return points if len(points) >= 3 and points[-1]["Average"] < points[0]["Average"] else None

    balance = wait_until(falling, 40, "a falling CPUCreditBalance")
    assert balance[0]["Average"] <= 30.0 + 0.1  # launch credits, then spent faster than earned
    usage = series(cw, "AWS/EC2", "CPUCreditUsage", {"InstanceId": iid}, launched)
    assert any(p["Sum"] > 0.1 for p in usage)  # well above an idle instance's
    # the agent config written by user data: disk_used_percent in CWAgent, nothing else
    disk = wait_until(lambda: cw.list_metrics(Namespace="CWAgent", MetricName="disk_used_percent",
                                              Dimensions=[{"Name": "InstanceId", "Value": iid}])["Metrics"],
                      30, "disk_used_percent from the agent")
    names = {d["Name"] for d in disk[0]["Dimensions"]}
    assert {"InstanceId", "path", "device", "fstype"} <= names
    assert not cw.list_metrics(Namespace="CWAgent", MetricName="mem_used_percent",
                               Dimensions=[{"Name": "InstanceId", "Value": iid}])["Metrics"]

    done = ec2.modify_instance_credit_specification(
        InstanceCreditSpecifications=[{"InstanceId": iid, "CpuCredits": "unlimited"},
                                      {"InstanceId": "i-0123456789abcdef0", "CpuCredits": "unlimited"}])
    assert done["SuccessfulInstanceCreditSpecifications"] == [{"InstanceId": iid}]
    assert done["UnsuccessfulInstanceCreditSpecifications"][0]["Error"]["Code"] == "InvalidInstanceID.NotFound"
    spec = ec2.describe_instance_credit_specifications(InstanceIds=[iid])["InstanceCreditSpecifications"]
    assert spec == [{"InstanceId": iid, "CpuCredits": "unlimited"}]
    ec2.terminate_instances(InstanceIds=[iid])


def test_agent_from_a_tag_sends_memory_and_log_lines(server: Server) -> None:
    ec2, cw, logs = _client(server, "ec2"), _client(server, "cloudwatch"), _client(server, "logs")
    out = ec2.run_instances(
        ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1, UserData=LOGGER,
        CreditSpecification={"CpuCredits": "standard"},
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": "gureum:cloudwatch-agent-config", "Value": AGENT_TAG}]}])
    iid, launched = out["Instances"][0]["InstanceId"], out["Instances"][0]["LaunchTime"]
    spec = ec2.describe_instance_credit_specifications(InstanceIds=[iid])["InstanceCreditSpecifications"]
    assert spec == [{"InstanceId": iid, "CpuCredits": "standard"}]  # t3 defaults to unlimited
    mem = wait_until(lambda: series(cw, "CWAgent", "mem_used_percent", {"InstanceId": iid}, launched),
                     40, "mem_used_percent")
    assert 0 < mem[0]["Average"] < 100

    def lines() -> list[str] | None:
        try:
            events = logs.get_log_events(logGroupName="app-logs", logStreamName=iid)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        return [e["message"] for e in events] if len(events) >= 3 else None

    assert wait_until(lines, 40, "three tailed lines") == ["line 1", "line 2", "line 3"]
    # Wait until the agent has collected at least twice more (new datapoints),
    # then check the tailed lines were not sent again.
    seen = sum(p["SampleCount"] for p in series(cw, "CWAgent", "mem_used_percent", {"InstanceId": iid}, launched))
    wait_until(
        lambda: sum(p["SampleCount"] for p in series(cw, "CWAgent", "mem_used_percent", {"InstanceId": iid}, launched))
        >= seen + 2,
        40,
        "two more agent collections",
    )
    assert lines() == ["line 1", "line 2", "line 3"]
    ec2.terminate_instances(InstanceIds=[iid])


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    docker = _docker()
    data: Path = tmp_path_factory.mktemp("ec2-credits-fast") / "data"
    s = start_server(data, "--runtime", "docker", "--time-scale", "600")
    yield s
    stop_server(s)
    for c in docker.containers.list(all=True, filters={"label": f"gureum.data-dir-id={data_dir_id(data)}"}):
        c.remove(force=True)


def test_exhausted_t2_nano_is_throttled_to_its_baseline_for_real(fast_server: Server) -> None:
    """At ``--time-scale 600`` the 30 launch credits of a t2.nano burning a CPU are gone
    within seconds; the engine then holds its container at 5 % of a CPU."""
    docker = _docker()
    ec2, cw = _client(fast_server, "ec2"), _client(fast_server, "cloudwatch")
    out = ec2.run_instances(ImageId=AMI, InstanceType="t2.nano", MinCount=1, MaxCount=1, UserData=BURN)
    iid, launched = out["Instances"][0]["InstanceId"], out["Instances"][0]["LaunchTime"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    [container] = docker.containers.list(filters={"label": [f"gureum.ec2.instance={iid}"]})

    def nano_cpus() -> int:
        container.reload()
        return int(container.attrs["HostConfig"]["NanoCpus"])

    assert nano_cpus() == 1_000_000_000
    wait_until(lambda: nano_cpus() == 50_000_000, 40, "the container's CPU limit lowered to 0.05 CPU")
    balance = series(cw, "AWS/EC2", "CPUCreditBalance", {"InstanceId": iid}, launched)
    assert balance[-1]["Average"] < 1.0  # the balance was spent before the throttle
    ec2.terminate_instances(InstanceIds=[iid])
