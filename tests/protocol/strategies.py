"""Hypothesis strategies for values of botocore shapes, for protocol round trips.

``from_shape(shape, protocol)`` draws a value a botocore client would accept
for ``shape`` and a server would accept back: enums, length and range limits
and required members are respected; recursion is cut at ``max_depth`` (below
it structures get only their required members and lists/maps their minimum
size); timestamps are tz-aware UTC datetimes at whole seconds (``millis=True``
for millisecond precision, fine for outputs); blobs are ``bytes``; strings
and lists are kept short so examples stay fast.

Where a value travels decides what it may hold, because each place on the
wire has its own limits:

* members bound to HTTP headers get printable ASCII without surrounding
  blanks (HTTP trims them; botocore writes them raw); header lists get items
  without commas or quotes;
* URI labels are never empty, nor are lists and maps bound to the query
  string or headers (empty ones are not sent at all);
* a ``statusCode`` member gets 200, 201 or 202 (3xx and up parse as errors,
  204 carries no body);
* RFC 822 timestamps (headers by default) are whole seconds even with
  ``millis``;
* ``hostLabel`` members (endpoint host prefixes) get ``[a-z0-9-]``;
* event streams are skipped.

Protocol quirks (the ``protocol`` knob):

* ``query``, ``ec2``, ``rest-xml`` — XML cannot carry control characters and
  normalises ``\\r``, so strings have no ``Cc`` characters;
* ``smithy-rpc-v2-cbor`` — botocore writes ``float`` members as 32-bit
  floats, so those draw 32-bit values;
* every protocol — no lone surrogates, no NaN/infinity.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

XML_PROTOCOLS = frozenset({"query", "ec2", "rest-xml"})
_HTTP_LOCATIONS = frozenset({"querystring", "header", "headers"})
MAX_ITEMS = 3
_HARD_DEPTH = 8
MAX_TEXT = 12

_EPOCH_LO = datetime(1990, 1, 1, tzinfo=UTC)
_EPOCH_SPAN_S = 60 * 365 * 86400  # up to 2050
_HEADER_ALPHABET = string.ascii_letters + string.digits + " -_.:/=+;"
_INT_RANGES = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**53), 2**53),
    "biginteger": (-(2**53), 2**53),
}


def from_shape(
    shape: Any,
    protocol: str = "json",
    *,
    max_depth: int = 4,
    millis: bool = False,
    skip: frozenset[str] = frozenset(),
) -> st.SearchStrategy[Any]:
    """A strategy for values of ``shape`` (a botocore ``Shape``).

    ``skip`` names top-level members never to draw (e.g. members a test cannot
    round-trip through a given protocol).
    """
    if shape is None:
        return st.just({})
    return _Builder(protocol, max_depth, millis).structure(shape, 0, skip)


class _Builder:
    def __init__(self, protocol: str, max_depth: int, millis: bool) -> None:
        self.protocol = protocol
        self.max_depth = max_depth
        self.millis = millis

    def value(self, shape: Any, depth: int, where: str | None = None) -> st.SearchStrategy[Any]:
        where = where or shape.serialization.get("location")
        kind = shape.type_name
        if kind == "structure":
            if shape.is_document_type:
                return _documents()
            return self.structure(shape, depth, frozenset())
        if kind == "list":
            return self.list_(shape, depth, where)
        if kind == "map":
            return self.map_(shape, depth, where)
        if kind == "string":
            return self.string(shape, where)
        if kind in _INT_RANGES:
            if where == "statusCode":
                return st.sampled_from([200, 201, 202])
            lo, hi = _INT_RANGES[kind]
            return st.integers(_bound(shape, "min", lo), _bound(shape, "max", hi, up=False))
        if kind in ("float", "double", "bigdecimal"):
            return self.floating(shape)
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            fmt = (shape.serialization.get("timestampFormat") or "").lower()
            rfc822 = fmt == "rfc822" or (not fmt and where in ("header", "header-list"))
            return self.timestamp(whole_seconds=rfc822)
        if kind == "blob":
            return self.blob(shape, where)
        raise ValueError(f"no strategy for shape type {kind!r}")

    # -- containers ---------------------------------------------------------------------

    def structure(self, shape: Any, depth: int, skip: frozenset[str]) -> st.SearchStrategy[Any]:
        required: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        if depth > self.max_depth + _HARD_DEPTH:  # a cycle through required members
            return st.nothing()
        shallow = depth >= self.max_depth
        for name, member in shape.members.items():
            if name in skip or _skipped(member):
                continue
            if name in shape.required_members and not shape.is_tagged_union:
                required[name] = self.value(member, depth + 1)
            elif not shallow or shape.is_tagged_union:
                optional[name] = self.value(member, depth + 1)
        if shape.is_tagged_union:
            if not optional:
                return st.just({})
            return st.one_of([s.map(lambda v, n=n: {n: v}) for n, s in sorted(optional.items())])
        return st.fixed_dictionaries(required, optional=optional)

    def list_(self, shape: Any, depth: int, where: str | None) -> st.SearchStrategy[Any]:
        lo = int(shape.metadata.get("min", 0))
        if where in _HTTP_LOCATIONS:  # an empty list is not sent at all
            lo = max(lo, 1)
        hi = int(shape.metadata.get("max", lo + MAX_ITEMS))
        hi = max(lo, min(hi, lo + MAX_ITEMS))
        if depth >= self.max_depth:
            hi = lo
        item_where = "header-list" if where == "header" else where
        items = self.value(shape.member, depth + 1, item_where)
        return st.lists(items, min_size=lo, max_size=hi)

    def map_(self, shape: Any, depth: int, where: str | None) -> st.SearchStrategy[Any]:
        lo = int(shape.metadata.get("min", 0))
        if where in _HTTP_LOCATIONS:
            lo = max(lo, 1)
        hi = int(shape.metadata.get("max", lo + MAX_ITEMS))
        hi = max(lo, min(hi, lo + MAX_ITEMS))
        if depth >= self.max_depth:
            hi = lo
        key_where = "header-name" if where == "headers" else "map-key"
        val_where = "header" if where == "headers" else where
        keys = self.string(shape.key, key_where)
        values = self.value(shape.value, depth + 1, val_where)
        return st.dictionaries(keys, values, min_size=lo, max_size=hi)

    # -- scalars ------------------------------------------------------------------------

    def string(self, shape: Any, where: str | None) -> st.SearchStrategy[str]:
        enum = shape.enum
        if enum:
            values = [e for e in enum if _fits(e, where)]
            return st.sampled_from(values or list(enum))
        lo = int(shape.metadata.get("min", 0))
        hi = int(shape.metadata.get("max", lo + MAX_TEXT))
        hi = max(lo, min(hi, lo + MAX_TEXT))
        if where in ("uri", "map-key", "header-name") or shape.serialization.get("hostLabel"):
            lo = max(lo, 1)
            hi = max(hi, lo)
        if shape.serialization.get("hostLabel"):
            return st.text(string.ascii_lowercase + string.digits + "-", min_size=lo, max_size=hi)
        if where == "header-name":
            return st.text(string.ascii_lowercase + string.digits + "-", min_size=lo, max_size=hi)
        if where == "header" and shape.serialization.get("jsonvalue"):
            return _documents()
        if where in ("header", "header-list"):
            alphabet = _HEADER_ALPHABET if where == "header" else _HEADER_ALPHABET.replace(" ", "")
            return st.text(alphabet, min_size=lo, max_size=hi).filter(lambda s: s == s.strip())
        return st.text(self._alphabet(), min_size=lo, max_size=hi)

    def _alphabet(self) -> st.SearchStrategy[str]:
        banned = ["Cs"] + (["Cc"] if self.protocol in XML_PROTOCOLS else [])
        return st.characters(exclude_categories=banned)

    def floating(self, shape: Any) -> st.SearchStrategy[float]:
        width = 32 if shape.type_name == "float" and self.protocol == "smithy-rpc-v2-cbor" else 64
        lo = shape.metadata.get("min")
        hi = shape.metadata.get("max")
        return st.floats(
            min_value=None if lo is None else float(lo),
            max_value=None if hi is None else float(hi),
            allow_nan=False,
            allow_infinity=False,
            width=width,
        )

    def timestamp(self, whole_seconds: bool = False) -> st.SearchStrategy[datetime]:
        if self.millis and not whole_seconds:
            return st.integers(0, _EPOCH_SPAN_S * 1000).map(
                lambda ms: _EPOCH_LO + timedelta(milliseconds=ms)
            )
        return st.integers(0, _EPOCH_SPAN_S).map(lambda s: _EPOCH_LO + timedelta(seconds=s))

    def blob(self, shape: Any, where: str | None) -> st.SearchStrategy[bytes]:
        lo = int(shape.metadata.get("min", 0))
        hi = int(shape.metadata.get("max", lo + MAX_TEXT))
        hi = max(lo, min(hi, lo + MAX_TEXT))
        return st.binary(min_size=lo, max_size=hi)


def _bound(shape: Any, key: str, default: int, up: bool = True) -> int:
    value = shape.metadata.get(key)
    if value is None:
        return default
    value = int(value) if float(value).is_integer() else (int(value) + (1 if up else 0))
    return max(value, default) if up else min(value, default)


def _fits(value: str, where: str | None) -> bool:
    if where in ("header", "header-list"):
        return value == value.strip() and value.isascii() and "," not in value
    return True


def _skipped(member: Any) -> bool:
    return bool(member.serialization.get("eventstream"))


def _documents() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8)
    # null is fine inside a document, not as the document (it would read as absent).
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    ).filter(lambda doc: doc is not None)
