"""Load-balanced ECS services: the pure decisions (task lifecycle ACTIVATING /
DEACTIVATING with targets, the scheduler's ELB health) and target shapes."""

from __future__ import annotations

import pytest

from gureum.services.ecs.service_reconcile import (
    ELB_STOP_PREFIX,
    LB_POLL,
    DeploymentState,
    ServiceState,
    TaskView,
    decide_service_actions,
    deployment_failures,
    is_healthy,
)
from gureum.services.ecs.task_lifecycle import (
    DRAIN_POLL,
    ContainerSpec,
    DeregisterTargets,
    RegisterTargets,
    SetStatus,
    TaskState,
    TaskStatus,
    decide_task_step,
)
from gureum.services.ecs.task_targets import target_for

NOW = 10_000.0
TG = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/abc"
OLD = DeploymentState("ecs-svc/1", "ACTIVE", "td:1", "COMPLETED", created_at=1.0)
NEW = DeploymentState("ecs-svc/2", "PRIMARY", "td:2", "IN_PROGRESS", created_at=2.0)


def step(status: TaskStatus, lb: str, desired: str = "RUNNING") -> list[tuple[str, str]]:
    state = TaskState(status, desired, (ContainerSpec("app"),), pending_since=NOW, lb=lb)
    plan = decide_task_step(state, {}, NOW)
    out = []
    for a in plan.actions:
        out.append((type(a).__name__, a.status.value if isinstance(a, SetStatus) else ""))
    return out


@pytest.mark.parametrize(
    "status,lb,desired,expected",
    [
        (TaskStatus.ACTIVATING, "wanted", "RUNNING", [("RegisterTargets", ""), ("SetStatus", "RUNNING")]),
        (TaskStatus.ACTIVATING, "none", "RUNNING", [("SetStatus", "RUNNING")]),
        (TaskStatus.RUNNING, "registered", "RUNNING", []),
        (TaskStatus.RUNNING, "registered", "STOPPED", [("SetStatus", "DEACTIVATING")]),
        (TaskStatus.DEACTIVATING, "registered", "STOPPED", [("DeregisterTargets", "")]),
        (TaskStatus.DEACTIVATING, "draining", "STOPPED", []),
        (TaskStatus.DEACTIVATING, "drained", "STOPPED", [("SetStatus", "STOPPING")]),
        (TaskStatus.DEACTIVATING, "none", "STOPPED", [("SetStatus", "STOPPING")]),
    ],
)
def test_lifecycle_with_targets(status: TaskStatus, lb: str, desired: str, expected: list[tuple[str, str]]) -> None:
    assert step(status, lb, desired) == expected


def test_draining_task_waits_and_looks_again() -> None:
    plan = decide_task_step(TaskState(TaskStatus.DEACTIVATING, "STOPPED", (ContainerSpec("app"),), NOW, lb="draining"), {}, NOW)
    assert plan.actions == () and plan.requeue_after == DRAIN_POLL
    plan = decide_task_step(TaskState(TaskStatus.DEACTIVATING, "STOPPED", (ContainerSpec("app"),), NOW, lb="registered"), {}, NOW)
    assert isinstance(plan.actions[0], DeregisterTargets) and plan.requeue_after == DRAIN_POLL
    assert not any(isinstance(a, RegisterTargets) for a in plan.actions)


def lbtask(tid: str, dep: str, state: str, started: float = NOW - 100, **kw) -> TaskView:
    return TaskView(tid, dep, "RUNNING", started_at=started, created_at=started, load_balanced=True,
                    lb_health=state, lb_target_group=TG, lb_port=80, **kw)  # fmt: skip


def svc(desired: int, *deps: DeploymentState, grace: float = 0.0) -> ServiceState:
    return ServiceState("web", desired, deps or (NEW,), grace_period=grace)


def test_target_health_decides_healthy_not_forty_seconds() -> None:
    assert not is_healthy(lbtask("a", "d", "initial", started=NOW - 1000), 40.0, NOW)
    assert is_healthy(lbtask("a", "d", "healthy", started=NOW - 1), 40.0, NOW)
    both = lbtask("a", "d", "healthy", has_health_check=True, health="UNKNOWN")
    assert not is_healthy(both, 40.0, NOW)


