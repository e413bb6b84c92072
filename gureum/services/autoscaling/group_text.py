"""A group document's stored JSON text, its members' parts remembered (what :func:`records.save_group` writes).

A group is saved on nearly every reconcile and most of its ~4 KB is its members
(``_instances``), which a reconcile seldom changes.  :func:`encode` gives exactly
the text the store's encoder (``json.JSONEncoder(separators=(",", ":"))``) makes
of the whole document — byte for byte, so it decodes to the same dict — but
encodes a member only when its ``marshal`` snapshot (version 2: equal bytes, an
equal value of the same types and order) is not one it has encoded before.

Rules: the encoder writes an object as ``{`` + ``,``-joined ``key:value`` + ``}``
whatever the nesting, so the text of the members' object is spliced between the
texts of the keys before and after ``_instances``, in the document's order.
The memory of member texts is per process, bounded (:data:`KEEP`; emptied when
full).  :func:`encode` also tells whether the document holds JSON's types only
(every dict key a str; checked on the parts: a remembered member was checked
when it was first encoded).  No I/O.
"""

from __future__ import annotations

import functools
import json
import marshal
from typing import Any

Doc = dict[str, Any]
MEMBERS = "_instances"
KEEP = 4096  # member texts remembered

_encode = json.JSONEncoder(separators=(",", ":")).encode  # the store's (SqliteStore.put's) text
_texts: dict[bytes, tuple[str, bool]] = {}  # a member's marshal snapshot → (its text, its keys all str)


def keys_typed(node: Any) -> bool:
    """Whether every dict key in ``node`` (dicts and lists, nested) is a str (tuples: see the caller)."""
    join = "".join
    stack: list[Any] = [node]
    pop, push = stack.pop, stack.append
    try:
        while stack:
            node = pop()
            if type(node) is dict:
                join(node)  # (refuses a key that is not a str)
                node = node.values()
            for value in node:
                if type(value) is dict or type(value) is list:
                    push(value)
    except TypeError:
        return False
    return True


@functools.lru_cache(maxsize=KEEP)
def _key_text(key: str) -> str:
    return _encode(key) + ":"


def _member(member: Any) -> tuple[str, bool]:
    data = marshal.dumps(member, 2)
    known = _texts.get(data)
    if known is None:
        if len(_texts) >= KEEP:
            _texts.clear()
        known = _texts[data] = (_encode(member), keys_typed(member))
    return known


def encode(doc: Doc) -> tuple[str, bool]:
    """The store's JSON text of ``doc`` and whether every dict key in it is a str (tuples are the
    caller's to look for: a ``(`` byte in the document's marshal snapshot)."""
    members = doc.get(MEMBERS)
    if type(members) is not dict or not members:
        return _encode(doc), keys_typed(doc)
    before: Doc = {}
    after: Doc = {}
    into = before
    for key, value in doc.items():
        if key == MEMBERS:
            into = after
        else:
            into[key] = value
    typed = keys_typed(before) and keys_typed(after)
    try:
        parts = []
        for iid, member in members.items():
            if type(iid) is not str:
                raise TypeError("a member key that is not a str")
            text, member_typed = _member(member)
            parts.append(_key_text(iid) + text)
            typed = typed and member_typed
    except (TypeError, ValueError):  # (a key that is not a str; a value marshal refuses)
        return _encode(doc), False
    head = _encode(before)[:-1] + ("," if before else "") + '"_instances":{' + ",".join(parts) + "}"
    if not after:
        return head + "}", typed
    return head + "," + _encode(after)[1:], typed
