"""Hypothesis strategies for values of botocore shapes, and the normal form to compare them.

Values obey what :func:`gureum.protocol.validate.validate_input` checks
(required members, enums, lengths, numeric ranges) so a round trip can only
fail on the wire code.  Strings stay within what XML 1.0 can carry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

_ALPHABET = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
    + "\ufffe\uffff",
)
_MAX_DEPTH = 4
_cache: dict[tuple[int, str, str, int, bool], st.SearchStrategy[Any]] = {}

TIMESTAMPS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
)


def _bounds(shape: Any, lo_default: int, hi_default: int) -> tuple[int, int]:
    lo = int(shape.metadata.get("min", lo_default))
    hi = shape.metadata.get("max")
    hi_value = hi_default if hi is None else min(int(hi), max(lo, hi_default))
    return max(lo, 0), max(hi_value, lo)


def text_for(shape: Any, alphabet: st.SearchStrategy[str] = _ALPHABET) -> st.SearchStrategy[str]:
    if shape.enum:
        return st.sampled_from(list(shape.enum))
    lo, hi = _bounds(shape, 0, 12)
    return st.text(alphabet, min_size=lo, max_size=hi)


def number_for(shape: Any) -> st.SearchStrategy[Any]:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if shape.type_name in ("float", "double"):
        return st.floats(
            min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False, width=64
        )
    limit = 2**31 - 1 if shape.type_name == "integer" else 2**53
    return st.integers(
        min_value=int(lo) if lo is not None else -limit,
        max_value=int(hi) if hi is not None else limit,
    )


def value_for(
    shape: Any, depth: int = 0, *, text: Any = None, skip: Any = None
) -> st.SearchStrategy[Any]:
    """A strategy for values of ``shape``.

    ``text(shape)`` may replace the string strategy; ``skip(name, member)``
    leaves a structure member out (streams, event streams…).
    """
    # Shape names are unique within one service model only.
    model_id = id(getattr(shape, "_shape_resolver", None))
    key = (
        model_id,
        shape.name,
        shape.type_name,
        min(depth, _MAX_DEPTH),
        text is None and skip is None,
    )
    if key[4] and key in _cache:
        return _cache[key]
    strategy = _build(shape, depth, text or text_for, skip or (lambda name, member: False))
    if key[4]:
        _cache[key] = strategy
    return strategy


def _build(shape: Any, depth: int, text: Any, skip: Any) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    again = dict(text=text, skip=skip) if text is not text_for or skip else {}
    if kind == "structure":
        return _structure(shape, depth, text, skip, again)
    if kind == "list":
        lo, hi = _bounds(shape, 0, 3)
        if depth >= _MAX_DEPTH:
            hi = lo
        return st.lists(_item(shape.member, depth, again), min_size=lo, max_size=hi)
    if kind == "map":
        lo, hi = _bounds(shape, 0, 3)
        if depth >= _MAX_DEPTH:
            hi = lo
        return st.dictionaries(
            text(shape.key), _item(shape.value, depth, again), min_size=lo, max_size=hi
        )
    if kind == "string":
        return text(shape)
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "long", "float", "double"):
        return number_for(shape)
    if kind == "timestamp":
        return TIMESTAMPS
    if kind == "blob":
        lo, hi = _bounds(shape, 0, 16)
        return st.binary(min_size=lo, max_size=hi)
    raise NotImplementedError(kind)


def _item(shape: Any, depth: int, again: dict[str, Any]) -> st.SearchStrategy[Any]:
    # An empty structure, list or map inside a list or map (or as a required
    # member) has no wire form in the query protocols: it would vanish.
    strategy = value_for(shape, depth + 1, **again)
    if shape.type_name not in ("structure", "list", "map"):
        return strategy
    if shape.type_name == "structure" and not shape.members:
        return st.nothing()
    return strategy.filter(lambda v: bool(normal(v)))


def _structure(
    shape: Any, depth: int, text: Any, skip: Any, again: dict[str, Any]
) -> st.SearchStrategy[Any]:
    required = set(shape.required_members)
    members = {
        name: member
        for name, member in shape.members.items()
        if not skip(name, member) and not member.serialization.get("eventstream")
    }
    if getattr(shape, "is_tagged_union", False) and members:
        return st.one_of(
            [
                value_for(m, depth + 1, **again).map(lambda v, n=n: {n: v})
                for n, m in members.items()
            ]
        )
    fixed = {n: _item(m, depth, again) for n, m in members.items() if n in required}
    optional = {}
    if depth < _MAX_DEPTH:
        optional = {
            n: value_for(m, depth + 1, **again) for n, m in members.items() if n not in required
        }
    return st.fixed_dictionaries(fixed, optional=optional)


def normal(value: Any) -> Any:
    """Compare form: UTC datetimes to the millisecond; no None, no empty lists/maps."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            n = normal(v)
            if n is None or (isinstance(n, (list, dict)) and not n):
                continue
            out[k] = n
        return out
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, datetime):
        when = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return when.replace(microsecond=when.microsecond // 1000 * 1000)
    if isinstance(value, bytearray):
        return bytes(value)
    return value
