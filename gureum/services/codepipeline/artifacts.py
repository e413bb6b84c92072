"""Artifacts move between actions as zip objects in the artifact store bucket.

Where an output artifact goes (:func:`new_location`, pure) is what AWS does:
``<pipeline name, first 20 characters>/<artifact name, first 10
characters>/<7 random characters>`` in the pipeline's artifact store bucket.
An action's input artifact is the location the producing action of the same
execution recorded (``artifacts`` of the execution document).

The I/O helpers read and write through S3's public functions, so the
objects are ordinary S3 objects a client can list and download (and a job
worker does, with the ``artifactCredentials`` of its job).  They are
synchronous: callers run them in a thread (large zips).
"""

from __future__ import annotations

import io
import mimetypes
import secrets
import string
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gureum.app import App

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    name: str
    bucket: str
    key: str
    revision: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "bucket": self.bucket, "key": self.key}
        if self.revision is not None:
            doc["revision"] = self.revision
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ArtifactRef:
        return cls(doc["name"], doc["bucket"], doc["key"], doc.get("revision"))

    def detail(self) -> dict[str, Any]:
        """ListActionExecutions' ArtifactDetail."""
        return {"name": self.name, "s3location": {"bucket": self.bucket, "key": self.key}}

    def job_artifact(self) -> dict[str, Any]:
        """A job's Artifact (PollForJobs, GetJobDetails, the Lambda event)."""
        out: dict[str, Any] = {"name": self.name, "location": {"type": "S3", "s3Location": {"bucketName": self.bucket, "objectKey": self.key}}}
        if self.revision:
            out["revision"] = self.revision
        return out


def new_location(bucket: str, pipeline: str, artifact: str, token: str | None = None) -> ArtifactRef:
    token = token or "".join(secrets.choice(_ALPHABET) for _ in range(7))
    return ArtifactRef(artifact, bucket, f"{pipeline[:20]}/{artifact[:10]}/{token}")


def read_bytes(app: App, ref: ArtifactRef) -> bytes:
    from gureum.services.s3.public import read_object

    return read_object(app, ref.bucket, ref.key)


def put_bytes(app: App, ref: ArtifactRef, data: bytes) -> dict[str, Any]:
    from gureum.services.s3.public import put_object_bytes

    return put_object_bytes(app, ref.bucket, ref.key, data, content_type="application/zip")


def exists(app: App, ref: ArtifactRef) -> bool:
    from gureum.services.s3.public import head_object

    try:
        return head_object(app, ref.bucket, ref.key) is not None
    except Exception:  # a bucket deleted meanwhile reads as "not there"
        return False


def zip_members(data: bytes) -> dict[str, bytes]:
    """Files of a zip (directories left out).  Raises ``zipfile.BadZipFile``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}


def content_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "binary/octet-stream"
