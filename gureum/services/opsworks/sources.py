"""Where cookbooks and apps come from: S3 URLs and archive formats.  Pure.

A ``Source`` (stack ``CustomCookbooksSource``, app ``AppSource``) of ``Type``
``s3`` or ``archive`` names an object in Gureum's S3, in any of the URL forms
clients write for S3:

* ``s3://bucket/key``
* path style on any host, Gureum's own included:
  ``http://127.0.0.1:4566/bucket/key``, ``https://s3.amazonaws.com/bucket/key``,
  ``https://s3-us-west-2.amazonaws.com/bucket/key``
* virtual-hosted style: ``https://bucket.s3.amazonaws.com/key``,
  ``https://bucket.s3.us-east-1.amazonaws.com/key``

``?versionId=…`` picks a version.  ``git`` and ``svn`` sources are not
supported (there is no network to clone from): commands that need them fail
with a log saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

_VHOST_RE = re.compile(r"^(?P<bucket>.+)\.s3(?:[.-][a-z0-9-]+)*\.[a-z0-9.-]+$")


class SourceError(ValueError):
    """The source cannot be used; ``str()`` says why (it goes into the command's log)."""


@dataclass(frozen=True, slots=True)
class ObjectRef:
    bucket: str
    key: str
    version_id: str | None = None

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" + (f"?versionId={self.version_id}" if self.version_id else "")


def object_ref(source: dict[str, str] | None) -> ObjectRef:
    """The S3 object a Source names (SourceError when it names none Gureum can read)."""
    if not source or not source.get("Url"):
        raise SourceError("the source has no Url")
    kind = (source.get("Type") or "").lower()
    if kind not in ("s3", "archive"):
        raise SourceError(f"source type {kind or '(none)'!r} is not supported by Gureum: use s3 or archive")
    return parse_url(source["Url"])


def parse_url(url: str) -> ObjectRef:
    parts = urlsplit(url.strip())
    versions = parse_qs(parts.query).get("versionId") or []
    version = versions[0] if versions else None
    if parts.scheme == "s3":
        bucket, key = parts.netloc, unquote(parts.path.lstrip("/"))
    elif parts.scheme in ("http", "https"):
        host = (parts.hostname or "").lower()
        m = _VHOST_RE.match(host)
        if m and not host.startswith("s3."):
            bucket, key = m.group("bucket"), unquote(parts.path.lstrip("/"))
        else:
            bucket, _, key = unquote(parts.path.lstrip("/")).partition("/")
    else:
        raise SourceError(f"cannot read {url!r}: use s3://bucket/key or an S3 http(s) URL")
    if not bucket or not key:
        raise SourceError(f"{url!r} does not name an S3 object (bucket and key)")
    return ObjectRef(bucket, key, version)


def archive_format(data: bytes) -> str:
    """``zip``, ``tgz``, ``tbz`` or ``tar`` from the first bytes (SourceError otherwise)."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[:2] == b"\x1f\x8b":
        return "tgz"
    if data[:3] == b"BZh":
        return "tbz"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    raise SourceError("the archive is not a zip, tar, tar.gz or tar.bz2 file")
