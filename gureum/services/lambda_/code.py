"""Deployment packages on disk: stored zips and their unpacked task roots.

Layout under ``<data_dir>/lambda/``::

    <account>/<region>/<function>/<sha256 hex>.zip   the package as uploaded
    <account>/<region>/<function>/<sha256 hex>/      unpacked: LAMBDA_TASK_ROOT
    tmp/                                             packages being received

Packages are content-addressed by their SHA-256 (hex here; the API shows it
as base64 ``CodeSha256``), one level per account and region because function
names are only unique there.  A published version names the digest it was
published with, so its code stays as it was whatever ``$LATEST`` becomes: a
package file is never rewritten, only removed by :meth:`CodeStore.collect`
once neither ``$LATEST`` nor any version names it.

Rules that make a crash harmless: a package is written to ``tmp/``, checked
(:func:`check_zip`), then renamed into place; a task root is unpacked into a
sibling temp directory and renamed into place, so a task root that exists is
whole.  Everything here is blocking file I/O: callers run it in a thread.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from gureum.core.store import Scope
from gureum.services.lambda_.config import CodeInfo

MAX_UNZIPPED = 262_144_000  # 250 MB, AWS's limit for a function's unzipped code
BAD_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
_CHUNK = 1024 * 1024


class ZipProblem(Exception):
    """The package is not a zip Lambda can unpack (message: AWS's wording)."""


def check_zip(path: Path) -> None:
    """A readable zip whose members stay inside the task root and fit AWS's size limit."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ZipProblem(BAD_ZIP) from exc
    total = 0
    for info in infos:
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if info.filename.startswith(("/", "\\")) or ".." in parts:
            raise ZipProblem(BAD_ZIP)
        total += info.file_size
    if total > MAX_UNZIPPED:
        raise ZipProblem(f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes")


def sha256_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


class CodeStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def function_dir(self, scope: Scope, name: str) -> Path:
        return self.root / (scope.account or "_") / (scope.region or "_") / name

    def zip_path(self, scope: Scope, name: str, sha_hex: str) -> Path:
        return self.function_dir(scope, name) / f"{sha_hex}.zip"

    def task_root(self, scope: Scope, name: str, sha_hex: str) -> Path:
        return self.function_dir(scope, name) / sha_hex

    # -- receiving packages --------------------------------------------------------

    def store_bytes(self, scope: Scope, name: str, data: bytes) -> CodeInfo:
        return self._store(scope, name, lambda f: _write_all(f, data))

    def store_file(self, scope: Scope, name: str, source: BinaryIO) -> CodeInfo:
        return self._store(scope, name, lambda f: _copy(source, f))

    def _store(self, scope: Scope, name: str, fill: Callable[[BinaryIO], tuple[str, int]]) -> CodeInfo:
        self.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{uuid.uuid4().hex}.zip"
        try:
            with open(tmp, "wb") as f:
                digest, size = fill(f)
            check_zip(tmp)
            dest = self.zip_path(scope, name, digest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return CodeInfo(sha256_b64(digest), digest, size)

    # -- task roots ------------------------------------------------------------------

    def ensure_unpacked(self, scope: Scope, name: str, sha_hex: str) -> Path:
        """The task root of a stored package, unpacking it first if needed (idempotent)."""
        root = self.task_root(scope, name, sha_hex)
        if root.is_dir():
            return root
        package = self.zip_path(scope, name, sha_hex)
        work = root.with_name(f".{sha_hex}.{uuid.uuid4().hex[:8]}")
        try:
            _unpack(package, work)
            try:
                os.rename(work, root)
            except OSError:
                if not root.is_dir():  # not a lost race with another unpacker
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return root

    def collect(self, scope: Scope, name: str, keep: set[str]) -> None:
        """Remove packages and task roots of ``name`` whose digest is not in ``keep``."""
        folder = self.function_dir(scope, name)
        if not folder.is_dir():
            return
        for p in folder.iterdir():
            digest = p.name.removesuffix(".zip")
            if digest in keep or p.name.startswith("."):
                continue
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    def remove_function(self, scope: Scope, name: str) -> None:
        shutil.rmtree(self.function_dir(scope, name), ignore_errors=True)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _write_all(f: BinaryIO, data: bytes) -> tuple[str, int]:
    f.write(data)
    return hashlib.sha256(data).hexdigest(), len(data)


def _copy(source: BinaryIO, f: BinaryIO) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    while chunk := source.read(_CHUNK):
        f.write(chunk)
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _unpack(package: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    with zipfile.ZipFile(package) as zf:
        for info in zf.infolist():
            target = zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                # Keep the executable bits a package was built with (zipfile drops them).
                os.chmod(target, mode | stat.S_IRUSR)
