"""Noticing at once when a process-driver container's shim exits.

Linux gives a *pidfd* for any process, child or not (``os.pidfd_open``); it
turns readable when the process exits, so the event loop watches it like a
socket: no polling, and it works for shims started by an earlier Gureum
(adoption).  Where pidfds are missing (old kernels, macOS) a daemon thread
waits on the process with psutil instead.

Shims this Gureum started are its children and must be reaped; ``reap``
polls them (cheap) and runs on every exit and inspect.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil  # type: ignore[import-untyped]


@dataclass
class _Watch:
    pid: int
    loop: asyncio.AbstractEventLoop
    fd: int | None
    exited: asyncio.Event = field(default_factory=asyncio.Event)


class ShimWatcher:
    def __init__(self, on_exit: Callable[[str], None]) -> None:
        self._on_exit = on_exit
        self._watched: dict[str, _Watch] = {}
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def watch(self, key: str, pid: int, child: subprocess.Popen[bytes] | None) -> None:
        """Call ``on_exit(key)`` in this loop when ``pid`` exits (once)."""
        loop = asyncio.get_running_loop()
        if child is not None:
            self._children[pid] = child
        old = self._watched.get(key)
        if old is not None:
            if old.pid == pid and old.loop is loop:
                return
            self._drop(key)
        try:
            fd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            watch = _Watch(pid, loop, None)
            self._watched[key] = watch
            loop.call_soon(self._fired, key, watch)
            return
        except (AttributeError, OSError):
            fd = None
        watch = _Watch(pid, loop, fd)
        self._watched[key] = watch
        if fd is not None:
            loop.add_reader(fd, self._fired, key, watch)
        else:
            threading.Thread(target=self._wait_thread, args=(key, watch), daemon=True).start()

    def _wait_thread(self, key: str, watch: _Watch) -> None:
        try:
            psutil.Process(watch.pid).wait()
        except psutil.Error:
            pass
        try:
            watch.loop.call_soon_threadsafe(self._fired, key, watch)
        except RuntimeError:
            pass

    def _fired(self, key: str, watch: _Watch) -> None:
        if self._watched.get(key) is not watch:
            return
        self._drop(key)
        self.reap()
        watch.exited.set()
        self._on_exit(key)

    def _drop(self, key: str) -> None:
        watch = self._watched.pop(key, None)
        if watch is not None and watch.fd is not None:
            if not watch.loop.is_closed():
                watch.loop.remove_reader(watch.fd)
            os.close(watch.fd)

    def watching(self, key: str) -> bool:
        watch = self._watched.get(key)
        return watch is not None and watch.loop is asyncio.get_running_loop()

    async def wait(self, key: str, timeout: float) -> bool:
        """Whether the watched shim exited within ``timeout`` seconds (True if not watched)."""
        watch = self._watched.get(key)
        if watch is None:
            return True
        try:
            await asyncio.wait_for(watch.exited.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def reap(self) -> None:
        for pid, child in list(self._children.items()):
            if child.poll() is not None:
                del self._children[pid]

    def close(self) -> None:
        for key in list(self._watched):
            self._drop(key)
