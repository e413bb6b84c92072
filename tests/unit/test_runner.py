"""ControllerRunner: the work queue, retries, resync, and restart safety.

The last tests are the important ones: a toy controller whose desired state
lives in a SQLite file is stopped mid-way, and a brand-new runner and store on
the same file converge without repeating a step that had completed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gureum.core.clock import SimClock
from gureum.core.errors import PermanentError, TemporaryError
from gureum.core.runner import ControllerRunner, Requeue
from gureum.core.store import Scope, SqliteStore


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


class Recorder:
    """A reconcile that records (key, virtual time) and does what it is told."""

    def __init__(self, clock: SimClock, behave: Callable[[str, int], Awaitable[Requeue | None]] | None = None) -> None:
        self.clock = clock
        self.calls: list[tuple[str, float]] = []
        self.behave = behave

    def count(self, key: str) -> int:
        return sum(1 for k, _ in self.calls if k == key)

    async def __call__(self, key: str) -> Requeue | None:
        self.calls.append((key, self.clock.now()))
        if self.behave is not None:
            return await self.behave(key, self.count(key))
        return None


# -- queueing ----------------------------------------------------------------------------


def test_enqueue_dedupes_a_key_that_is_already_queued() -> None:
    async def main() -> None:
        clock = SimClock(0)
        runner = ControllerRunner(clock, workers=4)
        rec = Recorder(clock)
        runner.register("toy", rec)
        for _ in range(5):
            runner.enqueue("toy", "a")
        runner.enqueue("toy", "b")
        runner.start()
        await runner.wait_idle()
        for _ in range(3):
            runner.enqueue("toy", "a")
        await runner.wait_idle()
        await runner.stop()
        assert rec.count("a") == 2 and rec.count("b") == 1

    run(main())


def test_one_worker_per_key_and_a_dirty_key_runs_once_more() -> None:
    async def main() -> None:
        clock = SimClock(0)
        runner = ControllerRunner(clock, workers=8)
        gate = asyncio.Event()
        entered = asyncio.Event()
        inflight: dict[str, int] = {}
        most: dict[str, int] = {}

        async def behave(key: str, n: int) -> None:
            inflight[key] = inflight.get(key, 0) + 1
            most[key] = max(most.get(key, 0), inflight[key])
            entered.set()
            if n == 1:
                await gate.wait()
            inflight[key] -= 1
            return None

        rec = Recorder(clock, behave)
        runner.register("toy", rec)
        runner.start()
        runner.enqueue("toy", "k")
        await entered.wait()
        # While "k" is being reconciled, more events arrive for it.
        for _ in range(10):
            runner.enqueue("toy", "k")
            await asyncio.sleep(0)
        assert rec.count("k") == 1  # nobody else picked it up
        gate.set()
        await runner.wait_idle()
        await runner.stop()
        assert rec.count("k") == 2  # the dirty mark collapsed ten events into one re-run
        assert most["k"] == 1

    run(main())


def test_different_keys_run_concurrently() -> None:
    async def main() -> None:
        clock = SimClock(0)
        runner = ControllerRunner(clock, workers=4)
        both = asyncio.Event()
        running: set[str] = set()

        async def behave(key: str, n: int) -> None:
            running.add(key)
            if len(running) == 2:
                both.set()
            await both.wait()  # would deadlock if keys ran one at a time
            return None

        runner.register("toy", Recorder(clock, behave))
        runner.start()
        runner.enqueue("toy", "x")
        runner.enqueue("toy", "y")
        await asyncio.wait_for(both.wait(), 5)
        await runner.wait_idle()
        await runner.stop()

    run(main())


# -- time: requeue, retries, resync ----------------------------------------------------------


def test_requeue_after_runs_again_at_that_virtual_time() -> None:
    async def main() -> None:
        clock = SimClock(0)
        runner = ControllerRunner(clock)

        async def behave(key: str, n: int) -> Requeue | None:
            return Requeue(after=30) if n < 3 else None

        rec = Recorder(clock, behave)
        runner.register("toy", rec)
        runner.start()
        runner.enqueue("toy", "k")
        await runner.wait_idle()
        await clock.advance(29.9)
        assert [t for _, t in rec.calls] == [0]
        await clock.run_until_idle(limit=1000)
        assert [t for _, t in rec.calls] == [0, 30, 60]
        await runner.stop()

    run(main())


def test_temporary_error_is_retried_after_its_delay() -> None:
    async def main() -> None:
        clock = SimClock(0)
        runner = ControllerRunner(clock)

        async def behave(key: str, n: int) -> None:
            if n <= 2:
                raise TemporaryError("engine not ready", delay=5)
            return None

        rec = Recorder(clock, behave)
        runner.register("toy", rec)
        runner.start()
        runner.enqueue("toy", "k")
        await clock.run_until_idle(limit=600)
        assert [t for _, t in rec.calls] == [0, 5, 10]
        assert runner.controllers["toy"].failures == {}
        await runner.stop()

    run(main())


def test_unexpected_error_backs_off_and_permanent_error_gives_up() -> None:
    async def main() -> None:
        clock = SimClock(0)
        runner = ControllerRunner(clock)

        async def flaky(key: str, n: int) -> None:
            if n <= 3:
                raise RuntimeError("bug")
            return None

        async def hopeless(key: str, n: int) -> None:
            raise PermanentError("no such image")

        rec_flaky, rec_hopeless = Recorder(clock, flaky), Recorder(clock, hopeless)
        runner.register("flaky", rec_flaky)
        runner.register("hopeless", rec_hopeless)
        runner.start()
        runner.enqueue("flaky", "k")
        runner.enqueue("hopeless", "k")
        await clock.run_until_idle(limit=3600)
        times = [t for _, t in rec_flaky.calls]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert len(times) == 4 and gaps == sorted(gaps) and gaps[0] > 0  # growing back-off
        assert rec_hopeless.count("k") == 1
        await runner.stop()

    run(main())


def test_periodic_resync_reconciles_every_listed_key_each_period() -> None:
    async def main() -> None:
        clock = SimClock(0)
        runner = ControllerRunner(clock)
        keys = ["a", "b"]
        rec = Recorder(clock)
        runner.register("toy", rec, list_keys=lambda: list(keys), period=60)
        runner.start()
        await runner.wait_idle()
        await clock.advance(60)
        await runner.wait_idle()
        keys.append("c")  # appears in the store between ticks
        await clock.advance(60)
        await runner.wait_idle()
        await runner.stop()
        assert sorted(rec.calls) == sorted(
            [("a", 0), ("b", 0), ("a", 60), ("b", 60), ("a", 120), ("b", 120), ("c", 120)]
        )

    run(main())


def test_register_after_start_starts_its_ticker() -> None:
    async def main() -> None:
        clock = SimClock(0)
        runner = ControllerRunner(clock)
        runner.start()
        rec = Recorder(clock)
        runner.register("late", rec, list_keys=lambda: ["x"], period=10)
        await clock.run_until_idle(limit=25)
        await runner.stop()
        assert [t for _, t in rec.calls] == [0, 10, 20]

    run(main())


# -- restart safety -------------------------------------------------------------------------------

SCOPE = Scope("000000000000", "us-east-1")
STEPS = ["pull", "create", "start", "register", "announce"]


class World:
    """The outside world the toy controller acts on: files named after each step.

    ``attempts`` counts every time a step was actually taken.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def has(self, key: str, step: str) -> bool:
        return (self.root / f"{key}.{step}").exists()

    def take(self, key: str, step: str) -> None:
        with open(self.root / "attempts.log", "a") as f:
            f.write(f"{key}.{step}\n")
        (self.root / f"{key}.{step}").touch(exist_ok=False)

    def attempts(self) -> list[str]:
        path = self.root / "attempts.log"
        return path.read_text().split() if path.exists() else []


