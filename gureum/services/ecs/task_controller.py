"""The task controller: makes each ECS task's containers real and moves the
task along its lifecycle.

One reconcile of a task key: read the task, inspect its containers through
the runtime driver, call :func:`task_lifecycle.decide_task_step`, apply the
plan, write what was observed (container statuses, exit codes, health,
network bindings) and the new ``lastStatus``; repeat while the plan moves the
task on (a fresh task goes PROVISIONING → … → RUNNING in one pass when its
containers start at once).

Idempotent and restart-safe:

* a container's runtime name is derived from the task id and container name
  and its id is recorded right after ``create``, so a second pass (or a
  restarted server) adopts it instead of making another;
* SIGTERM runs in the background (``driver.stop`` waits up to the
  stopTimeout); the time it was sent is recorded, and the core sends SIGKILL
  when the timeout has passed;
* containers ECS made whose task is gone or STOPPED are removed once when the
  controller first runs (orphans of a crash).

Every status change is published on the bus (``ecs.task.changed``) so the
service controller reacts at once; container events from the driver wake the
task (see :mod:`runtime_link`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gureum.core.errors import TemporaryError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.addresses import AddressAllocator, AddressesExhausted
from gureum.runtime.base import (
    Conflict,
    ContainerState,
    DriverError,
    EngineUnavailable,
    ImageNotFound,
    NotFound,
    RuntimeDriver,
    StartFailed,
)
from gureum.services.ecs import names, task_targets
from gureum.services.ecs.records import TASK_CONTROLLER, scoped_key, split_scoped_key
from gureum.services.ecs.runtime_link import EventWatch, driver_of
from gureum.services.ecs.task_lifecycle import (
    DEFAULT_STOP_TIMEOUT,
    Action,
    BlockContainer,
    DeregisterTargets,
    KillContainer,
    ProvisionNetwork,
    RegisterTargets,
    ReleaseNetwork,
    RemoveContainers,
    RequestStop,
    SetStatus,
    StartContainer,
    StopContainer,
    TaskPlan,
    TaskState,
    TaskStatus,
    decide_task_step,
    task_health,
)
from gureum.services.ecs.task_logs import LogShipper, awslogs_target
from gureum.services.ecs.task_runtime import (
    CONTAINER_LABEL,
    KEY_LABEL,
    SERVICE_LABEL,
    TASK_LABEL,
    container_view,
    lifecycle_specs,
    observed,
    runtime_spec,
)

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecs.tasks")

Doc = dict[str, Any]
MAX_STEPS = 10
STOPPED_RETENTION = 3600.0  # ECS shows stopped tasks for at least an hour
TOPIC = "ecs.task.changed"
# Fields others write (StopTask, the service scheduler, TagResource): a save keeps theirs.
_STOP_FIELDS = ("desiredStatus", "stopCode", "stoppedReason", "stoppingAt")
_FOREIGN_FIELDS = ("tags", "_healthyAt")


class TaskController:
    def __init__(self, app: App) -> None:
        self.app = app
        self.logs = LogShipper(app)
        self.watch = EventWatch(app, self._on_event)
        self.addresses = AddressAllocator(app.store)
        self._swept = False

    def start(self) -> None:
        """Nothing to start before the loop runs: the watch opens on first reconcile."""

    # -- keys and events ------------------------------------------------------------

    def keys(self) -> list[str]:
        """Tasks not yet STOPPED; also forgets STOPPED tasks older than the retention."""
        store, now = self.app.store, self.app.clock.now()
        out = []
        for scope in store.list_scopes(names.TASK):
            for key, doc in store.list(names.TASK, scope):
                if doc.get("lastStatus") != "STOPPED":
                    out.append(scoped_key(scope, key))
                elif (doc.get("stoppedAt") or now) < now - STOPPED_RETENTION:
                    store.delete(names.TASK, scope, key)
        return out

    def _on_event(self, event: Any) -> None:
        key = event.labels.get(KEY_LABEL)
        if key:
            self.app.runner.enqueue(TASK_CONTROLLER, key)

    # -- reconcile ----------------------------------------------------------------------

    async def reconcile(self, skey: str) -> Requeue | None:
        scope, key = split_scoped_key(skey)
        doc = self.app.store.get(names.TASK, scope, key)
        if doc is None or doc.get("lastStatus") == "STOPPED":
            return None
        try:
            driver = await driver_of(self.app)
        except EngineUnavailable as exc:
            raise TemporaryError(f"no runtime for ECS tasks: {exc}", delay=5.0) from exc
        self.watch.ensure()
        await self._sweep(driver)
        before = (doc.get("lastStatus"), doc.get("healthStatus"), doc.get("desiredStatus"))
        plan = TaskPlan()
        for _ in range(MAX_STEPS):
            states = await self._inspect(driver, doc)
            obs = self._project(doc, states)
            plan = decide_task_step(self._state(scope, doc), obs, self.app.clock.now())
            if not plan.actions:
                break
            again = await self._apply(driver, scope, skey, doc, plan)
            doc = self._save(scope, key, doc)
            if not again:
                break
        doc = self._save(scope, key, doc)
        self._follow_logs(driver, scope, doc)
        if (doc.get("lastStatus"), doc.get("healthStatus"), doc.get("desiredStatus")) != before:
            self.app.bus.publish(TOPIC, {"scope": scope, "key": key, "service": doc.get("_service"), "cluster": doc["_cluster"]})
        if doc.get("lastStatus") == "STOPPED":
            return None
        return Requeue(plan.requeue_after) if plan.requeue_after is not None else None

    def _follow_logs(self, driver: RuntimeDriver, scope: Scope, doc: Doc) -> None:
        """Ship the output of running awslogs containers (again, after a restart)."""
        for c in doc["_containerDefs"]:
            rec = doc.get("_c", {}).get(c["name"], {})
            wire: Doc = next((w for w in doc["containers"] if w["name"] == c["name"]), {})
            if rec.get("id") and wire.get("lastStatus") == "RUNNING":
                target = awslogs_target(doc, c, scope.region, rec["id"])
                if target is not None:
                    self.logs.follow(driver, rec["id"], scope.account, target)

    def _state(self, scope: Scope, doc: Doc) -> TaskState:
        return TaskState(
            last_status=TaskStatus(doc["lastStatus"]),
            desired_status=doc["desiredStatus"],
            containers=lifecycle_specs(doc, DEFAULT_STOP_TIMEOUT),
            pending_since=float(doc.get("_pendingSince") or doc["createdAt"]),
            needs_network=doc.get("_networkMode") == "awsvpc",
            network_ready=bool(doc.get("_ip")),
            stop_code=doc.get("stopCode"),
            lb=task_targets.lb_phase(self.app, scope, doc),
        )

    async def _inspect(self, driver: RuntimeDriver, doc: Doc) -> dict[str, ContainerState | None]:
        recs = doc.setdefault("_c", {})
        defs = doc["_containerDefs"]
        if any(not recs.get(c["name"], {}).get("id") for c in defs) and doc["lastStatus"] != "PROVISIONING":
            for st in await driver.list({TASK_LABEL: doc["taskArn"]}):
                name = st.labels.get(CONTAINER_LABEL, "")
                if name and not recs.get(name, {}).get("id"):
                    recs.setdefault(name, {})["id"] = st.id  # adopt what a crashed pass created
        out: dict[str, ContainerState | None] = {}
        for c in defs:
            cid = recs.get(c["name"], {}).get("id")
            state = None
            if cid:
                try:
                    state = await driver.inspect(cid)
                except NotFound:
                    state = None
            out[c["name"]] = state
        return out

    def _project(self, doc: Doc, states: dict[str, ContainerState | None]) -> dict[str, Any]:
        recs = doc.setdefault("_c", {})
        obs = {}
        checked = {c["name"] for c in doc["_containerDefs"] if c.get("healthCheck")}
        for wire in doc["containers"]:
            name = wire["name"]
            rec = recs.setdefault(name, {})
            o = observed(name, states.get(name), rec)
            obs[name] = o
            if states.get(name) is not None and o.exit_code is not None:
                rec["exitCode"] = o.exit_code
            container_view(wire, o, states.get(name), rec, name in checked)
        doc["healthStatus"] = task_health(lifecycle_specs(doc, DEFAULT_STOP_TIMEOUT), obs, checked)
        return obs

    def _save(self, scope: Scope, key: str, doc: Doc) -> Doc:
        """Write ``doc``, keeping what others changed while this pass awaited."""
        fresh = self.app.store.get(names.TASK, scope, key)
        if fresh is not None:
            if fresh.get("desiredStatus") == "STOPPED" and doc.get("desiredStatus") != "STOPPED":
                for f in _STOP_FIELDS:
                    if f in fresh:
                        doc[f] = fresh[f]
            for f in _FOREIGN_FIELDS:
                if f in fresh:
                    doc[f] = fresh[f]
        doc["version"] = int(doc.get("version", 1)) + (0 if fresh == doc else 1)
        self.app.store.put(names.TASK, scope, key, doc)
        return doc

    # -- applying a plan ----------------------------------------------------------------

    async def _apply(self, driver: RuntimeDriver, scope: Scope, skey: str, doc: Doc, plan: TaskPlan) -> bool:
        """Apply the actions in order; whether another step right away is worthwhile."""
        again = False
        for action in plan.actions:
            log.debug("task %s: %s", doc["_id"], action)
            again = await self._one(driver, scope, skey, doc, action) or again
        return again

    async def _one(self, driver: RuntimeDriver, scope: Scope, skey: str, doc: Doc, a: Action) -> bool:
        now = self.app.clock.now()
        recs = doc.setdefault("_c", {})
        if isinstance(a, ProvisionNetwork):
            return self._provision(doc, now)
        if isinstance(a, StartContainer):
            await self._start(driver, scope, skey, doc, a.name, now)
            return True
        if isinstance(a, StopContainer):
            recs.setdefault(a.name, {})["signalledAt"] = now
            cid = recs[a.name].get("id")
            if cid:
                self.app.spawn(self._stop_in_background(driver, cid, a.timeout, skey))
            return False
        if isinstance(a, KillContainer):
            cid = recs.get(a.name, {}).get("id")
            if cid:
                try:
                    await driver.kill(cid)
                except (NotFound, Conflict):
                    pass
            return False
        if isinstance(a, BlockContainer):
            recs.setdefault(a.name, {})["blocked"] = a.reason
            return True
        if isinstance(a, RequestStop):
            if doc["desiredStatus"] != "STOPPED":
                doc.update(desiredStatus="STOPPED", stopCode=a.stop_code.value, stoppedReason=a.reason, stoppingAt=now)
            return True
        if isinstance(a, SetStatus):
            self._set_status(doc, a.status, now)
            return True
        if isinstance(a, ReleaseNetwork):
            self.addresses.release_owner(doc["taskArn"])
            return True
        if isinstance(a, RemoveContainers):
            await self._remove_all(driver, doc)
            return True
        if isinstance(a, RegisterTargets):
            task_targets.register(self.app, scope, doc)
            return True
        if isinstance(a, DeregisterTargets):
            task_targets.deregister(self.app, scope, doc)
            return True
        return False

    def _set_status(self, doc: Doc, status: TaskStatus, now: float) -> None:
        doc["lastStatus"] = status.value
        if status is TaskStatus.PENDING:
            doc["_pendingSince"] = now
        elif status is TaskStatus.RUNNING:
            doc.setdefault("startedAt", now)
        elif status is TaskStatus.STOPPING:
            doc.setdefault("stoppingAt", now)
        elif status is TaskStatus.STOPPED:
            doc["stoppedAt"] = now
            doc["executionStoppedAt"] = now
            for c in doc["containers"]:
                c["lastStatus"] = "STOPPED"
            for att in doc.get("attachments") or []:
                att["status"] = "DELETED"

    def _provision(self, doc: Doc, now: float) -> bool:
        try:
            ip = self.addresses.allocate(doc["taskArn"])
        except AddressesExhausted as exc:
            doc.update(desiredStatus="STOPPED", stopCode="TaskFailedToStart",
                       stoppedReason=f"ResourceInitializationError: {exc}", stoppingAt=now)
            return True
        doc["_ip"] = ip
        for att in doc.get("attachments") or []:
            att["status"] = "ATTACHED"
            details = [d for d in att["details"] if d["name"] not in ("privateIPv4Address", "privateDnsName", "macAddress")]
            details += [
                {"name": "macAddress", "value": "0a:" + ":".join(f"{int(x):02x}" for x in ip.split(".")[1:]) + ":00:01"},
                {"name": "privateDnsName", "value": f"ip-{ip.replace('.', '-')}.ec2.internal"},
                {"name": "privateIPv4Address", "value": ip},
            ]
            att["details"] = details
        for c in doc["containers"]:
            for ni in c.get("networkInterfaces") or []:
                ni["privateIpv4Address"] = ip
        return True

    async def _start(self, driver: RuntimeDriver, scope: Scope, skey: str, doc: Doc, name: str, now: float) -> None:
        rec = doc["_c"].setdefault(name, {})
        cdef = next(c for c in doc["_containerDefs"] if c["name"] == name)
        doc.setdefault("pullStartedAt", now)
        target = awslogs_target(doc, cdef, scope.region)
        if target is not None:
            reason = self.logs.check_group(scope.account, target)
            if reason:
                rec["error"] = reason
                return
        spec = runtime_spec(doc, cdef, region=scope.region, scoped_key=skey)
        try:
            if not await driver.image_exists(spec.image):
                await driver.pull(spec.image)
        except ImageNotFound as exc:
            rec["error"] = f"CannotPullContainerError: {exc}"
            return
        doc["pullStoppedAt"] = self.app.clock.now()
        cid = await self._create(driver, doc, spec, rec)
        if cid is None:
            return
        try:
            await driver.start(cid)
        except StartFailed as exc:
            rec["error"] = f"CannotStartContainerError: {exc}"
            return
        except Conflict:
            pass  # already running: adopted
        rec["startedAt"] = self.app.clock.now()
        if target is not None:
            self.logs.follow(driver, cid, scope.account, awslogs_target(doc, cdef, scope.region, cid) or target)

    async def _create(self, driver: RuntimeDriver, doc: Doc, spec: Any, rec: Doc) -> str | None:
        try:
            cid = await driver.create(spec)
        except Conflict:
            found = [s for s in await driver.list({TASK_LABEL: doc["taskArn"]}) if s.name == spec.name]
            if not found:
                rec["error"] = f"CannotCreateContainerError: the name {spec.name} is taken"
                return None
            cid = found[0].id
        except ImageNotFound as exc:
            rec["error"] = f"CannotPullContainerError: {exc}"
            return None
        except DriverError as exc:
            rec["error"] = f"CannotCreateContainerError: {exc}"
            return None
        rec["id"] = cid
        return cid

    async def _stop_in_background(self, driver: RuntimeDriver, cid: str, timeout: float, skey: str) -> None:
        scale = float(getattr(self.app.clock, "time_scale", 1.0) or 1.0)
        try:
            await driver.stop(cid, timeout=timeout / scale)
        except (NotFound, Conflict):
            pass
        except DriverError as exc:
            log.warning("stopping container %s failed: %s", cid, exc)
        self.app.runner.enqueue(TASK_CONTROLLER, skey)

    async def _remove_all(self, driver: RuntimeDriver, doc: Doc) -> None:
        for rec in doc.get("_c", {}).values():
            cid = rec.get("id")
            if not cid:
                continue
            await self.logs.drain(cid)
            try:
                await driver.remove(cid, force=True)
            except NotFound:
                pass
            except DriverError as exc:
                log.warning("removing container %s failed: %s", cid, exc)

    async def remove_everything(self) -> None:
        """Remove every container ECS made in this data dir (after a reset)."""
        try:
            driver = await driver_of(self.app)
            states = await driver.list({SERVICE_LABEL: "ecs"})
        except DriverError as exc:
            log.warning("cannot clean ECS containers after reset: %s", exc)
            return
        for st in states:
            try:
                await driver.remove(st.id, force=True)
            except DriverError:
                pass

    async def _sweep(self, driver: RuntimeDriver) -> None:
        """Once per driver: remove ECS containers whose task is gone or stopped."""
        if self._swept:
            return
        self._swept = True
        for st in await driver.list({SERVICE_LABEL: "ecs"}):
            skey = st.labels.get(KEY_LABEL, "")
            try:
                scope, key = split_scoped_key(skey)
            except ValueError:
                continue
            doc = self.app.store.get(names.TASK, scope, key)
            if doc is None or doc.get("lastStatus") == "STOPPED":
                log.info("removing orphaned container %s (task %s)", st.name, key)
                try:
                    await driver.remove(st.id, force=True)
                except DriverError:
                    pass
