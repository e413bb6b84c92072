"""SimClock (advance, autojump) and RealClock's time-scale arithmetic."""

from __future__ import annotations

import asyncio
import time

import pytest

from gureum.core import clock as clock_mod
from gureum.core.clock import RealClock, SimClock, to_datetime


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


# -- SimClock ---------------------------------------------------------------------------


def test_simclock_starts_where_told_and_moves_only_when_advanced() -> None:
    async def main() -> None:
        c = SimClock(start=1000.0)
        assert c.now() == 1000.0 and c.monotonic() == 0.0
        await asyncio.sleep(0)
        assert c.now() == 1000.0
        await c.advance(2.5)
        assert c.now() == 1002.5 and c.monotonic() == 2.5

    run(main())


def test_jump_moves_time_only_when_no_sleeper_wakes_by_then() -> None:
    async def main() -> None:
        c = SimClock(start=0.0)
        assert c.jump(5.0) and c.now() == 5.0  # nobody asleep
        task = asyncio.create_task(c.sleep(10))
        await asyncio.sleep(0)
        assert c.jump(9.0) and c.now() == 14.0  # the sleeper wakes at 15: not by 14
        assert not c.jump(1.0) and c.now() == 14.0  # it would wake: refused, time unmoved
        await c.advance(1.0)
        await task
        assert c.now() == 15.0

    run(main())


def test_advance_wakes_sleepers_in_wakeup_order_at_their_own_time() -> None:
    async def main() -> None:
        c = SimClock(start=0.0)
        woke: list[tuple[str, float]] = []

        async def sleeper(name: str, s: float) -> None:
            await c.sleep(s)
            woke.append((name, c.now()))

        tasks = [asyncio.create_task(sleeper(n, s)) for n, s in [("c", 30), ("a", 10), ("b", 20), ("a2", 10)]]
        await asyncio.sleep(0)
        await c.advance(15)
        # Equal deadlines wake in the order they went to sleep.
        assert woke == [("a", 10.0), ("a2", 10.0)]
        assert c.now() == 15.0
        await c.advance(100)
        assert woke == [("a", 10.0), ("a2", 10.0), ("b", 20.0), ("c", 30.0)]
        assert c.now() == 115.0
        await asyncio.gather(*tasks)

    run(main())


def test_a_sleeper_woken_by_advance_can_sleep_again_within_the_same_advance() -> None:
    async def main() -> None:
        c = SimClock(start=0.0)
        ticks: list[float] = []

        async def ticker() -> None:
            for _ in range(5):
                await c.sleep(10)
                ticks.append(c.now())

        t = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        await c.advance(35)
        assert ticks == [10.0, 20.0, 30.0]
        await c.advance(100)
        assert ticks == [10.0, 20.0, 30.0, 40.0, 50.0]
        await t

    run(main())


def test_sleep_zero_or_negative_does_not_wait_for_time() -> None:
    async def main() -> None:
        c = SimClock(start=0.0)
        await asyncio.wait_for(c.sleep(0), 1)
        await asyncio.wait_for(c.sleep(-5), 1)
        assert c.now() == 0.0

    run(main())


def test_autojump_runs_a_long_schedule_without_real_waiting() -> None:
    async def main() -> None:
        c = SimClock(start=0.0)
        seen: list[float] = []

        async def cooldown_loop() -> None:
            while True:
                await c.sleep(300)  # a five-minute cooldown
                seen.append(c.now())

        t = asyncio.create_task(cooldown_loop())
        wall0 = time.monotonic()
        await c.run_until_idle(limit=24 * 3600)  # a day of virtual time
        assert time.monotonic() - wall0 < 5
        assert len(seen) == 288
        assert seen[:3] == [300.0, 600.0, 900.0] and seen[-1] == 86400.0
        assert c.now() == 86400.0
        t.cancel()

    run(main())


def test_autojump_stops_at_the_limit_even_if_sleepers_remain() -> None:
    async def main() -> None:
        c = SimClock(start=0.0)
        done = asyncio.Event()

        async def late() -> None:
            await c.sleep(1000)
            done.set()

        asyncio.create_task(late())
        await c.run_until_idle(limit=999)
        assert not done.is_set() and c.now() == 999.0
        await c.run_until_idle(limit=1)
        assert done.is_set()

    run(main())


# -- RealClock ---------------------------------------------------------------------------


class FakeTime:
    """Stands in for the ``time`` module inside gureum.core.clock only."""

    def __init__(self, wall: float, mono: float) -> None:
        self.wall = wall
        self.mono = mono

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def tick(self, s: float) -> None:
        self.wall += s
        self.mono += s


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    ft = FakeTime(wall=1_700_000_000.0, mono=500.0)
    monkeypatch.setattr(clock_mod, "time", ft)
    return ft


def test_realclock_scale_one_is_wall_time(fake_time: FakeTime) -> None:
    c = RealClock()
    assert c.now() == 1_700_000_000.0 and c.monotonic() == 0.0
    fake_time.tick(7)
    assert c.now() == 1_700_000_007.0 and c.monotonic() == 7.0


def test_realclock_time_scale_starts_at_real_time_and_runs_k_times_faster(fake_time: FakeTime) -> None:
    c = RealClock(time_scale=60)
    assert c.now() == 1_700_000_000.0  # virtual time starts at the real time
    fake_time.tick(1.5)
    assert c.now() == pytest.approx(1_700_000_090.0)  # 1.5 real s = 90 virtual s
    assert c.monotonic() == pytest.approx(90.0)
    fake_time.tick(60)
    assert c.now() == pytest.approx(1_700_000_000.0 + 61.5 * 60)


def test_realclock_time_scale_below_one_slows_time(fake_time: FakeTime) -> None:
    c = RealClock(time_scale=0.5)
    fake_time.tick(10)
    assert c.now() == pytest.approx(1_700_000_005.0)


@pytest.mark.parametrize("bad", [0, -1, -0.5])
def test_realclock_rejects_non_positive_scale(bad: float) -> None:
    with pytest.raises(ValueError):
        RealClock(time_scale=bad)


def test_realclock_sleep_divides_by_scale() -> None:
    async def main() -> float:
        c = RealClock(time_scale=100)
        t0 = time.monotonic()
        v0 = c.monotonic()
        await c.sleep(20)  # 20 virtual seconds = 0.2 real seconds
        assert c.monotonic() - v0 >= 20 * 0.95
        return time.monotonic() - t0

    took = run(main())
    assert 0.18 <= took < 2.0


def test_to_datetime_is_utc() -> None:
    d = to_datetime(0)
    assert d.year == 1970 and d.utcoffset() is not None and d.utcoffset().total_seconds() == 0
