"""The process runtime driver: containers as host process groups, each under a shim.

The embedded fallback, so ``gureum up`` works with no Docker at all.  Each
container is a folder (:mod:`process_layout`) and, while it runs, a shim
process (:mod:`process_shim`) in its own session that runs the command in
its own process group, captures its output and records its exit.  The shim
is a child subreaper (:mod:`process_reaper`), so a daemon that leaves the
group is still signalled by ``stop``/``kill`` and dies with the container.  Because
the shim, not Gureum, is the parent, a restarted Gureum re-adopts running
containers from their folders (``list``), and ``events`` notices their death
through a pidfd on the shim, at once, without polling.

What it cannot isolate (use the docker driver when you need these):

* **filesystem** — the command sees the host's files; ``work/`` is only its
  starting directory (and the root of relative ``working_dir`` paths);
  ``readonly_root_filesystem`` is not enforced;
* **network** — no namespace: the command must bind the private IP it is
  given in ``GUREUM_PRIVATE_IP`` itself, ports cannot be remapped (a host
  port other than the container port is refused; 0/None means "the
  container port"), and it can reach everything the host can;
* **users** — ``user`` is honoured only when Gureum runs as root;
* **limits** — memory only as ``RLIMIT_AS`` (address space, not resident
  memory: a program that reserves much virtual memory may fail sooner than
  under a cgroup; pass ``memory_enforcement="none"`` to turn it off), no OOM
  kill and no ``oom`` events; CPU limits are not enforced at all
  (``update_limits`` only records them in ``cpu_limits``); ulimits
  are applied as rlimits;
* **images** — only ``gureum/busybox``, ``gureum/host`` and snapshots made
  by ``commit`` (:mod:`process_images`).

Timestamps are real wall-clock seconds (:class:`RealClock` at scale 1).
"""

from __future__ import annotations

import asyncio
import builtins
import os
import pwd
import shutil
import signal as _signal
import subprocess
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from gureum.core.clock import RealClock
from gureum.core.ids import hex_id
from gureum.runtime import process_images as images
from gureum.runtime import process_state
from gureum.runtime.base import (
    DATA_DIR_LABEL,
    PRIVATE_IP_ENV,
    Conflict,
    ContainerSpec,
    ContainerState,
    DriverError,
    Event,
    EventKind,
    ExecResult,
    ImageNotFound,
    LogLine,
    NotFound,
    StartFailed,
    Stats,
    gureum_labels,
    signal_number,
)
from gureum.runtime.process_layout import CONFIG, LOG, WORK, containers_dir, read_json, write_json
from gureum.runtime.process_reaper import signal_all
from gureum.runtime.process_watch import ShimWatcher


