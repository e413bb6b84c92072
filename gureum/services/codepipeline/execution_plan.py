"""What the executions of one pipeline do next (pure: no store, no clock, no I/O).

State: :class:`PipelineState` — the execution mode, the stages whose inbound
transition is disabled, and every non-terminal execution as an
:class:`Execution` (where it is: waiting at the inbound transition of stage
``index`` or ``entered`` into it, the stage's status, its actions' statuses).
:func:`advance` takes steps until none is possible and returns the new state
and the ordered :data:`Effect`\\ s the adapter records (and starts actions
for).  Action results come from outside (providers); everything else is here.

Rules (AWS's, from "How pipeline executions work" and "Stop a pipeline
execution"):

* Stages run in order; a stage's actions run in ``runOrder`` groups (the same
  number runs in parallel); the next group starts when every action of the
  group before succeeded.  An action that fails lets its running siblings
  finish, starts nothing more, and the stage and the execution fail.
* SUPERSEDED and QUEUED: a stage holds one execution at a time — it is locked
  while an execution's stage status is InProgress or Stopping (a Failed or
  Stopped stage does not lock).  An execution waits at the inbound
  transition of a locked stage.  SUPERSEDED: a waiting execution is
  Superseded as soon as a newer execution waits at the same transition or is
  further along.  QUEUED: waiting executions enter in the order they started.
  PARALLEL: no locks, nothing is superseded.
* A disabled inbound transition holds executions at it (all modes).
* Stop and wait (``stop="wait"``): running actions finish, nothing new
  starts, the execution ends Stopped.  Stop and abandon: running actions are
  Abandoned at once, the stage and the execution end Stopped.  An execution
  waiting at a transition stops at once.
* ``outdated`` (the pipeline was updated while it ran): an execution waiting
  at a transition is Cancelled; one in a stage lets its running actions finish
  and is then Cancelled instead of going on.
* RetryStageExecution (:func:`retry`): FAILED_ACTIONS runs again the actions
  that failed or were abandoned (and those never reached); ALL_ACTIONS runs
  all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum


class ExecStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SUPERSEDED = "Superseded"
    CANCELLED = "Cancelled"


TERMINAL = frozenset({ExecStatus.STOPPED, ExecStatus.SUCCEEDED, ExecStatus.FAILED, ExecStatus.SUPERSEDED, ExecStatus.CANCELLED})


class StageStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


LOCKING = frozenset({StageStatus.IN_PROGRESS, StageStatus.STOPPING})


class ActionStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    ABANDONED = "Abandoned"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class Mode(StrEnum):
    SUPERSEDED = "SUPERSEDED"
    QUEUED = "QUEUED"
    PARALLEL = "PARALLEL"


class Stop(StrEnum):
    WAIT = "wait"
    ABANDON = "abandon"


class RetryMode(StrEnum):
    FAILED_ACTIONS = "FAILED_ACTIONS"
    ALL_ACTIONS = "ALL_ACTIONS"


@dataclass(frozen=True, slots=True)
class StageLayout:
    name: str
    actions: tuple[tuple[str, int], ...]  # (action name, runOrder)


@dataclass(frozen=True, slots=True)
class Execution:
    id: str
    seq: int
    layout: tuple[StageLayout, ...]
    status: ExecStatus = ExecStatus.IN_PROGRESS
    index: int = 0
    entered: bool = False
    stage_status: StageStatus | None = None
    actions: tuple[tuple[str, ActionStatus | None], ...] = ()
    stop: Stop | None = None
    outdated: bool = False

    @property
    def stage(self) -> str:
        return self.layout[self.index].name

    def status_of(self, action: str) -> ActionStatus | None:
        return dict(self.actions).get(action)


@dataclass(frozen=True, slots=True)
class PipelineState:
    mode: Mode
    executions: tuple[Execution, ...]
    disabled: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Enter:
    execution: str
    stage: str


@dataclass(frozen=True, slots=True)
class StartAction:
    execution: str
    stage: str
    action: str


@dataclass(frozen=True, slots=True)
class AbandonAction:
    execution: str
    stage: str
    action: str


@dataclass(frozen=True, slots=True)
class FinishStage:
    execution: str
    stage: str
    status: StageStatus


@dataclass(frozen=True, slots=True)
class Advance:
    execution: str
    stage: str  # the stage it now waits to enter


@dataclass(frozen=True, slots=True)
class FinishExecution:
    execution: str
    status: ExecStatus
    summary: str


Effect = Enter | StartAction | AbandonAction | FinishStage | Advance | FinishExecution


def advance(state: PipelineState, limit: int = 10_000) -> tuple[PipelineState, list[Effect]]:
    """Step every execution, oldest first, until nothing more can happen."""
    execs = {e.id: e for e in state.executions}
    effects: list[Effect] = []
    for _ in range(limit):
        for e in sorted(execs.values(), key=lambda x: x.seq):
            if e.status in TERMINAL:
                continue
            new, effs = _step(e, list(execs.values()), state)
            if effs:
                execs[e.id] = new
                effects.extend(effs)
                break
        else:
            break
    return replace(state, executions=tuple(sorted(execs.values(), key=lambda x: x.seq))), effects


def _step(e: Execution, others: list[Execution], state: PipelineState) -> tuple[Execution, list[Effect]]:
    if e.entered:
        return _in_stage(e)
    return _waiting(e, [o for o in others if o.id != e.id and o.status not in TERMINAL], state)


def _finish(e: Execution, status: ExecStatus, summary: str, effects: list[Effect] | None = None) -> tuple[Execution, list[Effect]]:
    return replace(e, status=status), [*(effects or []), FinishExecution(e.id, status, summary)]


def _waiting(e: Execution, others: list[Execution], state: PipelineState) -> tuple[Execution, list[Effect]]:
    stage = e.stage
    if e.stop is not None:
        return _finish(e, ExecStatus.STOPPED, f"Stopped while waiting to enter stage {stage}")
    if e.outdated:
        return _finish(e, ExecStatus.CANCELLED, "The pipeline was updated before this execution could complete")
    if state.mode == Mode.SUPERSEDED:
        newer = [o for o in others if o.seq > e.seq and o.index >= e.index]
        if newer:
            by = max(newer, key=lambda o: o.seq)
            return _finish(e, ExecStatus.SUPERSEDED, f"Superseded by pipeline execution {by.id}")
    if stage in state.disabled:
        return e, []
    if state.mode != Mode.PARALLEL:
        if any(o.entered and o.stage == stage and o.stage_status in LOCKING for o in others):
            return e, []
        if state.mode == Mode.QUEUED and any(not o.entered and o.stage == stage and o.seq < e.seq for o in others):
            return e, []
    actions = tuple((name, None) for name, _ in e.layout[e.index].actions)
    entered = replace(e, entered=True, stage_status=StageStatus.IN_PROGRESS, actions=actions)
    return entered, [Enter(e.id, stage)]


def _in_stage(e: Execution) -> tuple[Execution, list[Effect]]:
    if e.stage_status not in LOCKING:
        return e, []
    stage = e.stage
    running = [n for n, s in e.actions if s == ActionStatus.IN_PROGRESS]
    if e.stop == Stop.ABANDON:
        effects: list[Effect] = [AbandonAction(e.id, stage, n) for n in running]
        actions = tuple((n, ActionStatus.ABANDONED if s == ActionStatus.IN_PROGRESS else s) for n, s in e.actions)
        effects.append(FinishStage(e.id, stage, StageStatus.STOPPED))
        done = replace(e, actions=actions, stage_status=StageStatus.STOPPED)
        return _finish(done, ExecStatus.STOPPED, f"Stopped in stage {stage}; in-progress actions were abandoned", effects)
    if running:
        return e, []
    failed = [n for n, s in e.actions if s in (ActionStatus.FAILED, ActionStatus.ABANDONED)]
    if failed:
        done = replace(e, stage_status=StageStatus.FAILED)
        status = ExecStatus.STOPPED if e.stop else ExecStatus.FAILED
        names = ", ".join(failed)
        return _finish(done, status, f"Stage {stage} failed: action {names} failed", [FinishStage(e.id, stage, StageStatus.FAILED)])
    orders = dict(e.layout[e.index].actions)
    pending = [(n, orders[n]) for n, s in e.actions if s != ActionStatus.SUCCEEDED]
    if pending and e.stop is None and not e.outdated:
        lowest = min(order for _, order in pending)
        start = [n for n, order in pending if order == lowest]
        started: tuple[tuple[str, ActionStatus | None], ...] = tuple((n, ActionStatus.IN_PROGRESS if n in start else s) for n, s in e.actions)
        return replace(e, actions=started), [StartAction(e.id, stage, n) for n in start]
    if pending:  # stopping or outdated with actions never started
        ended = StageStatus.CANCELLED if e.outdated and e.stop is None else StageStatus.STOPPED
        done = replace(e, stage_status=ended)
        return _finish(done, _ended(e), _ended_summary(e, stage), [FinishStage(e.id, stage, ended)])
    done = replace(e, stage_status=StageStatus.SUCCEEDED)
    effects = [FinishStage(e.id, stage, StageStatus.SUCCEEDED)]
    if e.index + 1 >= len(e.layout):
        return _finish(done, ExecStatus.SUCCEEDED, "", effects)
    if e.stop is not None or e.outdated:
        return _finish(done, _ended(e), _ended_summary(e, stage), effects)
    nxt = replace(done, index=e.index + 1, entered=False, stage_status=None, actions=())
    return nxt, [*effects, Advance(e.id, nxt.stage)]


def _ended(e: Execution) -> ExecStatus:
    return ExecStatus.STOPPED if e.stop is not None else ExecStatus.CANCELLED


def _ended_summary(e: Execution, stage: str) -> str:
    if e.stop is not None:
        return f"Stopped in stage {stage}"
    return "The pipeline was updated before this execution could complete"


def retry(e: Execution, mode: RetryMode) -> Execution:
    """The execution back in its stage, with the actions to run again reset."""
    actions: tuple[tuple[str, ActionStatus | None], ...]
    if mode == RetryMode.ALL_ACTIONS:
        actions = tuple((n, None) for n, _ in e.actions)
    else:
        actions = tuple((n, s if s == ActionStatus.SUCCEEDED else None) for n, s in e.actions)
    return replace(e, status=ExecStatus.IN_PROGRESS, stage_status=StageStatus.IN_PROGRESS, actions=actions, stop=None)


def settle(state: PipelineState, results: Iterable[tuple[str, str, ActionStatus]] = ()) -> tuple[PipelineState, list[Effect]]:
    """Apply action results ``(execution, action, status)``, then :func:`advance` (tests, simulations)."""
    by = {e.id: e for e in state.executions}
    for eid, action, status in results:
        e = by[eid]
        by[eid] = replace(e, actions=tuple((n, status if n == action else s) for n, s in e.actions))
    return advance(replace(state, executions=tuple(by.values())))
