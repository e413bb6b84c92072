"""S3 (botocore ``s3``, protocol rest-xml): the handlers, gathered on one ``ServiceApi``.

Where things are:

* :mod:`.buckets` — CreateBucket, HeadBucket, ListBuckets, DeleteBucket,
  GetBucketLocation, bucket versioning and tagging;
* :mod:`.objects` — PutObject, GetObject, HeadObject;
* :mod:`.deletes` — DeleteObject, DeleteObjects;
* :mod:`.copies` — CopyObject;
* :mod:`.multipart`, :mod:`.completion` — multipart uploads;
* :mod:`.listings` — ListObjectsV2, ListObjects, ListObjectVersions;
* :mod:`.tagging` — object tagging.

Engine: :mod:`.records` (store layout, version table), :mod:`.blobs` (body
files), :mod:`.ingest` (receiving and verifying bodies).  Pure cores:
:mod:`.chunked`, :mod:`.checksums`, :mod:`.listing`, :mod:`.preconditions`,
:mod:`.names`.

On start-up, temp files and blobs no record names are removed; on reset,
every body file goes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gureum.services.s3 import (  # noqa: F401 - importing registers the handlers
    buckets,
    completion,
    copies,
    deletes,
    listings,
    multipart,
    objects,
    tagging,
)
from gureum.services.s3.records import state
from gureum.services.s3.registry import api

if TYPE_CHECKING:
    from gureum.app import App

__all__ = ["api"]


@api.on_startup
def _start(app: App) -> None:
    state(app)  # sweeps orphan temp files and blobs


@api.on_reset
def _reset(app: App) -> None:
    state(app).blobs.clear()
