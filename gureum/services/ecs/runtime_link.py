"""How ECS gets at the runtime driver, and the watch on its event stream.

The driver is the app's one shared driver (:meth:`App.get_runtime`:
``--runtime auto`` is docker when an engine answers, else the process
driver).

:class:`EventWatch` follows ``driver.events()`` and turns each event of a
container ECS made into a wake-up of that container's task (its store key
travels in a label), so a container that dies is noticed at once, not at the
next resync.  The stream is reopened after an error, with a growing pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum.runtime.base import DriverError, RuntimeDriver

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecs")


async def driver_of(app: App) -> RuntimeDriver:
    """The app's one shared runtime driver (opened on first use by the app)."""
    driver: RuntimeDriver = await app.get_runtime()
    return driver


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
