"""Byte ranges and conditional requests of S3 reads and copies.

Pure: no I/O.  Rules (RFC 9110 as S3 applies them,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html):

* ``Range: bytes=a-b | a- | -n`` — one range only.  A header S3 cannot read
  (another unit, several ranges, bad numbers) is ignored: the whole object is
  sent.  A first byte at or past the end is unsatisfiable → 416 InvalidRange.
* Preconditions, in this order: If-Match (false → 412), else
  If-Unmodified-Since (modified after → 412); then If-None-Match (matches →
  304 for GET/HEAD), else If-Modified-Since (not modified → 304).  Times
  compare at whole seconds, as Last-Modified is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiable(ValueError):
    pass


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range a ``Range`` header asks for, None for the whole object."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    first, last = first.strip(), last.strip()
    if not first:
        if not last.isdigit():
            return None
        n = int(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - n), size - 1)
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, min(end, size - 1))


def bare_etag(etag: str) -> str:
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"')


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match/If-None-Match list names ``etag`` (``*`` names any)."""
    want = bare_etag(etag)
    for item in header.split(","):
        item = item.strip()
        if item == "*" or (item and bare_etag(item) == want):
            return True
    return False


def _epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(str(value)).timestamp()
    except (TypeError, ValueError):
        return None  # an unreadable date is ignored, as HTTP says


@dataclass(frozen=True, slots=True)
class Failed:
    status: int  # 304 or 412
    condition: str  # the header that failed


def check_preconditions(
    etag: str,
    last_modified: float,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: Any = None,
    if_unmodified_since: Any = None,
) -> Failed | None:
    """None when the read may go on, else what to answer."""
    modified = int(last_modified)
    if if_match:
        if not etag_matches(if_match, etag):
            return Failed(412, "If-Match")
    else:
        since = _epoch(if_unmodified_since)
        if since is not None and modified > int(since):
            return Failed(412, "If-Unmodified-Since")
    if if_none_match:
        if etag_matches(if_none_match, etag):
            return Failed(304, "If-None-Match")
    else:
        since = _epoch(if_modified_since)
        if since is not None and modified <= int(since):
            return Failed(304, "If-Modified-Since")
    return None
