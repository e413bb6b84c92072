"""group_text.encode gives the store's own text of a group document, byte for byte (so it decodes to
the same dict), and its marshal snapshot, whether its parts are encoded afresh or remembered; and says
whether its keys are str."""

from __future__ import annotations

import json
import marshal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.core.store import Scope, SqliteStore
from gureum.services.autoscaling import group_text, names, records

STORE_TEXT = json.JSONEncoder(separators=(",", ":")).encode  # what SqliteStore.put writes
_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
            | st.text(max_size=4))
_keys = st.text(max_size=4) | st.integers(-1, 1)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner)
                       | st.dictionaries(_keys, inner, max_size=3), max_leaves=8)
_member = st.dictionaries(st.text(max_size=4), _values, max_size=4)
_members = st.dictionaries(st.text(max_size=5) | st.integers(0, 2), _member, max_size=4)


def _plain_keys(value: Any) -> bool:
    """Every key a str, in dicts and lists (tuples are records' to refuse, by their marshal byte)."""
    if isinstance(value, dict):
        return all(type(k) is str and _plain_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_keys(v) for v in value)
    return True


@settings(max_examples=500, deadline=None)
@given(before=st.dictionaries(st.text(max_size=4), _values, max_size=3),
       after=st.dictionaries(st.text(max_size=4), _values, max_size=3), members=_members | st.none(),
       data=st.data())
def test_the_text_is_the_store_encoders(before: dict[str, Any], after: dict[str, Any], members: Any,
                                        data: st.DataObject) -> None:
    doc = dict(before)
    doc.pop("_instances", None)
    if members is not None:
        doc["_instances"] = members
    doc.update((k, v) for k, v in after.items() if k != "_instances")
    for _ in range(2):  # afresh, then from the remembered member texts
        text, keys_str, snapshot = group_text.encode(doc)
        assert text == STORE_TEXT(doc)
        assert keys_str is _plain_keys(doc)
        assert snapshot == marshal.dumps(doc, 2)
    if members:  # one member changed: the others remembered, the text still the encoder's
        iid = data.draw(st.sampled_from(sorted(members, key=repr)))
        members[iid] = data.draw(_member)
        assert group_text.encode(doc)[0::2] == (STORE_TEXT(doc), marshal.dumps(doc, 2))
    if _plain_keys(doc):  # as read from the store: keys and strings not interned
        again = json.loads(STORE_TEXT(doc))
        assert group_text.encode(again)[0::2] == (STORE_TEXT(again), marshal.dumps(again, 2))


def test_a_saved_group_reads_back_as_it_was_saved() -> None:
    store = SqliteStore(":memory:")
    scope = Scope("123456789012", "us-east-1")
    doc: dict[str, Any] = {"AutoScalingGroupName": "g", "DesiredCapacity": 2, "_instances": {
        f"i-{n}": {"InstanceId": f"i-{n}", "LifecycleState": "InService", "_launchedAt": 1.5 + n,
                   "Name": "caf\u00e9 \u2603", "_actions": {}} for n in range(3)}, "Tags": []}
    records.save_group(store, scope, doc)
    assert store.get(names.GROUP, scope, "g") == doc
    doc["_instances"]["i-1"]["LifecycleState"] = "Terminating"
    records.save_group(store, scope, doc)
    assert store.get(names.GROUP, scope, "g") == doc
    store.close()
