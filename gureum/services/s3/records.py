"""Where S3 keeps its records in the store, and the version table.

Kinds, all in the GLOBAL scope (bucket names are unique across accounts, as
on AWS; the owning account is a field of the bucket):

=============  ==================================  =====================================
kind           key                                 document
=============  ==================================  =====================================
s3.bucket      ``<bucket>``                        name, owner, region, versioning, tags
s3.object      ``<bucket>/<key>``                  copy of the current version (absent
                                                   when the newest version is a delete
                                                   marker)
s3.version     ``<bucket>/<key>\\x01<order>``       every version and delete marker
s3.upload      ``<bucket>/<upload id>``            a multipart upload in progress
s3.part        ``<upload id>/<part number:05d>``   one uploaded part
=============  ==================================  =====================================

``order`` is an inverted, zero-padded sequence number, so a key's versions
list newest first and ListObjectVersions reads them in S3's order.  Every
write of a version goes through :func:`commit_version` (one transaction:
version document + current pointer) and returns the blobs that nothing names
any more; the caller unlinks them after the commit.  A bucket that never had
versioning writes version id ``"null"``, which replaces the previous null
version, exactly as a suspended bucket does.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import weakref
from typing import TYPE_CHECKING, Any

from gureum.core.store import GLOBAL, Doc, Store
from gureum.services.s3.blobs import BlobStore
from gureum.services.s3.errors import no_such_bucket
from gureum.services.s3.listing import SEP

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.s3")

KIND_BUCKET = "s3.bucket"
KIND_OBJECT = "s3.object"
KIND_VERSION = "s3.version"
KIND_UPLOAD = "s3.upload"
KIND_PART = "s3.part"
SCOPE = GLOBAL
_ORDER_TOP = 10**20


class S3State:
    """Per-App S3 state that is not in the store: the blob files and the version sequence."""

    def __init__(self, app: App) -> None:
        self.blobs = BlobStore(app.data_path / "s3")
        self._clock = app.clock
        self._last_seq = 0

    def next_order(self) -> str:
        seq = max(self._last_seq + 1, int(self._clock.now() * 1_000_000))
        self._last_seq = seq
        return f"{_ORDER_TOP - seq:020d}"

    def new_version_id(self, bucket: Doc) -> str:
        return secrets.token_hex(16) if bucket.get("Versioning") == "Enabled" else "null"

    def sweep(self, store: Store) -> int:
        """Remove temp files and blobs no record names (after a crash)."""
        keep = {d["Blob"] for _, d in store.list(KIND_VERSION, SCOPE) if d.get("Blob")}
        keep |= {d["Blob"] for _, d in store.list(KIND_PART, SCOPE) if d.get("Blob")}
        return self.blobs.sweep(keep)


_states: weakref.WeakKeyDictionary[Any, S3State] = weakref.WeakKeyDictionary()


def state(app: App) -> S3State:
    st = _states.get(app)
    if st is None:
        st = S3State(app)
        removed = st.sweep(app.store)
        if removed:
            log.info("s3: removed %d orphan temp or blob files", removed)
        _states[app] = st
    return st


def owner(account: str) -> dict[str, str]:
    """S3's Owner element: a canonical user id derived from the account."""
    return {"DisplayName": f"gureum-{account}", "ID": hashlib.sha256(account.encode()).hexdigest()}


# -- buckets ----------------------------------------------------------------------


def get_bucket(store: Store, name: str) -> Doc | None:
    return store.get(KIND_BUCKET, SCOPE, name)


def require_bucket(store: Store, name: str) -> Doc:
    doc = get_bucket(store, name)
    if doc is None:
        raise no_such_bucket(name)
    return doc


# -- objects and versions --------------------------------------------------------------


def object_key(bucket: str, key: str) -> str:
    return f"{bucket}/{key}"


def version_key(bucket: str, key: str, order: str) -> str:
    return f"{bucket}/{key}{SEP}{order}"


def current(store: Store, bucket: str, key: str) -> Doc | None:
    return store.get(KIND_OBJECT, SCOPE, object_key(bucket, key))


def versions_of(store: Store, bucket: str, key: str) -> list[Doc]:
    """Every version and delete marker of a key, newest first."""
    return [d for _, d in store.list(KIND_VERSION, SCOPE, prefix=version_key(bucket, key, ""))]


def find_version(store: Store, bucket: str, key: str, version_id: str) -> Doc | None:
    for doc in versions_of(store, bucket, key):
        if doc["VersionId"] == version_id:
            return doc
    return None


def commit_version(store: Store, bucket: str, doc: Doc) -> list[str]:
    """Make ``doc`` the newest version of its key; returns blobs to unlink."""
    key = doc["Key"]
    freed: list[str] = []
    with store.transaction():
        if doc["VersionId"] == "null":
            for old in versions_of(store, bucket, key):
                if old["VersionId"] == "null":
                    store.delete(KIND_VERSION, SCOPE, version_key(bucket, key, old["Order"]))
                    if old.get("Blob"):
                        freed.append(old["Blob"])
        store.put(KIND_VERSION, SCOPE, version_key(bucket, key, doc["Order"]), doc)
        if doc.get("DeleteMarker"):
            store.delete(KIND_OBJECT, SCOPE, object_key(bucket, key))
        else:
            store.put(KIND_OBJECT, SCOPE, object_key(bucket, key), doc)
    return freed


def remove_version(store: Store, bucket: str, key: str, version_id: str) -> Doc | None:
    """Delete one version for good; the next newest becomes current.  Returns it, or None."""
    with store.transaction():
        versions = versions_of(store, bucket, key)
        index = next((i for i, v in enumerate(versions) if v["VersionId"] == version_id), None)
        if index is None:
            return None
        target = versions[index]
        store.delete(KIND_VERSION, SCOPE, version_key(bucket, key, target["Order"]))
        if index == 0:
            rest = versions[1:]
            if rest and not rest[0].get("DeleteMarker"):
                store.put(KIND_OBJECT, SCOPE, object_key(bucket, key), rest[0])
            else:
                store.delete(KIND_OBJECT, SCOPE, object_key(bucket, key))
    return target


def update_version(store: Store, bucket: str, doc: Doc) -> None:
    """Rewrite a version's document in place (tags), keeping the current copy in step."""
    key = doc["Key"]
    with store.transaction():
        store.put(KIND_VERSION, SCOPE, version_key(bucket, key, doc["Order"]), doc)
        cur = current(store, bucket, key)
        if cur is not None and cur["VersionId"] == doc["VersionId"]:
            store.put(KIND_OBJECT, SCOPE, object_key(bucket, key), doc)


def bucket_has_versions(store: Store, bucket: str) -> bool:
    return bool(store.list(KIND_VERSION, SCOPE, prefix=bucket + "/", limit=1))
