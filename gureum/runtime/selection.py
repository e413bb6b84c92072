"""Choosing and opening the runtime driver for a data dir (``--runtime auto|docker|process``).

``auto`` is docker when an engine answers, else the process driver, so
``gureum up`` works anywhere.  The data dir id that every container is
labelled with is made once, stored in ``<data dir>/runtime/data-dir-id``,
and so stays the same across restarts and moves (adoption keys on it).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from gureum.runtime.base import EngineUnavailable, RuntimeDriver

log = logging.getLogger("gureum.runtime")


def data_dir_id(data_path: Path) -> str:
    path = data_path / "runtime" / "data-dir-id"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    # First made from the path, as gureum.services.ecs.runtime_link derives it,
    # then kept: moving the data dir does not orphan its containers.
    new = hashlib.sha256(str(data_path.resolve()).encode()).hexdigest()[:12]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(new + "\n")
    tmp.replace(path)
    return new


async def open_driver(kind: str, data_path: Path, docker_url: str | None = None) -> RuntimeDriver:
    """The driver ``kind`` asks for; ``auto`` falls back to processes when no engine answers."""
    if kind not in ("auto", "docker", "process"):
        raise ValueError(f"runtime must be auto, docker or process, not {kind!r}")
    ident = data_dir_id(data_path)
    if kind in ("auto", "docker"):
        from gureum.runtime.docker import DockerDriver

        try:
            return await DockerDriver.connect(ident, docker_url)
        except EngineUnavailable as exc:
            if kind == "docker":
                raise
            log.info("no Docker engine answers (%s); using the process driver", exc)
    from gureum.runtime.process import ProcessDriver

    return ProcessDriver(data_path / "runtime" / "process", ident)
