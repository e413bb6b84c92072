"""Connections from a load balancer to its targets, kept alive and reused.

One :class:`Pool` per load balancer.  ``acquire`` hands out an idle
connection to the target if one is still open, else opens a new one (10 s
connect timeout, as ALB: past it the request gets a 504; a refused or reset
connect gets a 502).  ``release`` keeps a connection whose last response
left it reusable; at most ``MAX_IDLE`` per target.

Each connection runs the idle watchdog with the balancer's idle timeout:
while a request waits for its response it is what turns silence into a 504,
and in the pool it closes connections idle for that long.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

from gureum.core.clock import Clock
from gureum.services.elbv2.conn import Conn, race

CONNECT_TIMEOUT = 10.0
MAX_IDLE = 256

Key = tuple[str, int, bool]


class ConnectFailed(Exception):
    """The target refused or reset the connection (502)."""


class ConnectTimeout(Exception):
    """The target did not accept the connection in time (504)."""


class Pool:
    def __init__(
        self,
        clock: Clock,
        spawn: Callable[[Any], Any],
        idle_timeout: Callable[[], float],
        tls: Callable[[], ssl.SSLContext],
    ) -> None:
        self.clock = clock
        self.spawn = spawn
        self.idle_timeout = idle_timeout
        self.tls = tls
        self.idle: dict[Key, list[Conn]] = {}

    async def acquire(self, host: str, port: int, secure: bool, fresh: bool = False) -> tuple[Conn, bool]:
        """A connection to ``host:port`` and whether it was reused."""
        key = (host, port, secure)
        idle = self.idle.get(key)
        while idle and not fresh:
            conn = idle.pop()
            if conn.usable:
                conn.reused += 1
                return conn, True
            conn.abort()
        return await self._connect(host, port, secure), False

    async def _connect(self, host: str, port: int, secure: bool) -> Conn:
        loop = asyncio.get_running_loop()
        try:
            _, proto = await race(
                self.clock,
                loop.create_connection(
                    lambda: Conn(self.clock), host, port, ssl=self.tls() if secure else None
                ),
                CONNECT_TIMEOUT,
            )
        except TimeoutError:
            raise ConnectTimeout(f"{host}:{port}") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(f"{host}:{port}: {exc}") from exc
        conn: Conn = proto
        conn.start_watch(self.spawn, self.idle_timeout)
        return conn

    def release(self, host: str, port: int, secure: bool, conn: Conn) -> None:
        idle = self.idle.setdefault((host, port, secure), [])
        if conn.usable and len(idle) < MAX_IDLE:
            idle.append(conn)
        else:
            conn.close()

    def close_all(self) -> None:
        for conns in self.idle.values():
            for conn in conns:
                conn.abort()
        self.idle.clear()
