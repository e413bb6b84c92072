"""Filter patterns for unstructured log events (FilterLogEvents).

Supported, as in AWS's "Filter pattern syntax" for terms:

* empty pattern (or ``""``)   – every event;
* ``ERROR Exception``         – every term must appear (AND);
* ``"connection reset"``      – a quoted phrase is one term, spaces included;
* ``-DEBUG``                  – the term must not appear;
* ``?ERROR ?WARN``            – at least one of the ``?`` terms must appear;
* ``%regex%``                 – a regular expression searched in the message
  (AWS's subset: no ``( )`` groups).

Terms match as case-sensitive substrings of the message.  JSON patterns
(``{ $.field = … }``) and space-delimited patterns (``[ip, user, …]``) are
refused with :class:`FilterPatternError` rather than silently matching
nothing.  Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class FilterPatternError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FilterPattern:
    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, message: str) -> bool:
        if self.regex is not None:
            return self.regex.search(message) is not None
        if any(term not in message for term in self.required):
            return False
        if any(term in message for term in self.excluded):
            return False
        if self.any_of and not any(term in message for term in self.any_of):
            return False
        return True


MATCH_ALL = FilterPattern()


def parse(pattern: str | None) -> FilterPattern:
    text = (pattern or "").strip()
    if not text or text == '""':
        return MATCH_ALL
    if text.startswith("{"):
        raise FilterPatternError("JSON filter patterns are not supported by Gureum yet")
    if text.startswith("["):
        raise FilterPatternError("Space-delimited filter patterns are not supported by Gureum yet")
    if len(text) >= 2 and text.startswith("%") and text.endswith("%"):
        return _regex(text[1:-1])
    required: list[str] = []
    excluded: list[str] = []
    any_of: list[str] = []
    for sign, term in _terms(text):
        {"": required, "-": excluded, "?": any_of}[sign].append(term)
    return FilterPattern(tuple(required), tuple(excluded), tuple(any_of))


def _regex(body: str) -> FilterPattern:
    if "(" in body or ")" in body:
        raise FilterPatternError("Invalid regex in filter pattern: '(' and ')' are not supported")
    try:
        return FilterPattern(regex=re.compile(body))
    except re.error as exc:
        raise FilterPatternError(f"Invalid regex in filter pattern: {exc}") from exc


def _terms(text: str) -> list[tuple[str, str]]:
    """Split into (sign, term) pairs; sign is "", "-" or "?"."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        sign = ""
        if text[i] in "-?" and i + 1 < n and not text[i + 1].isspace():
            sign = text[i]
            i += 1
        if text[i] == '"':
            term, i = _quoted(text, i + 1)
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            term, i = text[i:j], j
        if term:
            out.append((sign, term))
    return out


def _quoted(text: str, i: int) -> tuple[str, int]:
    buf: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(buf), i + 1
        buf.append(ch)
        i += 1
    raise FilterPatternError("Invalid filter pattern: unterminated quoted term")
