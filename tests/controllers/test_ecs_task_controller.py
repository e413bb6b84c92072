"""One reconcile of the ECS task controller against a fake runtime driver:
the ordered driver calls and the task document it leaves behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope
from gureum.runtime.base import (
    ContainerSpec,
    ContainerState,
    Event,
    Health,
    ImageNotFound,
    NotFound,
    Status,
    gureum_labels,
)
from gureum.services.api import RequestContext
from gureum.services.ecs import names
from gureum.services.ecs.records import scoped_key, task_key
from gureum.services.ecs.task_controller import TaskController
from gureum.settings import Settings

NOW = 1_700_000_000.0
ACCOUNT = "123456789012"
SCOPE = Scope(ACCOUNT, "us-east-1")


class FakeDriver:
    """Containers as dicts; every call is recorded in order."""

    name = "fake"
    data_dir_id = "test"

    def __init__(self, images: set[str] | None = None) -> None:
        self.images = images if images is not None else {"gureum/busybox:latest"}
        self.calls: list[tuple[str, ...]] = []
        self.states: dict[str, ContainerState] = {}
        self.n = 0

    def _set(self, cid: str, **kw: Any) -> None:
        st = self.states[cid]
        self.states[cid] = ContainerState(**{**{f: getattr(st, f) for f in st.__dataclass_fields__}, **kw})

    async def image_exists(self, image: str) -> bool:
        self.calls.append(("image_exists", image))
        return image in self.images

    async def pull(self, image: str, auth: Mapping[str, str] | None = None) -> None:
        self.calls.append(("pull", image))
        raise ImageNotFound(f"pull of {image} failed: not found")

    async def create(self, spec: ContainerSpec) -> str:
        self.n += 1
        cid = f"c{self.n}"
        self.calls.append(("create", spec.name))
        self.states[cid] = ContainerState(cid, spec.name, spec.image, Status.CREATED, gureum_labels(spec, "test"),
                                          health=Health.STARTING if spec.healthcheck else None, ip=spec.ip)
        return cid

    async def start(self, cid: str) -> None:
        self.calls.append(("start", self.states[cid].name))
        self._set(cid, status=Status.RUNNING, started_at=NOW)

    async def stop(self, cid: str, timeout: float = 10.0) -> None:
        self.calls.append(("stop", self.states[cid].name, str(timeout)))
        self._set(cid, status=Status.EXITED, exit_code=143)

    async def kill(self, cid: str, signal: str = "SIGKILL") -> None:
        self.calls.append(("kill", self.states[cid].name))
        self._set(cid, status=Status.EXITED, exit_code=137)

    async def remove(self, cid: str, force: bool = True) -> None:
        self.calls.append(("remove", self.states[cid].name))
        del self.states[cid]

    async def inspect(self, cid: str) -> ContainerState:
        if cid not in self.states:
            raise NotFound(cid)
        return self.states[cid]

    async def list(self, labels: Mapping[str, str] | None = None) -> list[ContainerState]:
        return [s for s in self.states.values() if all(s.labels.get(k) == v for k, v in (labels or {}).items())]

    def events(self) -> AsyncIterator[Event]:
        return self._never()

    async def _never(self) -> AsyncIterator[Event]:
        await asyncio.Event().wait()
        yield  # type: ignore[misc]

    def logs(self, cid: str, *, follow: bool = False, since: float | None = None) -> AsyncIterator[Any]:
        return self._no_logs()

    async def _no_logs(self) -> AsyncIterator[Any]:
        return
        yield

    async def close(self) -> None:
        pass


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    a.service_api("ecs")
    yield a
    a.store.close()


def call(app: App, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api("ecs")
    assert api is not None
    ctx = RequestContext("ecs", op, ACCOUNT, "us-east-1", "rid", app)
    return api.handlers[op](ctx, req)  # type: ignore[return-value]


def run_task(app: App, containers: list[dict[str, Any]], **extra: Any) -> tuple[str, str]:
    call(app, "CreateCluster")
    call(app, "RegisterTaskDefinition", family="f", containerDefinitions=containers, **{k: v for k, v in extra.items() if k != "run"})
    t = call(app, "RunTask", taskDefinition="f", **extra.get("run", {}))["tasks"][0]
    tid = t["taskArn"].rsplit("/", 1)[1]
    return scoped_key(Scope(ACCOUNT, "us-east-1"), task_key("default", tid)), tid


def doc(app: App, tid: str) -> dict[str, Any]:
    d = app.store.get(names.TASK, Scope(ACCOUNT, "us-east-1"), task_key("default", tid))
    assert d is not None
    return d


def controller(app: App, driver: FakeDriver) -> TaskController:
    async def get_runtime() -> FakeDriver:
        return driver

    app.get_runtime = get_runtime  # type: ignore[method-assign]
    return TaskController(app)


def reconcile(ctl: TaskController, key: str) -> Any:
    async def go() -> Any:
        out = await ctl.reconcile(key)
        for _ in range(5):
            await asyncio.sleep(0)  # let background stops finish
        return out

    return asyncio.run(go())


APP = {"name": "app", "image": "gureum/busybox:latest", "memory": 32}


def test_fresh_task_starts_in_one_pass_and_second_pass_adopts(app: App) -> None:
    drv = FakeDriver()
    key, tid = run_task(app, [APP])
    ctl = controller(app, drv)
    reconcile(ctl, key)
    name = f"gureum-ecs-{tid}-app"
    assert drv.calls == [("image_exists", "gureum/busybox:latest"), ("create", name), ("start", name)]
    d = doc(app, tid)
    assert d["lastStatus"] == "RUNNING" and d["startedAt"] == NOW and d["pullStartedAt"] == NOW
    assert d["containers"][0]["lastStatus"] == "RUNNING" and d["containers"][0]["runtimeId"] == "c1"
    reconcile(ctl, key)
    assert [c[0] for c in drv.calls].count("create") == 1


def test_restart_adopts_a_container_whose_id_was_not_recorded(app: App) -> None:
    drv = FakeDriver()
    key, tid = run_task(app, [APP])
    reconcile(controller(app, drv), key)
    d = doc(app, tid)
    d["_c"]["app"].pop("id")  # as if the server died between create and the write
    app.store.put(names.TASK, Scope(ACCOUNT, "us-east-1"), task_key("default", tid), d)
    drv.calls.clear()
    reconcile(controller(app, drv), key)  # a new controller: a restarted server
    assert drv.calls == []
    assert doc(app, tid)["_c"]["app"]["id"] == "c1"


def test_unknown_image_fails_the_task_without_creating(app: App) -> None:
    drv = FakeDriver()
    key, tid = run_task(app, [{**APP, "image": "nosuch:1"}])
    reconcile(controller(app, drv), key)
    assert drv.calls == [("image_exists", "nosuch:1"), ("pull", "nosuch:1")]
    d = doc(app, tid)
    assert d["lastStatus"] == "STOPPED" and d["stopCode"] == "TaskFailedToStart"
    assert d["stoppedReason"] == "CannotPullContainerError: pull of nosuch:1 failed: not found"
    assert d["containers"][0]["reason"].startswith("CannotPullContainerError")


def test_healthy_dependency_orders_starts(app: App) -> None:
    drv = FakeDriver()
    db = {"name": "db", "image": "gureum/busybox:latest", "memory": 32,
          "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}
    web = {**APP, "name": "web", "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}
    key, tid = run_task(app, [db, web])
    ctl = controller(app, drv)
    reconcile(ctl, key)
    assert [c for c in drv.calls if c[0] in ("create", "start")] == [("create", f"gureum-ecs-{tid}-db"), ("start", f"gureum-ecs-{tid}-db")]
    assert doc(app, tid)["lastStatus"] == "PENDING"
    drv._set("c1", health=Health.HEALTHY)
    reconcile(ctl, key)
    assert drv.calls[-2:] == [("create", f"gureum-ecs-{tid}-web"), ("start", f"gureum-ecs-{tid}-web")]
    d = doc(app, tid)
    assert d["lastStatus"] == "RUNNING" and d["healthStatus"] == "HEALTHY"
    assert {c["name"]: c.get("healthStatus") for c in d["containers"]} == {"db": "HEALTHY", "web": None}


def test_stop_signals_then_removes_and_releases_the_address(app: App) -> None:
    drv = FakeDriver()
    fargate = {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
               "run": {"launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}}}}
    key, tid = run_task(app, [{**APP, "stopTimeout": 4}], **fargate)
    ctl = controller(app, drv)
    reconcile(ctl, key)
    d = doc(app, tid)
    ip = d["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    assert drv.states["c1"].ip == ip and ctl.addresses.lookup(d["taskArn"]) == ip
    call(app, "StopTask", task=d["taskArn"], reason="done")
    drv.calls.clear()
    reconcile(ctl, key)  # SIGTERM with the stopTimeout, in the background
    reconcile(ctl, key)  # the container has exited: clean up
    name = f"gureum-ecs-{tid}-app"
    assert drv.calls == [("stop", name, "4.0"), ("remove", name)]
    d = doc(app, tid)
    assert d["lastStatus"] == "STOPPED" and d["stoppedReason"] == "done" and d["containers"][0]["exitCode"] == 143
    assert d["attachments"][0]["status"] == "DELETED"
    assert ctl.addresses.lookup(d["taskArn"]) is None


def test_essential_exit_stops_the_task(app: App) -> None:
    drv = FakeDriver()
    key, tid = run_task(app, [APP, {**APP, "name": "side", "essential": False}])
    ctl = controller(app, drv)
    reconcile(ctl, key)
    drv._set("c2", status=Status.EXITED, exit_code=0)  # the non-essential one: nothing happens
    reconcile(ctl, key)
    assert doc(app, tid)["lastStatus"] == "RUNNING"
    drv._set("c1", status=Status.EXITED, exit_code=1)
    reconcile(ctl, key)
    d = doc(app, tid)
    assert (d["stopCode"], d["stoppedReason"], d["lastStatus"]) == ("EssentialContainerExited", "Essential container in task exited", "STOPPED")
    assert [c["exitCode"] for c in d["containers"]] == [1, 0]
