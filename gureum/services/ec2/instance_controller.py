"""The instance controller: makes each instance's container real and moves
the instance along its states.

One reconcile of ``account|region|i-…``: read the instance, inspect its
container through the app's runtime driver, ask
:func:`instance_states.decide` for the next step, apply it, write the new
state; repeat while there is a next step (a new instance goes pending →
running in one pass when its container starts at once).

Idempotent and restart-safe:

* the container's id is recorded right after ``create``; a pass that died
  before recording it is healed by finding the container by its label
  (:data:`instance_runtime.INSTANCE_LABEL`), so a restarted server adopts
  containers instead of making more;
* a write never undoes an intent: handlers bump ``_gen`` whenever they move
  the state, and a pass that sees ``_gen`` changed under it keeps only its
  private observations (container id, reboot count) and looks again;
* on its first pass the controller removes containers of this data dir
  labelled ``gureum.service=ec2`` whose instance is gone or terminated.

Addresses: when the engine refuses to publish the instance's ports because
another Gureum's container holds its address (Docker's "port is already
allocated"), the instance moves to a new address before it runs (at most
:data:`MAX_READDRESS` times); a booted instance's files are carried over by
committing its container to ``gureum/ec2-disk:<id>`` (removed at termination).

Container events (die, start) from the driver wake the instance at once;
a resync every :data:`RESYNC` seconds catches the rest, and forgets
terminated instances after :data:`TERMINATED_RETENTION` (AWS shows them
for about an hour).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from gureum.core.errors import TemporaryError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.addresses import AddressAllocator, AddressesExhausted
from gureum.runtime.base import (
    Conflict,
    DriverError,
    EngineUnavailable,
    ImageNotFound,
    NotFound,
    RuntimeDriver,
    Status,
)
from gureum.services.ec2 import address_probe, instance_types, tag_store
from gureum.services.ec2.instance_runtime import (
    INSTANCE_LABEL,
    KEY_LABEL,
    PUBLISHED_PORTS,
    SERVICE_LABEL,
    container_spec,
)
from gureum.services.ec2.instance_states import (
    Action,
    Box,
    Observed,
    Plan,
    Reason,
    State,
    decide,
    reason_dict,
    wire_state,
)
from gureum.services.ec2.instances import publish_state
from gureum.services.ec2.names import (
    INSTANCE,
    INSTANCE_CONTROLLER,
    private_dns_name,
    scoped_key,
    split_scoped_key,
)

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ec2.instances")

Doc = dict[str, Any]
RESYNC = 5.0
MAX_STEPS = 8
STOP_TIMEOUT = 10.0
TERMINATED_RETENTION = 3600.0
RECHECK_WINDOW = 5.0
TRANSITIONAL = (State.PENDING, State.STOPPING, State.SHUTTING_DOWN)
# What the controller owns in a document; kept even when a handler moved the state meanwhile.
_OWN_FIELDS = ("_cid", "_rebooted", "_bootedAt", "_launchError", "_readdressed", "_dockerImage", "_diskImage",
               "PrivateIpAddress", "PrivateDnsName")
# How the engine says another container holds the address's ports.
_ADDRESS_TAKEN = ("port is already allocated", "address already in use")
MAX_READDRESS = 3
DISK_REPOSITORY = "gureum/ec2-disk"  # an instance's files, carried to a container on a new address


class InstanceController:
    def __init__(self, app: App) -> None:
        self.app = app
        self.addresses = AddressAllocator(app.store)
        self._swept = False
        self._watch: asyncio.Task[Any] | None = None

    # -- keys and events --------------------------------------------------------------

    def keys(self) -> list[str]:
        """Instances not terminated; forgets terminated ones past the retention."""
        store, now = self.app.store, self.app.clock.now()
        out = []
        for scope in store.list_scopes(INSTANCE):
            for key, doc in store.list(INSTANCE, scope):
                if doc["State"]["Name"] != State.TERMINATED.value:
                    out.append(scoped_key(scope, key))
                elif now - float(doc.get("_terminatedAt") or now) > TERMINATED_RETENTION:
                    store.delete(INSTANCE, scope, key)
                    tag_store.drop(store, scope, key)
        return out

    def _ensure_watch(self) -> None:
        if self._watch is None or self._watch.done():
            self._watch = self.app.spawn(self._follow_events())

    async def _follow_events(self) -> None:
        pause = 0.5
        while True:
            try:
                driver = await self.app.get_runtime()
                async for event in driver.events():
                    pause = 0.5
                    key = event.labels.get(KEY_LABEL)
                    if key:
                        self.app.runner.enqueue(INSTANCE_CONTROLLER, key)
            except asyncio.CancelledError:
                raise
            except (DriverError, OSError) as exc:
                log.warning("runtime event stream ended (%s); reopening in %.1fs", exc, pause)
            await self.app.clock.sleep(pause)
            pause = min(pause * 2, 10.0)

    # -- reconcile --------------------------------------------------------------------

    async def reconcile(self, skey: str) -> Requeue | None:
        scope, iid = split_scoped_key(skey)
        if self.app.store.get(INSTANCE, scope, iid) is None:
            return None
        try:
            driver: RuntimeDriver = await self.app.get_runtime()
        except EngineUnavailable as exc:
            raise TemporaryError(f"no runtime for EC2 instances: {exc}", delay=5.0) from exc
        self._ensure_watch()
        await self._sweep(driver)
        state, since = State.TERMINATED, 0.0
        for _ in range(MAX_STEPS):
            doc = self.app.store.get(INSTANCE, scope, iid)
            if doc is None:
                return None
            state, gen, since = State(doc["State"]["Name"]), doc.get("_gen", 0), float(doc.get("_since") or 0)
            obs = await self._observe(driver, doc)
            plan = decide(state, obs, reboot_pending=int(doc.get("_reboot", 0)) > int(doc.get("_rebooted", 0)),
                          terminate_on_shutdown=doc.get("_shutdownBehavior") == "terminate")
            if plan.empty:
                break
            log.debug("instance %s (%s): %s", iid, state, plan)
            await self._apply(driver, scope, skey, doc, plan)
            if plan.state is not None and plan.state is not state:
                self._set_state(doc, plan)
            if self._save(scope, iid, doc, gen) and plan.state is not None and plan.state is not state:
                publish_state(self.app, scope, iid, plan.state.value, state.value)
                state, since = plan.state, self.app.clock.now()
        if state in TRANSITIONAL:
            return Requeue(1.0)
        if state is State.STOPPED and self.app.clock.now() - since < RECHECK_WINDOW and self._on_its_own(scope, iid):
            # The container stopped on its own a moment ago: one on its way out (docker rm -f)
            # sends no event when it is finally gone, so look again soon, not at the next resync.
            return Requeue(1.0)
        return None

    def _on_its_own(self, scope: Scope, iid: str) -> bool:
        doc = self.app.store.get(INSTANCE, scope, iid) or {}
        return (doc.get("StateReason") or {}).get("Code") != Reason.USER_SHUTDOWN.value

    async def _observe(self, driver: RuntimeDriver, doc: Doc) -> Observed:
        error = str(doc.get("_launchError") or "")
        cid = doc.get("_cid")
        if not cid:
            found = await driver.list({INSTANCE_LABEL: doc["InstanceId"]})
            if not found:
                return Observed(Box.NONE, launch_error=error)
            cid = doc["_cid"] = found[0].id  # made by a pass that did not live to record it
        try:
            st = await driver.inspect(cid)
        except NotFound:
            return Observed(Box.MISSING, launch_error=error)
        box = Box.RUNNING if st.running else Box.CREATED if st.status is Status.CREATED else Box.EXITED
        return Observed(box, st.exit_code, error)

    def _set_state(self, doc: Doc, plan: Plan) -> None:
        assert plan.state is not None
        now = self.app.clock.now()
        doc["State"] = wire_state(plan.state)
        doc["_since"] = now
        if plan.reason is not None:
            doc["StateReason"] = reason_dict(plan.reason, plan.detail)
            if plan.reason is not Reason.USER_SHUTDOWN:
                doc["StateTransitionReason"] = doc["StateReason"]["Message"]
        if plan.state is State.RUNNING:
            doc.pop("StateReason", None)
            doc["StateTransitionReason"] = ""
            doc["_bootedAt"] = now
            doc.pop("_launchError", None)
        elif plan.state is State.TERMINATED:
            doc["_terminatedAt"] = now

    def _save(self, scope: Scope, iid: str, doc: Doc, gen: int) -> bool:
        """Write ``doc`` unless a handler moved the instance meanwhile (then only our fields)."""
        store = self.app.store
        with store.transaction():
            fresh = store.get(INSTANCE, scope, iid)
            if fresh is None:
                return False
            if fresh.get("_gen", 0) != gen:
                for field in _OWN_FIELDS:
                    if field in doc:
                        fresh[field] = doc[field]
                store.put(INSTANCE, scope, iid, fresh)
                return False
            store.put(INSTANCE, scope, iid, doc)
            return True

    # -- applying a plan ----------------------------------------------------------------

    async def _apply(self, driver: RuntimeDriver, scope: Scope, skey: str, doc: Doc, plan: Plan) -> None:
        for action in plan.actions:
            if action is Action.CREATE:
                await self._create(driver, scope, skey, doc)
            elif action is Action.START:
                await self._start(driver, doc)
            elif action is Action.STOP:
                await self._stop(driver, doc)
            elif action is Action.RESTART:
                await self._stop(driver, doc)
                doc["_rebooted"] = int(doc.get("_reboot", 0))
                await self._start(driver, doc)
                doc["_bootedAt"] = self.app.clock.now()
            elif action is Action.REMOVE:
                await self._remove(driver, doc)
            elif action is Action.RELEASE_ADDRESS:
                self.addresses.release_owner(doc["_arn"])
                await self._drop_disk(driver, doc)
            if doc.get("_launchError"):
                return

    async def _create(self, driver: RuntimeDriver, scope: Scope, skey: str, doc: Doc) -> None:
        itype = instance_types.lookup(doc["InstanceType"]) or instance_types.require(instance_types.DEFAULT_TYPE)
        spec = container_spec(doc, itype, skey=skey, region=scope.region, driver_name=driver.name,
                              host_cpus=os.cpu_count() or 1)
        try:
            if not await driver.image_exists(spec.image):
                await driver.pull(spec.image)
            doc["_cid"] = await driver.create(spec)
        except Conflict:
            found = await driver.list({INSTANCE_LABEL: doc["InstanceId"]})
            if found:
                doc["_cid"] = found[0].id
            else:
                doc["_launchError"] = f"the container name {spec.name} is taken"
        except ImageNotFound as exc:
            doc["_launchError"] = f"image {spec.image} not found: {exc}"
        except DriverError as exc:
            doc["_launchError"] = str(exc)

    async def _start(self, driver: RuntimeDriver, doc: Doc) -> None:
        cid = doc.get("_cid")
        if not cid:
            return
        try:
            await driver.start(cid)
        except Conflict:
            pass  # running already
        except DriverError as exc:  # StartFailed, NotFound, or the engine refusing the ports
            if any(words in str(exc) for words in _ADDRESS_TAKEN) and await self._readdress(driver, doc):
                return
            doc["_launchError"] = str(exc)

    async def _readdress(self, driver: RuntimeDriver, doc: Doc) -> bool:
        """Another Gureum's container holds the instance's address: move to a new one (a few times)."""
        tries = int(doc.get("_readdressed", 0))
        if tries >= MAX_READDRESS:
            return False
        now = self.app.clock.now()
        old = doc["PrivateIpAddress"]
        if doc.get("_bootedAt") and doc.get("_cid"):  # it has a disk to keep: carry it over
            disk = f"{DISK_REPOSITORY}:{doc['InstanceId']}"
            try:
                await driver.commit(doc["_cid"], disk)
            except DriverError:
                return False
            doc["_dockerImage"] = doc["_diskImage"] = disk
        await self._remove(driver, doc)
        address_probe.mark_busy(self.addresses, old, now)
        try:
            ip = address_probe.lease(self.addresses, doc["_arn"], PUBLISHED_PORTS, now)
        except AddressesExhausted:
            return False
        region = doc["_arn"].split(":")[3]
        log.info("instance %s: %s is taken outside this data dir; moving to %s", doc["InstanceId"], old, ip)
        doc.update(PrivateIpAddress=ip, PrivateDnsName=private_dns_name(ip, region), _readdressed=tries + 1)
        doc.pop("_cid", None)
        return True

    async def _stop(self, driver: RuntimeDriver, doc: Doc) -> None:
        cid = doc.get("_cid")
        if not cid:
            return
        scale = float(getattr(self.app.clock, "time_scale", 1.0) or 1.0)
        try:
            await driver.stop(cid, timeout=STOP_TIMEOUT / scale)
        except (NotFound, Conflict):
            pass

    async def _remove(self, driver: RuntimeDriver, doc: Doc) -> None:
        cid = doc.get("_cid")
        if not cid:
            return
        try:
            await driver.remove(cid, force=True)
        except NotFound:
            pass

    async def _drop_disk(self, driver: RuntimeDriver, doc: Doc) -> None:
        if doc.get("_diskImage"):
            try:
                await driver.remove_image(doc["_diskImage"])
            except DriverError as exc:
                log.info("could not remove %s: %s", doc["_diskImage"], exc)

    async def _sweep(self, driver: RuntimeDriver) -> None:
        """Once: remove EC2 containers whose instance is gone or terminated (orphans of a crash)."""
        if self._swept:
            return
        self._swept = True
        await remove_containers(self.app, driver, only_orphans=True)


async def remove_containers(app: App, driver: RuntimeDriver, *, only_orphans: bool) -> list[str]:
    removed = []
    for st in await driver.list({SERVICE_LABEL: "ec2"}):
        if only_orphans:
            try:
                scope, iid = split_scoped_key(st.labels.get(KEY_LABEL, ""))
            except ValueError:
                continue
            doc = app.store.get(INSTANCE, scope, iid)
            if doc is not None and doc["State"]["Name"] != State.TERMINATED.value:
                continue
        log.info("removing EC2 container %s", st.name)
        try:
            await driver.remove(st.id, force=True)
            removed.append(st.id)
        except DriverError:
            pass
    return removed
