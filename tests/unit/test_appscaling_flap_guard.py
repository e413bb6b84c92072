"""The thrashing guard on a scalable target: real store, real CloudWatch alarms, the simulated
clock; note_change is what activities.scale_to calls after each change of the desired count."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope, SqliteStore
from gureum.services.api import RequestContext
from gureum.services.applicationautoscaling import flap_guard, names
from gureum.services.cloudwatch import metrics
from gureum.settings import Settings

SCOPE = Scope("123456789012", "us-east-1")
RESOURCE = "service/c/web"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(1_767_225_600.0), store=SqliteStore(":memory:"))
    yield a
    a.store.close()


def call(app: App, service: str, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api(service)
    assert api is not None
    out = api.handlers[op](RequestContext(service, op, SCOPE.account, SCOPE.region, "rid", app), req)
    assert isinstance(out, dict)
    return out


def bad_pair(app: App) -> dict[str, Any]:
    target = {"ServiceNamespace": "ecs", "ScalableDimension": names.ECS_DIMENSION, "ResourceId": RESOURCE,
              "MinCapacity": 1, "MaxCapacity": 4}
    tkey = names.target_key("ecs", names.ECS_DIMENSION, RESOURCE)
    app.store.put(names.TARGET, SCOPE, tkey, dict(target))
    for name, adj, op, threshold in (("out", 1, "GreaterThanThreshold", 70.0), ("in", -1, "LessThanThreshold", 65.0)):
        arn = f"arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/ecs/{RESOURCE}:policyName/{name}"
        app.store.put(names.POLICY, SCOPE, names.child_key(tkey, name), {
            "PolicyName": name, "PolicyARN": arn, "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "Cooldown": 30,
                                               "StepAdjustments": [{"MetricIntervalLowerBound" if adj > 0 else
                                                                    "MetricIntervalUpperBound": 0,
                                                                    "ScalingAdjustment": adj}]}})
        call(app, "cloudwatch", "PutMetricAlarm", AlarmName=f"cpu-{name}", Namespace="AWS/ECS",
             MetricName="CPUUtilization", Statistic="Average", Period=60, EvaluationPeriods=2, Threshold=threshold,
             ComparisonOperator=op, AlarmActions=[arn])
    return target


def test_a_flapping_target_is_reported(app: App) -> None:
    target = bad_pair(app)
    app.service_api("application-autoscaling")
    recorded: list[tuple[str, str]] = []
    clock = app.clock
    assert isinstance(clock, SimClock)

    async def flap() -> None:
        for i in range(8):
            before, after = (1, 2) if i % 2 == 0 else (2, 1)
            flap_guard.note_change(app, SCOPE, target, before, after, lambda d, c: recorded.append((d, c)))
            await clock.advance(120)

    asyncio.run(flap())
    assert len(recorded) == 1  # the fifth reversal (sixth change); then not again within the hour
    description, cause = recorded[0]
    assert description.startswith("Thrashing detected: 5 ")
    assert "scale-in threshold 65 is within 10% of scale-out threshold 70 (alarms cpu-in and cpu-out on " \
           "AWS/ECS/CPUUtilization)" in cause
    assert "cooldown 30 s is shorter than the 120 s alarm cpu-out needs" in cause
    samples = metrics.read_samples(app.store, SCOPE, "Gureum/AutoScaling", "ScalingFlapCount",
                                   metrics.canonical({"ResourceId": RESOURCE}), 0, clock.now() + 60)
    assert [s.maximum for s in samples] == [0, 1, 2, 3, 4, 5, 6, 7]
    [line] = app.health()["warnings"]
    assert line.startswith(f"scalable target {RESOURCE} (123456789012/us-east-1) is thrashing: 7 direction changes")


def test_the_environment_sets_the_threshold(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUREUM_FLAP_THRESHOLD", "10")
    target = bad_pair(app)
    recorded: list[tuple[str, str]] = []
    for i in range(8):
        flap_guard.note_change(app, SCOPE, target, 1 + i % 2, 2 - i % 2, lambda d, c: recorded.append((d, c)))
    assert recorded == [] and flap_guard.health_warnings(app) == []
