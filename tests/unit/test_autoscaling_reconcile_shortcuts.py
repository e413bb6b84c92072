"""The group controller's shortcuts decide what the full work decides.

A pending member is looked at when the fleet says it boots (not every
second); a plan whose inputs have not changed is not made again; the
activity trim counts the store only near the limit; the flap settings are
memoised on the values they come from.  The fleet is :class:`FakeFleet` on
a SimClock, everything else is the real code on an in-memory store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from asg_world import BOOT, SCOPE, START, World, world

from gureum.core.store import Scope
from gureum.services.autoscaling import activities, flap_guard, fleet, names, records


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world_ = world(tmp_path, desired=2)
    yield world_
    world_.app.store.close()


def test_a_pending_member_is_looked_at_when_its_instance_boots(w: World) -> None:
    again = w.tick()
    assert again is not None and again.after == pytest.approx(BOOT)
    assert [m["LifecycleState"] for m in w.members()] == ["Pending", "Pending"]
    w.tick(10)  # looked at early: still pending, and the wait is what is left of the boot
    again = w.tick()
    assert again is not None and again.after == pytest.approx(BOOT - 10)
    w.tick(BOOT - 10)
    assert [m["LifecycleState"] for m in w.members()] == ["InService", "InService"]


def test_a_fleet_that_cannot_tell_is_polled_every_second(w: World) -> None:
    class Blind(fleet.FakeFleet):
        def ready_at(self, scope: Scope, instance_id: str) -> float | None:
            return None

    fleet.install(w.app, Blind(w.clock.now, boot_seconds=BOOT))
    again = w.tick()
    assert again is not None and again.after == pytest.approx(1.0)


def test_a_settled_group_still_acts_on_every_change(w: World) -> None:
    w.tick()
    w.tick(BOOT)
    assert w.tick() is None  # settled: nothing to do, nothing due
    first = w.members()[0]["InstanceId"]
    w.call("SetInstanceHealth", InstanceId=first, HealthStatus="Unhealthy")
    w.tick()
    states = {m["InstanceId"]: m["LifecycleState"] for m in w.members()}
    assert first not in states or states[first] != "InService"
    assert sorted(states.values()).count("Pending") == 1  # its replacement
    w.tick(BOOT)
    w.call("SetDesiredCapacity", AutoScalingGroupName="g", DesiredCapacity=4)
    w.tick()
    assert sorted(m["LifecycleState"] for m in w.members()) == ["InService", "InService", "Pending", "Pending"]
    w.tick(BOOT)
    w.call("UpdateAutoScalingGroup", AutoScalingGroupName="g", AvailabilityZones=["us-east-1a"])
    w.tick()  # members now sit in a zone the group no longer uses: a rebalancing launch
    assert any(m["LifecycleState"] == "Pending" and m["AvailabilityZone"] == "us-east-1a" for m in w.members())


def test_activities_are_trimmed_at_the_limit(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activities, "KEEP", 5)
    group = records.get_group(w.app.store, SCOPE, "g")
    assert group is not None
    for n in range(12):
        activities.start(w.app.store, SCOPE, group, f"activity {n}", "", START + n, status=activities.SUCCESSFUL)
        assert w.app.store.count(names.ACTIVITY, SCOPE, "g/") == min(n + 1, 5)
    kept = [d["Description"] for d in activities.listing(w.app.store, SCOPE, "g")]
    assert kept == [f"activity {n}" for n in range(11, 6, -1)]


def test_flap_settings_follow_the_environment_and_the_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUREUM_FLAP_THRESHOLD", raising=False)
    plain = flap_guard.settings_of({"Tags": []})
    monkeypatch.setenv("GUREUM_FLAP_THRESHOLD", str(plain.threshold + 3))
    assert flap_guard.settings_of({"Tags": []}).threshold == plain.threshold + 3
    tagged = {"Tags": [{"Key": "gureum:flap-threshold", "Value": "9"}, {"Key": "other", "Value": "x"}]}
    assert flap_guard.settings_of(tagged).threshold == 9


def test_a_group_read_again_is_what_the_store_holds(w: World) -> None:
    store = w.app.store
    first = records.get_group(store, SCOPE, "g")
    assert first is not None
    first["DesiredCapacity"] = 5  # changed in memory only: the next read does not see it
    again = records.get_group(store, SCOPE, "g")
    assert again is not None and again["DesiredCapacity"] == 2
    with pytest.raises(RuntimeError), store.transaction():
        again["DesiredCapacity"] = 3
        again["_note"] = ("a", "tuple")
        records.save_group(store, SCOPE, again)
        raise RuntimeError("rolled back")
    after = records.get_group(store, SCOPE, "g")
    assert after is not None and after["DesiredCapacity"] == 2 and "_note" not in after
    after["_note"] = ("a", "tuple")
    records.save_group(store, SCOPE, after)
    read = records.get_group(store, SCOPE, "g")
    assert read is not None and read["_note"] == ["a", "tuple"]  # what JSON keeps, as the store gives it
    read["DesiredCapacity"] = 4
    records.save_group(store, SCOPE, read)
    assert records.get_group(store, SCOPE, "g")["DesiredCapacity"] == 4  # type: ignore[index]


def test_a_reset_forgets_the_groups_read(w: World) -> None:
    assert records.get_group(w.app.store, SCOPE, "g") is not None
    w.app.reset()
    assert records.get_group(w.app.store, SCOPE, "g") is None
    assert w.call("DescribeAutoScalingGroups")["AutoScalingGroups"] == []
