"""Answers the group controller keeps between reconciles follow every write.

The lifecycle hooks, the scheduled actions and the active refresh pointer of
a group (:mod:`journal`), and the alarm facts of the thrashing diagnosis
(:func:`flap_guard.alarm_facts`), are read once and kept up to date; each test writes
through the real handlers and checks the next reconcile acts on the new
state.  FakeFleet on a SimClock; everything else real, in-memory store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asg_world import BOOT, SCOPE, START, World, world

from gureum.core.store import Scope
from gureum.services.autoscaling import flap_guard, journal, names
from gureum.services.cloudwatch import public as cloudwatch

LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"


def states(w: World) -> list[str]:
    return sorted(m["LifecycleState"] for m in w.members())


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world_ = world(tmp_path, desired=1)
    yield world_
    world_.app.store.close()


def test_a_hook_put_or_deleted_after_the_hooks_were_read_holds_or_frees_the_next_launch(w: World) -> None:
    w.tick()
    w.tick(BOOT)  # no hook: the member came into service (the empty hook list was read and kept)
    assert states(w) == ["InService"]
    w.call("PutLifecycleHook", AutoScalingGroupName="g", LifecycleHookName="wait", LifecycleTransition=LAUNCHING,
           HeartbeatTimeout=600)
    w.call("SetDesiredCapacity", AutoScalingGroupName="g", DesiredCapacity=2)
    w.tick()
    w.tick(BOOT)
    assert states(w) == ["InService", "Pending:Wait"]  # the new hook holds it
    w.call("DeleteLifecycleHook", AutoScalingGroupName="g", LifecycleHookName="wait")
    w.tick()
    assert states(w) == ["InService", "InService"]  # the hook is gone: it goes on


def test_a_scheduled_action_put_after_an_empty_look_runs_when_due(w: World) -> None:
    w.tick()  # no scheduled action: that is kept
    w.call("PutScheduledUpdateGroupAction", AutoScalingGroupName="g", ScheduledActionName="up",
           StartTime=START + 120, DesiredCapacity=3)
    again = w.tick()
    assert again is not None and again.after <= 120
    w.tick(120)
    assert int(w.group()["DesiredCapacity"]) == 3
    assert w.call("DescribeScheduledActions", AutoScalingGroupName="g")["ScheduledUpdateGroupActions"] == []
    w.call("PutScheduledUpdateGroupAction", AutoScalingGroupName="g", ScheduledActionName="down",
           StartTime=START + 600, DesiredCapacity=1)
    w.call("DeleteScheduledAction", AutoScalingGroupName="g", ScheduledActionName="down")
    w.tick(600)
    assert int(w.group()["DesiredCapacity"]) == 3  # deleted before it was due: never ran


def test_a_write_between_the_version_and_the_read_is_not_kept_as_current(w: World) -> None:
    store = w.app.store
    calls = []

    def load() -> int:
        calls.append(1)
        journal.wrote(store, names.HOOK, SCOPE, "g")  # someone writes while this answer is read
        return len(calls)

    assert journal.cached(store, names.HOOK, SCOPE, "g", load) == 1
    assert journal.cached(store, names.HOOK, SCOPE, "g", lambda: 7) == 7  # read again
    assert journal.cached(store, names.HOOK, SCOPE, "g", lambda: 8) == 7  # kept
    assert journal.cached(store, names.HOOK, SCOPE, "other", lambda: 9) == 9  # per group
    w.app.reset()
    assert journal.cached(store, names.HOOK, SCOPE, "g", lambda: 10) == 10  # a reset forgets


def _policy_and_alarm(w: World) -> dict[str, Any]:
    policy = w.call("PutScalingPolicy", AutoScalingGroupName="g", PolicyName="out", PolicyType="SimpleScaling",
                    AdjustmentType="ChangeInCapacity", ScalingAdjustment=1)
    w.call("PutMetricAlarm", "cloudwatch", AlarmName="hi", Namespace="Bench", MetricName="Load", Statistic="Average",
           Period=60, EvaluationPeriods=1, Threshold=70.0, ComparisonOperator="GreaterThanThreshold",
           AlarmActions=[policy["PolicyARN"]])
    return {"PolicyARN": policy["PolicyARN"], "PolicyName": "out"}


def test_alarm_facts_follow_every_alarm_change_without_reading_every_alarm_again(
        w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    policies = [_policy_and_alarm(w)]
    reads = []
    every = cloudwatch.alarms

    def counted(*args: Any) -> list[dict[str, Any]]:
        reads.append(1)
        return every(*args)

    monkeypatch.setattr(cloudwatch, "alarms", counted)

    def facts() -> list[tuple[str, float, int]]:
        return [(f.name, f.threshold, f.evaluation_periods) for f in flap_guard.alarm_facts(w.app, SCOPE, policies)]

    assert facts() == [("hi", 70.0, 1)] and len(reads) == 1
    w.call("SetAlarmState", "cloudwatch", AlarmName="hi", StateValue="ALARM", StateReason="test")
    w.call("PutMetricAlarm", "cloudwatch", AlarmName="other", Namespace="Bench", MetricName="Load",
           Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="LessThanThreshold")
    assert facts() == [("hi", 70.0, 1)]  # a state change, an alarm calling nothing here
    w.call("PutMetricAlarm", "cloudwatch", AlarmName="hi", Namespace="Bench", MetricName="Load", Statistic="Average",
           Period=60, EvaluationPeriods=3, Threshold=80.0, ComparisonOperator="GreaterThanThreshold",
           AlarmActions=[policies[0]["PolicyARN"]])
    assert facts() == [("hi", 80.0, 3)]
    w.call("PutMetricAlarm", "cloudwatch", AlarmName="a-first", Namespace="Bench", MetricName="Load",
           Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="LessThanThreshold",
           OKActions=[policies[0]["PolicyARN"]])
    assert facts() == [("a-first", 1.0, 1), ("hi", 80.0, 3)]  # in name order, as the store lists them
    w.call("DeleteAlarms", "cloudwatch", AlarmNames=["hi"])
    assert facts() == [("a-first", 1.0, 1)]
    assert len(reads) == 1  # every change above came from what CloudWatch says was written
    assert flap_guard.alarm_facts(w.app, Scope(SCOPE.account, "eu-west-1"), policies) == []
    w.app.reset()
    assert facts() == []
    assert len(reads) == 3  # the other region's first look, and the reset: read whole
