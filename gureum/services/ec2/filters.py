"""EC2's ``Filters`` parameter: ``[{"Name": ..., "Values": [...]}, ...]``.

Rules (EC2 API reference, "Filtering"): a resource matches when it matches
every filter; a filter matches when any of its values matches; values may use
``*`` (zero or more characters) and ``?`` (exactly one), and a backslash
escapes either.  Matching is case-sensitive.  Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from gureum.core.errors import ServiceError

T = TypeVar("T")

# For each filter name, how to read the resource's values for it.
Getters = Mapping[str, Callable[[T], Iterable[str]]]


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def value_matches(pattern: str, value: str) -> bool:
    return _compile(pattern).fullmatch(value) is not None


def check_names(filters: Sequence[Mapping[str, Any]] | None, getters: Mapping[str, Any]) -> None:
    """Refuse filter names this resource does not know, as EC2 does."""
    for f in filters or ():
        name = f.get("Name") or ""
        if name not in getters and not name.startswith("tag:") and name not in ("tag-key", "tag-value"):
            raise ServiceError(
                "InvalidParameterValue", f"The filter '{name}' is invalid", 400, sender_fault=True
            )


def matches(item: T, filters: Sequence[Mapping[str, Any]] | None, getters: Getters[T]) -> bool:
    for f in filters or ():
        name = f.get("Name") or ""
        patterns = list(f.get("Values") or [])
        getter = getters.get(name)
        if getter is None:
            return False
        values = list(getter(item))
        if not any(value_matches(p, v) for p in patterns for v in values):
            return False
    return True


def apply(items: Iterable[T], filters: Sequence[Mapping[str, Any]] | None, getters: Getters[T]) -> list[T]:
    check_names(filters, getters)
    return [item for item in items if matches(item, filters, getters)]
