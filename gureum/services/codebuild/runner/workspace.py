"""A build's folder on the host, its source, and its buildspec.

Layout under the data dir::

    codebuild/<build uuid>/src/   CODEBUILD_SRC_DIR: the source, unpacked
    codebuild/<build uuid>/tmp/   the phase scripts, their results, the carried env

On the docker driver the build folder is bound at ``/codebuild/output`` in
each phase's container (``CODEBUILD_SRC_DIR=/codebuild/output/src``); the
process driver shares the host's files, so there the variables hold host
paths.  The folder goes away when the build completes.

Sources (the ``_run.source`` of a build): ``S3`` (a zip at
``bucket/key``, optionally a version id), ``ZIP_PATH`` (a zip file on the
host, what CodePipeline hands over) and ``NO_SOURCE``.  A failed download
raises :class:`SourceError` with CodeBuild's ``CLIENT_ERROR``.  Unpacking
keeps file modes (scripts stay executable) and refuses entries that would
land outside ``src/``.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.services.codebuild.buildspec import BuildspecError, looks_inline

if TYPE_CHECKING:
    from gureum.app import App

CONTAINER_ROOT = "/codebuild/output"
DEFAULT_BUILDSPEC = "buildspec.yml"


class SourceError(Exception):
    """The source could not be fetched; ``str()`` is the phase context message."""

    status_code = "CLIENT_ERROR"


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path  # on the host

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def make(self) -> None:
        self.src.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def workspace_for(app: App, build_uuid: str) -> Workspace:
    return Workspace(app.data_path / "codebuild" / build_uuid)


# -- source -------------------------------------------------------------------------------------


def split_location(location: str) -> tuple[str, str]:
    """``bucket/key`` (or ``arn:aws:s3:::bucket/key``) → (bucket, key)."""
    if location.startswith("arn:aws:s3:::"):
        location = location[len("arn:aws:s3:::") :]
    bucket, _, key = location.strip("/").partition("/")
    return bucket, key


def fetch_source(app: App, source: dict[str, Any], dest: Path) -> str:
    """Unpack the build's source into ``dest``; returns the resolved source version."""
    kind = source.get("type")
    if kind == "NO_SOURCE":
        return ""
    if kind == "ZIP_PATH":
        try:
            with open(source["path"], "rb") as f:
                extract_zip(f, dest)
        except FileNotFoundError:
            raise SourceError(f"the source artifact {source['path']} does not exist") from None
        return str(source.get("version") or "")
    if kind == "S3":
        return _fetch_s3(app, source, dest)
    raise SourceError(f"source type {kind} is not supported by Gureum (use S3, NO_SOURCE or CODEPIPELINE)")


def _fetch_s3(app: App, source: dict[str, Any], dest: Path) -> str:
    from gureum.services.s3.public import open_object

    bucket, key = split_location(source.get("location", ""))
    version = source.get("version") or None
    try:
        f, doc = open_object(app, bucket, key, version)
    except ServiceError as exc:
        raise SourceError(
            f"{exc.code}: {exc.message} for primary source and source version {version or '$LATEST'}"
        ) from None
    with f:
        extract_zip(f, dest)
    resolved = doc.get("VersionId")
    return str(resolved if resolved and resolved != "null" else str(doc.get("ETag", "")).strip('"'))


def extract_zip(fileobj: IO[bytes], dest: Path) -> int:
    """Unpack a zip into ``dest`` (file modes kept, nothing outside ``dest``); returns the file count."""
    root = dest.resolve()
    count = 0
    try:
        with zipfile.ZipFile(fileobj) as zf:
            for info in zf.infolist():
                target = (root / info.filename).resolve()
                if target != root and root not in target.parents:
                    raise SourceError(f"zip entry {info.filename!r} points outside the source directory")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    os.chmod(target, mode | stat.S_IRUSR | stat.S_IWUSR)
                count += 1
    except zipfile.BadZipFile as exc:
        raise SourceError(f"the source is not a valid zip file: {exc}") from None
    return count


# -- buildspec ----------------------------------------------------------------------------------


def buildspec_text(app: App, value: str | None, src: Path) -> str:
    """The buildspec YAML: inline, a file in the source, or an S3 object ARN."""
    value = (value or "").strip()
    if value and looks_inline(value):
        return value
    if value.startswith("arn:aws:s3:::"):
        from gureum.services.s3.public import read_object

        bucket, key = split_location(value)
        try:
            return read_object(app, bucket, key).decode("utf-8", errors="replace")
        except ServiceError as exc:
            raise BuildspecError(f"YAML file does not exist: {value} ({exc.code})") from None
    rel = value or DEFAULT_BUILDSPEC
    path = (src / rel).resolve()
    if src.resolve() not in path.parents:
        raise BuildspecError(f"YAML file does not exist: {rel} is outside the source directory")
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise BuildspecError(f"YAML file does not exist: no {rel} in the source root") from None


def list_files(src: Path) -> list[str]:
    """Every file under ``src`` as a relative POSIX path."""
    out: list[str] = []
    for dirpath, _dirs, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        for name in files:
            out.append((rel / name).as_posix() if str(rel) != "." else name)
    return out
