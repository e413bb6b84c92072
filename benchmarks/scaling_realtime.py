"""Real time: from the end of a breaching period to the scaling activity, in evaluation ticks.

    python benchmarks/scaling_realtime.py            # Period 10 and Period 60, 3 rounds each (~4 min)
    python benchmarks/scaling_realtime.py --rounds 1 --periods 10

The issue's target: "in real time, a breaching datapoint leads to a scaling
activity within one evaluation tick after the period closes".  A server
(``python -m gureum up --runtime process``, time scale 1) with a group of
one instance from a launch template, a step scaling policy (+1), and an alarm
on a custom metric (EvaluationPeriods 1, GreaterThanThreshold 50) with
Period 10 (high resolution: the datapoint is sent with StorageResolution 1)
or 60.  Each round sends ONE breaching PutMetricData for the period in
progress, then polls DescribeScalingActivities every 50 ms.

Measured, per round: the activity's ``StartTime`` (recorded by the server)
minus the end of the breaching period, and the first time the client saw the
activity minus the same end; both also in evaluation ticks (the tick is the
alarm's step: its period when shorter than a minute, else the minute).
Each round has its own group and alarm.  Writes
``benchmarks/results/scaling_realtime_latest.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

RESULTS = Path(__file__).resolve().parent / "results"
AMI = "ami-0ba5eba5eba5e0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = open(data.parent / "server.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "gureum", "up", "--port", str(port), "--data-dir", str(data),
                             "--runtime", "process", "--quiet"], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(endpoint + "/_gureum/health", timeout=1):
                return proc, endpoint
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the server did not come up") from None
            time.sleep(0.1)


def clients(endpoint: str) -> dict[str, Any]:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    cfg = Config(retries={"max_attempts": 1})
    return {s: session.client(s, endpoint_url=endpoint, config=cfg) for s in ("ec2", "autoscaling", "cloudwatch")}


def wait(cond: Any, timeout: float, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(every)


def setup(c: dict[str, Any], period: int, n: int) -> tuple[str, str]:
    group, alarm = f"rt-{period}-{n}", f"rt-{period}-{n}-high"
    c["ec2"].create_launch_template(LaunchTemplateName=group, LaunchTemplateData={"ImageId": AMI,
                                                                                    "InstanceType": "t3.micro"})
    c["autoscaling"].create_auto_scaling_group(AutoScalingGroupName=group, LaunchTemplate={"LaunchTemplateName": group},
                                               MinSize=1, MaxSize=10, DesiredCapacity=1,
                                               AvailabilityZones=["us-east-1a"])
    arn = c["autoscaling"].put_scaling_policy(
        AutoScalingGroupName=group, PolicyName="out", PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
        EstimatedInstanceWarmup=0,  # count the instance at once (else a step policy adds to 0 warm ones)
        StepAdjustments=[{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}])["PolicyARN"]
    c["cloudwatch"].put_metric_alarm(
        AlarmName=alarm, Namespace="Bench", MetricName="Load", Dimensions=[{"Name": "Group", "Value": group}],
        Statistic="Maximum", Period=period, EvaluationPeriods=1, Threshold=50.0,
        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching", AlarmActions=[arn])
    return group, alarm


def activity_ids(c: dict[str, Any], group: str) -> set[str]:
    acts = c["autoscaling"].describe_scaling_activities(AutoScalingGroupName=group)["Activities"]
    return {a["ActivityId"] for a in acts}


def one_round(c: dict[str, Any], group: str, alarm: str, period: int) -> dict[str, float]:
    step = period if period < 60 else 60
    wait(lambda: c["cloudwatch"].describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "OK",
         timeout=3 * step + 10, every=0.2)

    def settled() -> bool:
        g = c["autoscaling"].describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
        return g["DesiredCapacity"] == 1 and [i["LifecycleState"] for i in g["Instances"]] == ["InService"]

    wait(settled, timeout=120, every=0.2)
    seen = activity_ids(c, group)
    # Send early in a period, so the datapoint is in before the period closes.
    now = time.time()
    if now % period > period / 2:
        time.sleep(period - now % period + 0.5)
    now = time.time()
    period_start = math.floor(now / period) * period
    period_end = period_start + period
    datum: dict[str, Any] = {"MetricName": "Load", "Dimensions": [{"Name": "Group", "Value": group}],
                             "Timestamp": period_start, "Value": 99.0}
    if period < 60:
        datum["StorageResolution"] = 1
    c["cloudwatch"].put_metric_data(Namespace="Bench", MetricData=[datum])

    def new_activity() -> dict[str, Any] | None:
        acts = c["autoscaling"].describe_scaling_activities(AutoScalingGroupName=group)["Activities"]
        fresh = [a for a in acts if a["ActivityId"] not in seen]
        return min(fresh, key=lambda a: a["StartTime"]) if fresh else None

    act = wait(new_activity, timeout=period_end - time.time() + 3 * step + 10)
    observed = time.time()
    started = act["StartTime"].timestamp()
    out = {"period_end": period_end, "activity_start_after_close_s": round(started - period_end, 3),
           "observed_after_close_s": round(observed - period_end, 3),
           "activity_start_ticks": round((started - period_end) / step, 3),
           "observed_ticks": round((observed - period_end) / step, 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--periods", type=int, nargs="+", default=[10, 60])
    parser.add_argument("--out", default=str(RESULTS / "scaling_realtime_latest.json"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gureum-rt-"))
    proc, endpoint = start(tmp / "data")
    results: dict[str, Any] = {}
    try:
        c = clients(endpoint)
        for period in args.periods:
            rounds = [one_round(c, *setup(c, period, n), period) for n in range(args.rounds)]
            results[f"period_{period}"] = {
                "tick_seconds": period if period < 60 else 60,
                "rounds": rounds,
                "max_activity_start_ticks": max(r["activity_start_ticks"] for r in rounds),
                "max_observed_ticks": max(r["observed_ticks"] for r in rounds),
            }
            print(period, json.dumps(results[f"period_{period}"]), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    doc = {"benchmark": "scaling_realtime", "runtime": "process", "time_scale": 1, "target_ticks": 1.0,
           "results": results, "python": platform.python_version(), "cpus": os.cpu_count()}
    print(json.dumps(doc, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
