"""A group document's stored JSON text, its members' parts remembered (what :func:`records.save_group` writes).

A group is saved on nearly every reconcile and most of its ~4 KB is its members
(``_instances``), which a reconcile seldom changes.  :func:`encode` gives exactly
the text the store's encoder (``json.JSONEncoder(separators=(",", ":"))``) makes
of the whole document — byte for byte, so it decodes to the same dict — but
encodes a part — a member, or the keys before or after ``_instances`` — only
when its ``marshal`` snapshot (version 2: equal bytes, an equal value of the
same types and order) is not one it has encoded before; the document's own
snapshot (what :mod:`records` compares and serves reads from) is made of the
parts' snapshots, byte for byte what ``marshal.dumps(doc, 2)`` gives.

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
KEEP = 4096  # part texts remembered

_encode = json.JSONEncoder(separators=(",", ":")).encode  # the store's (SqliteStore.put's) text
# a member's (or the keys before or after the members') marshal snapshot → (its text, its keys all str)
_texts: dict[bytes, tuple[str, bool]] = {}


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


def _part(value: Any) -> tuple[bytes, str, bool]:
    """``value``'s marshal snapshot, its text and whether its keys are all str (remembered)."""
    data = marshal.dumps(value, 2)
    known = _texts.get(data)
    if known is None:
        if len(_texts) >= KEEP:
            _texts.clear()
        known = _texts[data] = (_encode(value), keys_typed(value))
    return data, known[0], known[1]


def encode(doc: Doc) -> tuple[str, bool, bytes]:
    """The store's JSON text of ``doc``, whether every dict key in it is a str (tuples are the
    caller's to look for) and ``marshal.dumps(doc, 2)`` (made of its parts' snapshots: version 2
    writes a dict as ``{``, each key and value, ``0``, with no references between them)."""
    members = doc.get(MEMBERS)
    if type(members) is not dict or not members:
        return _encode(doc), keys_typed(doc), marshal.dumps(doc, 2)
    before: Doc = {}
    after: Doc = {}
    into = before
    members_key: Any = MEMBERS
    for key, value in doc.items():
        if key == MEMBERS:
            into, members_key = after, key  # (the document's own key object: interned or not)
        else:
            into[key] = value
    data_before, text_before, typed = _part(before)
    data_after, text_after, typed_after = _part(after)
    texts = []
    datas = []
    dump = marshal.dumps
    for iid, member in members.items():
        if type(iid) is not str:  # (the encoder writes such a key as a str: no part of its own)
            return _encode(doc), False, marshal.dumps(doc, 2)
        data, text, member_typed = _part(member)
        texts.append(_key_text(iid) + text)
        datas.append(dump(iid, 2) + data)
        typed = typed and member_typed
    data = data_before[:-1] + dump(members_key, 2) + b"{" + b"".join(datas) + b"0" + data_after[1:]
    head = text_before[:-1] + ("," if before else "") + '"_instances":{' + ",".join(texts) + "}"
    if not after:
        return head + "}", typed and typed_after, data
    return head + "," + text_after[1:], typed and typed_after, data
