"""A reconcile's scaling activities are held and written with the group (activities.Batch).

Real store (in memory, its puts counted), the real controller on a SimClock
with FakeFleet.  The held activities are the ones the unbatched code would
write, each written once, never read back; an error half-way loses none;
other threads and code outside the batch write at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asg_world import BOOT, SCOPE, START, call, tick, world

from gureum.app import App
from gureum.core.store import Scope, SqliteStore
from gureum.services.autoscaling import activities, controller, names, records


class CountingStore(SqliteStore):
    def __init__(self) -> None:
        super().__init__(":memory:")
        self.activity_puts = 0
        self.activity_gets = 0

    def put(self, kind: str, scope: Scope, key: str, doc: dict[str, Any]) -> None:
        self.activity_puts += kind == names.ACTIVITY
        super().put(kind, scope, key, doc)

    def get(self, kind: str, scope: Scope, key: str) -> dict[str, Any] | None:
        self.activity_gets += kind == names.ACTIVITY
        return super().get(kind, scope, key)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    store = CountingStore()
    yield world(tmp_path, desired=2, store=store).app
    store.close()


def described(app: App) -> list[tuple[str, str, int]]:
    return [(a["Description"].split(":")[0], a["StatusCode"], a["Progress"])
            for a in call(app, "DescribeScalingActivities", AutoScalingGroupName="g")["Activities"]]


def test_an_activity_started_and_finished_in_one_reconcile_is_written_once(app: App) -> None:
    store = app.store
    assert isinstance(store, CountingStore)
    tick(app)
    tick(app, BOOT)
    assert described(app) == [("Launching a new EC2 instance", "Successful", 100)] * 2
    call(app, "SetDesiredCapacity", AutoScalingGroupName="g", DesiredCapacity=1)
    puts, gets = store.activity_puts, store.activity_gets
    tick(app)  # taken out, terminated at once by the fleet, forgotten: started and finished here
    assert described(app)[0] == ("Terminating EC2 instance", "Successful", 100)
    assert (store.activity_puts - puts, store.activity_gets - gets) == (1, 0)


def test_an_error_half_way_loses_no_activity_recorded_before_it(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("after the launches")

    monkeypatch.setattr(controller.GroupController, "_settle_cooldown", broken)
    with pytest.raises(RuntimeError):
        tick(app)
    assert described(app) == [("Launching a new EC2 instance", "InProgress", 30)] * 2
    group = records.get_group(app.store, SCOPE, "g")
    assert group is not None and records.members(group) == []  # the group itself was not saved: as before


def test_writes_outside_the_batch_or_from_another_thread_are_not_held(app: App) -> None:
    group = records.get_group(app.store, SCOPE, "g")
    assert group is not None
    seen: list[int] = []
    with activities.batch(app.store) as held:
        key = activities.start(app.store, SCOPE, group, "held", "", START)
        assert app.store.get(names.ACTIVITY, SCOPE, key) is None and len(held.docs) == 1
        def elsewhere() -> None:
            seen.append(len(activities.listing(app.store, SCOPE, "g")))
            activities.start(app.store, SCOPE, group, "other thread", "", START + 1)

        other = threading.Thread(target=elsewhere)
        other.start()
        other.join()
        assert [d["Description"] for d in activities.listing(app.store, SCOPE, "g")] == ["other thread"]
        activities.update(app.store, SCOPE, key, START + 2, status=activities.SUCCESSFUL)
    assert seen == [0]
    docs = {d["Description"]: d for d in activities.listing(app.store, SCOPE, "g")}
    assert docs["held"]["StatusCode"] == activities.SUCCESSFUL and docs["held"]["EndTime"] == START + 2
    key = activities.start(app.store, SCOPE, group, "unbatched", "", START + 3)
    assert app.store.get(names.ACTIVITY, SCOPE, key) is not None


def test_an_activity_a_reconcile_wrote_is_moved_on_by_the_next_one_without_reading_it(app: App) -> None:
    store = app.store
    assert isinstance(store, CountingStore)
    tick(app)  # two launches, in progress
    gets = store.activity_gets
    tick(app, BOOT)  # both come into service: their activities finish
    assert store.activity_gets == gets
    assert described(app) == [("Launching a new EC2 instance", "Successful", 100)] * 2


def test_a_write_outside_a_batch_or_a_failed_reconcile_or_a_reset_forgets_what_was_remembered(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    store = app.store
    assert isinstance(store, CountingStore)
    tick(app)
    group = records.get_group(store, SCOPE, "g")
    assert group is not None
    first, second = (m["_activity"] for m in records.members(group))
    activities.update(store, SCOPE, first, START + 1, status=activities.MID_LIFECYCLE, progress=40,
                      description="changed outside")  # (a handler): read from the store, written at once
    gets = store.activity_gets
    with activities.batch(store):
        activities.update(store, SCOPE, first, START + 2, status=activities.SUCCESSFUL)
        activities.update(store, SCOPE, second, START + 2, status=activities.MID_LIFECYCLE, progress=40)
    assert store.activity_gets == gets + 1  # the one changed outside is read; the other was remembered
    docs = {d["ActivityId"]: d for d in activities.listing(store, SCOPE, "g")}
    assert docs[first.rsplit("/", 1)[1]]["Description"] == "changed outside"  # nothing lost
    assert docs[first.rsplit("/", 1)[1]]["StatusCode"] == activities.SUCCESSFUL

    with pytest.raises(RuntimeError), activities.batch(store):
        activities.update(store, SCOPE, second, START + 3, status=activities.MID_LIFECYCLE, progress=45)
        raise RuntimeError("half-way")
    gets = store.activity_gets
    with activities.batch(store):
        activities.update(store, SCOPE, second, START + 4, status=activities.MID_LIFECYCLE, progress=50)
    assert store.activity_gets == gets + 1  # a failed batch remembers nothing
    assert {d["ActivityId"]: d["Progress"] for d in activities.listing(store, SCOPE, "g")}[
        second.rsplit("/", 1)[1]] == 50
    app.reset()
    assert activities.listing(store, SCOPE, "g") == []
    with activities.batch(store):
        activities.update(store, SCOPE, second, START + 5, status=activities.SUCCESSFUL)
    assert activities.listing(store, SCOPE, "g") == []  # gone with the reset: not written back
