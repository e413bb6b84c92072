"""The one interface every runtime driver fulfils, and the values it speaks in.

A *container* here is whatever a driver runs: a Docker container for
:mod:`gureum.runtime.docker`, a process group under a shim for
:mod:`gureum.runtime.process`.  Services (ECS, EC2, CodeBuild…) only see
:class:`RuntimeDriver`; they never import the docker SDK or spawn processes.

Rules:

* Every method is ``async``; a driver runs its blocking calls off the event
  loop.  No method waits for convergence longer than it has to (``stop``
  waits at most its timeout, then kills).
* Everything a driver creates carries :data:`OWNER_LABEL` (the ARN of the
  Gureum resource it belongs to) and :data:`DATA_DIR_LABEL` (the id of the
  data dir of the Gureum that made it).  A driver is built for one data dir
  id and only lists, watches and removes what carries it, so two Gureums can
  share one engine.  After a restart, ``list`` finds what still runs
  (adoption) and :func:`remove_orphans` removes what no longer has an owner.
* Times are engine times: real wall-clock epoch seconds, never the virtual
  clock (the caller converts when it runs with ``--time-scale``).
* Errors are :class:`DriverError` subclasses, so a controller can map them
  to AWS reasons (``ImageNotFound`` → ``CannotPullContainerError``,
  ``StartFailed`` → ``TaskFailedToStart``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

OWNER_LABEL = "gureum.owner"
DATA_DIR_LABEL = "gureum.data-dir-id"
PRIVATE_IP_ENV = "GUREUM_PRIVATE_IP"


# -- errors ----------------------------------------------------------------------


class DriverError(Exception):
    """Something a runtime driver could not do; ``str()`` says why."""


class EngineUnavailable(DriverError):
    """The engine (dockerd) does not answer."""


class NotFound(DriverError):
    """No such container (or image, for ``remove_image``)."""


class Conflict(DriverError):
    """The name is taken, or the container is in the wrong state for this call."""


class ImageNotFound(DriverError):
    """The image is not here and could not be pulled."""


class StartFailed(DriverError):
    """The container exists but its command could not start (e.g. not found)."""


# -- values ----------------------------------------------------------------------


class Status(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"


class Health(StrEnum):
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True, slots=True)
class PortMapping:
    """Publish ``container_port`` on the container's private IP.

    ``host_port`` None or 0 means an ephemeral port chosen by the engine
    (ECS ``hostPort: 0`` in bridge mode).
    """

    container_port: int
    host_port: int | None = None
    protocol: str = "tcp"


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """Docker's healthcheck; ``test`` is ``["CMD-SHELL", "cmd"]`` or ``["CMD", arg…]``."""

    test: tuple[str, ...]
    interval: float = 30.0
    timeout: float = 5.0
    retries: int = 3
    start_period: float = 0.0


@dataclass(frozen=True, slots=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class Mount:
    """A host folder bound into the container at ``target`` (docker).

    The process driver shares the host's files and cannot remap paths, so it
    leaves mounts alone: the command finds ``source`` at its own host path
    (a caller that needs one path on both drivers chooses by ``driver.name``).
    """

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """What to run.  ``owner`` becomes the :data:`OWNER_LABEL` label."""

    name: str
    image: str
    owner: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    ip: str | None = None
    ports: tuple[PortMapping, ...] = ()
    cpus: float | None = None
    memory_bytes: int | None = None
    memory_reservation_bytes: int | None = None
    healthcheck: HealthCheck | None = None
    read_only: bool = False
    ulimits: tuple[Ulimit, ...] = ()
    mounts: tuple[Mount, ...] = ()


@dataclass(frozen=True, slots=True)
class PublishedPort:
    container_port: int
    protocol: str
    host_ip: str
    host_port: int


@dataclass(frozen=True, slots=True)
class ContainerState:
    id: str
    name: str
    image: str
    status: Status
    labels: Mapping[str, str]
    exit_code: int | None = None
    pid: int | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    error: str = ""
    ip: str | None = None
    ports: tuple[PublishedPort, ...] = ()
    health: Health | None = None
    oom_killed: bool = False

    @property
    def owner(self) -> str:
        return self.labels.get(OWNER_LABEL, "")

    @property
    def running(self) -> bool:
        return self.status is Status.RUNNING


@dataclass(frozen=True, slots=True)
class Stats:
    """One sample: ``cpu_percent`` as ``docker stats`` shows it (100 = one core)."""

    cpu_percent: float
    memory_bytes: int
    memory_limit: int | None
    online_cpus: int


@dataclass(frozen=True, slots=True)
class LogLine:
    time: float
    stream: str  # "stdout" | "stderr"
    line: str


@dataclass(frozen=True, slots=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


class EventKind(StrEnum):
    START = "start"
    DIE = "die"
    OOM = "oom"
    HEALTH = "health"


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    container_id: str
    name: str
    labels: Mapping[str, str]
    time: float
    exit_code: int | None = None
    health: Health | None = None


# -- the interface ------------------------------------------------------------


class RuntimeDriver(Protocol):
    name: str
    data_dir_id: str

    async def image_exists(self, image: str) -> bool: ...
    async def pull(self, image: str, auth: Mapping[str, str] | None = None) -> None: ...
    async def remove_image(self, image: str) -> None: ...
    async def commit(self, container_id: str, image: str) -> str: ...

    async def create(self, spec: ContainerSpec) -> str: ...
    async def start(self, container_id: str) -> None: ...
    async def stop(self, container_id: str, timeout: float = 10.0) -> None: ...
    async def kill(self, container_id: str, signal: str = "SIGKILL") -> None: ...
    async def remove(self, container_id: str, force: bool = True) -> None: ...
    async def inspect(self, container_id: str) -> ContainerState: ...
    async def stats(self, container_id: str) -> Stats: ...
    async def update_limits(self, container_id: str, cpus: float) -> None:
        """Change a running container's CPU limit (CPUs, like ``ContainerSpec.cpus``)."""
        ...
    def logs(
        self, container_id: str, *, follow: bool = False, since: float | None = None
    ) -> AsyncIterator[LogLine]: ...
    async def exec(self, container_id: str, command: list[str]) -> ExecResult: ...
    async def list(self, labels: Mapping[str, str] | None = None) -> list[ContainerState]: ...
    def events(self) -> AsyncIterator[Event]: ...
    async def close(self) -> None: ...


def gureum_labels(spec: ContainerSpec, data_dir_id: str) -> dict[str, str]:
    """The labels a driver puts on what it creates for ``spec``."""
    labels = dict(spec.labels)
    labels[OWNER_LABEL] = spec.owner
    labels[DATA_DIR_LABEL] = data_dir_id
    return labels


async def remove_orphans(
    driver: RuntimeDriver, owner_exists: Callable[[str], bool | Awaitable[bool]]
) -> list[str]:
    """Remove this data dir's containers whose owner is gone; return their ids."""
    removed: list[str] = []
    for state in await driver.list():
        alive = owner_exists(state.owner)
        if not isinstance(alive, bool):
            alive = await alive
        if not alive:
            try:
                await driver.remove(state.id, force=True)
            except NotFound:
                pass
            removed.append(state.id)
    return removed


def signal_number(name: str | int) -> int:
    """``"SIGTERM"``, ``"TERM"``, ``15`` → 15."""
    import signal as _signal

    if isinstance(name, int):
        return name
    text = name.upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(getattr(_signal, text))
    except AttributeError:
        raise DriverError(f"unknown signal {name!r}") from None
