"""Pure rules of the OCI distribution API and of ECR names: no I/O here.

What lives here:

* digests (``sha256:<64 hex>``) – parsing and computing;
* repository names, tags and references – ECR's and the distribution spec's
  grammars;
* manifests – which media type a pushed document is, whether it is well
  formed, and which blobs or child manifests it refers to
  (:func:`parse_manifest`);
* the registry's error codes with their HTTP statuses
  (:class:`RegistryError`) and the JSON document they are sent as;
* ``Range``/``Content-Range`` headers of chunked uploads and blob reads.

Docker image manifest v2 schema 2, the Docker manifest list, the OCI image
manifest and the OCI image index are accepted.  Schema 1 manifests are refused
as ``MANIFEST_INVALID``: no Docker release of the last years pushes them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
IMAGE_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
MANIFEST_TYPES = IMAGE_TYPES + INDEX_TYPES
# Layers that live elsewhere (Windows base layers): never pushed, never checked.
FOREIGN_LAYERS = (
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
)

_DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
# Any well-formed digest (algorithm we may not support): ECR's own regex.
_ANY_DIGEST_RE = re.compile(r"[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+")
# The model's pattern for RepositoryName (botocore does not check patterns).
_REPO_RE = re.compile(
    r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
)
_TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")

MAX_MANIFEST_SIZE = 4 * 1024 * 1024  # ECR's limit on an image manifest


# -- errors ----------------------------------------------------------------------------

STATUS: dict[str, int] = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "TAG_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "RANGE_INVALID": 416,
}


class RegistryError(Exception):
    """One error of the distribution spec; ``status`` follows from ``code``."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: Any = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status or STATUS.get(code, 400)
        self.headers = dict(headers or {})

    def document(self) -> bytes:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            err["detail"] = self.detail
        return json.dumps({"errors": [err]}).encode()


# -- digests, names, tags ----------------------------------------------------------------


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(value: str) -> str:
    """``value`` if it is a sha256 digest Gureum can verify, else DIGEST_INVALID."""
    if _DIGEST_RE.fullmatch(value):
        return value
    if _ANY_DIGEST_RE.fullmatch(value):
        raise RegistryError("DIGEST_INVALID", "unsupported digest algorithm", {"digest": value})
    raise RegistryError("DIGEST_INVALID", "invalid digest format", {"digest": value})


def is_digest(value: str) -> bool:
    return _ANY_DIGEST_RE.fullmatch(value) is not None


def is_sha256(value: str) -> bool:
    return _DIGEST_RE.fullmatch(value) is not None


def valid_repository_name(name: str) -> bool:
    return 2 <= len(name) <= 256 and _REPO_RE.fullmatch(name) is not None


def valid_tag(tag: str) -> bool:
    return _TAG_RE.fullmatch(tag) is not None


def tag_mutable(tag: str, mutability: str, exclusions: list[dict[str, str]]) -> bool:
    """Whether pushing ``tag`` again may move it, under the repository's setting.

    ``*_WITH_EXCLUSION`` settings flip the rule for tags matching one of the
    wildcard filters (``*`` matches any run of characters).
    """
    matched = any(_wildcard(f.get("filter", ""), tag) for f in exclusions)
    if mutability == "IMMUTABLE":
        return False
    if mutability == "IMMUTABLE_WITH_EXCLUSION":
        return matched
    if mutability == "MUTABLE_WITH_EXCLUSION":
        return not matched
    return True


def _wildcard(pattern: str, value: str) -> bool:
    rx = ".*".join(re.escape(p) for p in pattern.split("*"))
    return re.fullmatch(rx, value) is not None


