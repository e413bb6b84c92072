"""CloudWatch alarms + EC2 Auto Scaling on the simulated clock: one day, 100 alarms, 20 groups.

    python benchmarks/scaling_sim.py              # one day (1440 minutes); target < 2 s
    python benchmarks/scaling_sim.py --minutes 120 --profile   # a cProfile of a shorter run

The issue's target: "the alarm evaluator and the scaling engine on the
simulated clock replay one day of one-minute data for 100 alarms and 20
groups in under 2 s".  Everything runs in this process, through the code the
server runs, on a :class:`SimClock`, against ``SqliteStore(":memory:")``:

* 20 groups (``CreateAutoScalingGroup`` handler, a :class:`FakeFleet` whose
  instances boot in 60 s — no containers), each with a step scale-out policy,
  a step scale-in policy (``PutScalingPolicy``) wired to two alarms on a custom
  metric ``Bench/Load`` (``PutMetricAlarm``), and a target tracking policy on
  ``ASGAverageCPUUtilization`` (whose two alarms Auto Scaling creates): 80 alarms;
* 20 more alarms: p90 latency (PutMetricData with Values/Counts), 2-of-5
  M-of-N, and the four TreatMissingData variants on a metric with gaps, with
  SNS actions — 100 alarms in all.

Every simulated minute: the minute that just ended is published as a
collector or an agent sends it, one batch per namespace
(``metrics.publish_many`` for ``AWS/EC2`` CPU and ``Bench`` load and
heartbeats — how Gureum's own services publish — and one PutMetricData call
for the five latency distributions), the alarm engine ticks
(:meth:`AlarmEngine.tick`: the alarms from its cache of the store, each
one's datapoints from the sample window, the pure state judge, transitions
written to the store with their history, actions on the bus → Auto
Scaling's policy execution), and each group controller reconciles
(``reconcile_now``) when it is woken — a policy changed its desired capacity
(the runner's queue) or the time its last reconcile asked to come back
(``Requeue``) has come — checked every 10 simulated seconds (the clock jumps
over a step at which no group is due: it would reconcile nothing).  (The
server's runner also resyncs every group every 10 s; that safety net is not
replayed: at ~0.3 ms a reconcile it alone would be 172,800 reconciles a
day.)  Load follows a day curve with noise (each minute's demand and noise
drawn before the replay is timed, in the order they were always drawn);
per-instance CPU is the load
over the group's members in service — read from the store after each of its
reconciles, the only place they change, and charged to publishing — so the
groups really scale out and in.

Reported: wall time of the replay split into publishing, alarm evaluation
(including the policy runs the actions trigger) and group reconciles;
evaluations/s; the ratio to the 2 s target.  Writes
``benchmarks/results/scaling_sim_latest.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import math
import platform
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gureum.app import App  # noqa: E402
from gureum.core.clock import SimClock  # noqa: E402
from gureum.core.store import Scope, SqliteStore  # noqa: E402
from gureum.services.api import RequestContext  # noqa: E402
from gureum.services.autoscaling import controller, fleet, names, records  # noqa: E402
from gureum.services.cloudwatch import alarm_controller, metrics  # noqa: E402
from gureum.settings import Settings  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
ACCOUNT, REGION = "123456789012", "us-east-1"
SCOPE = Scope(ACCOUNT, REGION)
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
GROUPS = 20
TARGET_SECONDS = 2.0
SNS = f"arn:aws:sns:{REGION}:{ACCOUNT}:bench-ops"


def call(app: App, service: str, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api(service)
    assert api is not None
    out = api.handlers[op](RequestContext(service, op, ACCOUNT, REGION, "bench", app), req)
    assert isinstance(out, dict)
    return out


def group_name(i: int) -> str:
    return f"web-{i:02d}"


def setup(app: App) -> int:
    """Groups, policies and alarms; the number of metric alarms."""
    clock = app.clock
    assert isinstance(clock, SimClock)
    fleet.install(app, fleet.FakeFleet(clock.now, boot_seconds=60))
    alarms = 0
    for i in range(GROUPS):
        g = group_name(i)
        call(app, "autoscaling", "CreateAutoScalingGroup", AutoScalingGroupName=g,
             LaunchTemplate={"LaunchTemplateName": "web"}, MinSize=1, MaxSize=10, DesiredCapacity=2,
             AvailabilityZones=["us-east-1a", "us-east-1b"], DefaultCooldown=120)
        dims = [{"Name": "AutoScalingGroupName", "Value": g}]
        out = call(app, "autoscaling", "PutScalingPolicy", AutoScalingGroupName=g, PolicyName="step-out",
                   PolicyType="StepScaling", AdjustmentType="ChangeInCapacity", EstimatedInstanceWarmup=60,
                   StepAdjustments=[{"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0,
                                     "ScalingAdjustment": 1},
                                    {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 2}])
        call(app, "cloudwatch", "PutMetricAlarm", AlarmName=f"{g}-load-high", Namespace="Bench", MetricName="Load",
             Dimensions=dims, Statistic="Average", Period=60, EvaluationPeriods=2, Threshold=75.0,
             ComparisonOperator="GreaterThanThreshold", AlarmActions=[out["PolicyARN"]])
        out = call(app, "autoscaling", "PutScalingPolicy", AutoScalingGroupName=g, PolicyName="step-in",
                   PolicyType="StepScaling", AdjustmentType="PercentChangeInCapacity", MinAdjustmentMagnitude=1,
                   StepAdjustments=[{"MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -25}])
        call(app, "cloudwatch", "PutMetricAlarm", AlarmName=f"{g}-load-low", Namespace="Bench", MetricName="Load",
             Dimensions=dims, Statistic="Average", Period=60, EvaluationPeriods=5, DatapointsToAlarm=4,
             Threshold=30.0, ComparisonOperator="LessThanThreshold", AlarmActions=[out["PolicyARN"]])
        call(app, "autoscaling", "PutScalingPolicy", AutoScalingGroupName=g, PolicyName="cpu-50",
             PolicyType="TargetTrackingScaling", EstimatedInstanceWarmup=60,
             TargetTrackingConfiguration={"PredefinedMetricSpecification": {
                 "PredefinedMetricType": "ASGAverageCPUUtilization"}, "TargetValue": 50.0})
        alarms += 4
    for i in range(GROUPS):
        g = group_name(i)
        dims = [{"Name": "AutoScalingGroupName", "Value": g}]
        kind = i % 4
        if kind == 0:
            extra = dict(MetricName="Latency", ExtendedStatistic="p90", EvaluationPeriods=3, Threshold=250.0,
                         EvaluateLowSampleCountPercentile="ignore" if i % 8 else "evaluate")
        elif kind == 1:
            extra = dict(MetricName="Load", Statistic="Maximum", EvaluationPeriods=5, DatapointsToAlarm=2,
                         Threshold=95.0)
        else:
            treat = ("missing", "ignore", "breaching", "notBreaching")[i % 4 if kind == 2 else (i // 4) % 4]
            extra = dict(MetricName="Heartbeat", Statistic="SampleCount", EvaluationPeriods=3,
                         Threshold=0.5, ComparisonOperator="LessThanThreshold", TreatMissingData=treat)
        req: dict[str, Any] = dict(AlarmName=f"{g}-extra-{kind}", Namespace="Bench", Dimensions=dims, Period=60,
                                   ComparisonOperator="GreaterThanThreshold", AlarmActions=[SNS], OKActions=[SNS])
        req.update(extra)
        call(app, "cloudwatch", "PutMetricAlarm", **req)
        alarms += 1
    return alarms


class Load:
    """Each group's demand over the day: a daily curve, a per-group phase, noise, bursts.

    The day's numbers are drawn before the replay is timed (a replay of data that exists): each
    minute's demand per group and the noise of the latency samples, in the order they were always
    drawn, so the day is the same as when they were drawn during the replay.
    """

    def __init__(self, seed: int, minutes: int) -> None:
        rng = random.Random(seed)
        self.demand: list[list[float]] = []  # minute number → each group's demand
        self.noise: list[list[list[float]]] = []  # minute number → each latency group's 5 noises
        for n in range(minutes):
            minute = START + 60.0 * n
            demands, noises = [], []
            for i in range(GROUPS):
                demands.append(self._demand(rng, i, minute))
                if i % 4 == 0:
                    noises.append([rng.gauss(0, 30) for _ in range(5)])
            self.demand.append(demands)
            self.noise.append(noises)

    @staticmethod
    def _demand(rng: random.Random, i: int, minute: float) -> float:
        day = (minute - START) / 86_400.0
        base = 120.0 + 100.0 * math.sin(2 * math.pi * (day + i / GROUPS))
        burst = 150.0 if (int((minute - START) // 60) + 37 * i) % 240 < 12 else 0.0
        return max(5.0, base + burst + rng.gauss(0, 15))


def in_service(app: App, g: str) -> int:
    group = records.get_group(app.store, SCOPE, g)
    assert group is not None
    return max(1, sum(m["LifecycleState"] == "InService" for m in records.members(group)))


def _group_dims() -> list[tuple[str, dict[str, str], list[dict[str, str]]]]:
    """Each group's name and its dimension, as a collector (a map) and as PutMetricData (a list) hold them."""
    return [(g, {"AutoScalingGroupName": g}, [{"Name": "AutoScalingGroupName", "Value": g}])
            for g in map(group_name, range(GROUPS))]


