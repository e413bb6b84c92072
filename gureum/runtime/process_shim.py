"""The process driver's shim: supervises one container's command, like containerd's shim.

Run as ``python -m gureum.runtime.process_shim <container-dir>`` in its own
session, so it outlives a restart of Gureum: the command keeps running, its
output is still captured, and its exit code is still recorded; the next
Gureum re-adopts it from the files (see :mod:`process_layout`).

Theory of operation:

1. read ``config.json``; become a child subreaper (:mod:`process_reaper`:
   a daemon that leaves the command's group stays the shim's descendant);
   start the command in its own process group (so a signal to the group
   reaches everything it started), with rlimits set before ``exec``;
2. tell the driver how that went with one JSON line on stdout (the
   handshake: ``{"ok": true, "pid": N}`` or ``{"ok": false, "error": …}``),
   then detach stdout;
3. copy stdout/stderr into ``log.jsonl`` line by line with timestamps; run
   the health check every interval when one is set;
4. when the command exits: kill and reap everything left under the shim,
   its process group and escaped daemons alike (as a container's processes
   die with its PID 1), record the exit code (128 + signal when killed, as
   Docker reports) and end.

A command that cannot be executed ends the same way with exit code 127
(not found) or 126 (not executable) and an ``error``, as with Docker.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import psutil  # type: ignore[import-untyped]

from gureum.core.clock import RealClock
from gureum.runtime.base import HealthCheck
from gureum.runtime.health import HealthState, next_health
from gureum.runtime.process_layout import CONFIG, HEALTH, LOG, STATE, read_json, write_json
from gureum.runtime.process_reaper import Reaper, become_subreaper

_CLOCK = RealClock()

RLIMITS = {
    "as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA",
    "fsize": "RLIMIT_FSIZE", "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK",
    "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE",
    "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
    "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
}


def _limits(config: dict[str, Any]) -> list[tuple[int, int, int]]:
    out = []
    for name, soft, hard in config.get("rlimits", []):
        attr = RLIMITS.get(name)
        if attr and hasattr(resource, attr):
            out.append((getattr(resource, attr), int(soft), int(hard)))
    return out


def _spawn(config: dict[str, Any], reaper: Reaper) -> subprocess.Popen[bytes]:
    limits = _limits(config)

    def before_exec() -> None:
        for which, soft, hard in limits:
            resource.setrlimit(which, (soft, hard))

    return reaper.popen(
        config["argv"],
        cwd=config["cwd"],
        env=config["env"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        process_group=0,
        preexec_fn=before_exec,
        user=config.get("uid"),
        group=config.get("gid"),
        close_fds=True,
    )


def _exec_error(exc: OSError, argv0: str) -> tuple[int, str]:
    if isinstance(exc, FileNotFoundError):
        return 127, f'exec: "{argv0}": executable file not found in $PATH'
    if isinstance(exc, PermissionError):
        return 126, f'exec: "{argv0}": permission denied'
    return 126, f'exec: "{argv0}": {exc.strerror or exc}'


class _LogWriter:
    def __init__(self, path: Path) -> None:
        self._f = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def copy(self, stream: IO[bytes], name: str) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", errors="replace").rstrip("\n")
            line = json.dumps({"t": _CLOCK.now(), "s": name, "l": text}, ensure_ascii=False) + "\n"
            with self._lock:
                self._f.write(line)
                self._f.flush()

    def close(self) -> None:
        self._f.close()


def _health_loop(
    cdir: Path, config: dict[str, Any], started_at: float, done: threading.Event, reaper: Reaper
) -> None:
    hc = config["healthcheck"]
    check = HealthCheck(tuple(hc["test"]), hc["interval"], hc["timeout"], hc["retries"], hc["start_period"])
    argv = list(check.test[1:])
    if check.test[0] == "CMD-SHELL":
        argv = ["sh", "-c", " ".join(argv)]
    state = HealthState()
    write_json(cdir / HEALTH, {"status": state.status.value, "failing_streak": 0})
    while not done.wait(check.interval):
        try:
            rc = reaper.run(argv, check.timeout, cwd=config["cwd"], env=config["env"])
        except (OSError, subprocess.TimeoutExpired):
            rc = 1
        if done.is_set():
            return
        state = next_health(state, check, rc == 0, started_at, _CLOCK.now())
        write_json(cdir / HEALTH, {"status": state.status.value, "failing_streak": state.failing_streak})


def _handshake(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def run(cdir: Path) -> int:
    config = read_json(cdir / CONFIG)
    if config is None:
        _handshake({"ok": False, "error": f"no {CONFIG} in {cdir}"})
        return 2
    base = {"shim_pid": os.getpid(), "shim_started": psutil.Process().create_time()}
    become_subreaper()
    reaper = Reaper()
    try:
        proc = _spawn(config, reaper)
    except (OSError, KeyError, ValueError) as exc:
        code, error = _exec_error(exc, config["argv"][0]) if isinstance(exc, OSError) else (126, str(exc))
        now = _CLOCK.now()
        write_json(cdir / STATE, {**base, "started_at": None, "finished_at": now, "exit_code": code, "error": error})
        _handshake({"ok": False, "error": error, "exit_code": code})
        return 0
    started_at = _CLOCK.now()
    write_json(cdir / STATE, {**base, "pid": proc.pid, "started_at": started_at})
    _handshake({"ok": True, "pid": proc.pid})
    reaper.start()
    logs = _LogWriter(cdir / LOG)
    readers = [
        threading.Thread(target=logs.copy, args=(s, n), daemon=True)
        for s, n in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))
    ]
    for t in readers:
        t.start()
    done = threading.Event()
    if config.get("healthcheck"):
        threading.Thread(target=_health_loop, args=(cdir, config, started_at, done, reaper), daemon=True).start()
    rc = proc.wait()
    reaper.waited(proc.pid)
    done.set()
    reaper.kill_all(proc.pid)  # what the command left behind dies with it
    for t in readers:
        t.join(timeout=2.0)
    logs.close()
    code = 128 - rc if rc < 0 else rc
    write_json(
        cdir / STATE,
        {**base, "pid": proc.pid, "started_at": started_at, "finished_at": _CLOCK.now(), "exit_code": code, "error": ""},
    )
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(run(Path(sys.argv[1])))
