"""Real worker processes through the host side (worker.py) and warm pools (pool.py)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gureum.core.clock import RealClock
from gureum.services.lambda_.pool import Pool, PoolKey, Pools, Throttled
from gureum.services.lambda_.worker import MAX_EVENT_BYTES, Worker, WorkerSpec

T = TypeVar("T")

MODULE = """
import os, subprocess, sys, time
print("init line")

def ok(event, context):
    print("out", event["n"])
    print("err", event["n"], file=sys.stderr)
    sys.stdout.write("no newline")
    return {"n": event["n"], "pid": os.getpid()}

def slow(event, context):
    print("before sleep")
    time.sleep(event.get("s", 30))
    return "woke"

def exits(event, context):
    sys.exit(3)

def big(event, context):
    print("x" * (MAX + 10))
    return None

def spawn(event, context):
    child = subprocess.Popen(["sleep", "60"])
    return child.pid
"""


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def spec(root: Path, handler: str) -> WorkerSpec:
    env = {"PATH": os.environ.get("PATH", ""), "LAMBDA_TASK_ROOT": str(root), "_HANDLER": handler}
    return WorkerSpec(env, root, "stream", sys.executable)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "fn.py").write_text(MODULE.replace("MAX", str(MAX_EVENT_BYTES)))
    return tmp_path


def msg(rid: str, event: str = "{}") -> dict[str, Any]:
    return {"type": "invoke", "id": rid, "event": event, "remaining_ms": 3000}


async def started(root: Path, handler: str) -> Worker:
    w = Worker(spec(root, handler), RealClock())
    await w.start(10.0)
    return w


def test_output_is_grouped_per_invocation(root: Path) -> None:
    async def go() -> tuple[Worker, list[Any]]:
        w = await started(root, "fn.ok")
        outs = [await w.invoke(msg(f"r{n}", f'{{"n": {n}}}'), 5.0) for n in (1, 2)]
        await w.stop()
        return w, outs

    w, outs = run(go())
    assert [t for _, t in w.init_lines] == ["init line"] and w.init_error is None and w.init_ms
    for n, out in zip((1, 2), outs, strict=True):
        assert out.ok and out.payload is not None and f'"n": {n}' in out.payload
        assert [t for _, t in out.lines] == [f"out {n}", f"err {n}", "no newline"]
    assert outs[0].payload is not None and outs[1].payload is not None
    assert outs[0].payload.split('"pid": ')[1] == outs[1].payload.split('"pid": ')[1]  # same process: warm


def test_a_timeout_kills_the_worker(root: Path) -> None:
    async def go() -> tuple[Worker, Any]:
        w = await started(root, "fn.slow")
        out = await w.invoke(msg("slow-1"), 0.5)
        await w.stop()
        return w, out

    w, out = run(go())
    assert out.timed_out and not out.ok and not w.alive
    assert out.error == {"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: slow-1 Error: Task timed out after 0.50 seconds"}
    assert [t for _, t in out.lines] == ["before sleep"]


def test_a_function_that_exits_is_a_runtime_exit_error(root: Path) -> None:
    async def go() -> Any:
        w = await started(root, "fn.exits")
        out = await w.invoke(msg("exit-1"), 5.0)
        await w.stop()
        return out

    out = run(go())
    assert out.error == {"errorType": "Runtime.ExitError", "errorMessage": "RequestId: exit-1 Error: Runtime exited with error: exit status 3"}


def test_a_runtime_that_dies_during_init_answers_that(tmp_path: Path) -> None:
    (tmp_path / "dies.py").write_text("import os\nprint('dying')\nos._exit(7)\n")

    async def go() -> tuple[Worker, Any]:
        w = await started(tmp_path, "dies.handler")
        out = await w.invoke(msg("d-1"), 5.0)
        await w.stop()
        return w, out

    w, out = run(go())
    assert not w.alive and [t for _, t in w.init_lines] == ["dying"]
    assert out.error is not None and out.error["errorType"] == "Runtime.ExitError"
    assert out.error["errorMessage"] == "RequestId: d-1 Error: Runtime exited with error: exit status 7"


def test_long_lines_are_cut_into_events(root: Path) -> None:
    async def go() -> Any:
        w = await started(root, "fn.big")
        out = await w.invoke(msg("big-1"), 5.0)
        await w.stop()
        return out

    out = run(go())
    sizes = [len(t) for _, t in out.lines]
    assert sizes == [MAX_EVENT_BYTES, 10] and out.payload == "null"


def test_kill_ends_what_the_function_started(root: Path) -> None:
    async def go() -> int:
        w = await started(root, "fn.spawn")
        out = await w.invoke(msg("s-1"), 5.0)
        assert out.payload is not None
        child = int(out.payload)
        await w.stop()
        return child

    child = run(go())

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"  # reaped soon by init

    deadline = time.monotonic() + 5
    while not gone():  # SIGKILL to the group is delivered asynchronously
        assert time.monotonic() < deadline, "the function's child outlived its worker"
        time.sleep(0.01)


def test_pool_reuses_throttles_and_retires(root: Path) -> None:
    async def go() -> None:
        pool = Pool(PoolKey("1", "r", "f", "$LATEST"), "rev", max_workers=1)
        made: list[Worker] = []

        async def make() -> Worker:
            w = await started(root, "fn.ok")
            made.append(w)
            return w

        clock = RealClock()
        w1, cold = await pool.acquire(make, wait=False)
        assert cold
        with pytest.raises(Throttled):
            await pool.acquire(make, wait=False)
        waiter = asyncio.ensure_future(pool.acquire(make, wait=True))
        await asyncio.sleep(0.05)  # noqa: TID251 - let the waiter park
        assert not waiter.done()
        pool.release(w1, clock.monotonic())
        w2, cold2 = await waiter
        assert w2 is w1 and not cold2 and len(made) == 1
        pool.release(w2, clock.monotonic())
        assert pool.reap(clock.monotonic() + 10_000, 600) == 1 and not pool.idle
        pool.retire()
        await made[0].stop()

    run(go())


def test_pools_replace_a_pool_whose_revision_changed() -> None:
    pools = Pools(RealClock())
    key = PoolKey("1", "r", "f", "$LATEST")
    first = pools.pool(key, "a")
    assert pools.pool(key, "a") is first
    second = pools.pool(key, "b")
    assert second is not first and first.retired
    pools.retire("1", "r", "f")
    assert second.retired and not pools.pools