_GROUP_DIMS = _group_dims()


def publish_minute(app: App, load: Load, minute: float, minute_no: int, serving: dict[str, int]) -> None:
    """The minute's data, batched per namespace as a collector or an agent sends it.

    ``serving``: each group's members in service, as read from the store after its last reconcile.
    """
    assert minute == START + 60.0 * minute_no  # the minute the load was drawn for
    ec2: list[metrics.Value] = []
    bench: list[metrics.Value] = []
    latency: list[dict[str, Any]] = []
    demands, noises = load.demand[minute_no], iter(load.noise[minute_no])
    for i, (g, dims, dim_list) in enumerate(_GROUP_DIMS):
        cpu = min(100.0, demands[i] / serving[g])
        ec2.append(metrics.Value("CPUUtilization", cpu, dims))
        bench.append(metrics.Value("Load", cpu, dims))
        if i % 4 == 0:
            values = [round(100 + 2 * cpu + noise, 1) for noise in next(noises)]
            latency.append({"MetricName": "Latency", "Dimensions": dim_list,
                            "Timestamp": minute, "Values": values, "Counts": [4.0] * 5, "Unit": "Milliseconds"})
        if i % 4 >= 2 and (minute_no // 7 + i) % 9 != 0:  # a heartbeat with gaps
            bench.append(metrics.Value("Heartbeat", 1.0, dims))
    metrics.publish_many(app.store, SCOPE, "AWS/EC2", ec2, timestamp=minute)
    metrics.publish_many(app.store, SCOPE, "Bench", bench, timestamp=minute)
    call(app, "cloudwatch", "PutMetricData", Namespace="Bench", MetricData=latency)


def replay(app: App, minutes: int, seed: int) -> dict[str, Any]:
    clock = app.clock
    assert isinstance(clock, SimClock)
    engine = alarm_controller.engine(app)
    groups = controller.controller_for(app)
    keys = [names.scoped_key(SCOPE, group_name(i)) for i in range(GROUPS)]
    load = Load(seed, minutes)  # drawn before the clock starts
    spent = {"publish": 0.0, "alarms": 0.0, "groups": 0.0}
    evaluations = 0

    due: dict[str, float] = {key: clock.now() for key in keys}  # when each group asked to come back
    queued = app.runner.controllers[names.CONTROLLER].queued  # groups woken (policy runs, handlers)
    # Members in service change only in a reconcile: the load model reads them after each one.
    serving = {group_name(i): in_service(app, group_name(i)) for i in range(GROUPS)}

    def reconcile_woken() -> None:
        t = time.perf_counter()
        now = clock.now()
        done = []
        for key in keys:
            if key in queued or due.get(key, math.inf) <= now:
                queued.discard(key)
                again = groups.reconcile_now(key)
                due[key] = math.inf if again is None else now + again.after
                done.append(names.split_key(key)[1])
        t1 = time.perf_counter()
        for name in done:
            serving[name] = in_service(app, name)
        spent["groups"] += t1 - t
        spent["publish"] += time.perf_counter() - t1  # the load model's reads count with the data

    async def move(seconds: float) -> None:
        # Nothing in the replay sleeps on the clock (every controller is called directly): a jump, not
        # an advance that lets the event loop run 20 times for nobody.
        if not clock.jump(seconds):
            await clock.advance(seconds)

    async def run() -> None:
        nonlocal evaluations
        reconcile_woken()
        await move(65)
        for n in range(minutes):
            minute = clock.now() - 5 - 60  # the minute that just ended
            t0 = time.perf_counter()
            publish_minute(app, load, minute, n, serving)
            t1 = time.perf_counter()
            evaluations += engine.tick(clock.now())
            spent["publish"] += t1 - t0
            spent["alarms"] += time.perf_counter() - t1
            reconcile_woken()
            tick_at = clock.now()
            for step in range(1, 7):  # the rest of the minute in 10 s steps, as often as the server's resync
                at = tick_at + 10 * step
                # A step at which no group is woken would reconcile nothing: the clock jumps over it.
                if step == 6 or queued or min(due.values()) <= at:
                    await move(at - clock.now())
                    reconcile_woken()

    began = time.perf_counter()
    asyncio.run(run())
    wall = time.perf_counter() - began
    return {"wall": wall, "spent": spent, "evaluations": evaluations}


def outcome(app: App) -> dict[str, Any]:
    """What the day did: activities and alarm transitions (a sanity check that scaling happened)."""
    acts = call(app, "autoscaling", "DescribeScalingActivities", MaxRecords=100)
    launches = 0
    terminations = 0
    token = None
    while True:
        req: dict[str, Any] = {"MaxRecords": 100}
        if token:
            req["NextToken"] = token
        acts = call(app, "autoscaling", "DescribeScalingActivities", **req)
        for a in acts["Activities"]:
            launches += a["Description"].startswith("Launching")
            terminations += a["Description"].startswith("Terminating")
        token = acts.get("NextToken")
        if not token:
            break
    states: dict[str, int] = {}
    for a in call(app, "cloudwatch", "DescribeAlarms", MaxRecords=100)["MetricAlarms"]:
        states[a["StateValue"]] = states.get(a["StateValue"], 0) + 1
    desired = [int(g["DesiredCapacity"]) for g in
               call(app, "autoscaling", "DescribeAutoScalingGroups")["AutoScalingGroups"]]
    return {"launches": launches, "terminations": terminations, "alarm_states_at_end": states,
            "desired_at_end": desired}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=1440)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    parser.add_argument("--out", default=str(RESULTS / "scaling_sim_latest.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = App(Settings(data_dir=tmp), clock=SimClock(START), store=SqliteStore(":memory:"))
        alarm_count = setup(app)
        prof = cProfile.Profile() if args.profile else None
        if prof:
            prof.enable()
        run = replay(app, args.minutes, args.seed)
        if prof:
            prof.disable()
        day = outcome(app)
        app.store.close()
    wall, evaluations = run["wall"], run["evaluations"]
    scaled_wall = wall * 1440 / args.minutes
    result = {
        "benchmark": "scaling_sim",
        "store": "SqliteStore(':memory:')",
        "minutes": args.minutes,
        "alarms": alarm_count,
        "groups": GROUPS,
        "evaluations": evaluations,
        "wall_seconds": round(wall, 3),
        "seconds_by_part": {k: round(v, 3) for k, v in run["spent"].items()},
        "evaluations_per_second": round(evaluations / run["spent"]["alarms"]) if run["spent"]["alarms"] else None,
        "target_seconds": TARGET_SECONDS,
        "ratio_to_target": round(scaled_wall / TARGET_SECONDS, 3),
        "day": day,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.system()}",
    }
    print(json.dumps(result, indent=2))
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