class ProcessDriver:
    name = "process"

    def __init__(self, root: str | Path, data_dir_id: str, memory_enforcement: str = "rlimit") -> None:
        self.root = Path(root)
        self.data_dir_id = data_dir_id
        self.memory_enforcement = memory_enforcement
        self._clock = RealClock()
        containers_dir(self.root).mkdir(parents=True, exist_ok=True)
        self._watcher = ShimWatcher(self._on_shim_exit)
        self._subscribers: weakref.WeakSet[_Subscription] = weakref.WeakSet()
        self._cpu_samples: dict[str, tuple[float, float]] = {}
        self.cpu_limits: dict[str, float] = {}  # update_limits: recorded, not enforced
        self._create_lock = threading.Lock()  # names are unique, as Docker's are

    def _dir(self, container_id: str) -> Path:
        d = containers_dir(self.root) / container_id
        if not container_id or "/" in container_id or not (d / CONFIG).is_file():
            raise NotFound(f"no such container: {container_id}")
        return d

    def _config(self, container_id: str) -> dict[str, Any]:
        config = read_json(self._dir(container_id) / CONFIG)
        if config is None:
            raise NotFound(f"no such container: {container_id}")
        return config

    async def close(self) -> None:
        self._watcher.close()

    # -- images --------------------------------------------------------------------

    async def image_exists(self, image: str) -> bool:
        return images.resolve(self.root, image) is not None

    async def pull(self, image: str, auth: Mapping[str, str] | None = None) -> None:
        if images.resolve(self.root, image) is None:
            raise ImageNotFound(
                f"pull of {image} failed: the process driver runs host programs and only has "
                "gureum/busybox, gureum/host and images committed by this driver"
            )

    async def remove_image(self, image: str) -> None:
        if not await asyncio.to_thread(images.remove_snapshot, self.root, image):
            raise NotFound(f"no such image: {image}")

    async def commit(self, container_id: str, image: str) -> str:
        config = self._config(container_id)
        image_id = "sha256:" + hex_id(64)
        meta = {
            "id": image_id,
            "base": config["base"],
            "entrypoint": config["entrypoint"],
            "cmd": config["cmd"],
            "env": config["image_env"],
            "working_dir": config["working_dir"],
            "created_at": self._clock.now(),
        }
        await asyncio.to_thread(images.save_snapshot, self.root, image, self._dir(container_id) / WORK, meta)
        return image_id

    # -- lifecycle -----------------------------------------------------------------

    async def create(self, spec: ContainerSpec) -> str:
        return await asyncio.to_thread(self._create, spec)

    def _create(self, spec: ContainerSpec) -> str:
        image = images.resolve(self.root, spec.image)
        if image is None:
            raise ImageNotFound(f"no such image: {spec.image} (see gureum.runtime.process_images)")
        for p in spec.ports:
            if p.host_port not in (None, 0, p.container_port):
                raise DriverError(
                    f"the process driver cannot map port {p.container_port} to {p.host_port}: "
                    "the process binds its ports itself"
                )
        with self._create_lock:
            if any(c.get("name") == spec.name for c in self._configs()):
                raise Conflict(f'the container name "{spec.name}" is already in use')
            cid = hex_id(64)
            cdir = containers_dir(self.root) / cid
            work = cdir / WORK
            if image.files is not None:
                shutil.copytree(image.files, work, symlinks=True)
            else:
                work.mkdir(parents=True)
            try:
                write_json(cdir / CONFIG, self._config_doc(cid, spec, image, work))
            except BaseException:
                shutil.rmtree(cdir, ignore_errors=True)
                raise
            return cid

    def _config_doc(self, cid: str, spec: ContainerSpec, image: images.ProcessImage, work: Path) -> dict[str, Any]:
        entrypoint = list(spec.entrypoint) if spec.entrypoint is not None else image.entrypoint
        cmd = list(spec.command) if spec.command is not None else (image.cmd if spec.entrypoint is None else [])
        argv = entrypoint + cmd
        if not argv:
            raise DriverError("no command specified")
        working_dir = spec.working_dir or image.working_dir
        cwd = work / working_dir.lstrip("/") if working_dir else work
        cwd.mkdir(parents=True, exist_ok=True)
        env = {"PATH": images.path_for(self.root, image), "HOME": str(work), "HOSTNAME": spec.hostname or spec.name}
        env.update(image.env)
        env.update(spec.env)
        if spec.ip:
            env[PRIVATE_IP_ENV] = spec.ip
        uid, gid = _user_ids(spec.user)
        if uid is not None:
            os.chown(work, uid, gid if gid is not None else -1)
        rlimits = [[u.name, u.soft, u.hard] for u in spec.ulimits]
        if spec.memory_bytes and self.memory_enforcement == "rlimit":
            rlimits.append(["as", spec.memory_bytes, spec.memory_bytes])
        hc = spec.healthcheck
        return {
            "id": cid, "name": spec.name, "image": spec.image, "base": image.base,
            "labels": gureum_labels(spec, self.data_dir_id), "created_at": self._clock.now(),
            "argv": argv, "entrypoint": entrypoint, "cmd": cmd, "env": env,
            "image_env": {**image.env, **spec.env}, "working_dir": working_dir, "cwd": str(cwd),
            "uid": uid, "gid": gid, "ip": spec.ip, "rlimits": rlimits,
            "memory_limit": spec.memory_bytes,
            "ports": [[p.container_port, p.protocol] for p in spec.ports],
            "healthcheck": None if hc is None else {
                "test": list(hc.test), "interval": hc.interval, "timeout": hc.timeout,
                "retries": hc.retries, "start_period": hc.start_period,
            },
        }

    def _configs(self) -> list[dict[str, Any]]:
        out = []
        for d in sorted(containers_dir(self.root).iterdir()):
            config = read_json(d / CONFIG)
            if config is not None:
                out.append(config)
        return out

    async def start(self, container_id: str) -> None:
        cdir = self._dir(container_id)
        if (await self.inspect(container_id)).running:
            return
        shim = await asyncio.to_thread(_spawn_shim, cdir)
        assert shim.stdout is not None
        line = await asyncio.to_thread(shim.stdout.readline)
        shim.stdout.close()
        reply = process_state.parse_handshake(line)
        self._watcher.watch(container_id, shim.pid, shim)
        if not reply.get("ok"):
            raise StartFailed(str(reply.get("error") or "the shim failed to start the command"))
        self._publish(EventKind.START, container_id)

    async def stop(self, container_id: str, timeout: float = 10.0) -> None:
        state = await self.inspect(container_id)
        if not state.running or state.pid is None:
            return
        self._adopt([state])
        cdir = self._dir(container_id)
        await asyncio.to_thread(_signal_container, cdir, state.pid, _signal.SIGTERM)
        if await self._watcher.wait(container_id, timeout):
            return
        await asyncio.to_thread(_signal_container, cdir, state.pid, _signal.SIGKILL)
        await self._watcher.wait(container_id, 10.0)

    async def kill(self, container_id: str, signal: str = "SIGKILL") -> None:
        state = await self.inspect(container_id)
        if not state.running or state.pid is None:
            raise Conflict(f"container {container_id} is not running")
        await asyncio.to_thread(_signal_container, self._dir(container_id), state.pid, signal_number(signal))

    async def remove(self, container_id: str, force: bool = True) -> None:
        cdir = self._dir(container_id)
        state = await self.inspect(container_id)
        if state.running:
            if not force:
                raise Conflict(f"cannot remove running container {container_id}: stop it first")
            await self.stop(container_id, timeout=0)
        stray = process_state.stray_group(cdir)
        if stray is not None:
            _killpg(stray, _signal.SIGKILL)
        await asyncio.to_thread(shutil.rmtree, cdir, True)
        self._cpu_samples.pop(container_id, None)
        self.cpu_limits.pop(container_id, None)

    async def inspect(self, container_id: str) -> ContainerState:
        self._watcher.reap()
        return process_state.container_state(self._dir(container_id))

    async def list(self, labels: Mapping[str, str] | None = None) -> builtins.list[ContainerState]:
        states = await asyncio.to_thread(self._states_sync, labels)
        self._adopt(states)
        return states

    def _states_sync(self, labels: Mapping[str, str] | None = None) -> builtins.list[ContainerState]:
        wanted = {DATA_DIR_LABEL: self.data_dir_id, **(labels or {})}
        self._watcher.reap()
        out = []
        for config in self._configs():
            have = config.get("labels") or {}
            if all(have.get(k) == v for k, v in wanted.items()):
                try:
                    out.append(process_state.container_state(self._dir(config["id"])))
                except NotFound:
                    continue
        return out

    def _adopt(self, states: builtins.list[ContainerState]) -> None:
        for st in states:
            shim = process_state.live_shim(containers_dir(self.root) / st.id) if st.running else None
            if shim is not None:
                self._watcher.watch(st.id, shim, None)

    # -- observation ----------------------------------------------------------------

    async def stats(self, container_id: str) -> Stats:
        config = self._config(container_id)
        state = await self.inspect(container_id)
        sample = await asyncio.to_thread(process_state.sample, state.pid if state.running else None)
        previous = self._cpu_samples.get(container_id)
        if previous is None and state.running:
            await self._clock.sleep(0.25)  # a CPU percentage needs two samples
            previous = (sample.cpu_seconds, sample.at)
            sample = await asyncio.to_thread(process_state.sample, state.pid)
        self._cpu_samples[container_id] = (sample.cpu_seconds, sample.at)
        return process_state.stats(sample, previous, config.get("memory_limit"))

    async def update_limits(self, container_id: str, cpus: float) -> None:
        """CPU limits are not enforced here (see the module docstring): the new
        limit is only recorded in :attr:`cpu_limits`, so callers work alike."""
        self._config(container_id)  # NotFound as docker would
        self.cpu_limits[container_id] = cpus

    async def exec(self, container_id: str, command: builtins.list[str]) -> ExecResult:
        config = self._config(container_id)
        if not (await self.inspect(container_id)).running:
            raise Conflict(f"container {container_id} is not running")
        return await asyncio.to_thread(process_state.run_exec, config, command)

    async def logs(
        self, container_id: str, *, follow: bool = False, since: float | None = None
    ) -> AsyncIterator[LogLine]:
        path = self._dir(container_id) / LOG
        reader = process_state.LogReader(path, since)
        while True:
            for line in await asyncio.to_thread(reader.read_available):
                yield line
            if not follow:
                return
            if not (await self.inspect(container_id)).running:
                for line in await asyncio.to_thread(reader.read_available):
                    yield line
                return
            await self._clock.sleep(0.1)  # tail -f: no inotify in the standard library

    def events(self) -> AsyncIterator[Event]:
        """Die/start events from now on; running containers of an earlier Gureum are watched too."""
        subscription = _Subscription(self._subscribers)
        self._adopt(self._states_sync())
        return subscription

    def _on_shim_exit(self, container_id: str) -> None:
        try:
            state = process_state.container_state(self._dir(container_id))
        except NotFound:
            return
        self._publish(EventKind.DIE, container_id, state)

    def _publish(self, kind: EventKind, container_id: str, state: ContainerState | None = None) -> None:
        if state is None:
            try:
                state = process_state.container_state(self._dir(container_id))
            except NotFound:
                return
        event = Event(
            kind=kind, container_id=container_id, name=state.name, labels=dict(state.labels),
            time=(state.finished_at if kind is EventKind.DIE else state.started_at) or self._clock.now(),
            exit_code=state.exit_code if kind is EventKind.DIE else None,
        )
        for subscription in list(self._subscribers):
            subscription.queue.put_nowait(event)


