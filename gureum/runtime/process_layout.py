"""On-disk layout of the process driver's containers, shared by the driver and its shim.

One folder per container under ``<root>/containers/<id>/``:

``config.json``
    written once by the driver at ``create``: name, image, labels, the
    resolved ``argv``, ``env`` and ``cwd``, limits, healthcheck, ports.
``state.json``
    written by the shim: ``shim_pid``/``shim_started`` when it runs,
    ``pid``/``started_at`` once the command runs, ``exit_code``/
    ``finished_at``/``error`` when it ends.  Each start replaces it.
``health.json``
    written by the shim after each health check (when one is set).
``log.jsonl``
    one JSON object per output line: ``{"t": epoch, "s": "stdout"|"stderr",
    "l": text}``; appended by the shim, whole lines per ``write``.
``work/``
    the container's files: its working directory and the root of
    ``working_dir`` paths.

Rule: every JSON file is replaced atomically (write a temporary file, then
``rename``), so a reader never sees half a document, even after ``kill -9``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONFIG = "config.json"
STATE = "state.json"
HEALTH = "health.json"
LOG = "log.jsonl"
WORK = "work"


def write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with path.open() as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def containers_dir(root: Path) -> Path:
    return root / "containers"


def images_dir(root: Path) -> Path:
    return root / "images"