def test_rolling_waits_for_target_health_before_retiring_old() -> None:
    old = [lbtask("o1", OLD.id, "healthy"), lbtask("o2", OLD.id, "healthy")]
    new = [lbtask("n1", NEW.id, "initial", started=NOW - 300), lbtask("n2", NEW.id, "initial", started=NOW - 300)]
    plan = decide_service_actions(svc(2, OLD, NEW), old + new, NOW)
    assert not plan.stop and not plan.start and plan.requeue_after == LB_POLL
    new = [lbtask("n1", NEW.id, "healthy"), lbtask("n2", NEW.id, "initial")]
    plan = decide_service_actions(svc(2, OLD, NEW), old + new, NOW)
    assert [s.task_id for s in plan.stop] == ["o1"]
    new = [lbtask("n1", NEW.id, "healthy"), lbtask("n2", NEW.id, "healthy")]
    plan = decide_service_actions(svc(2, OLD, NEW), [*new], NOW)
    assert any(d.rollout_state == "COMPLETED" for d in plan.deployments)


def test_elb_unhealthy_task_is_replaced_with_the_event() -> None:
    tasks = [lbtask("a", NEW.id, "healthy"), lbtask("b", NEW.id, "unhealthy", lb_reason="Health checks failed with these codes: [404]")]
    plan = decide_service_actions(svc(2), tasks, NOW)
    assert [s.count for s in plan.start] == [1]
    assert plan.stop == ()  # replaced first (maximumPercent leaves room), stopped once the replacement runs
    plan = decide_service_actions(svc(2), [*tasks, lbtask("c", NEW.id, "healthy")], NOW)
    (stop,) = plan.stop
    assert stop.task_id == "b"
    assert stop.reason == f"Task failed ELB health checks in (target-group {TG})"
    assert stop.event == (f"(service web) (task b) (port 80) is unhealthy in (target-group {TG}) "
                          "due to (reason Health checks failed with these codes: [404]).")  # fmt: skip


def test_grace_period_ignores_elb_unhealthy() -> None:
    tasks = [lbtask("a", NEW.id, "healthy"), lbtask("b", NEW.id, "unhealthy", started=NOW - 5),
             lbtask("c", NEW.id, "healthy")]  # fmt: skip
    within = decide_service_actions(svc(3, grace=30), tasks, NOW)
    assert not within.stop and not within.start
    after = decide_service_actions(svc(3, grace=3), tasks, NOW)
    assert [s.count for s in after.start] == [1]  # its replacement, then it is stopped


def test_elb_health_stops_count_for_the_circuit_breaker() -> None:
    stopped = TaskView("x", NEW.id, "STOPPED", "STOPPED", stopped_reason=f"{ELB_STOP_PREFIX}(target-group {TG})", stopped_at=NOW)
    assert deployment_failures([stopped]) == 1


@pytest.mark.parametrize(
    "task,target_type,instance,expected",
    [
        ({"_networkMode": "awsvpc", "_ip": "127.0.1.9"}, "ip", None, {"Id": "127.0.1.9", "Port": 80}),
        ({"_networkMode": "awsvpc", "_ip": "127.0.1.9"}, "instance", "i-1", None),
        ({"_networkMode": "bridge", "containers": [{"name": "web", "networkBindings": [
            {"containerPort": 80, "hostPort": 32768}]}]}, "instance", "i-1", {"Id": "i-1", "Port": 32768}),
        ({"_networkMode": "bridge", "containers": []}, "instance", "i-1", None),
        ({"_networkMode": "host", "containers": [{"name": "web", "networkBindings": [
            {"containerPort": 80, "hostPort": 80}]}]}, "instance", None, None),
    ],
)
def test_target_for(task: dict, target_type: str, instance: str | None, expected: dict | None) -> None:
    assert target_for(task, {"containerName": "web", "containerPort": 80}, target_type, instance) == expected
