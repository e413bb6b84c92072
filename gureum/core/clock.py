"""The one clock.  Nothing else in Gureum reads the time or sleeps directly.

``RealClock(time_scale=K)`` runs K times faster than the wall: virtual time
starts at the real time when the clock is made and then advances K seconds per
real second.  Every timestamp the API reports (creation dates, log event
ingestion, metric timestamps) is virtual time, so with ``--time-scale 60`` an
hour of timestamps passes in a minute.  ``SimClock`` advances only when told
(``advance``) or, with ``autojump``, as soon as every waiter is asleep.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Virtual epoch seconds."""

    def monotonic(self) -> float:
        """Virtual monotonic seconds (never goes back)."""

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of virtual time."""


def to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class RealClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        if self.time_scale == 1.0:
            return time.time()
        return self._wall0 + (time.monotonic() - self._mono0) * self.time_scale

    def monotonic(self) -> float:
        return (time.monotonic() - self._mono0) * self.time_scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.time_scale)


class SimClock:
    """A clock that only moves when advanced.

    ``await clock.sleep(s)`` parks the caller until virtual time reaches
    ``now + s``.  ``advance(s)`` moves time and wakes the sleepers in order;
    ``run_until_idle`` is the autojump: it jumps straight to the next wake-up
    whenever nothing else can run.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._start = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._start

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    async def advance(self, seconds: float) -> None:
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, fut = heapq.heappop(self._sleepers)
            self._now = max(self._now, when)
            if not fut.done():
                fut.set_result(None)
            await _settle()
        self._now = target
        await _settle()

    def jump(self, seconds: float) -> bool:
        """Move time without the event loop when no sleeper wakes by then (a simulation driving
        everything itself: no task to wake or let run); False, and time unmoved, when one would
        (``await advance(seconds)`` then)."""
        target = self._now + seconds
        if self._sleepers and self._sleepers[0][0] <= target:
            return False
        self._now = target
        return True

    async def run_until_idle(self, limit: float) -> None:
        """Autojump: keep jumping to the next sleeper until ``limit`` seconds pass."""
        end = self._now + limit
        await _settle()
        while self._sleepers and self._sleepers[0][0] <= end:
            await self.advance(self._sleepers[0][0] - self._now)
        self._now = end


async def _settle() -> None:
    # Let woken tasks run until they block again.
    for _ in range(20):
        await asyncio.sleep(0)
