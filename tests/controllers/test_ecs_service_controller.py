"""One reconcile of the ECS service controller over a real store: the tasks it
writes and stops, its deployment changes and the events it words as ECS does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.ecs import names
from gureum.services.ecs.records import scoped_key, service_key, service_tasks, task_key
from gureum.services.ecs.service_controller import ServiceController
from gureum.settings import Settings

NOW = 1_700_000_000.0
ACCOUNT = "123456789012"
SCOPE = Scope(ACCOUNT, "us-east-1")
KEY = scoped_key(SCOPE, service_key("default", "web"))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    a.service_api("ecs")
    yield a
    a.store.close()


def call(app: App, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api("ecs")
    assert api is not None
    return api.handlers[op](RequestContext("ecs", op, ACCOUNT, "us-east-1", "rid", app), req)  # type: ignore[return-value]


def tasks(app: App) -> list[dict[str, Any]]:
    return service_tasks(app.store, SCOPE, "default", "web")


def set_task(app: App, t: dict[str, Any], **kw: Any) -> None:
    t.update(kw)
    app.store.put(names.TASK, SCOPE, task_key("default", t["_id"]), t)


def run_all(app: App) -> None:
    """What the task controller would report: every live task RUNNING and HEALTHY."""
    for t in tasks(app):
        if t["desiredStatus"] == "RUNNING":
            set_task(app, t, lastStatus="RUNNING", startedAt=app.clock.now(), healthStatus="HEALTHY")
        else:
            set_task(app, t, lastStatus="STOPPED", stoppedAt=app.clock.now())


def events(app: App) -> list[str]:
    return [e["message"] for e in call(app, "DescribeServices", services=["web"])["services"][0]["events"]]


HC = {"name": "app", "image": "gureum/busybox:latest", "memory": 32, "healthCheck": {"command": ["CMD-SHELL", "true"]}}


def setup(app: App, desired: int, **extra: Any) -> ServiceController:
    call(app, "CreateCluster")
    call(app, "RegisterTaskDefinition", family="f", containerDefinitions=[HC])
    call(app, "CreateService", serviceName="web", taskDefinition="f", desiredCount=desired, **extra)
    return ServiceController(app)


def test_starts_desired_then_reports_steady_state(app: App) -> None:
    ctl = setup(app, 2)
    ctl.reconcile_now(KEY)
    ts = tasks(app)
    assert len(ts) == 2 and all(t["lastStatus"] == "PROVISIONING" for t in ts)
    dep = call(app, "DescribeServices", services=["web"])["services"][0]["deployments"][0]
    assert {t["startedBy"] for t in ts} == {dep["id"]} and {t["group"] for t in ts} == {"service:web"}
    assert app.runner.controllers["ecs.task"].queued == {scoped_key(SCOPE, task_key("default", t["_id"])) for t in ts}
    [msg] = events(app)
    assert msg.startswith("(service web) has started 2 tasks: (task ") and msg.endswith(").")
    assert all(f"(task {t['_id']})" in msg for t in ts)
    ctl.reconcile_now(KEY)
    assert len(tasks(app)) == 2  # idempotent: nothing more started
    run_all(app)
    ctl.reconcile_now(KEY)
    assert events(app)[:2] == ["(service web) has reached a steady state.",
                               f"(service web) (deployment {dep['id']}) deployment completed."]
    s = call(app, "DescribeServices", services=["web"])["services"][0]
    assert s["runningCount"] == 2 and s["deployments"][0]["rolloutState"] == "COMPLETED"
    ctl.reconcile_now(KEY)
    assert events(app).count("(service web) has reached a steady state.") == 1


def test_replaces_a_stopped_task(app: App) -> None:
    ctl = setup(app, 2)
    ctl.reconcile_now(KEY)
    run_all(app)
    ctl.reconcile_now(KEY)
    dead = tasks(app)[0]
    set_task(app, dead, lastStatus="STOPPED", desiredStatus="STOPPED", stopCode="EssentialContainerExited")
    ctl.reconcile_now(KEY)
    live = [t for t in tasks(app) if t["desiredStatus"] == "RUNNING"]
    assert len(live) == 2 and events(app)[0].startswith("(service web) has started 1 tasks: (task ")


def test_rolling_update_order(app: App) -> None:
    ctl = setup(app, 2, deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 100})
    ctl.reconcile_now(KEY)
    run_all(app)
    ctl.reconcile_now(KEY)
    old = {t["_id"] for t in tasks(app)}
    call(app, "RegisterTaskDefinition", family="f", containerDefinitions=[{**HC, "environment": [{"name": "V", "value": "2"}]}])
    call(app, "UpdateService", service="web", taskDefinition="f:2")
    ctl.reconcile_now(KEY)  # max 100 %: stop one old first (min 50 % keeps one)
    stopped = [t for t in tasks(app) if t["desiredStatus"] == "STOPPED"]
    assert len(stopped) == 1 and stopped[0]["_id"] in old
    assert stopped[0]["stopCode"] == "ServiceSchedulerInitiated"
    assert stopped[0]["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
    assert events(app)[0] == f"(service web) has stopped 1 running tasks: (task {stopped[0]['_id']})."
    for _ in range(6):
        run_all(app)
        ctl.reconcile_now(KEY)
    s = call(app, "DescribeServices", services=["web"])["services"][0]
    assert len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED"
    live = [t for t in tasks(app) if t["desiredStatus"] == "RUNNING"]
    assert len(live) == 2 and all(t["taskDefinitionArn"].endswith("f:2") for t in live)


def test_circuit_breaker_rolls_back(app: App) -> None:
    ctl = setup(app, 1, deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    ctl.reconcile_now(KEY)
    run_all(app)
    ctl.reconcile_now(KEY)
    call(app, "RegisterTaskDefinition", family="f", containerDefinitions=[{**HC, "image": "nosuch:1"}])
    call(app, "UpdateService", service="web", taskDefinition="f:2")
    for _ in range(3):
        ctl.reconcile_now(KEY)
        for t in tasks(app):
            if t["taskDefinitionArn"].endswith("f:2") and t["lastStatus"] != "STOPPED":
                set_task(app, t, lastStatus="STOPPED", desiredStatus="STOPPED", stopCode="TaskFailedToStart",
                         stoppedAt=app.clock.now(), stoppedReason="CannotPullContainerError: nope")
    ctl.reconcile_now(KEY)
    s = call(app, "DescribeServices", services=["web"])["services"][0]
    primary, *rest = s["deployments"]
    assert primary["taskDefinition"].endswith("f:1") and primary["status"] == "PRIMARY"
    assert primary["rolloutStateReason"].startswith("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/")
    failed = next(d for d in rest if d["taskDefinition"].endswith("f:2"))
    assert failed["rolloutState"] == "FAILED" and failed["failedTasks"] == 3
    assert any(m.endswith("deployment failed: tasks failed to start.") for m in events(app))
    assert s["taskDefinition"].endswith("f:1")


def test_delete_drains_then_inactive(app: App) -> None:
    ctl = setup(app, 2)
    ctl.reconcile_now(KEY)
    run_all(app)
    call(app, "DeleteService", service="web", force=True)
    ctl.reconcile_now(KEY)
    assert all(t["desiredStatus"] == "STOPPED" for t in tasks(app))
    run_all(app)
    ctl.reconcile_now(KEY)
    assert call(app, "DescribeServices", services=["web"])["services"][0]["status"] == "INACTIVE"
