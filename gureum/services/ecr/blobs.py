"""Blob files of the registry: content-addressed, verified, crash-safe.

Layout under ``<data_dir>/ecr/``::

    blobs/sha256/<hex>     one file per blob, named by the sha256 of its bytes
    uploads/<uuid>         the bytes received so far of an upload in progress

Rules:

* A blob file exists only with the bytes its name promises: an upload is
  hashed as it arrives, compared with the digest the client claims, and only
  then fsync'd and renamed into ``blobs/`` (rename is atomic on one file
  system; the directory is fsync'd after it).  A crash leaves at worst an
  orphaned upload file, never a wrong blob.
* Blobs are shared by every repository and account (same bytes, same file);
  which repository may see which blob is recorded in the store
  (:mod:`.records`), not here.
* The running sha256 of each upload is kept in memory; after a restart (or a
  client resuming an upload elsewhere) it is rebuilt by re-reading the file.

File writes of upload chunks happen on the event loop (small appends to the
page cache); fsync, whole-file hashing and blob reads go to a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import uuid as uuid_mod
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gureum.services.ecr.oci import RegistryError, check_digest

READ_CHUNK = 1024 * 1024


class BlobFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_dir = root / "blobs" / "sha256"
        self.upload_dir = root / "uploads"
        # upload id → (bytes hashed so far, running sha256)
        self._hashers: dict[str, tuple[int, Any]] = {}

    # -- blobs ---------------------------------------------------------------------------

    def path(self, digest: str) -> Path:
        return self.blob_dir / check_digest(digest).split(":", 1)[1]

    def size(self, digest: str) -> int | None:
        try:
            return self.path(digest).stat().st_size
        except (FileNotFoundError, RegistryError):
            return None

    def exists(self, digest: str) -> bool:
        return self.size(digest) is not None

    def delete(self, digest: str) -> None:
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            pass

    async def read(self, digest: str, first: int = 0, last: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``first..last`` (inclusive) of a blob, in chunks."""
        f = open(self.path(digest), "rb")  # closed in finally (an async generator cannot use with across yields cleanly)
        try:
            f.seek(first)
            remaining = None if last is None else last - first + 1
            while remaining is None or remaining > 0:
                n = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(f.read, n)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            f.close()

    # -- uploads -------------------------------------------------------------------------

    def new_upload(self) -> str:
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        upload_id = str(uuid_mod.uuid4())
        (self.upload_dir / upload_id).touch()
        self._hashers[upload_id] = (0, hashlib.sha256())
        return upload_id

    def upload_path(self, upload_id: str) -> Path:
        # Upload ids are our own uuids: refuse anything else before touching a path.
        try:
            uuid_mod.UUID(upload_id)
        except ValueError as exc:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry") from exc
        return self.upload_dir / upload_id

    def upload_size(self, upload_id: str) -> int | None:
        try:
            return self.upload_path(upload_id).stat().st_size
        except FileNotFoundError:
            return None

    async def append(self, upload_id: str, chunks: AsyncIterator[bytes], limit: int) -> int:
        """Add the request body to an upload; the upload's new size."""
        size, hasher = await self._hasher(upload_id)
        with open(self.upload_path(upload_id), "ab") as f:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise RegistryError("SIZE_INVALID", f"blob is larger than the limit of {limit} bytes")
                f.write(chunk)
                hasher.update(chunk)
        self._hashers[upload_id] = (size, hasher)
        return size

    async def commit(self, upload_id: str, digest: str) -> int:
        """Move a finished upload to ``blobs/`` if its bytes hash to ``digest``.

        A mismatch raises DIGEST_INVALID and discards the upload.
        """
        expected = check_digest(digest)
        size, hasher = await self._hasher(upload_id)
        actual = "sha256:" + hasher.hexdigest()
        src = self.upload_path(upload_id)
        if actual != expected:
            self.cancel(upload_id)
            raise RegistryError(
                "DIGEST_INVALID",
                "provided digest did not match uploaded content",
                {"expected": expected, "actual": actual},
            )
        await asyncio.to_thread(self._publish, src, self.path(expected))
        self._hashers.pop(upload_id, None)
        return size

    def cancel(self, upload_id: str) -> None:
        self._hashers.pop(upload_id, None)
        try:
            self.upload_path(upload_id).unlink()
        except FileNotFoundError:
            pass

    async def _hasher(self, upload_id: str) -> tuple[int, Any]:
        size = self.upload_size(upload_id)
        if size is None:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        state = self._hashers.get(upload_id)
        if state is None or state[0] != size:
            state = await asyncio.to_thread(_hash_file, self.upload_path(upload_id))
            self._hashers[upload_id] = state
        return state

    def _publish(self, src: Path, dst: Path) -> None:
        fd = os.open(src, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        dfd = os.open(dst.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def wipe(self) -> None:
        """Forget every blob and upload (reset)."""
        self._hashers.clear()
        for d in (self.root / "blobs", self.upload_dir):
            shutil.rmtree(d, ignore_errors=True)


def _hash_file(path: Path) -> tuple[int, Any]:
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(READ_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return size, hasher


_FILES: dict[str, BlobFiles] = {}


def files_for(data_path: Path) -> BlobFiles:
    """The one :class:`BlobFiles` of a data directory (upload hashes live in it)."""
    key = str(data_path)
    files = _FILES.get(key)
    if files is None:
        files = _FILES[key] = BlobFiles(data_path / "ecr")
    return files
