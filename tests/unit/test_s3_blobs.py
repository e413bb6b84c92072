"""Blob files: atomic commit, abort, streaming reads, sweep of orphans, reset."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from gureum.services.s3.blobs import READ_CHUNK, BlobStore
from gureum.services.s3.records import KIND_VERSION, SCOPE, S3State


def test_commit_moves_a_verified_file_into_place(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    w = store.writer(["CRC32"])
    w.write(b"hello ")
    w.write(b"world")
    assert list(store.tmp_dir.iterdir()) == [w.tmp_path]
    info = w.finish()
    assert info.md5_hex == hashlib.md5(b"hello world").hexdigest()
    assert info.checksums == {"CRC32": "DUoRhQ=="}
    assert not store.exists(info.blob_id)  # nothing visible before commit
    asyncio.run(w.commit())
    assert store.path(info.blob_id).read_bytes() == b"hello world"
    assert list(store.tmp_dir.iterdir()) == []


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    w = store.writer()
    w.write(b"x" * 1000)
    w.abort()
    assert list(store.tmp_dir.iterdir()) == []
    assert not store.exists(w.blob_id)


def test_reader_streams_in_chunks_and_ranges(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = bytes(range(256)) * (3 * READ_CHUNK // 256 + 7)
    w = store.writer()
    w.write(data)
    info = w.commit_sync()

    async def chunks(start: int, length: int | None) -> list[bytes]:
        return [c async for c in store.reader(info.blob_id, start, length)]

    whole = asyncio.run(chunks(0, None))
    assert len(whole) == 4 and max(len(c) for c in whole) == READ_CHUNK
    assert b"".join(whole) == data
    assert b"".join(asyncio.run(chunks(10, 20))) == data[10:30]


def test_reader_outlives_unlink(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    w = store.writer()
    w.write(b"still here")
    info = w.commit_sync()
    reader = store.reader(info.blob_id)
    store.remove([info.blob_id])
    assert asyncio.run(reader.read_all()) == b"still here"


def test_link_and_concat(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    ids = []
    for part in (b"abc", b"defg"):
        w = store.writer()
        w.write(part)
        ids.append(w.commit_sync().blob_id)
    copy = store.link(ids[0])
    store.remove([ids[0]])
    assert store.path(copy).read_bytes() == b"abc"
    joined = asyncio.run(store.concat([(copy, 0, None), (ids[1], 1, 2)], ["CRC32"]))
    assert store.path(joined.blob_id).read_bytes() == b"abcef"
    assert joined.size == 5 and joined.checksums["CRC32"]


def test_startup_sweep_removes_orphans_only(tmp_path: Path) -> None:
    from s3_helpers import make_s3

    s3 = make_s3(tmp_path)
    s3.call("CreateBucket", Bucket="keep")
    s3.put("keep", "k", b"data")
    blobs = S3State(s3.app).blobs
    (blobs.tmp_dir / "dead.tmp").write_bytes(b"half an upload")
    orphan = blobs.path("ff" + "0" * 30)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"nobody names me")
    removed = S3State(s3.app).sweep(s3.app.store)
    assert removed == 2
    docs = [d for _, d in s3.app.store.list(KIND_VERSION, SCOPE)]
    assert [p.name for p in s3.s3_files()] == [docs[0]["Blob"]]


def test_reset_removes_every_body(tmp_path: Path) -> None:
    from s3_helpers import make_s3

    s3 = make_s3(tmp_path)
    s3.call("CreateBucket", Bucket="gone")
    s3.put("gone", "a", b"1")
    s3.put("gone", "b", b"2")
    assert len(s3.s3_files()) == 2
    s3.app.reset()
    assert s3.s3_files() == []
    assert s3.app.store.list("s3.bucket") == []
