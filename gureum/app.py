"""Wires store, clock, bus, services and controllers into one App."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum import __version__
from gureum.core.bus import Bus
from gureum.core.clock import Clock, RealClock
from gureum.core.runner import ControllerRunner
from gureum.core.store import SqliteStore, Store
from gureum.services import RESUME, SERVICES
from gureum.settings import Settings

if TYPE_CHECKING:
    from gureum.services.api import ServiceApi

log = logging.getLogger("gureum")


class App:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.version = __version__
        self.clock: Clock = clock or RealClock(settings.time_scale)
        self.data_path = settings.data_path
        self.data_path.mkdir(parents=True, exist_ok=True)
        self.store: Store = store or SqliteStore(self.data_path / "gureum.db")
        self.bus = Bus()
        self.runner = ControllerRunner(self.clock)
        self._apis: dict[str, ServiceApi] = {}
        # services register callables at start-up; each returns warning lines for /_gureum/health
        self.health_warnings: list[Callable[[], list[str]]] = []
        self.ready = False
        self.runtime_name = "none"
        self._runtime: Any = None
        self._runtime_lock = asyncio.Lock()

    # -- services -----------------------------------------------------------------

    def service_api(self, name: str) -> ServiceApi | None:
        """The handlers of a service, importing its module on first use."""
        api = self._apis.get(name)
        if api is None:
            module = SERVICES.get(name)
            if module is None:
                return None
            api = importlib.import_module(module).api
            self._apis[name] = api
            for hook in api.startup:
                hook(self)
        return api

    def load_all(self) -> None:
        for name in SERVICES:
            self.service_api(name)

    def services_state(self) -> dict[str, str]:
        return {name: ("running" if name in self._apis else "available") for name in SERVICES}

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        self.runner.start()
        for name, kinds in RESUME.items():  # controllers with work left from before a restart
            if any(self.store.list_scopes(kind) for kind in kinds):
                self.service_api(name)
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await self.runner.stop()
        if self._runtime is not None:
            try:
                await self._runtime.close()
            except Exception:
                log.exception("closing the runtime driver failed")
        self.store.close()

    def reset(self) -> None:
        """Forget every resource of every service."""
        self.store.reset()
        for api in list(self._apis.values()):
            for hook in api.reset_hooks:
                try:
                    hook(self)
                except Exception:
                    log.exception("reset hook of %s failed", api.service)
        self.bus.publish("gureum.reset", {})

    def health(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "edition": "gureum",
            "ready": self.ready,
            "services": self.services_state(),
            "runtime": self.runtime_name,
            "dataDir": str(self.data_path),
            "warnings": self.warnings(),
        }

    def warnings(self) -> list[str]:
        out: list[str] = []
        for source in list(self.health_warnings):
            try:
                out.extend(source())
            except Exception:
                log.exception("a health warning source failed")
        return out

    async def get_runtime(self) -> Any:
        """The one runtime driver every service shares, opened on first use.

        ``--runtime auto`` picks Docker when an engine answers, else the
        process driver (see gureum/runtime/selection.py).
        """
        if self._runtime is not None:
            return self._runtime
        async with self._runtime_lock:
            if self._runtime is None:
                from gureum.runtime.selection import open_driver

                self._runtime = await open_driver(self.settings.runtime, self.data_path)
                self.runtime_name = self._runtime.name
        return self._runtime

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        return self.runner.spawn(coro)
