"""The controller runner: a work queue of keys, at most one worker per key.

A controller is ``async def reconcile(key) -> Requeue | None``: look at desired
and observed state for ``key``, take the next step, and say when to look
again.  The runner calls it

* when someone ``enqueue``\\ s the key (a handler after writing intent, a bus
  subscriber after an engine event),
* on every periodic tick for each key ``list_keys()`` returns (resync, which
  is also how work survives a restart: state lives in the store), and
* after ``Requeue.after`` seconds or a ``TemporaryError.delay``.

Enqueueing a key that is queued already does nothing; enqueueing a key that is
being reconciled marks it dirty so it runs once more afterwards.  Reconcilers
must be idempotent: the runner may call them again at any time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gureum.core.clock import Clock
from gureum.core.errors import PermanentError, TemporaryError

log = logging.getLogger("gureum.runner")


@dataclass(frozen=True, slots=True)
class Requeue:
    after: float = 0.0


Reconcile = Callable[[str], Awaitable[Requeue | None]]


@dataclass
class Controller:
    name: str
    reconcile: Reconcile
    list_keys: Callable[[], Iterable[str]] | None = None
    period: float | None = None
    queued: set[str] = field(default_factory=set)
    running: set[str] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)
    failures: dict[str, int] = field(default_factory=dict)


class ControllerRunner:
    def __init__(self, clock: Clock, workers: int = 8) -> None:
        self.clock = clock
        self.controllers: dict[str, Controller] = {}
        self._queue: asyncio.Queue[tuple[str, str]] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._workers = workers
        self._started = False
        self._idle: asyncio.Event | None = None
        self._busy = 0

    def register(
        self,
        name: str,
        reconcile: Reconcile,
        *,
        list_keys: Callable[[], Iterable[str]] | None = None,
        period: float | None = None,
    ) -> Controller:
        if name in self.controllers:
            return self.controllers[name]
        ctl = Controller(name, reconcile, list_keys, period)
        self.controllers[name] = ctl
        if self._started:
            self._start_ticker(ctl)
        return ctl

    # -- queueing -----------------------------------------------------------------

    def enqueue(self, name: str, key: str, after: float = 0.0) -> None:
        ctl = self.controllers[name]
        if after > 0:
            # The deadline is fixed now, not when the delayed task first runs:
            # with a simulated clock time may jump before it gets scheduled.
            self.spawn(self._later(name, key, self.clock.monotonic() + after))
            return
        if key in ctl.running:
            ctl.dirty.add(key)
            return
        if key in ctl.queued:
            return
        ctl.queued.add(key)
        if self._queue is not None:
            self._queue.put_nowait((name, key))

    async def _later(self, name: str, key: str, deadline: float) -> None:
        await self.clock.sleep(deadline - self.clock.monotonic())
        self.enqueue(name, key)

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._queue = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        for ctl in self.controllers.values():
            for key in ctl.queued:
                self._queue.put_nowait((ctl.name, key))
            self._start_ticker(ctl)
        for _ in range(self._workers):
            self.spawn(self._worker())

    async def stop(self) -> None:
        self._started = False
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._queue = None

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_idle(self) -> None:
        """Wait until nothing is queued or running (tests)."""
        assert self._queue is not None and self._idle is not None
        while True:
            await self._idle.wait()
            if self._queue.empty() and self._busy == 0:
                return
            await self.clock.sleep(0)  # a yield to the loop, not a wait

    def _start_ticker(self, ctl: Controller) -> None:
        if ctl.period and ctl.list_keys is not None:
            # The first resync happens now, so that right after start() every
            # listed key is queued (wait_idle() then means "converged once").
            self._resync(ctl)
            self.spawn(self._ticker(ctl, self.clock.monotonic() + ctl.period))

    def _resync(self, ctl: Controller) -> None:
        assert ctl.list_keys is not None
        try:
            for key in list(ctl.list_keys()):
                self.enqueue(ctl.name, key)
        except Exception:
            log.exception("listing keys of controller %s failed", ctl.name)

    async def _ticker(self, ctl: Controller, due: float) -> None:
        assert ctl.period is not None
        while True:
            await self.clock.sleep(due - self.clock.monotonic())
            self._resync(ctl)
            # A fixed schedule (no drift), but never a burst of catch-up ticks.
            due = max(due + ctl.period, self.clock.monotonic())

    async def _worker(self) -> None:
        assert self._queue is not None and self._idle is not None
        queue = self._queue
        while True:
            name, key = await queue.get()
            ctl = self.controllers[name]
            ctl.queued.discard(key)
            if key in ctl.running:  # another worker has it: run again after
                ctl.dirty.add(key)
                continue
            ctl.running.add(key)
            self._busy += 1
            self._idle.clear()
            try:
                await self._run_one(ctl, key)
            finally:
                ctl.running.discard(key)
                self._busy -= 1
                if key in ctl.dirty:
                    ctl.dirty.discard(key)
                    self.enqueue(name, key)
                if self._busy == 0 and queue.empty():
                    self._idle.set()

    async def _run_one(self, ctl: Controller, key: str) -> None:
        try:
            result = await ctl.reconcile(key)
        except TemporaryError as exc:
            n = ctl.failures.get(key, 0) + 1
            ctl.failures[key] = n
            log.info("%s %s: %s (retry in %.1fs)", ctl.name, key, exc, exc.delay)
            self.enqueue(ctl.name, key, after=exc.delay)
            return
        except PermanentError as exc:
            ctl.failures.pop(key, None)
            log.warning("%s %s gave up: %s", ctl.name, key, exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            n = ctl.failures.get(key, 0) + 1
            ctl.failures[key] = n
            delay = min(30.0, 0.5 * 2 ** min(n, 6))
            log.exception("%s %s failed (attempt %d, retry in %.1fs)", ctl.name, key, n, delay)
            self.enqueue(ctl.name, key, after=delay)
            return
        ctl.failures.pop(key, None)
        if result is not None:
            self.enqueue(ctl.name, key, after=result.after)
