"""Finding the version a read addresses, with S3's answers when there is none.

* no version id, no key → 404 NoSuchKey; if the newest version is a delete
  marker, the error carries ``x-amz-delete-marker: true`` and its version id;
* a version id that does not exist → 404 NoSuchVersion;
* a version id naming a delete marker → 405 MethodNotAllowed (with the
  delete-marker headers), since a marker has no body or metadata.
"""

from __future__ import annotations

from gureum.core.clock import to_datetime
from gureum.core.errors import ServiceError
from gureum.core.store import Doc, Store
from gureum.services.s3.errors import method_not_allowed, no_such_key, no_such_version
from gureum.services.s3.records import current, find_version, versions_of

MAX_KEY_BYTES = 1024


def check_key(key: str) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ServiceError(
            "KeyTooLongError",
            "Your key is too long",
            400,
            extra={"MaxSizeAllowed": str(MAX_KEY_BYTES), "Size": str(len(key.encode("utf-8")))},
        )
    if not key:
        raise ServiceError("InvalidArgument", "A key must be specified", 400)


def _marker_headers(doc: Doc) -> dict[str, str]:
    from email.utils import format_datetime

    return {
        "x-amz-delete-marker": "true",
        "x-amz-version-id": doc["VersionId"],
        "Last-Modified": format_datetime(to_datetime(doc["LastModified"]), usegmt=True),
    }


def resolve(store: Store, bucket: str, key: str, version_id: str | None, method: str) -> Doc:
    """The version a GET/HEAD/tagging request reads; raises S3's error when there is none."""
    if version_id:
        doc = find_version(store, bucket, key, version_id)
        if doc is None:
            raise no_such_version(key, version_id)
        if doc.get("DeleteMarker"):
            raise method_not_allowed(method, headers=_marker_headers(doc))
        return doc
    doc = current(store, bucket, key)
    if doc is not None:
        return doc
    versions = versions_of(store, bucket, key)
    if versions and versions[0].get("DeleteMarker"):
        raise no_such_key(key, headers={k: v for k, v in _marker_headers(versions[0]).items() if k != "Last-Modified"})
    raise no_such_key(key)
