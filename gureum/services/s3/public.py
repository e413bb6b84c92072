"""What other services may use of S3 without going over HTTP.

* :func:`open_object` — an open binary file of an object's body (the current
  version, or ``version_id``) and its metadata record (``Size``, ``ETag``,
  ``VersionId``…).  The file is opened before returning, so a delete that
  happens afterwards cannot pull the bytes away from the reader.
* :func:`read_object` — the whole body as bytes (small objects).
* :func:`put_object_file` / :func:`put_object_bytes` — store a new version of
  an object (what PutObject does, without HTTP: the bytes go to a blob, then
  the version record is committed); returns the version's record.
* :func:`head_object` — the current version's record of a key, or ``None``
  when the key has none (never written, or a delete marker is newest);
  :func:`bucket_versioning` — the bucket's versioning status (``Enabled``,
  ``Suspended`` or ``None`` if never set).  CodePipeline's S3 source
  watches objects with these.

All raise S3's own ``ServiceError``\\ s (``NoSuchBucket``, ``NoSuchKey``,
``NoSuchVersion``…); callers translate them into their service's wording.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from gureum.core.errors import ServiceError
from gureum.services.s3.access import check_key, resolve
from gureum.services.s3.blobs import BlobWriter
from gureum.services.s3.records import commit_version, current, require_bucket, state

if TYPE_CHECKING:
    from gureum.app import App


def open_object(app: App, bucket: str, key: str, version_id: str | None = None) -> tuple[BinaryIO, dict[str, Any]]:
    require_bucket(app.store, bucket)
    doc = resolve(app.store, bucket, key, version_id, "GET")
    try:
        f = open(state(app).blobs.path(doc["Blob"]), "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise ServiceError("InternalError", "The object's data is missing from the data directory", 500) from None
    return f, dict(doc)


def head_object(app: App, bucket: str, key: str) -> dict[str, Any] | None:
    require_bucket(app.store, bucket)
    doc = current(app.store, bucket, key)
    return None if doc is None else dict(doc)


def bucket_versioning(app: App, bucket: str) -> str | None:
    status = require_bucket(app.store, bucket).get("Versioning")
    return str(status) if status else None


def read_object(app: App, bucket: str, key: str, version_id: str | None = None) -> bytes:
    f, _ = open_object(app, bucket, key, version_id)
    with f:
        return f.read()


def put_object_file(
    app: App, bucket: str, key: str, source: str | Path, *, content_type: str = "binary/octet-stream"
) -> dict[str, Any]:
    """Store the file at ``source`` as the newest version of ``key``; returns its record."""
    with open(source, "rb") as f:
        return _put(app, bucket, key, f, content_type)


def put_object_bytes(
    app: App, bucket: str, key: str, data: bytes, *, content_type: str = "binary/octet-stream"
) -> dict[str, Any]:
    return _put(app, bucket, key, io.BytesIO(data), content_type)


def _put(app: App, bucket: str, key: str, body: BinaryIO, content_type: str) -> dict[str, Any]:
    bdoc = require_bucket(app.store, bucket)
    check_key(key)
    st = state(app)
    writer: BlobWriter = st.blobs.writer()
    try:
        while chunk := body.read(1024 * 1024):
            writer.write(chunk)
        info = writer.commit_sync()
    except BaseException:
        writer.abort()
        raise
    doc: dict[str, Any] = {
        "Key": key,
        "VersionId": st.new_version_id(bdoc),
        "Order": st.next_order(),
        "DeleteMarker": False,
        "LastModified": float(int(app.clock.now())),
        "Owner": bdoc.get("Owner", ""),
        "Size": info.size,
        "ETag": f'"{info.md5_hex}"',
        "Blob": info.blob_id,
        "ContentType": content_type,
        "Headers": {},
        "Metadata": {},
        "Checksums": {},
        "ChecksumType": None,
        "StorageClass": "STANDARD",
        "Tags": {},
    }
    st.blobs.remove(commit_version(app.store, bucket, doc))
    return doc
