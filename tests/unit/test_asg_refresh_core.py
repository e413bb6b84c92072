"""Instance refresh decisions on plain data (refresh_core): preferences, batches, progress, checkpoints."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.autoscaling.refresh_core import (
    Action,
    PreferenceError,
    Preferences,
    Track,
    Unit,
    decide,
    outdated,
    preferences,
    progress,
)

START = 1000.0


def old(n: int, state: str = "InService") -> list[Unit]:
    return [Unit(f"i-old{i}", state, launched_at=START - 100, in_service_at=START - 90, matches=False)
            for i in range(n)]


def new(iid: str, state: str = "InService", in_service_at: float | None = START + 10) -> Unit:
    return Unit(iid, state, launched_at=START + 1, in_service_at=in_service_at, matches=True)


# -- preferences ----------------------------------------------------------------------------------


def test_defaults_follow_aws() -> None:
    prefs = preferences(None, default_warmup=120)
    assert (prefs.min_healthy, prefs.max_healthy, prefs.warmup, prefs.checkpoint_delay) == (90, 100, 120, 3600)
    assert prefs.shown() == {"MinHealthyPercentage": 90, "MaxHealthyPercentage": 100, "InstanceWarmup": 120,
                             "SkipMatching": False, "AutoRollback": False, "ScaleInProtectedInstances": "Ignore",
                             "StandbyInstances": "Ignore"}
    with_checkpoints = preferences({"CheckpointPercentages": [50, 100]}, 0)
    assert with_checkpoints.checkpoints == (50, 100) and with_checkpoints.shown()["CheckpointDelay"] == 3600


@pytest.mark.parametrize(("given", "words"), [
    ({"MinHealthyPercentage": 101}, "MinHealthyPercentage must be between 0 and 100"),
    ({"MaxHealthyPercentage": 99}, "MaxHealthyPercentage must be between 100 and 200"),
    ({"MinHealthyPercentage": 0, "MaxHealthyPercentage": 150}, "must not be greater than 100"),
    ({"CheckpointDelay": 60}, "CheckpointDelay can only be specified with CheckpointPercentages"),
    ({"CheckpointPercentages": [50, 20]}, "unique and in ascending order"),
    ({"CheckpointPercentages": [20, 20]}, "unique and in ascending order"),
    ({"CheckpointPercentages": [0, 100]}, "between 1 and 100"),
    ({"CheckpointPercentages": [50], "CheckpointDelay": 172801}, "CheckpointDelay must be between 0 and 172800"),
])
def test_bad_preferences_are_refused(given: dict[str, object], words: str) -> None:
    with pytest.raises(PreferenceError) as info:
        preferences(given, 0)
    assert words in str(info.value)


# -- what is replaced -----------------------------------------------------------------------------


def test_skip_matching_keeps_matching_members_and_protected_ones_stay() -> None:
    units = [*old(1), Unit("i-same", "InService", launched_at=START - 50, matches=True),
             Unit("i-prot", "InService", launched_at=START - 50, protected=True), Unit("i-sb", "Standby")]
    every = Preferences()
    assert [u.instance_id for u in outdated(units, every, START)] == ["i-old0", "i-same"]
    skipping = Preferences(skip_matching=True)
    assert [u.instance_id for u in outdated(units, skipping, START)] == ["i-old0"]
    refreshing = Preferences(protected="Refresh")
    assert "i-prot" in [u.instance_id for u in outdated(units, refreshing, START)]


# -- batches ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("desired", "min_healthy", "batch"), [
    (2, 50, 1), (4, 50, 2), (10, 90, 1), (10, 100, 1), (10, 0, 10), (4, 75, 1), (5, 50, 2),
])
def test_batch_keeps_the_healthy_floor_and_is_at_least_one(desired: int, min_healthy: int, batch: int) -> None:
    d = decide(old(desired), desired, Preferences(min_healthy=min_healthy), Track(START), START)
    assert d.action is Action.REPLACE and len(d.replace) == batch
    assert d.progress.total == desired and d.track.total == desired


def test_not_in_service_and_unhealthy_members_go_first() -> None:
    units = [Unit("i-a", "InService", launched_at=1), Unit("i-b", "InService", healthy=False, launched_at=2),
             Unit("i-c", "InService", launched_at=0)]
    d = decide(units, 3, Preferences(min_healthy=34), Track(START), START)
    assert d.replace == ("i-b",)  # one healthy short of 2 of 3 would be too many: one at a time


def test_it_waits_for_pending_and_warming_replacements() -> None:
    prefs = Preferences(min_healthy=50, warmup=60)
    track = Track(START, total=2)
    pending = decide([*old(1), new("i-n1", "Pending", None)], 2, prefs, track, START + 5)
    assert pending.action is Action.WAIT and "i-n1" in pending.reason
    assert pending.progress.to_update == 2 and pending.progress.percent == 0
    warming = decide([*old(1), new("i-n1")], 2, prefs, track, START + 30)
    assert warming.action is Action.WAIT and warming.wake == pytest.approx(40.0)
    warm = decide([*old(1), new("i-n1")], 2, prefs, track, START + 70)
    assert warm.action is Action.REPLACE and warm.replace == ("i-old0",)
    assert warm.progress.percent == 50 and warm.progress.to_update == 1
    done = decide([new("i-n1"), new("i-n2", in_service_at=START + 80)], 2, prefs, track, START + 140)
    assert done.action is Action.SUCCEED and done.progress.percent == 100 and done.progress.to_update == 0


def test_a_held_refresh_replaces_nothing() -> None:
    d = decide(old(2), 2, Preferences(min_healthy=50), Track(START), START, held="Launch is suspended")
    assert d.action is Action.WAIT and d.reason == "Launch is suspended"


# -- checkpoints ------------------------------------------------------------------------------------


def test_checkpoint_caps_the_batch_then_pauses_for_the_delay() -> None:
    prefs = Preferences(min_healthy=0, checkpoints=(50, 100), checkpoint_delay=600)
    first = decide(old(4), 4, prefs, Track(START), START)
    assert len(first.replace) == 2  # not past 50 %, though 0 % healthy would allow all four
    units = [*old(4)[2:], new("i-n1"), new("i-n2")]
    reached = decide(units, 4, prefs, first.track, START + 20)
    assert reached.action is Action.PAUSE and reached.progress.percent == 50
    assert reached.track.passed == 50 and reached.track.paused_until == START + 620
    waiting = decide(units, 4, prefs, reached.track, START + 300)
    assert waiting.action is Action.WAIT and waiting.wake == pytest.approx(320.0) and "Checkpoint 50%" in waiting.reason
    going = decide(units, 4, prefs, reached.track, START + 620)
    assert going.action is Action.REPLACE and len(going.replace) == 2 and going.track.paused_until is None


def test_a_last_checkpoint_below_100_ends_the_refresh() -> None:
    prefs = Preferences(min_healthy=0, checkpoints=(50,))
    units = [*old(2), new("i-n1"), new("i-n2")]
    d = decide(units, 4, prefs, Track(START, total=4), START + 20)
    assert d.action is Action.SUCCEED and d.progress.percent == 50 and d.progress.to_update == 2


def test_nothing_to_replace_succeeds_at_once() -> None:
    units = [Unit("i-a", "InService", matches=True, launched_at=START - 10, in_service_at=START - 5)]
    d = decide(units, 1, Preferences(skip_matching=True), Track(START), START)
    assert d.action is Action.SUCCEED and d.progress.percent == 100


# -- properties ---------------------------------------------------------------------------------------


@given(desired=st.integers(1, 20), min_healthy=st.integers(0, 100), replaced=st.integers(0, 20))
def test_progress_and_batches_stay_in_bounds(desired: int, min_healthy: int, replaced: int) -> None:
    replaced = min(replaced, desired)
    units = old(desired - replaced) + [new(f"i-n{i}") for i in range(replaced)]
    prefs = Preferences(min_healthy=min_healthy)
    track = Track(START, total=desired)
    prog = progress(units, prefs, track, START + 100)
    assert 0 <= prog.percent <= 100 and prog.to_update == desired - replaced
    d = decide(units, desired, prefs, track, START + 100)
    if d.action is Action.REPLACE:
        floor = -(-desired * min_healthy // 100)
        assert 1 <= len(d.replace) <= max(1, desired - floor)
        assert set(d.replace) <= {u.instance_id for u in outdated(units, prefs, START)}
    else:
        assert d.action is Action.SUCCEED and replaced == desired


def test_track_total_grows_when_more_need_replacing() -> None:
    track = replace(Track(START), total=1)
    d = decide(old(3), 3, Preferences(min_healthy=0), track, START)
    assert d.track.total == 3
