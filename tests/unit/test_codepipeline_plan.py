"""The execution planner (pure): stages in order, runOrder groups, locks, supersede, stop, retry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gureum.services.codepipeline.execution_plan import (
    AbandonAction,
    ActionStatus,
    Advance,
    Enter,
    ExecStatus,
    Execution,
    FinishExecution,
    FinishStage,
    Mode,
    PipelineState,
    RetryMode,
    StageLayout,
    StageStatus,
    StartAction,
    Stop,
    advance,
    retry,
    settle,
)

S, F, A, P = ActionStatus.SUCCEEDED, ActionStatus.FAILED, ActionStatus.ABANDONED, ActionStatus.IN_PROGRESS

LAYOUT = (
    StageLayout("Source", (("src", 1),)),
    StageLayout("Build", (("unit", 1), ("lint", 1), ("package", 2))),
    StageLayout("Deploy", (("deploy", 1),)),
)


def new(eid: str, seq: int, **kw: object) -> Execution:
    return Execution(eid, seq, LAYOUT, **kw)  # type: ignore[arg-type]


def in_stage(eid: str, seq: int, index: int, actions: dict[str, ActionStatus | None], **kw: object) -> Execution:
    return new(eid, seq, index=index, entered=True, stage_status=StageStatus.IN_PROGRESS, actions=tuple(actions.items()), **kw)


def state(*execs: Execution, mode: Mode = Mode.SUPERSEDED, disabled: frozenset[str] = frozenset()) -> PipelineState:
    return PipelineState(mode, execs, disabled)


def by_id(st: PipelineState, eid: str) -> Execution:
    return next(e for e in st.executions if e.id == eid)


def test_a_new_execution_enters_the_first_stage_and_starts_its_actions() -> None:
    st, effects = advance(state(new("e1", 1)))
    assert effects == [Enter("e1", "Source"), StartAction("e1", "Source", "src")]
    assert by_id(st, "e1").status_of("src") == P


def test_same_run_order_runs_in_parallel_and_the_next_group_waits_for_both() -> None:
    st, effects = settle(state(new("e1", 1)), [])
    st, effects = settle(st, [("e1", "src", S)])
    assert effects == [FinishStage("e1", "Source", StageStatus.SUCCEEDED), Advance("e1", "Build"), Enter("e1", "Build"),
                       StartAction("e1", "Build", "unit"), StartAction("e1", "Build", "lint")]  # fmt: skip
    st, effects = settle(st, [("e1", "unit", S)])
    assert effects == []  # lint still running: package (runOrder 2) waits
    st, effects = settle(st, [("e1", "lint", S)])
    assert effects == [StartAction("e1", "Build", "package")]
    st, effects = settle(st, [("e1", "package", S)])
    st, effects = settle(st, [("e1", "deploy", S)])
    assert effects == [FinishStage("e1", "Deploy", StageStatus.SUCCEEDED), FinishExecution("e1", ExecStatus.SUCCEEDED, "")]
    assert by_id(st, "e1").status == ExecStatus.SUCCEEDED


def test_a_failed_action_lets_its_sibling_finish_then_fails_stage_and_execution() -> None:
    st = state(in_stage("e1", 1, 1, {"unit": P, "lint": P, "package": None}))
    st, effects = settle(st, [("e1", "unit", F)])
    assert effects == []  # lint is still running
    st, effects = settle(st, [("e1", "lint", S)])
    assert effects == [FinishStage("e1", "Build", StageStatus.FAILED), FinishExecution("e1", ExecStatus.FAILED, "Stage Build failed: action unit failed")]
    assert by_id(st, "e1").stage_status == StageStatus.FAILED


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # SUPERSEDED: the older waiting execution is superseded by the newer one at the same transition.
        (Mode.SUPERSEDED, {"old": ExecStatus.SUPERSEDED, "new": ExecStatus.IN_PROGRESS}),
        # QUEUED: both wait; the older one goes first.
        (Mode.QUEUED, {"old": ExecStatus.IN_PROGRESS, "new": ExecStatus.IN_PROGRESS}),
    ],
)
def test_waiting_executions_at_a_locked_stage(mode: Mode, expected: dict[str, ExecStatus]) -> None:
    holder = in_stage("holder", 1, 1, {"unit": P, "lint": P, "package": None})
    old = new("old", 2, index=1)
    newer = new("new", 3, index=1)
    st, effects = advance(state(holder, old, newer, mode=mode))
    assert {e: by_id(st, e).status for e in ("old", "new")} == expected
    assert not any(isinstance(e, Enter) for e in effects)  # the stage is locked
    if mode == Mode.QUEUED:
        st, effects = settle(st, [("holder", "unit", S), ("holder", "lint", S)])
        st, effects = settle(st, [("holder", "package", S)])
        assert Enter("old", "Build") in effects and Enter("new", "Build") not in effects


def test_supersede_happens_when_the_newer_execution_arrives_not_before() -> None:
    holder = in_stage("holder", 1, 2, {"deploy": P})
    waiting = new("old", 2, index=2)  # done with Build, waits for Deploy
    behind = in_stage("new", 3, 1, {"unit": P, "lint": S, "package": None})
    st, effects = advance(state(holder, waiting, behind))
    assert by_id(st, "old").status == ExecStatus.IN_PROGRESS and effects == []
    st, effects = settle(st, [("new", "unit", S)])
    st, effects = settle(st, [("new", "package", S)])
    assert FinishExecution("old", ExecStatus.SUPERSEDED, "Superseded by pipeline execution new") in effects
    assert by_id(st, "new").entered is False and by_id(st, "new").index == 2  # waits for holder


def test_parallel_mode_has_no_locks() -> None:
    holder = in_stage("a", 1, 1, {"unit": P, "lint": P, "package": None})
    st, effects = advance(state(holder, new("b", 2, index=1), mode=Mode.PARALLEL))
    assert Enter("b", "Build") in effects and by_id(st, "a").status == ExecStatus.IN_PROGRESS


def test_a_failed_stage_does_not_lock_it() -> None:
    failed = new("a", 1, index=1, entered=True, stage_status=StageStatus.FAILED, status=ExecStatus.FAILED,
                 actions=(("unit", F), ("lint", S), ("package", None)))  # fmt: skip
    _, effects = advance(state(failed, new("b", 2, index=1)))
    assert effects[0] == Enter("b", "Build")


def test_a_disabled_transition_holds_executions_and_supersede_still_applies() -> None:
    st, effects = advance(state(new("a", 1, index=1), new("b", 2, index=1), disabled=frozenset({"Build"})))
    assert effects == [FinishExecution("a", ExecStatus.SUPERSEDED, "Superseded by pipeline execution b")]
    st, effects = advance(replace(st, disabled=frozenset()))
    assert effects[:1] == [Enter("b", "Build")]


def test_stop_and_wait_lets_running_actions_finish_and_starts_nothing_more() -> None:
    e = in_stage("e", 1, 1, {"unit": P, "lint": S, "package": None}, stop=Stop.WAIT, status=ExecStatus.STOPPING)
    st, effects = advance(state(replace(e, stage_status=StageStatus.STOPPING)))
    assert effects == []
    st, effects = settle(st, [("e", "unit", S)])
    assert effects == [FinishStage("e", "Build", StageStatus.STOPPED), FinishExecution("e", ExecStatus.STOPPED, "Stopped in stage Build")]


def test_stop_and_abandon_abandons_running_actions_at_once() -> None:
    e = in_stage("e", 1, 1, {"unit": P, "lint": P, "package": None}, stop=Stop.ABANDON, status=ExecStatus.STOPPING)
    st, effects = advance(state(e))
    assert effects[:2] == [AbandonAction("e", "Build", "unit"), AbandonAction("e", "Build", "lint")]
    assert effects[2:] == [FinishStage("e", "Build", StageStatus.STOPPED),
                           FinishExecution("e", ExecStatus.STOPPED, "Stopped in stage Build; in-progress actions were abandoned")]  # fmt: skip
    assert by_id(st, "e").status_of("unit") == A


def test_a_waiting_execution_stops_or_is_cancelled_at_once() -> None:
    _, effects = advance(state(new("s", 1, index=1, stop=Stop.WAIT), new("c", 2, index=2, outdated=True), disabled=frozenset({"Build", "Deploy"})))
    assert [type(e) for e in effects] == [FinishExecution, FinishExecution]
    assert {e.execution: e.status for e in effects if isinstance(e, FinishExecution)} == {"s": ExecStatus.STOPPED, "c": ExecStatus.CANCELLED}


def test_an_outdated_execution_finishes_running_actions_then_is_cancelled() -> None:
    e = in_stage("e", 1, 1, {"unit": P, "lint": S, "package": None}, outdated=True)
    st, effects = settle(state(e), [("e", "unit", S)])
    assert effects == [FinishStage("e", "Build", StageStatus.CANCELLED),
                       FinishExecution("e", ExecStatus.CANCELLED, "The pipeline was updated before this execution could complete")]  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "before", "after"),
    [
        (RetryMode.FAILED_ACTIONS, {"unit": F, "lint": S, "package": None}, {"unit": None, "lint": S, "package": None}),
        (RetryMode.FAILED_ACTIONS, {"unit": A, "lint": S, "package": None}, {"unit": None, "lint": S, "package": None}),
        (RetryMode.ALL_ACTIONS, {"unit": F, "lint": S, "package": None}, {"unit": None, "lint": None, "package": None}),
    ],
)
def test_retry_resets_the_actions_to_run_again(mode: RetryMode, before: dict[str, ActionStatus | None], after: dict[str, ActionStatus | None]) -> None:
    e = new("e", 1, index=1, entered=True, stage_status=StageStatus.FAILED, status=ExecStatus.FAILED, actions=tuple(before.items()))
    again = retry(e, mode)
    assert dict(again.actions) == after and again.status == ExecStatus.IN_PROGRESS and again.stage_status == StageStatus.IN_PROGRESS
    st, effects = advance(state(again))
    started = [x.action for x in effects if isinstance(x, StartAction)]
    assert started == ["unit"] if mode == RetryMode.FAILED_ACTIONS else ["unit", "lint"]


def test_a_retried_stage_that_succeeds_carries_the_execution_on() -> None:
    e = retry(new("e", 1, index=1, entered=True, stage_status=StageStatus.FAILED, status=ExecStatus.FAILED,
                  actions=(("unit", F), ("lint", S), ("package", None))), RetryMode.FAILED_ACTIONS)  # fmt: skip
    st, _ = advance(state(e))
    st, _ = settle(st, [("e", "unit", S)])
    st, effects = settle(st, [("e", "package", S)])
    assert Enter("e", "Deploy") in effects


def test_terminal_executions_are_left_alone() -> None:
    done = new("d", 1, status=ExecStatus.SUCCEEDED, index=2, entered=True, stage_status=StageStatus.SUCCEEDED, actions=(("deploy", S),))
    assert advance(state(done))[1] == []
