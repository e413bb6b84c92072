"""One warm function process, seen from Gureum: start it, invoke it, kill it.

A worker is ``python3 -I -u bootstrap.py <fd>`` (the host's interpreter, the
one running Gureum) in its own session, so killing its process group also
ends anything the function started.  Gureum talks to it over a socket pair
(frames, see :mod:`.bootstrap`) and reads its output from one pipe (stdout
and stderr together, in the order the function wrote them).

Output lines are stamped with the clock when they arrive and grouped by the
markers the bootstrap writes before each ``ready``/``result`` frame, so each
invocation gets exactly the lines written while it ran.  Lines longer than
256 KB are cut into several events, as CloudWatch Logs would.

Rules:

* A worker runs one invocation at a time (the pool hands it out).
* An invocation that outlives its timeout (virtual time, via the clock)
  kills the worker: ``Sandbox.Timedout``, AWS's wording.  A worker that dies
  on its own answers ``Runtime.ExitError``.  Either way it is not reused.
* Init (importing the handler) is bounded by ``init_timeout``.  An init
  error (the handler cannot be imported) is answered by every invocation of
  that worker, as AWS does; a runtime that dies or hangs during init makes
  the worker ``failed``: its one invocation answers that, then it is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gureum.core.clock import Clock
from gureum.services.lambda_ import bootstrap
from gureum.services.lambda_.bootstrap import MARKER_END, MARKER_START, encode_frame

BOOTSTRAP = Path(bootstrap.__file__).resolve()
MAX_EVENT_BYTES = 256 * 1024
_READ = 1 << 16
_GRACE = 5.0  # seconds to wait for output to drain after a result or a kill
T = TypeVar("T")

Line = tuple[int, str]  # (epoch ms, text)


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    env: dict[str, str]
    cwd: Path
    log_stream: str
    python: str = sys.executable


@dataclass
class Outcome:
    ok: bool
    payload: str | None = None
    error: dict[str, Any] | None = None
    lines: list[Line] = field(default_factory=list)
    duration_ms: float = 0.0
    maxrss_mb: int = 0
    timed_out: bool = False


class WorkerDied(Exception):
    pass


class Worker:
    def __init__(self, spec: WorkerSpec, clock: Clock) -> None:
        self.spec = spec
        self.clock = clock
        self.proc: asyncio.subprocess.Process | None = None
        self.init_ms: float | None = None
        self.init_error: dict[str, Any] | None = None  # the handler could not be loaded
        self.failed: dict[str, Any] | None = None  # the runtime itself did not come up
        self.init_lines: list[Line] = []
        self.invocations = 0
        self.idle_since = clock.monotonic()
        self.stream_ready = False
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: list[Line] = []
        self._partial = ""
        self._groups: dict[str, list[Line]] = {}
        self._changed = asyncio.Event()
        self._eof = False
        self._killed = False
        self._pump: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and not self._eof and not self._killed

    # -- start ----------------------------------------------------------------------

    async def start(self, init_timeout: float) -> None:
        """Spawn the process and wait for its init; ``init_ms`` counts from the spawn."""
        started = self.clock.monotonic()
        ours, theirs = socket.socketpair()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                self.spec.python, "-I", "-u", str(BOOTSTRAP), str(theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=self.spec.env,
                cwd=str(self.spec.cwd),
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        finally:
            theirs.close()
        self._reader, self._writer = await asyncio.open_connection(sock=ours)
        assert self.proc.stdout is not None
        self._pump = asyncio.ensure_future(self._read_output(self.proc.stdout))
        try:
            ready = await self._race(self._frame(), init_timeout)
        except TimeoutError:
            self.init_lines = await self._lines_until_eof(kill=True)
            self.init_ms = init_timeout * 1000
            self.failed = _timed_out("", init_timeout)
            return
        except WorkerDied:
            self.init_lines = await self._lines_until_eof(kill=False)
            self.init_ms = (self.clock.monotonic() - started) * 1000
            self.failed = await self._exit_error("")
            return
        self.init_ms = (self.clock.monotonic() - started) * 1000
        self.init_error = ready.get("error")
        self.init_lines = await self._lines_for("init")

    # -- invoke ---------------------------------------------------------------------

    async def invoke(self, message: dict[str, Any], timeout: float) -> Outcome:
        """Send one invocation and wait for its result, at most ``timeout`` (virtual) seconds."""
        assert self._writer is not None
        rid = message["id"]
        self.invocations += 1
        if self.failed is not None:  # the runtime never came up: its init error is the answer
            error = dict(self.failed)
            error["errorMessage"] = error["errorMessage"].replace("RequestId:  ", f"RequestId: {rid} ")
            return Outcome(False, error=error, timed_out=error["errorType"] == "Sandbox.Timedout",
                           duration_ms=self.init_ms or 0.0)
        started = self.clock.monotonic()
        try:
            self._writer.write(encode_frame(message))
            await self._writer.drain()
            result = await self._race(self._frame(), timeout)
        except TimeoutError:
            lines = await self._lines_until_eof(kill=True)
            return Outcome(False, error=_timed_out(rid, timeout), lines=lines,
                           duration_ms=timeout * 1000, timed_out=True)
        except (WorkerDied, ConnectionError):
            lines = await self._lines_until_eof(kill=False)
            return Outcome(False, error=await self._exit_error(rid), lines=lines,
                           duration_ms=(self.clock.monotonic() - started) * 1000)
        duration = (self.clock.monotonic() - started) * 1000
        lines = await self._lines_for(rid)
        return Outcome(
            bool(result.get("ok")),
            payload=result.get("payload"),
            error=result.get("error"),
            lines=lines,
            duration_ms=duration,
            maxrss_mb=int(result.get("maxrss_kb") or 0) // 1024,
        )

    async def _exit_error(self, rid: str) -> dict[str, Any]:
        code = None
        if self.proc is not None:
            with contextlib.suppress(TimeoutError):
                code = await self._race(self.proc.wait(), _GRACE)
        how = f"exit status {code}"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                how = f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
        return {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {rid} Error: Runtime exited with error: {how}"}

    # -- stopping -------------------------------------------------------------------

    def kill(self) -> None:
        self._killed = True
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self._writer is not None:
            self._writer.close()

    async def stop(self) -> None:
        """Kill and wait until the process and its output pipe are gone."""
        self.kill()
        if self.proc is not None:
            with contextlib.suppress(TimeoutError):
                await self._race(self.proc.wait(), _GRACE)
        if self._pump is not None:
            with contextlib.suppress(TimeoutError):
                await self._race(asyncio.shield(self._pump), _GRACE)

    # -- plumbing -------------------------------------------------------------------

    async def _race(self, aw: Awaitable[T], seconds: float) -> T:
        """``aw``'s result, or TimeoutError after ``seconds`` of virtual time."""
        work = asyncio.ensure_future(aw)
        timer = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await work
            raise TimeoutError
        return work.result()

    async def _frame(self) -> dict[str, Any]:
        assert self._reader is not None
        try:
            head = await self._reader.readexactly(4)
            body = await self._reader.readexactly(int.from_bytes(head, "big"))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise WorkerDied("the worker closed its socket") from exc
        frames = bootstrap.decode_frames(bytearray(head + body))
        return frames[0]

    async def _read_output(self, stream: asyncio.StreamReader) -> None:
        while True:
            chunk = await stream.read(_READ)
            if not chunk:
                break
            self._take(chunk.decode("utf-8", errors="replace"))
        if self._partial:
            self._pending.append((self._now_ms(), self._partial))
            self._partial = ""
        self._eof = True
        self._changed.set()

    def _take(self, text: str) -> None:
        now = self._now_ms()
        data = self._partial + text
        *complete, self._partial = data.split("\n")
        for line in complete:
            start = line.find(MARKER_START)
            if start >= 0 and line.endswith(MARKER_END):
                if line[:start]:
                    self._pending.append((now, line[:start]))
                self._groups[line[start + len(MARKER_START) : -len(MARKER_END)]] = self._pending
                self._pending = []
                continue
            for i in range(0, max(len(line), 1), MAX_EVENT_BYTES):
                self._pending.append((now, line[i : i + MAX_EVENT_BYTES].replace("\r", "\n")))
        self._changed.set()

    async def _lines_for(self, ident: str) -> list[Line]:
        """The lines up to ``ident``'s marker (bounded wait: the marker precedes the frame)."""
        async def wait() -> list[Line]:
            while ident not in self._groups and not self._eof:
                self._changed.clear()
                await self._changed.wait()
            return self._groups.pop(ident, None) or self._take_pending()

        try:
            return await self._race(wait(), _GRACE)
        except TimeoutError:
            return self._take_pending()

    async def _lines_until_eof(self, kill: bool) -> list[Line]:
        if kill:
            self.kill()
        if self._pump is not None:
            with contextlib.suppress(TimeoutError):
                await self._race(asyncio.shield(self._pump), _GRACE)
        lines = [line for group in self._groups.values() for line in group] + self._take_pending()
        self._groups.clear()
        self._eof = True
        return lines

    def _take_pending(self) -> list[Line]:
        out, self._pending = self._pending, []
        return out

    def _now_ms(self) -> int:
        return int(self.clock.now() * 1000)


def _timed_out(rid: str, timeout: float) -> dict[str, Any]:
    return {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {rid} Error: Task timed out after {timeout:.2f} seconds"}
