"""records trusts its own committed writes of a group (no read back), never a rolled-back one, never a
document the store would give back in other types (tuples, keys that are not str)."""

from __future__ import annotations

import json
import marshal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.core.store import Doc, Scope, SqliteStore
from gureum.services.autoscaling import records

SCOPE = Scope("123456789012", "us-east-1")


class CountingStore(SqliteStore):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.gets = 0

    def get(self, kind: str, scope: Scope, key: str) -> Doc | None:
        self.gets += 1
        return super().get(kind, scope, key)


def group(desired: int, **extra: Any) -> Doc:
    return {"AutoScalingGroupName": "g", "DesiredCapacity": desired, "Tags": [{"Key": "k", "Value": "v"}],
            "_instances": {"i-1": {"InstanceId": "i-1", "LifecycleState": "InService", "_launchedAt": 1.5}},
            **extra}


@pytest.fixture
def store() -> CountingStore:
    return CountingStore(":memory:")


def test_a_write_outside_a_transaction_serves_the_next_read(store: CountingStore) -> None:
    assert records.save_group(store, SCOPE, group(3)) is None
    assert records.get_group(store, SCOPE, "g") == group(3)
    assert store.gets == 0
    assert records.read_token(store, SCOPE, "g") is not None


def test_a_rolled_back_write_is_not_trusted(store: CountingStore) -> None:
    records.save_group(store, SCOPE, group(2))
    with pytest.raises(RuntimeError), store.transaction():
        token = records.save_group(store, SCOPE, group(5))
        assert token is not None
        assert records.read_token(store, SCOPE, "g") is None
        raise RuntimeError("the block fails")
    assert records.get_group(store, SCOPE, "g") == group(2)  # what the store holds
    assert store.gets == 1


def test_a_write_in_a_transaction_is_trusted_once_its_writer_says_it_committed(store: CountingStore) -> None:
    with store.transaction():
        token = records.save_group(store, SCOPE, group(4))
    records.committed(store, SCOPE, "g", token)
    assert records.get_group(store, SCOPE, "g") == group(4)
    assert store.gets == 0


def test_a_write_in_a_transaction_not_said_committed_is_read_back(store: CountingStore) -> None:
    with store.transaction():
        records.save_group(store, SCOPE, group(4))
    assert records.get_group(store, SCOPE, "g") == group(4)
    assert store.gets == 1


def test_committed_inside_an_outer_transaction_trusts_nothing(store: CountingStore) -> None:
    records.save_group(store, SCOPE, group(2))
    with pytest.raises(RuntimeError), store.transaction():
        with store.transaction():
            token = records.save_group(store, SCOPE, group(6))
        records.committed(store, SCOPE, "g", token)  # the inner block ended; the outer one rolls back
        raise RuntimeError("the outer block fails")
    assert records.get_group(store, SCOPE, "g") == group(2)
    assert store.gets == 1


def test_a_later_write_is_not_trusted_by_an_earlier_token(store: CountingStore) -> None:
    with store.transaction():
        first = records.save_group(store, SCOPE, group(4))
    with pytest.raises(RuntimeError), store.transaction():
        records.save_group(store, SCOPE, group(7))
        raise RuntimeError("the block fails")
    records.committed(store, SCOPE, "g", first)
    assert records.get_group(store, SCOPE, "g") == group(4)
    assert store.gets == 1


def test_parentheses_in_strings_do_not_stop_the_trust(store: CountingStore) -> None:
    records.save_group(store, SCOPE, group(3, _cause="At 12:00 (UTC) a user (me) changed it, sadly :("))
    assert records.get_group(store, SCOPE, "g") == group(3, _cause="At 12:00 (UTC) a user (me) changed it, sadly :(")
    assert store.gets == 0


@pytest.mark.parametrize("extra", [{"_zones": ("a", "b"), "_cause": "x (y)"}, {"_zones": ("a", "b")}, {"_counts": {1: "x"}}, {"_x": [{"k": (1,)}]},
                                   {"_y": {"a": {None: 1}}}])
def test_a_document_the_store_gives_back_in_other_types_is_read_back(store: CountingStore, extra: Doc) -> None:
    records.save_group(store, SCOPE, group(3, **extra))
    got = records.get_group(store, SCOPE, "g")
    assert store.gets == 1
    assert got == json.loads(json.dumps(group(3, **extra)))


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
_keys = st.text(max_size=4) | st.integers(-2, 2) | st.booleans()
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner)
                       | st.dictionaries(_keys, inner, max_size=3), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(doc=st.dictionaries(st.text(max_size=4), _values, max_size=5))
def test_json_typed_means_the_store_gives_back_the_same_document(doc: Doc) -> None:
    data = marshal.dumps(doc, 2)
    again = json.loads(json.dumps(doc))
    if records.json_typed(doc, data):
        assert marshal.dumps(again, 2) == data  # same values, types and order
    elif b"(" not in data:
        assert not _plain(doc)  # refused for a key that is not a str


def _plain(value: Any) -> bool:
    if isinstance(value, tuple):
        return False
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return True
