"""Scalar values as text on the wire, both ways, shared by the XML-family protocols.

Rules (what AWS's query, ec2 and rest-xml services send and accept):

* booleans are ``true`` / ``false`` (read case-insensitively);
* integers are decimal; floats use Python's shortest round-trip form and the
  names ``NaN``, ``Infinity``, ``-Infinity``;
* timestamps are written in the shape's ``timestampFormat`` — ISO 8601 in UTC
  with milliseconds by default (``2024-05-01T12:00:00.000Z``), ``rfc822``
  for HTTP headers, ``unixTimestamp`` as epoch seconds; they are read in any
  of those forms;
* blobs are base64 (standard alphabet, padded).

A value that cannot be read raises :class:`BadValue` (a ``ValueError``) with
what was expected; each protocol turns it into its own wire error.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

_INTEGERS = frozenset(("integer", "long", "byte", "short", "biginteger"))
_FLOATS = frozenset(("float", "double", "bigdecimal"))
_EPOCH_RE = re.compile(r"^-?\d+(\.\d+)?$")


class BadValue(ValueError):
    """Text that does not read as the shape's type."""

    def __init__(self, text: str, expected: str) -> None:
        super().__init__(f"{text!r} is not a valid {expected}")
        self.text = text
        self.expected = expected


# -- timestamps ----------------------------------------------------------------------


def to_datetime(value: Any) -> datetime:
    """A tz-aware UTC ``datetime`` from a datetime (naive = UTC), epoch seconds or text."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return parse_timestamp(value)
    raise TypeError(f"not a timestamp: {value!r}")


def format_timestamp(value: Any, fmt: str | None = None) -> str:
    """``value`` as text in ``fmt`` (``iso8601`` when None, ``rfc822``, ``unixTimestamp``)."""
    when = to_datetime(value)
    kind = (fmt or "iso8601").lower()
    if kind == "rfc822":
        return format_datetime(when.replace(microsecond=0), usegmt=True)
    if kind == "unixtimestamp":
        seconds = when.timestamp()
        millis = round(seconds * 1000) / 1000
        return str(int(millis)) if millis == int(millis) else f"{millis:.3f}".rstrip("0")
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """A UTC ``datetime`` from ISO 8601, RFC 822 or epoch-seconds text."""
    raw = text.strip()
    if not raw:
        raise BadValue(text, "timestamp")
    if _EPOCH_RE.match(raw):
        try:
            return datetime.fromtimestamp(float(raw), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadValue(text, "timestamp") from exc
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError) as exc:
            raise BadValue(text, "timestamp") from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# -- text → value --------------------------------------------------------------------


def read_scalar(shape: Any, text: str) -> Any:
    """The Python value of a scalar shape from its wire text."""
    kind = shape.type_name
    if kind in ("string", "character"):
        return text
    if kind == "boolean":
        low = text.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        raise BadValue(text, "boolean")
    if kind in _INTEGERS:
        try:
            return int(text.strip())
        except ValueError as exc:
            raise BadValue(text, "integer") from exc
    if kind in _FLOATS:
        try:
            return float(text.strip())
        except ValueError as exc:
            raise BadValue(text, "number") from exc
    if kind == "timestamp":
        return parse_timestamp(text)
    if kind == "blob":
        return read_base64(text)
    return text


def read_base64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadValue(text, "base64 value") from exc


# -- value → text --------------------------------------------------------------------


def scalar_text(shape: Any, value: Any) -> str:
    """The wire text of a scalar value of ``shape``."""
    kind = shape.type_name
    if isinstance(value, bool) or kind == "boolean":
        return "true" if value else "false"
    if kind in _INTEGERS:
        return str(int(value))
    if kind in _FLOATS:
        return float_text(value)
    if kind == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat"))
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return value if isinstance(value, str) else str(value)


def float_text(value: Any) -> str:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return repr(number)
