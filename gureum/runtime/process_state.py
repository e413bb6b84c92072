"""Reading a process-driver container's folder: state, stats, logs, exec.

Blocking helpers (file reads, psutil, subprocess); the driver calls them off
the event loop where they may take long.

A container is ``running`` while its shim lives: the pid in ``state.json``
exists, is not a zombie and was created when the shim said (so a reused pid
after a reboot does not count).  A shim that died without recording an exit
(``kill -9`` of the shim, a reboot) leaves a container ``exited`` with exit
code 255 and an error saying so.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from gureum.core.clock import RealClock
from gureum.runtime.base import (
    ContainerState,
    ExecResult,
    Health,
    LogLine,
    NotFound,
    PublishedPort,
    Stats,
    Status,
)
from gureum.runtime.process_layout import CONFIG, HEALTH, STATE, read_json

_CLOCK = RealClock()
LOST_EXIT_CODE = 255


def parse_handshake(line: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(line.decode() or "{}")
    except ValueError:
        return {"ok": False, "error": f"the shim said {line[:200]!r}"}
    if not doc:
        return {"ok": False, "error": "the shim exited before starting the command (see shim.log)"}
    return doc if isinstance(doc, dict) else {"ok": False, "error": "bad handshake"}


def live_shim(cdir: Path) -> int | None:
    """The shim's pid if it still runs and its command has not finished."""
    state = read_json(cdir / STATE) or {}
    pid, started = state.get("shim_pid"), state.get("shim_started")
    if not pid or state.get("finished_at") is not None:
        return None
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if started is not None and abs(proc.create_time() - float(started)) > 1.0:
            return None
    except psutil.Error:
        return None
    return int(pid)


def stray_group(cdir: Path) -> int | None:
    """The command's process group if it outlived a dead shim (a ``kill -9`` of the shim)."""
    state = read_json(cdir / STATE) or {}
    pid, started = state.get("pid"), state.get("shim_started")
    if not pid or state.get("finished_at") is not None or live_shim(cdir) is not None:
        return None
    try:
        proc = psutil.Process(int(pid))
        if started is not None and proc.create_time() + 1.0 < float(started):
            return None  # an older process that reuses the pid
    except psutil.Error:
        return None
    return int(pid)


def container_state(cdir: Path) -> ContainerState:
    config = read_json(cdir / CONFIG)
    if config is None:
        raise NotFound(f"no such container: {cdir.name}")
    state = read_json(cdir / STATE)
    exit_code, error, pid = None, "", None
    if state is None:
        status = Status.CREATED
    elif state.get("finished_at") is not None:
        status, exit_code, error = Status.EXITED, state.get("exit_code"), str(state.get("error") or "")
    elif live_shim(cdir) is not None:
        status, pid = Status.RUNNING, state.get("pid")
    else:
        status, exit_code = Status.EXITED, LOST_EXIT_CODE
        error = "the shim supervising this container died; its exit status is unknown"
    health_doc = read_json(cdir / HEALTH) if config.get("healthcheck") and state else None
    health = Health(health_doc["status"]) if health_doc else None
    if health is None and config.get("healthcheck") and status is Status.RUNNING:
        health = Health.STARTING
    ip = config.get("ip")
    ports = tuple(PublishedPort(int(p), str(proto), ip or "127.0.0.1", int(p)) for p, proto in config.get("ports", []))
    return ContainerState(
        id=config["id"],
        name=config["name"],
        image=config["image"],
        status=status,
        labels=dict(config.get("labels") or {}),
        exit_code=None if exit_code is None else int(exit_code),
        pid=int(pid) if pid else None,
        created_at=config.get("created_at"),
        started_at=(state or {}).get("started_at"),
        finished_at=(state or {}).get("finished_at"),
        error=error,
        ip=ip,
        ports=ports if status is Status.RUNNING else (),
        health=health,
        oom_killed=False,
    )


@dataclass(frozen=True, slots=True)
class Sample:
    cpu_seconds: float
    at: float
    rss: int


def sample(pid: int | None) -> Sample:
    """CPU seconds and resident memory of a process and all its descendants."""
    at = _CLOCK.monotonic()
    if pid is None:
        return Sample(0.0, at, 0)
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return Sample(0.0, at, 0)
    cpu, rss = 0.0, 0
    for p in procs:
        try:
            with p.oneshot():
                t = p.cpu_times()
                cpu += t.user + t.system
                rss += p.memory_info().rss
        except psutil.Error:
            continue
    return Sample(cpu, at, rss)


def stats(now: Sample, previous: tuple[float, float] | None, memory_limit: int | None) -> Stats:
    percent = 0.0
    if previous is not None and now.at > previous[1]:
        percent = max(0.0, (now.cpu_seconds - previous[0]) / (now.at - previous[1]) * 100.0)
    return Stats(
        cpu_percent=round(percent, 3),
        memory_bytes=now.rss,
        memory_limit=memory_limit or psutil.virtual_memory().total,
        online_cpus=psutil.cpu_count() or 1,
    )


def run_exec(config: dict[str, Any], command: list[str]) -> ExecResult:
    try:
        done = subprocess.run(
            command, cwd=config["cwd"], env=config["env"], capture_output=True,
            user=config.get("uid"), group=config.get("gid"), check=False,
        )
    except FileNotFoundError:
        return ExecResult(127, "", f'exec: "{command[0]}": executable file not found in $PATH\n')
    except PermissionError:
        return ExecResult(126, "", f'exec: "{command[0]}": permission denied\n')
    code = 128 - done.returncode if done.returncode < 0 else done.returncode
    return ExecResult(code, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))


class LogReader:
    """Reads ``log.jsonl`` from where it last stopped; keeps a partial last line."""

    def __init__(self, path: Path, since: float | None) -> None:
        self.path, self.since = path, since
        self._offset = 0
        self._partial = b""

    def read_available(self) -> list[LogLine]:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        out = []
        for raw in lines:
            try:
                doc = json.loads(raw)
            except ValueError:
                continue
            if self.since is None or doc["t"] >= self.since:
                out.append(LogLine(float(doc["t"]), str(doc["s"]), str(doc["l"])))
        return out