class ToyRollout:
    """Desired: every step of ``STEPS`` taken once, in order.

    Each step: record it as in flight in the store, work (1 s), take it in the
    world under a deterministic name (unless the world already has it: we
    may be resuming after a crash), settle (1 s), then record it done.
    """

    def __init__(self, store: SqliteStore, world: World, clock: SimClock) -> None:
        self.store, self.world, self.clock = store, world, clock

    def list_keys(self) -> list[str]:
        return [k for k, d in self.store.list("toy.rollout", SCOPE) if len(d["done"]) < len(d["steps"])]

    async def reconcile(self, key: str) -> Requeue | None:
        doc = self.store.get("toy.rollout", SCOPE, key)
        if doc is None or len(doc["done"]) == len(doc["steps"]):
            return None
        step = doc["steps"][len(doc["done"])]
        if doc.get("inflight") != step:
            doc["inflight"] = step
            self.store.put("toy.rollout", SCOPE, key, doc)
        await self.clock.sleep(1)
        if not self.world.has(key, step):
            self.world.take(key, step)
        await self.clock.sleep(1)
        doc["done"].append(step)
        doc["inflight"] = None
        self.store.put("toy.rollout", SCOPE, key, doc)
        return Requeue(after=0)


async def _run_rollouts(db: Path, world: World, stop_at: float | None, clock: SimClock) -> None:
    store = SqliteStore(db)
    toy = ToyRollout(store, world, clock)
    runner = ControllerRunner(clock)
    runner.register("toy", toy.reconcile, list_keys=toy.list_keys, period=30)
    runner.start()
    await clock.advance(0)  # let the workers pick up the resynced keys at t=now
    if stop_at is None:
        await clock.run_until_idle(limit=120)
    else:
        await clock.advance(stop_at)
    await runner.stop()  # cancels whatever step is in flight
    store.close()