# -- manifests ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed manifest: what it is and what must exist before it may be stored."""

    media_type: str
    digest: str
    size: int  # of the manifest document itself
    blobs: tuple[Descriptor, ...] = ()  # config + layers that must be in the repository
    children: tuple[Descriptor, ...] = ()  # manifests an index refers to
    config_media_type: str = ""
    layers_size: int = 0  # config + every layer, as ECR reports imageSizeInBytes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def parse_manifest(data: bytes, content_type: str | None) -> Manifest:
    """Read a pushed manifest; raise MANIFEST_INVALID for anything else.

    The media type comes from ``Content-Type`` unless that is missing or
    generic JSON, then from the document's ``mediaType``, then from its shape
    (OCI allows leaving ``mediaType`` out).  When both say something they must
    agree.
    """
    if len(data) > MAX_MANIFEST_SIZE:
        raise RegistryError("SIZE_INVALID", "manifest is larger than 4 MiB", {"size": len(data)})
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": f"not JSON: {exc}"}) from exc
    if not isinstance(doc, dict):
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "not a JSON object"})
    media_type = _media_type(doc, content_type)
    if doc.get("schemaVersion") != 2:
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "schemaVersion must be 2"})
    digest = sha256_digest(data)
    if media_type in INDEX_TYPES:
        children = _descriptors(doc.get("manifests"), "manifests")
        return Manifest(media_type, digest, len(data), children=tuple(children))
    config = _descriptor(doc.get("config"), "config")
    layers = _descriptors(doc.get("layers"), "layers")
    pushed = [config] + [d for d in layers if d.media_type not in FOREIGN_LAYERS]
    return Manifest(
        media_type,
        digest,
        len(data),
        blobs=tuple(pushed),
        config_media_type=config.media_type,
        layers_size=sum(d.size for d in [config, *layers]),
    )


def _media_type(doc: dict[str, Any], content_type: str | None) -> str:
    header = (content_type or "").split(";", 1)[0].strip().lower()
    if header in ("", "application/json", "application/octet-stream"):
        header = ""
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "mediaType must be a string"})
    if header and declared and header != declared:
        raise RegistryError(
            "MANIFEST_INVALID",
            "manifest invalid",
            {"reason": f"Content-Type {header} does not match mediaType {declared}"},
        )
    media_type = header or declared or ""
    if not media_type:
        if "manifests" in doc:
            media_type = OCI_INDEX
        elif "config" in doc and "layers" in doc:
            media_type = OCI_MANIFEST
    if media_type in SCHEMA1:
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": "schema 1 manifests are not supported"})
    if media_type not in MANIFEST_TYPES:
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": f"unsupported media type {media_type!r}"})
    return media_type


def _descriptors(value: Any, where: str) -> list[Descriptor]:
    if not isinstance(value, list):
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": f"{where} must be a list"})
    return [_descriptor(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": f"{where} must be an object"})
    digest, size, mtype = value.get("digest"), value.get("size"), value.get("mediaType", "")
    if not isinstance(digest, str) or not is_digest(digest):
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": f"{where}.digest is not a digest"})
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": f"{where}.size must be a count of bytes"})
    if not isinstance(mtype, str):
        raise RegistryError("MANIFEST_INVALID", "manifest invalid", {"reason": f"{where}.mediaType must be a string"})
    return Descriptor(mtype, digest, size)


# -- ranges ------------------------------------------------------------------------------

_CONTENT_RANGE_RE = re.compile(r"(?:bytes[ =])?(\d+)-(\d+)(?:/(\d+|\*))?")
_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_content_range(value: str) -> tuple[int, int]:
    """``Content-Range`` of a PATCH chunk: (first, last) byte offsets, inclusive."""
    m = _CONTENT_RANGE_RE.fullmatch(value.strip())
    if not m or int(m.group(2)) < int(m.group(1)):
        raise RegistryError("RANGE_INVALID", "invalid content range", {"Content-Range": value})
    return int(m.group(1)), int(m.group(2))


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``Range: bytes=a-b`` of a blob read → (first, last) inclusive; None to send it whole.

    Raises RANGE_INVALID (416) when the range lies past the end.
    """
    m = _RANGE_RE.fullmatch(value.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # suffix: the last N bytes
        n = int(m.group(2))
        return (max(0, size - n), size - 1) if n and size else None
    first = int(m.group(1))
    last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if first >= size or last < first:
        raise RegistryError("RANGE_INVALID", "requested range not satisfiable", {"size": size})
    return first, last


def upload_range(offset: int) -> str:
    """The ``Range`` header of an upload's answer: bytes received so far, inclusive."""
    return f"0-{max(offset - 1, 0)}"
