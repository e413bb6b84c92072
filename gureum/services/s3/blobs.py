"""Object bodies as files under ``<data_dir>/s3/``; never held whole in memory.

Layout::

    s3/tmp/<id>.tmp        an upload being received (hashing as it is written)
    s3/blobs/<id[:2]>/<id> committed bodies, one file per object version or part

Rules that make a crash or a cut connection harmless:

1. Bytes go to ``tmp/`` while md5 (and any asked-for checksums) are computed.
2. Only a complete, verified body is fsynced and ``os.replace``d into
   ``blobs/`` (atomic), then its directory is fsynced.
3. Only after that does the caller write the metadata document naming it.

So a truncated upload leaves at most a temp file, which ``sweep`` removes on
start-up together with any blob no document names.  A blob is never shared
between two versions: a copy gets its own hard link, so deleting a version
only ever unlinks its own file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gureum.services.s3.checksums import Checksum, b64, new_checksum

READ_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class BlobInfo:
    blob_id: str
    size: int
    md5_hex: str
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm → base64
    sha256_hex: str = ""


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_dir = root / "blobs"
        self.tmp_dir = root / "tmp"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path(self, blob_id: str) -> Path:
        return self.blob_dir / blob_id[:2] / blob_id

    def writer(self, algorithms: Iterable[str] = (), sha256: bool = False) -> BlobWriter:
        return BlobWriter(self, algorithms, sha256)

    def reader(self, blob_id: str, start: int = 0, length: int | None = None) -> BlobReader:
        return BlobReader(self.path(blob_id), start, length)

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).is_file()

    def remove(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            if blob_id:
                try:
                    self.path(blob_id).unlink()
                except FileNotFoundError:
                    pass

    def link(self, blob_id: str) -> str:
        """A new blob with the same bytes (a hard link when the file system allows)."""
        new_id = uuid.uuid4().hex
        dest = self.path(new_id)
        dest.parent.mkdir(exist_ok=True)
        try:
            os.link(self.path(blob_id), dest)
        except OSError:
            tmp = self.tmp_dir / f"{new_id}.tmp"
            shutil.copyfile(self.path(blob_id), tmp)
            _fsync_path(tmp)
            os.replace(tmp, dest)
        _fsync_path(dest.parent)
        return new_id

    async def concat(
        self, pieces: list[tuple[str, int, int | None]], algorithms: Iterable[str] = ()
    ) -> BlobInfo:
        """A new committed blob of ``(blob id, start, length or None)`` pieces back to back.

        Runs in a thread: completing a multipart upload of gigabytes must not
        stall the event loop.
        """
        writer = self.writer(algorithms)

        def run() -> BlobInfo:
            try:
                for blob_id, start, length in pieces:
                    _copy_into(self.path(blob_id), start, length, writer)
                writer.finish()
                return writer.commit_sync()
            except BaseException:
                writer.abort()
                raise

        return await asyncio.to_thread(run)

    def sweep(self, keep: set[str]) -> int:
        """Remove temp files and every blob not in ``keep``; returns how many went."""
        removed = 0
        for p in self.tmp_dir.iterdir():
            p.unlink(missing_ok=True)
            removed += 1
        for shard in self.blob_dir.iterdir():
            if not shard.is_dir():
                continue
            for p in shard.iterdir():
                if p.name not in keep:
                    p.unlink(missing_ok=True)
                    removed += 1
        return removed

    def clear(self) -> None:
        shutil.rmtree(self.blob_dir, ignore_errors=True)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)


class BlobWriter:
    """Receives one body into a temp file; ``finish`` → verify → ``commit`` or ``abort``."""

    def __init__(self, store: BlobStore, algorithms: Iterable[str], sha256: bool) -> None:
        self._store = store
        self.blob_id = uuid.uuid4().hex
        self.tmp_path = store.tmp_dir / f"{self.blob_id}.tmp"
        self._f: Any = open(self.tmp_path, "xb")  # noqa: SIM115 - closed by commit/abort
        self._md5 = hashlib.md5()
        self._checks: dict[str, Checksum] = {alg: new_checksum(alg) for alg in algorithms}
        self._sha = hashlib.sha256() if sha256 else None
        self.size = 0
        self.info: BlobInfo | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._f.write(data)
        self._md5.update(data)
        for c in self._checks.values():
            c.update(data)
        if self._sha is not None:
            self._sha.update(data)
        self.size += len(data)

    def finish(self) -> BlobInfo:
        """All bytes are in: the digests (the file is not committed yet)."""
        self.info = BlobInfo(
            self.blob_id,
            self.size,
            self._md5.hexdigest(),
            {alg: b64(c.digest()) for alg, c in self._checks.items()},
            self._sha.hexdigest() if self._sha is not None else "",
        )
        return self.info

    def commit_sync(self) -> BlobInfo:
        info = self.info or self.finish()
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        dest = self._store.path(self.blob_id)
        dest.parent.mkdir(exist_ok=True)
        os.replace(self.tmp_path, dest)
        _fsync_path(dest.parent)
        return info

    async def commit(self) -> BlobInfo:
        try:
            return await asyncio.to_thread(self.commit_sync)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        try:
            self._f.close()
        finally:
            self.tmp_path.unlink(missing_ok=True)


class BlobReader:
    """An async iterator over ``length`` bytes of a blob from ``start``, in chunks.

    The file is opened at construction, so a version deleted while its body
    is being sent still streams whole (the open file outlives the unlink).
    """

    def __init__(self, path: Path, start: int = 0, length: int | None = None) -> None:
        self._f: Any = open(path, "rb")  # noqa: SIM115 - closed at the end or by aclose
        if length is None:
            length = os.fstat(self._f.fileno()).st_size - start
        self._f.seek(start)
        self._left = max(0, length)

    def __aiter__(self) -> BlobReader:
        return self

    async def __anext__(self) -> bytes:
        if self._left <= 0 or self._f.closed:
            self.close()
            raise StopAsyncIteration
        data = self._f.read(min(READ_CHUNK, self._left))
        if not data:  # the file is shorter than its record says: end rather than hang
            self.close()
            raise StopAsyncIteration
        self._left -= len(data)
        return bytes(data)

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    async def read_all(self) -> bytes:
        """The whole range (small bodies and tests only)."""
        return b"".join([chunk async for chunk in self])


def _copy_into(path: Path, start: int, length: int | None, writer: BlobWriter) -> None:
    with open(path, "rb") as f:
        f.seek(start)
        left = length if length is not None else -1
        while left != 0:
            chunk = f.read(1024 * 1024 if left < 0 else min(1024 * 1024, left))
            if not chunk:
                break
            writer.write(chunk)
            if left > 0:
                left -= len(chunk)


def _fsync_path(path: Path) -> None:
    """fsync a file or a directory by path (a directory: so a rename in it is durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