@pytest.mark.parametrize("stop_at", [0.0, 0.5, 1.5, 2.0, 3.5, 4.5, 5.5, 7.0, 9.5])
def test_a_new_runner_on_the_same_store_converges_without_repeating_steps(tmp_path: Path, stop_at: float) -> None:
    db = tmp_path / "gureum.db"
    world = World(tmp_path / "world")
    seed = SqliteStore(db)
    for key in ("svc-a", "svc-b"):
        seed.put("toy.rollout", SCOPE, key, {"steps": STEPS, "done": [], "inflight": None})
    seed.close()

    async def main() -> None:
        clock = SimClock(0)
        await _run_rollouts(db, world, stop_at, clock)  # the first process, stopped mid-way
        # Each key takes a step at t=1, 3, 5, … and marks it done at t=2, 4, 6, …
        taken = 0 if stop_at < 1 else min(len(STEPS), int((stop_at - 1) // 2) + 1)
        assert len(world.attempts()) == 2 * taken
        mid = SqliteStore(db)
        assert all(len(d["done"]) < len(STEPS) for _, d in mid.list("toy.rollout", SCOPE))
        mid.close()
        await _run_rollouts(db, world, None, clock)  # a new process: new store, new runner

    run(main())
    # Every step was taken exactly once, in order, per key.
    attempts = world.attempts()
    for key in ("svc-a", "svc-b"):
        assert [a.split(".", 1)[1] for a in attempts if a.startswith(key + ".")] == STEPS
    final = SqliteStore(db)
    for key in ("svc-a", "svc-b"):
        assert final.get("toy.rollout", SCOPE, key) == {"steps": STEPS, "done": STEPS, "inflight": None}
    final.close()


def test_interrupted_after_taking_a_step_resumes_from_the_store_record(tmp_path: Path) -> None:
    """Stopped after the world changed but before the step was marked done."""
    db = tmp_path / "gureum.db"
    world = World(tmp_path / "world")
    seed = SqliteStore(db)
    seed.put("toy.rollout", SCOPE, "svc", {"steps": STEPS, "done": [], "inflight": None})
    seed.close()

    async def main() -> None:
        clock = SimClock(0)
        # pull: 0→2, create: 2→4, start: in flight at 4, taken at 5, done at 6.
        await _run_rollouts(db, world, 5.5, clock)
        mid = SqliteStore(db)
        doc = mid.get("toy.rollout", SCOPE, "svc")
        mid.close()
        assert doc is not None
        assert doc["done"] == ["pull", "create"] and doc["inflight"] == "start"
        assert world.attempts() == ["svc.pull", "svc.create", "svc.start"]
        await _run_rollouts(db, world, None, clock)

    run(main())
    assert world.attempts() == [f"svc.{s}" for s in STEPS]