class _Subscription:
    """One ``events()`` iterator: subscribed from its creation until closed or dropped."""

    def __init__(self, registry: weakref.WeakSet[_Subscription]) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self._registry = registry
        registry.add(self)

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> Event:
        if self not in self._registry:
            raise StopAsyncIteration
        return await self.queue.get()

    async def aclose(self) -> None:
        self._registry.discard(self)


def _spawn_shim(cdir: Path) -> subprocess.Popen[bytes]:
    """The shim, in its own session so it outlives this Gureum (and its Ctrl-C)."""
    with (cdir / "shim.log").open("ab") as shim_log:
        return subprocess.Popen(
            [sys.executable, "-m", "gureum.runtime.process_shim", str(cdir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=shim_log,
            start_new_session=True, close_fds=True,
        )


def _signal_container(cdir: Path, pgid: int, sig: int) -> None:
    """The command's process group and every process under its shim (escaped daemons too)."""
    signal_all(pgid, process_state.live_shim(cdir), sig)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _user_ids(user: str | None) -> tuple[int | None, int | None]:
    """``"name"``, ``"uid"``, ``"uid:gid"`` → ids; refused unless we are root."""
    if not user:
        return None, None
    name, _, group = user.partition(":")
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
        uid, gid = entry.pw_uid, entry.pw_gid
    except KeyError:
        if not name.isdigit():
            raise DriverError(f"unable to find user {name}: no matching entries in passwd file") from None
        uid, gid = int(name), None
    if group:
        gid = int(group) if group.isdigit() else None
    if os.geteuid() != 0 and uid != os.geteuid():
        raise DriverError(f"the process driver can run as user {user} only when Gureum runs as root")
    return uid, gid
