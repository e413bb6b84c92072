"""Thrashing vs cooldown, on the simulated clock.

Two hours of a group under a noisy load, minute by minute: the real alarm
evaluator (CloudWatch's :class:`AlarmEngine`, reading metrics published the
way Gureum's services publish them), the real policies and the real group
controller; only the instances are fakes (:class:`FakeFleet`, 60 s to boot).

The load is 100 % of one instance ± noise; per-instance CPU is the load over
the instances in service.  A scale-out alarm (CPU > 60) adds one instance, a
scale-in alarm (CPU < 40) removes one — close enough together that two
instances run hot now and then and three always run cold.  With a cooldown
shorter than the time the group needs to settle, every hot minute scales out
and the next cold one scales back in, over and over; with a proper cooldown
the group scales a few times and holds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope, SqliteStore
from gureum.services.api import RequestContext
from gureum.services.autoscaling import controller, fleet, names
from gureum.services.cloudwatch import alarm_controller, metrics
from gureum.settings import Settings

ACCOUNT, REGION = "123456789012", "us-east-1"
SCOPE = Scope(ACCOUNT, REGION)
START = 1_767_225_600.0
MINUTES = 120


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(":memory:"))
    yield a
    a.store.close()


def call(app: App, service: str, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api(service)
    assert api is not None
    out = api.handlers[op](RequestContext(service, op, ACCOUNT, REGION, "rid", app), req)
    assert isinstance(out, dict)
    return out


def setup(app: App, cooldown: int) -> fleet.FakeFleet:
    clock = app.clock
    assert isinstance(clock, SimClock)
    fake = fleet.FakeFleet(clock.now, boot_seconds=60)
    fleet.install(app, fake)
    call(app, "autoscaling", "CreateAutoScalingGroup", AutoScalingGroupName="web",
         LaunchTemplate={"LaunchTemplateName": "web"}, MinSize=1, MaxSize=6, DesiredCapacity=2,
         AvailabilityZones=["us-east-1a", "us-east-1b"], DefaultCooldown=cooldown)
    for name, adj, op, threshold in (("out", 1, "GreaterThanThreshold", 60.0), ("in", -1, "LessThanThreshold", 40.0)):
        arn = call(app, "autoscaling", "PutScalingPolicy", AutoScalingGroupName="web", PolicyName=name,
                   AdjustmentType="ChangeInCapacity", ScalingAdjustment=adj)["PolicyARN"]
        call(app, "cloudwatch", "PutMetricAlarm", AlarmName=f"cpu-{name}", Namespace="Sim", MetricName="CPU",
             Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=threshold, ComparisonOperator=op,
             AlarmActions=[arn])
    return fake


def simulate(app: App, cooldown: int, seed: int = 11) -> list[int]:
    """Desired capacity after every minute."""
    setup(app, cooldown)
    clock = app.clock
    assert isinstance(clock, SimClock)
    noise = random.Random(seed)
    engine = alarm_controller.engine(app)
    group = controller.controller_for(app)
    key = names.scoped_key(SCOPE, "web")
    desired: list[int] = []

    async def run() -> None:
        group.reconcile_now(key)
        await clock.advance(65)
        for _ in range(MINUTES):
            doc = call(app, "autoscaling", "DescribeAutoScalingGroups")["AutoScalingGroups"][0]
            serving = max(1, sum(i["LifecycleState"] == "InService" for i in doc["Instances"]))
            load = 100.0 + noise.gauss(0, 15)
            minute = clock.now() - 5 - 60
            metrics.publish(app.store, SCOPE, "Sim", "CPU", load / serving, timestamp=minute)
            engine.tick(clock.now())
            group.reconcile_now(key)
            desired.append(int(call(app, "autoscaling", "DescribeAutoScalingGroups")
                               ["AutoScalingGroups"][0]["DesiredCapacity"]))
            await clock.advance(30)
            group.reconcile_now(key)
            await clock.advance(30)

    asyncio.run(run())
    return desired


def direction_changes(series: list[int]) -> int:
    moves = [b - a for a, b in zip(series, series[1:], strict=False) if b != a]
    return sum(1 for x, y in zip(moves, moves[1:], strict=False) if (x > 0) != (y > 0))


def test_a_short_cooldown_thrashes(app: App) -> None:
    began = time.perf_counter()
    series = simulate(app, cooldown=30)
    flips = direction_changes(series)
    assert flips >= 12, series  # out, in, out, in… all along the two hours
    assert time.perf_counter() - began < 1.5
    activities = call(app, "autoscaling", "DescribeScalingActivities", AutoScalingGroupName="web")["Activities"]
    causes = " ".join(a["Cause"] for a in activities)
    assert "a monitor alarm cpu-out in state ALARM triggered policy out" in causes
    assert "a monitor alarm cpu-in in state ALARM triggered policy in" in causes


def test_a_proper_cooldown_holds(app: App) -> None:
    series = simulate(app, cooldown=1800)
    assert direction_changes(series) <= 4, series
    assert max(series) <= 3


def test_the_same_noise_with_both_cooldowns(tmp_path: Path) -> None:
    """Side by side on the same seed: the short cooldown moves many times more often."""
    counts = []
    for cooldown in (30, 1800):
        a = App(Settings(data_dir=str(tmp_path / str(cooldown))), clock=SimClock(START), store=SqliteStore(":memory:"))
        counts.append(direction_changes(simulate(a, cooldown, seed=3)))
        a.store.close()
    assert counts[0] >= 3 * max(1, counts[1])


def test_the_thrashing_guard_reports_the_bad_pair(app: App) -> None:
    """The guard (beyond AWS): past 4 direction changes in an hour, a warning activity naming the
    settings, the ScalingFlapCount metric, and a line in the health document (``gureum status``)."""
    simulate(app, cooldown=30)
    acts = call(app, "autoscaling", "DescribeScalingActivities", AutoScalingGroupName="web")["Activities"]
    warnings = [a for a in acts if a["Description"].startswith("Thrashing detected:")]
    assert warnings, [a["Description"] for a in acts]
    first = warnings[-1]
    assert first["StatusCode"] == "Successful"
    assert first["Description"] == ("Thrashing detected: 5 scale-out/scale-in direction changes within 3600 s "
                                    "(threshold 4).")
    assert "alarms cpu-out and cpu-in act on a single datapoint (EvaluationPeriods 1)" in first["Cause"]
    assert ("cooldown 30 s is shorter than the 60 s alarm cpu-out needs to see the effect of a change "
            "(Period 60 × EvaluationPeriods 1) (policy out)") in first["Cause"]
    assert len(warnings) <= 2  # at most one per hour
    samples = metrics.read_samples(app.store, SCOPE, "Gureum/AutoScaling", "ScalingFlapCount",
                                   metrics.canonical({"AutoScalingGroupName": "web"}), START, app.clock.now() + 60)
    assert samples and max(s.maximum for s in samples) >= 5
    lines = app.health()["warnings"]
    assert len(lines) == 1 and lines[0].startswith(f"autoscaling group web ({ACCOUNT}/{REGION}) is thrashing:")


def test_no_thrashing_warning_with_a_proper_cooldown(app: App) -> None:
    simulate(app, cooldown=1800)
    acts = call(app, "autoscaling", "DescribeScalingActivities", AutoScalingGroupName="web")["Activities"]
    assert not [a for a in acts if a["Description"].startswith("Thrashing detected:")]
    assert app.health()["warnings"] == []
