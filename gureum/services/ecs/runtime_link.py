"""How ECS gets at the runtime driver, and the watch on its event stream.

The driver is the app's (``app.runtime``, when the app offers one).  Until
the app wires one in, ECS builds the one ``--runtime`` asks for (``auto``:
docker when an engine answers, else the process driver) and keeps it on the
app, so every ECS controller shares it.

:class:`EventWatch` follows ``driver.events()`` and turns each event of a
container ECS made into a wake-up of that container's task (its store key
travels in a label), so a container that dies is noticed at once, not at the
next resync.  The stream is reopened after an error, with a growing pause.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum.runtime.base import DriverError, EngineUnavailable, RuntimeDriver

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecs")

_ATTR = "_ecs_runtime"
_LOCK = "_ecs_runtime_lock"


def data_dir_id(app: App) -> str:
    return hashlib.sha256(str(app.data_path.resolve()).encode()).hexdigest()[:12]


async def driver_of(app: App) -> RuntimeDriver:
    """The app's runtime driver (built on first use when the app has none)."""
    for attr in ("runtime", _ATTR):
        drv = getattr(app, attr, None)
        if drv is not None and not isinstance(drv, str) and not callable(drv):
            return drv  # type: ignore[no-any-return]
    getter = getattr(app, "get_runtime", None)
    if callable(getter):
        got = getter()
        return await got if asyncio.iscoroutine(got) else got  # type: ignore[no-any-return]
    lock = getattr(app, _LOCK, None)
    if lock is None:
        lock = asyncio.Lock()
        setattr(app, _LOCK, lock)
    async with lock:
        drv = getattr(app, _ATTR, None)
        if drv is None:
            drv = await _build(app)
            setattr(app, _ATTR, drv)
            if getattr(app, "runtime_name", "none") == "none":
                app.runtime_name = drv.name
    return drv


async def _build(app: App) -> RuntimeDriver:
    wanted = app.settings.runtime
    ddid = data_dir_id(app)
    if wanted in ("auto", "docker"):
        try:
            from gureum.runtime.docker import DockerDriver

            return await DockerDriver.connect(ddid)
        except (EngineUnavailable, ImportError) as exc:
            if wanted == "docker":
                raise EngineUnavailable(str(exc)) from exc
            log.info("no Docker engine answers (%s): ECS uses the process driver", exc)
    from gureum.runtime.process import ProcessDriver

    return ProcessDriver(app.data_path / "runtime" / "process", ddid)


class EventWatch:
    """Follow the driver's events and call ``on_event(labels, event)`` for each."""

    def __init__(self, app: App, on_event: Callable[[Any], None]) -> None:
        self.app = app
        self.on_event = on_event
        self.task: asyncio.Task[Any] | None = None
        self.connected = asyncio.Event()

    def ensure(self) -> None:
        if self.task is None or self.task.done():
            self.task = self.app.spawn(self._run())

    async def _run(self) -> None:
        pause = 0.5
        while True:
            try:
                driver = await driver_of(self.app)
                stream = driver.events()
                self.connected.set()
                async for event in stream:
                    pause = 0.5
                    try:
                        self.on_event(event)
                    except Exception:  # a bad event must not end the watch
                        log.exception("handling runtime event %s failed", event)
            except asyncio.CancelledError:
                raise
            except (DriverError, OSError) as exc:
                log.warning("runtime event stream ended (%s); reopening in %.1fs", exc, pause)
            self.connected.clear()
            await self.app.clock.sleep(pause)
            pause = min(pause * 2, 10.0)
