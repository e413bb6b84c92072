"""EnterStandby, ExitStandby and DetachInstances on the real handlers and controller (FakeFleet,
simulated clock)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_autoscaling_handlers import START, World, refused

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import SqliteStore
from gureum.settings import Settings


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(":memory:"))
    world = World(app)
    world.create()
    world.tick()
    world.tick(31)
    assert world.states() == ["InService", "InService"]
    yield world
    app.store.close()


def ids(w: World) -> list[str]:
    return sorted(i["InstanceId"] for i in w.group()["Instances"])


def test_standby_with_decrement_then_back(w: World) -> None:
    first = ids(w)[0]
    out = w.call("EnterStandby", AutoScalingGroupName="g", InstanceIds=[first], ShouldDecrementDesiredCapacity=True)
    [act] = out["Activities"]
    assert act["Description"] == f"Moving EC2 instance to Standby: {first}"
    assert "was moved to standby in response to a user request, shrinking the capacity from 2 to 1." in act["Cause"]
    w.tick(5)
    g = w.group()
    assert g["DesiredCapacity"] == 1 and w.states() == ["InService", "Standby"]  # no replacement, not terminated
    assert w.fleet.state(None, first) == "running"  # type: ignore[arg-type]
    refused(w, "ValidationError", "is not in InService", "EnterStandby", AutoScalingGroupName="g",
            InstanceIds=[first], ShouldDecrementDesiredCapacity=False)
    out = w.call("ExitStandby", AutoScalingGroupName="g", InstanceIds=[first])
    assert "increasing the capacity from 1 to 2" in out["Activities"][0]["Cause"]
    w.tick(1)
    assert w.group()["DesiredCapacity"] == 2 and w.states() == ["InService", "InService"]
    assert ids(w)[0] == first and len(ids(w)) == 2
    latest = [a for a in w.activities() if a["Description"].startswith("Moving EC2 instance out of Standby")]
    assert latest[0]["StatusCode"] == "Successful"
    refused(w, "ValidationError", "is not in Standby", "ExitStandby", AutoScalingGroupName="g", InstanceIds=[first])


def test_standby_without_decrement_launches_a_replacement(w: World) -> None:
    first = ids(w)[0]
    w.call("EnterStandby", AutoScalingGroupName="g", InstanceIds=[first], ShouldDecrementDesiredCapacity=False)
    w.tick(1)
    w.tick(31)
    assert w.group()["DesiredCapacity"] == 2
    assert w.states() == ["InService", "InService", "Standby"]
    w.call("UpdateAutoScalingGroup", AutoScalingGroupName="g", MaxSize=2)
    refused(w, "ValidationError", "would be above the maximum size (2)", "ExitStandby", AutoScalingGroupName="g",
            InstanceIds=[first])


def test_decrement_below_min_and_strangers_are_refused(w: World) -> None:
    a, b = ids(w)
    refused(w, "ValidationError", "below the minimum size (1)", "EnterStandby", AutoScalingGroupName="g",
            InstanceIds=[a, b], ShouldDecrementDesiredCapacity=True)
    refused(w, "ValidationError", "is not part of Auto Scaling group g", "DetachInstances", AutoScalingGroupName="g",
            InstanceIds=["i-0123456789abcdef0"], ShouldDecrementDesiredCapacity=False)
    assert w.states() == ["InService", "InService"] and w.group()["DesiredCapacity"] == 2  # nothing half-done


def test_detach_keeps_the_instance_running(w: World) -> None:
    a, b = ids(w)
    out = w.call("DetachInstances", AutoScalingGroupName="g", InstanceIds=[a], ShouldDecrementDesiredCapacity=True)
    assert out["Activities"][0]["Description"] == f"Detaching EC2 instance: {a}"
    w.tick(1)
    assert ids(w) == [b] and w.group()["DesiredCapacity"] == 1
    assert w.fleet.state(None, a) == "running"  # type: ignore[arg-type]
    w.call("DetachInstances", AutoScalingGroupName="g", InstanceIds=[b], ShouldDecrementDesiredCapacity=False)
    w.tick(1)
    w.tick(31)
    assert w.group()["DesiredCapacity"] == 1 and len(ids(w)) == 1 and ids(w) != [b]  # replaced
