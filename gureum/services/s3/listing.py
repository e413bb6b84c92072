"""One page of a prefix/delimiter listing (ListObjects, V2, versions, uploads).

Pure: the caller passes ``fetch(after, limit)``, which returns entries
``(position, doc)`` sorted by position, with positions greater than ``after``
and starting with the listing's prefix.  A position is the object key, or
``key + SEP + suffix`` for several entries per key (versions, uploads);
``key_of`` recovers the key.

Rules (as S3 answers):

* With a delimiter, keys holding it after the prefix roll up into one
  CommonPrefix ``key[:i + len(delimiter)]``; a rolled-up prefix counts as one
  entry against ``max_keys``, and the whole run under it is skipped at once.
* A common prefix at or before the marker key was sent on an earlier page:
  it is not sent again.
* ``truncated`` is true only when another entry really exists.
* ``last`` is the last key or common prefix sent (NextMarker and the V2
  continuation token are built from it).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

SEP = "\x01"  # between a key and an entry suffix; sorts before every printable character
AFTER_ALL = "\U0010ffff"

Fetch = Callable[[str, int], list[tuple[str, Any]]]


def key_before_sep(position: str) -> str:
    return position.split(SEP, 1)[0]


@dataclass
class Page:
    entries: list[tuple[str, Any]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str = ""


def list_page(
    fetch: Fetch,
    *,
    prefix: str = "",
    delimiter: str = "",
    after: str = "",
    marker_key: str = "",
    max_keys: int = 1000,
    key_of: Callable[[str], str] = key_before_sep,
    batch: int = 1000,
) -> Page:
    """Collect up to ``max_keys`` entries and common prefixes after ``after``."""
    page = Page()
    count = 0
    while True:
        rows = fetch(after, batch)
        if not rows:
            return page
        jumped = False
        for position, doc in rows:
            after = position
            key = key_of(position)
            cp = _common_prefix(key, prefix, delimiter)
            if cp is not None:
                after = cp + AFTER_ALL
                jumped = True
                if marker_key and cp <= marker_key:
                    break
                if count >= max_keys:
                    page.truncated = True
                    return page
                page.prefixes.append(cp)
                page.last = cp
                count += 1
                break
            if count >= max_keys:
                page.truncated = True
                return page
            page.entries.append((position, doc))
            page.last = key
            count += 1
        if not jumped and len(rows) < batch:
            return page


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    i = key.find(delimiter, len(prefix))
    return None if i < 0 else key[: i + len(delimiter)]


def encode_token(key: str) -> str:
    """An opaque V2 continuation token for "after this key"."""
    return base64.urlsafe_b64encode(("v1:" + key).encode()).decode("ascii")


def decode_token(token: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    return raw[3:] if raw.startswith("v1:") else None


def url_encode(value: str) -> str:
    """``EncodingType=url`` form of a key (botocore decodes it with unquote_plus)."""
    return quote(value, safe="/")
