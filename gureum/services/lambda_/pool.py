"""Warm pools: the worker processes of each function version, kept between invocations.

One :class:`Pool` per (account, region, function, version), made for one
``RevisionId`` of that version's configuration: when ``$LATEST`` changes
(code or settings) the next invocation finds a different revision and gets a
fresh pool; the old one is retired (idle workers killed now, busy ones when
their invocation ends).  Handlers also retire pools when a function or
version is updated or deleted, so no stale worker outlives its code.

Concurrency: a pool runs at most ``max_workers`` invocations at once, one per
worker.  Beyond that a synchronous invocation is throttled
(``TooManyRequestsException``, as AWS answers past a concurrency limit) and
an asynchronous one waits for a free worker, as AWS's event queue does.

Workers idle for ``IDLE_SECONDS`` (virtual) are stopped by :meth:`Pools.reap`;
every worker is killed on reset and when the server stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gureum.core.clock import Clock
from gureum.services.lambda_.worker import Worker

log = logging.getLogger("gureum.lambda")

MAX_WORKERS = 10
IDLE_SECONDS = 600.0


class Throttled(Exception):
    """Every worker of the pool is busy and the caller does not wait."""


@dataclass(frozen=True, slots=True)
class PoolKey:
    account: str
    region: str
    function: str
    version: str


class Pool:
    def __init__(self, key: PoolKey, revision: str, max_workers: int = MAX_WORKERS) -> None:
        self.key = key
        self.revision = revision
        self.max_workers = max_workers
        self.idle: list[Worker] = []
        self.busy: set[Worker] = set()
        self.starting = 0
        self.retired = False
        self._freed = asyncio.Event()

    async def acquire(self, make: Callable[[], Awaitable[Worker]], wait: bool) -> tuple[Worker, bool]:
        """A worker for one invocation and whether it was just started (a cold start)."""
        while True:
            while self.idle:
                worker = self.idle.pop()
                if worker.alive:
                    self.busy.add(worker)
                    return worker, False
                worker.kill()
            if len(self.busy) + self.starting < self.max_workers:
                self.starting += 1
                try:
                    worker = await make()
                finally:
                    self.starting -= 1
                self.busy.add(worker)
                return worker, True
            if not wait:
                raise Throttled
            self._freed.clear()
            await self._freed.wait()

    def release(self, worker: Worker, now: float) -> None:
        self.busy.discard(worker)
        if self.retired or not worker.alive:
            worker.kill()
        else:
            worker.idle_since = now
            self.idle.append(worker)
        self._freed.set()

    def retire(self) -> None:
        self.retired = True
        for worker in self.idle:
            worker.kill()
        self.idle.clear()
        self._freed.set()

    def kill_all(self) -> None:
        self.retire()
        for worker in list(self.busy):
            worker.kill()

    def reap(self, now: float, max_idle: float) -> int:
        stale = [w for w in self.idle if now - w.idle_since >= max_idle or not w.alive]
        for worker in stale:
            self.idle.remove(worker)
            worker.kill()
        return len(stale)

    @property
    def empty(self) -> bool:
        return not self.idle and not self.busy and not self.starting


class Pools:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.pools: dict[PoolKey, Pool] = {}

    def pool(self, key: PoolKey, revision: str) -> Pool:
        current = self.pools.get(key)
        if current is not None and current.revision == revision and not current.retired:
            return current
        if current is not None:
            current.retire()
        fresh = Pool(key, revision)
        self.pools[key] = fresh
        return fresh

    def retire(self, account: str, region: str, function: str, version: str | None = None) -> None:
        for key in [k for k in self.pools if (k.account, k.region, k.function) == (account, region, function)]:
            if version is None or key.version == version:
                self.pools.pop(key).retire()

    def kill_all(self) -> None:
        for pool in self.pools.values():
            pool.kill_all()
        self.pools.clear()

    def reap(self, max_idle: float = IDLE_SECONDS) -> int:
        now = self.clock.monotonic()
        n = sum(p.reap(now, max_idle) for p in self.pools.values())
        for key in [k for k, p in self.pools.items() if p.empty]:
            del self.pools[key]
        return n

    def workers(self) -> int:
        return sum(len(p.idle) + len(p.busy) for p in self.pools.values())
