"""One TCP (or TLS) connection of the data plane, as an asyncio Protocol.

Both sides of the proxy use it: the client's connection to a listener and the
load balancer's connection to a target.  It is a small stream: a receive
buffer with back-pressure, ``read_until`` / ``read_some`` / ``read_exactly``,
and ``write`` + ``drain`` that honour the transport's write flow control, so
bodies move in pieces and are never held whole.

Timers go through the injected clock: :meth:`Conn.watch` is the idle
watchdog (AWS's ``idle_timeout.timeout_seconds``: close a connection on which
nothing was sent or received for that long).  Every byte in or out stamps
``last_active``; the watchdog sleeps until the deadline and either expires
the connection (a pending read raises :class:`IdleTimeout`) or sleeps again.
While ``hold`` is set the watchdog leaves the connection alone (the client
side of a request waiting on its target: the target's own watchdog decides
between an answer and a 504).

A pending read can also be failed from outside (:meth:`fail`): the proxy
ties a client's connection to the target connection serving it, so a client
that goes away wakes the target read with :class:`ClientGone` (ALB's 460).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from gureum.core.clock import Clock

HIGH_WATER = 256 * 1024  # pause reading the socket above this many buffered bytes


class IdleTimeout(Exception):
    """Nothing moved on the connection for the idle timeout."""


class ClientGone(Exception):
    """The client closed its connection while a request was in progress."""


class Closed(Exception):
    """The connection is closed (end of stream or reset) before the read finished."""


class TooLong(Exception):
    """A delimited read did not find its delimiter within the limit."""


class Conn(asyncio.Protocol):
    def __init__(self, clock: Clock, on_made: Callable[[Conn], Any] | None = None) -> None:
        self.clock = clock
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None
        self.hold = False
        self.last_active = clock.monotonic()
        self.on_gone: Callable[[], None] | None = None
        self._on_made = on_made
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._paused_reading = False
        self._paused_writing = False
        self.peer: tuple[str, int] = ("", 0)
        self.watcher: asyncio.Task[None] | None = None
        self.reused = 0  # requests served on this connection before the current one

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's are not subclasses)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = (str(peer[0]), int(peer[1]))
        if self._on_made is not None:
            self._on_made(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self.last_active = self.clock.monotonic()
        if len(self.buf) > HIGH_WATER and not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        self._gone()
        return True  # keep the write side open until we close it

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.watcher is not None:
            self.watcher.cancel()
            self.watcher = None
        self.eof = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._gone()

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- internals ---------------------------------------------------------------------

    def _gone(self) -> None:
        cb, self.on_gone = self.on_gone, None
        if cb is not None:
            cb()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def _wait(self) -> None:
        if self.error is not None and isinstance(self.error, (IdleTimeout, ClientGone)):
            raise self.error
        if self.eof:
            raise Closed(str(self.error or "end of stream"))
        w = asyncio.get_running_loop().create_future()
        self._waiter = w
        try:
            await w
        finally:
            self._waiter = None
        if isinstance(self.error, (IdleTimeout, ClientGone)):
            raise self.error

    def _consumed(self) -> None:
        if self._paused_reading and len(self.buf) <= HIGH_WATER // 2 and self.transport is not None:
            self._paused_reading = False
            self.transport.resume_reading()

    # -- reading -----------------------------------------------------------------------

    async def read_until(self, sep: bytes, limit: int) -> bytes:
        """Bytes up to and including ``sep``; :class:`Closed` at end of stream."""
        start = 0
        while True:
            i = self.buf.find(sep, start)
            if i >= 0:
                end = i + len(sep)
                if end > limit:
                    raise TooLong()
                data = bytes(self.buf[:end])
                del self.buf[:end]
                self._consumed()
                return data
            if len(self.buf) > limit:
                raise TooLong()
            start = max(0, len(self.buf) - len(sep) + 1)
            await self._wait()

    async def read_some(self, n: int) -> bytes:
        """Up to ``n`` bytes, at least one; ``b""`` at end of stream."""
        while not self.buf:
            if self.eof:
                if isinstance(self.error, (IdleTimeout, ClientGone)):
                    raise self.error
                return b""
            try:
                await self._wait()
            except Closed:
                return b""
        data = bytes(self.buf[:n])
        del self.buf[:n]
        self._consumed()
        return data

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._wait()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        self._consumed()
        return data

    def take(self, n: int) -> bytes:
        """Up to ``n`` bytes already buffered (no waiting)."""
        data = bytes(self.buf[:n])
        del self.buf[:n]
        self._consumed()
        return data

    # -- writing -----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.lost or self.transport is None or self.transport.is_closing():
            raise Closed("connection closed")
        self.transport.write(data)
        self.last_active = self.clock.monotonic()

    async def drain(self) -> None:
        while self._paused_writing and not self.lost:
            fut = asyncio.get_running_loop().create_future()
            self._drain = fut
            try:
                await fut
            finally:
                self._drain = None
        if self.lost:
            raise Closed("connection closed")

    # -- ending --------------------------------------------------------------------

    def fail(self, exc: BaseException) -> None:
        """Make the pending (and every later) read raise ``exc``."""
        if self.error is None or not isinstance(self.error, (IdleTimeout, ClientGone)):
            self.error = exc
        self.eof = True
        self._wake()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    @property
    def write_paused(self) -> bool:
        return self._paused_writing

    @property
    def usable(self) -> bool:
        return not self.eof and not self.lost and self.error is None and not self.buf

    def start_watch(self, spawn: Callable[[Any], Any], timeout: Callable[[], float]) -> None:
        """Run the idle watchdog until the connection is lost (which cancels it)."""
        if not self.lost:
            self.watcher = spawn(self.watch(timeout))

    async def watch(self, timeout: Callable[[], float]) -> None:
        """The idle watchdog: runs until the connection is lost or expired."""
        while not self.lost:
            limit = timeout()
            remaining = self.last_active + limit - self.clock.monotonic()
            if remaining <= 0 and not self.hold:
                self.fail(IdleTimeout())
                self.abort()
                return
            await self.clock.sleep(max(remaining, 0.05 * limit, 0.01))


async def race(clock: Clock, aw: Any, seconds: float) -> Any:
    """Await ``aw`` for at most ``seconds`` of clock time (TimeoutError after)."""
    task = asyncio.ensure_future(aw)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        timer.cancel()
    if task.done():
        return task.result()
    task.cancel()
    raise TimeoutError()
