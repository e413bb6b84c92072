"""The process driver's shim as a child subreaper: daemons stay inside their container.

A program that daemonizes (busybox ``httpd`` without ``-f``, anything that
forks, lets its parent exit and calls ``setsid``) leaves the command's
process group, so signalling the group misses it, and as an orphan it
would be handed to init and outlive its container.  On Linux the shim marks
itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): orphans of
its descendants are handed to the shim instead, so everything a container
starts stays a descendant of its shim.  Then:

* the driver's ``stop``/``kill`` signal the command's group *and* every
  descendant of the shim (:func:`signal_all`);
* when the command exits, the shim kills whatever is left and reaps it
  before recording the exit (:meth:`Reaper.kill_all`), as a container's
  processes die with its PID 1.

Adopted orphans that exit while the container runs are the shim's zombies
to reap: a thread (:meth:`Reaper.start`) waits for any child to exit
without reaping it (``waitid(WNOWAIT)``) and reaps it when it is an
orphan.  The shim's own children (the command, health checks) are left to
the ``Popen`` that waits for them: they are started under the reaper's lock
(:meth:`Reaper.popen`), so an exit the thread sees is of a child already
registered, and the thread waits until its owner has reaped it.

Where there is no subreaper (not Linux), only the process group is
reached, as before.  A shim killed with ``kill -9`` cannot clean up: the
driver then kills the command's group (``stray_group``), not the daemons.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from typing import Any

import psutil  # type: ignore[import-untyped]

PR_SET_CHILD_SUBREAPER = 36
KILL_ROUNDS = 20  # a process may fork while we kill: go round until nothing is left
ROUND_WAIT = 0.5  # seconds for the killed to die, per round


def become_subreaper() -> bool:
    """Mark this process a child subreaper (Linux ≥ 3.4); False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def descendants(pid: int) -> list[Any]:
    """Every descendant of ``pid`` (psutil processes), none if it is gone."""
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def signal_all(pgid: int, shim_pid: int | None, sig: int) -> None:
    """Signal the command's process group and every other process under the shim."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for proc in descendants(shim_pid) if shim_pid else []:
        try:
            proc.send_signal(sig)
        except psutil.Error:
            pass


class Reaper:
    """The shim's children: its own (each reaped by its ``Popen``) and adopted orphans (reaped here)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._own: set[int] = set()

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start a child of the shim's own; call :meth:`waited` once its ``Popen`` has reaped it."""
        with self._cond:
            proc = subprocess.Popen(argv, **kwargs)
            self._own.add(proc.pid)
        return proc

    def waited(self, pid: int) -> None:
        with self._cond:
            self._own.discard(pid)
            self._cond.notify_all()

    def run(self, argv: list[str], timeout: float, **kwargs: Any) -> int:
        """Run a child of the shim's own to its end (killed after ``timeout``); its return code."""
        proc = self.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            self.waited(proc.pid)

    def start(self) -> None:
        threading.Thread(target=self._loop, name="reaper", daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                return  # no child left: the container is over
            if info is None:
                continue
            pid = info.si_pid
            with self._cond:
                while pid in self._own:  # its Popen reaps it
                    self._cond.wait()
            try:
                os.waitpid(pid, os.WNOHANG)  # an orphan (or an own child already reaped: ECHILD)
            except ChildProcessError:
                pass

    def kill_all(self, pgid: int) -> None:
        """Kill and reap every process left under the shim (the command has exited)."""
        for _ in range(KILL_ROUNDS):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            left = descendants(os.getpid())
            if not left:
                return
            for proc in left:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(left, timeout=ROUND_WAIT)  # reaps the shim's children among them
