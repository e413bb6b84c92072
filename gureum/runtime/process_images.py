"""What an "image" means to the process driver.

The process driver runs host programs, so it cannot run an arbitrary Docker
image.  It knows three kinds:

* ``gureum/busybox[:latest]`` — host programs, with the host's busybox
  applets (``sh``, ``httpd``, ``wget``…) first on ``PATH``, so the same task
  definition runs on both drivers;
* ``gureum/host[:latest]`` — host programs with the host's ``PATH``;
* snapshots made by ``commit``: a copy of a container's ``work/`` folder plus
  its entrypoint, command, environment and working dir, stored under
  ``<root>/images/<quoted name>/``.  A container created from one starts
  with a copy of those files.

Anything else is :class:`ImageNotFound` (an ECS task then stops with
``CannotPullContainerError``, which is the truth: it was not pulled).
"""

from __future__ import annotations

import shutil
import tempfile
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gureum.runtime.images import BaseImageError, applet_paths, find_busybox
from gureum.runtime.process_layout import WORK, images_dir, read_json, write_json

HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX = "gureum/busybox:latest"
HOST = "gureum/host:latest"


@dataclass(frozen=True, slots=True)
class ProcessImage:
    name: str
    base: str  # BUSYBOX or HOST: which PATH the programs get
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    files: Path | None = None  # a snapshot's files, copied into each container


def normalize(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in last else image + ":latest"


def snapshot_dir(root: Path, image: str) -> Path:
    return images_dir(root) / urllib.parse.quote(normalize(image), safe="")


def resolve(root: Path, image: str) -> ProcessImage | None:
    name = normalize(image)
    if name == BUSYBOX:
        return ProcessImage(name, BUSYBOX, cmd=["sh"])
    if name == HOST:
        return ProcessImage(name, HOST, cmd=["sh"])
    meta = read_json(snapshot_dir(root, name) / "meta.json")
    if meta is None:
        return None
    return ProcessImage(
        name=name,
        base=str(meta.get("base", HOST)),
        entrypoint=list(meta.get("entrypoint") or []),
        cmd=list(meta.get("cmd") or []),
        env=dict(meta.get("env") or {}),
        working_dir=str(meta.get("working_dir") or ""),
        files=snapshot_dir(root, name) / WORK,
    )


def save_snapshot(root: Path, image: str, work: Path, meta: dict[str, Any]) -> None:
    """Copy ``work`` into a new snapshot named ``image`` (replacing an older one)."""
    target = snapshot_dir(root, image)
    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copytree(work, staging / WORK, symlinks=True)
    write_json(staging / "meta.json", {**meta, "name": normalize(image)})
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def remove_snapshot(root: Path, image: str) -> bool:
    target = snapshot_dir(root, image)
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True


def busybox_bin(root: Path) -> Path:
    """A folder of applet links to the host's busybox (made once; safe for concurrent callers).

    The links are made in a private temporary folder which is then renamed
    into place: ``rename`` of a directory is atomic and refuses to replace a
    non-empty one, so a caller sees either no folder or a complete one, and
    when several callers race, the first rename wins and the others discard
    their copy.  A folder without ``sh`` (left by an older, non-atomic
    version) is moved aside first.
    """
    folder = root / "busybox-bin"
    if (folder / "sh").exists():
        return folder
    busybox = find_busybox()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".busybox-bin.", dir=root))
    try:
        for name in sorted({path.rsplit("/", 1)[-1] for path in applet_paths(busybox)} - {""}):
            (staging / name).symlink_to(busybox)
        for _ in range(3):
            try:
                staging.rename(folder)
                return folder
            except OSError:  # ENOTEMPTY/EEXIST: someone else's rename won
                if (folder / "sh").exists():
                    return folder
                _discard(folder)
        raise BaseImageError(f"cannot put the busybox applet folder in place at {folder}")
    finally:
        _discard(staging)


def _discard(folder: Path) -> None:
    """Remove ``folder`` without a window where a half-removed copy sits at its name."""
    if not folder.exists() and not folder.is_symlink():
        return
    aside = folder.with_name(f".{folder.name}.trash.{uuid.uuid4().hex}")
    try:
        folder.rename(aside)
    except FileNotFoundError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def path_for(root: Path, image: ProcessImage) -> str:
    if image.base == BUSYBOX:
        try:
            return f"{busybox_bin(root)}:{HOST_PATH}"
        except BaseImageError:
            return HOST_PATH
    return HOST_PATH
