"""The task lifecycle step function, as tables of (state, observed) → actions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.ecs.task_lifecycle import (
    BlockContainer,
    Condition,
    ContainerObserved,
    ContainerSpec,
    ContainerState,
    KillContainer,
    ProvisionNetwork,
    ReleaseNetwork,
    RemoveContainers,
    RequestStop,
    SetStatus,
    StartContainer,
    StopCode,
    StopContainer,
    TaskState,
    TaskStatus,
    condition_verdict,
    decide_task_step,
    status_rank,
    task_health,
)

S = TaskStatus
C = ContainerState
NOW = 1000.0


def task(status: S, *specs: ContainerSpec, desired: str = "RUNNING", network: bool = False, ready: bool = False) -> TaskState:
    return TaskState(status, desired, specs or (ContainerSpec("app"),), pending_since=NOW - 10, needs_network=network, network_ready=ready)


def obs(*items: ContainerObserved) -> dict[str, ContainerObserved]:
    return {o.name: o for o in items}


def kinds(plan) -> list[tuple]:
    out = []
    for a in plan.actions:
        if isinstance(a, SetStatus):
            out.append(("status", a.status.value))
        elif isinstance(a, StartContainer):
            out.append(("start", a.name))
        elif isinstance(a, StopContainer):
            out.append(("stop", a.name, a.timeout))
        elif isinstance(a, KillContainer):
            out.append(("kill", a.name))
        elif isinstance(a, RequestStop):
            out.append(("request-stop", a.stop_code.value, a.reason))
        elif isinstance(a, BlockContainer):
            out.append(("block", a.name))
        elif isinstance(a, ProvisionNetwork):
            out.append(("provision",))
        elif isinstance(a, ReleaseNetwork):
            out.append(("release",))
        elif isinstance(a, RemoveContainers):
            out.append(("remove",))
    return out


WEB_DB = (
    ContainerSpec("db"),
    ContainerSpec("web", depends_on=(("db", Condition.HEALTHY),)),
)
INIT = (
    ContainerSpec("init", essential=False),
    ContainerSpec("app", depends_on=(("init", Condition.SUCCESS),)),
)

CASES = [
    ("provision awsvpc", task(S.PROVISIONING, network=True), obs(), [("provision",), ("status", "PENDING")]),
    ("provision bridge", task(S.PROVISIONING), obs(), [("status", "PENDING")]),
    ("start single", task(S.PENDING), obs(), [("start", "app")]),
    ("all running → activating", task(S.PENDING), obs(ContainerObserved("app", C.RUNNING, started_at=NOW)), [("status", "ACTIVATING")]),
    ("activating → running", task(S.ACTIVATING), obs(ContainerObserved("app", C.RUNNING)), [("status", "RUNNING")]),
    ("running stays", task(S.RUNNING), obs(ContainerObserved("app", C.RUNNING)), []),
    (
        "pull failure",
        task(S.PENDING),
        obs(ContainerObserved("app", C.FAILED, error="CannotPullContainerError: no such image")),
        [("request-stop", "TaskFailedToStart", "CannotPullContainerError: no such image")],
    ),
    (
        "essential exit",
        task(S.RUNNING),
        obs(ContainerObserved("app", C.EXITED, exit_code=1, started_at=NOW - 5)),
        [("request-stop", "EssentialContainerExited", "Essential container in task exited")],
    ),
    (
        "essential container removed behind our back",
        task(S.RUNNING),
        obs(ContainerObserved("app", C.ABSENT, started_at=NOW - 5)),
        [("request-stop", "EssentialContainerExited", "Essential container in task exited")],
    ),
    (
        "non-essential exit is fine",
        task(S.RUNNING, ContainerSpec("app"), ContainerSpec("side", essential=False)),
        obs(ContainerObserved("app", C.RUNNING), ContainerObserved("side", C.EXITED, exit_code=3)),
        [],
    ),
    ("HEALTHY dep: start db first", task(S.PENDING, *WEB_DB), obs(), [("start", "db")]),
    (
        "HEALTHY dep: wait while starting",
        task(S.PENDING, *WEB_DB),
        obs(ContainerObserved("db", C.RUNNING, health="UNKNOWN", started_at=NOW)),
        [],
    ),
    (
        "HEALTHY dep met",
        task(S.PENDING, *WEB_DB),
        obs(ContainerObserved("db", C.RUNNING, health="HEALTHY", started_at=NOW)),
        [("start", "web")],
    ),
    (
        "HEALTHY dep went unhealthy",
        task(S.PENDING, *WEB_DB),
        obs(ContainerObserved("db", C.RUNNING, health="UNHEALTHY", started_at=NOW)),
        [("block", "web"), ("request-stop", "TaskFailedToStart", None)],
    ),
    ("SUCCESS dep: run init", task(S.PENDING, *INIT), obs(), [("start", "init")]),
    (
        "SUCCESS dep met",
        task(S.PENDING, *INIT),
        obs(ContainerObserved("init", C.EXITED, exit_code=0, started_at=NOW - 1)),
        [("start", "app")],
    ),
    (
        "SUCCESS dep failed",
        task(S.PENDING, *INIT),
        obs(ContainerObserved("init", C.EXITED, exit_code=2, started_at=NOW - 1)),
        [("block", "app"), ("request-stop", "TaskFailedToStart", None)],
    ),
    (
        "init done, app running → activating",
        task(S.PENDING, *INIT),
        obs(ContainerObserved("init", C.EXITED, exit_code=0, started_at=NOW - 2), ContainerObserved("app", C.RUNNING, started_at=NOW)),
        [("status", "ACTIVATING")],
    ),
    ("stop request while pending", task(S.PENDING, desired="STOPPED"), obs(), [("status", "STOPPING")]),
    ("stop request while running", task(S.RUNNING, desired="STOPPED"), obs(ContainerObserved("app", C.RUNNING)), [("status", "DEACTIVATING")]),
    ("deactivating → stopping", task(S.DEACTIVATING, desired="STOPPED"), obs(ContainerObserved("app", C.RUNNING)), [("status", "STOPPING")]),
    (
        "stopping: SIGTERM with stopTimeout",
        task(S.STOPPING, ContainerSpec("app", stop_timeout=7), desired="STOPPED"),
        obs(ContainerObserved("app", C.RUNNING)),
        [("stop", "app", 7)],
    ),
    (
        "stopping: waits for the timeout",
        task(S.STOPPING, ContainerSpec("app", stop_timeout=7), desired="STOPPED"),
        obs(ContainerObserved("app", C.RUNNING, stop_signalled_at=NOW - 3)),
        [],
    ),
    (
        "stopping: SIGKILL after stopTimeout",
        task(S.STOPPING, ContainerSpec("app", stop_timeout=7), desired="STOPPED"),
        obs(ContainerObserved("app", C.RUNNING, stop_signalled_at=NOW - 7)),
        [("kill", "app")],
    ),
    (
        "stopping: dependents first",
        task(S.STOPPING, *WEB_DB, desired="STOPPED"),
        obs(ContainerObserved("db", C.RUNNING), ContainerObserved("web", C.RUNNING)),
        [("stop", "web", 30.0)],
    ),
    (
        "stopping: then the dependency",
        task(S.STOPPING, *WEB_DB, desired="STOPPED"),
        obs(ContainerObserved("db", C.RUNNING), ContainerObserved("web", C.EXITED, exit_code=0)),
        [("stop", "db", 30.0)],
    ),
    (
        "stopping: all down",
        task(S.STOPPING, desired="STOPPED"),
        obs(ContainerObserved("app", C.EXITED, exit_code=143)),
        [("status", "DEPROVISIONING")],
    ),
    (
        "deprovision releases the address",
        task(S.DEPROVISIONING, desired="STOPPED", network=True, ready=True),
        obs(),
        [("remove",), ("release",), ("status", "STOPPED")],
    ),
    ("stopped is final", task(S.STOPPED, desired="STOPPED"), obs(), []),
]


@pytest.mark.parametrize("name,state,observed,expected", CASES, ids=[c[0] for c in CASES])
def test_step(name: str, state: TaskState, observed: dict, expected: list) -> None:
    got = kinds(decide_task_step(state, observed, NOW))
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g[: len(e)] == tuple(x for x in e) or (e[-1] is None and g[:-1] == e[:-1])


def test_start_timeout_of_dependency() -> None:
    specs = (ContainerSpec("db", start_timeout=5), ContainerSpec("web", depends_on=(("db", Condition.HEALTHY),)))
    running = obs(ContainerObserved("db", C.RUNNING, started_at=NOW - 3))
    plan = decide_task_step(task(S.PENDING, *specs), running, NOW)
    assert plan.actions == () and plan.requeue_after == pytest.approx(1.0)
    late = obs(ContainerObserved("db", C.RUNNING, started_at=NOW - 6))
    plan = decide_task_step(task(S.PENDING, *specs), late, NOW)
    stop = plan.actions[-1]
    assert isinstance(stop, RequestStop) and stop.stop_code is StopCode.TASK_FAILED_TO_START
    assert "startTimeout of 5 seconds" in stop.reason


def test_kill_requeue_and_wait_requeue() -> None:
    t = task(S.STOPPING, ContainerSpec("app", stop_timeout=10), desired="STOPPED")
    plan = decide_task_step(t, obs(ContainerObserved("app", C.RUNNING, stop_signalled_at=NOW - 4)), NOW)
    assert plan.requeue_after == pytest.approx(6.0)


@pytest.mark.parametrize(
    "cond,dep,verdict",
    [
        (Condition.START, ContainerObserved("d", C.ABSENT), "wait"),
        (Condition.START, ContainerObserved("d", C.RUNNING), "met"),
        (Condition.START, ContainerObserved("d", C.EXITED, exit_code=1), "met"),
        (Condition.COMPLETE, ContainerObserved("d", C.RUNNING), "wait"),
        (Condition.COMPLETE, ContainerObserved("d", C.EXITED, exit_code=1), "met"),
        (Condition.SUCCESS, ContainerObserved("d", C.EXITED, exit_code=0), "met"),
        (Condition.SUCCESS, ContainerObserved("d", C.EXITED, exit_code=1), "never"),
        (Condition.HEALTHY, ContainerObserved("d", C.RUNNING, health="HEALTHY"), "met"),
        (Condition.HEALTHY, ContainerObserved("d", C.EXITED, exit_code=0), "never"),
        (Condition.HEALTHY, ContainerObserved("d", C.FAILED), "never"),
    ],
)
def test_conditions(cond: Condition, dep: ContainerObserved, verdict: str) -> None:
    assert condition_verdict(cond, dep) == verdict


def test_task_health() -> None:
    specs = (ContainerSpec("a"), ContainerSpec("b"), ContainerSpec("side", essential=False))
    o = obs(ContainerObserved("a", C.RUNNING, health="HEALTHY"), ContainerObserved("b", C.RUNNING, health="UNKNOWN"),
            ContainerObserved("side", C.RUNNING, health="UNHEALTHY"))
    assert task_health(specs, o, {"a", "b", "side"}) == "UNKNOWN"
    assert task_health(specs, o, {"a", "side"}) == "HEALTHY"
    assert task_health(specs, o, set()) == "UNKNOWN"
    o2 = {**o, "b": ContainerObserved("b", C.RUNNING, health="UNHEALTHY")}
    assert task_health(specs, o2, {"a", "b"}) == "UNHEALTHY"


_states = st.sampled_from(list(ContainerState))
_obs = st.builds(
    ContainerObserved,
    name=st.just("app"),
    state=_states,
    exit_code=st.one_of(st.none(), st.integers(0, 255)),
    health=st.sampled_from(["HEALTHY", "UNHEALTHY", "UNKNOWN"]),
    started_at=st.one_of(st.none(), st.floats(NOW - 100, NOW)),
    stop_signalled_at=st.one_of(st.none(), st.floats(NOW - 100, NOW)),
)


@given(status=st.sampled_from(list(TaskStatus)), desired=st.sampled_from(["RUNNING", "STOPPED"]), o=_obs)
def test_status_never_moves_backwards(status: TaskStatus, desired: str, o: ContainerObserved) -> None:
    plan = decide_task_step(task(status, desired=desired), {"app": o}, NOW)
    for a in plan.actions:
        if isinstance(a, SetStatus):
            assert status_rank(a.status) > status_rank(status)
        if isinstance(a, StartContainer):
            assert desired == "RUNNING"
