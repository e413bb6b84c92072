"""Revisions: reading an AppSpec (ECS, Lambda) and turning a Server bundle
into a tar archive for the instances.

* :func:`appspec_text` — the AppSpec of an ECS/Lambda revision: the
  ``AppSpecContent``/``String`` content, or the S3 object (YAML/JSON).
* :func:`convert_bundle` — pure: a ``zip``/``tar``/``tgz`` bundle's bytes →
  :class:`Bundle` (an uncompressed tar of the same files with their modes,
  the AppSpec text found at the bundle's root, the file list).  Entries that
  would land outside the bundle (absolute paths, ``..``) are refused, so
  unpacking inside an instance cannot write elsewhere.
* :func:`read_s3` — the bytes of an S3 revision (its version when given).

Errors are :class:`RevisionError` with the code the deployment fails with
(``REVISION_MISSING``, ``INVALID_REVISION``).
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.services.codedeploy import links

if TYPE_CHECKING:
    from gureum.app import App

APPSPEC_NAMES = ("appspec.yml", "appspec.yaml", "appspec.json")
MAX_BUNDLE = 512 * 1024 * 1024


class RevisionError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Bundle:
    tar: bytes
    appspec: str
    files: tuple[str, ...]


def read_s3(app: App, revision: dict[str, Any]) -> bytes:
    loc = revision.get("s3Location") or {}
    try:
        f, meta = links.open_object(app, loc["bucket"], loc["key"], loc.get("version"))
    except ServiceError as exc:
        raise RevisionError("REVISION_MISSING", f"The revision s3://{loc.get('bucket')}/{loc.get('key')} cannot be read: {exc.code}: {exc.message}") from None
    with f:
        if int(meta.get("Size") or 0) > MAX_BUNDLE:
            raise RevisionError("INVALID_REVISION", f"The bundle is larger than {MAX_BUNDLE // (1024 * 1024)} MiB.")
        data = f.read()
    etag = (loc.get("eTag") or "").strip('"')
    if etag and etag != str(meta.get("ETag") or "").strip('"'):
        raise RevisionError("REVISION_MISSING", f"The revision's ETag {etag} does not match the object's ({meta.get('ETag')}).")
    return data


def appspec_text(app: App, revision: dict[str, Any]) -> str:
    kind = revision.get("revisionType")
    if kind == "AppSpecContent":
        return str((revision.get("appSpecContent") or {}).get("content") or "")
    if kind == "String":
        return str((revision.get("string") or {}).get("content") or "")
    return read_s3(app, revision).decode("utf-8", errors="replace")


def _safe(name: str) -> str | None:
    """The entry's path relative to the bundle root, or None for the root itself; raises when it escapes."""
    n = name.replace("\\", "/")
    clean = posixpath.normpath(n) if n else "."
    if n.startswith("/") or clean == ".." or clean.startswith("../"):
        raise RevisionError("INVALID_REVISION", f"The bundle entry {name!r} points outside the bundle.")
    return None if clean == "." else clean


def convert_bundle(data: bytes, bundle_type: str) -> Bundle:
    out = io.BytesIO()
    files: list[str] = []
    appspec: dict[str, str] = {}
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode, is_dir, body in _entries(data, bundle_type):
            path = _safe(name)
            if path is None:
                continue
            info = tarfile.TarInfo(path)
            info.mode = mode
            if is_dir:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                continue
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            files.append(path)
            if path in APPSPEC_NAMES:
                appspec[path] = body.decode("utf-8", errors="replace")
    found = next((appspec[n] for n in APPSPEC_NAMES if n in appspec), None)
    if found is None:
        raise RevisionError(
            "INVALID_REVISION",
            'The CodeDeploy agent did not find an AppSpec file within the unpacked revision directory at revision-relative path "appspec.yml".',
        )
    return Bundle(out.getvalue(), found, tuple(files))


def _entries(data: bytes, bundle_type: str) -> list[tuple[str, int, bool, bytes]]:
    try:
        if bundle_type == "zip":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                out: list[tuple[str, int, bool, bytes]] = []
                for i in z.infolist():
                    mode = (i.external_attr >> 16) & 0o7777
                    out.append((i.filename, mode or (0o755 if i.is_dir() else 0o644), i.is_dir(), b"" if i.is_dir() else z.read(i)))
                return out
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz" if bundle_type == "tgz" else "r:") as t:
            out = []
            for m in t.getmembers():
                if m.isdir():
                    out.append((m.name, m.mode, True, b""))
                elif m.isfile():
                    f = t.extractfile(m)
                    out.append((m.name, m.mode, False, f.read() if f else b""))
            return out
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise RevisionError("INVALID_REVISION", f"The bundle is not a valid {bundle_type} archive: {exc}") from None
