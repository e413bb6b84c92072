"""SqliteStore.append_encoded of a few rows (one INSERT, the history's usual append): the same seqs,
order, series names and rollback as a batch through append_columns."""

from __future__ import annotations

import pytest

from gureum.core.store import Scope, SqliteStore

A = Scope("111111111111", "us-east-1")


def test_a_few_rows_get_consecutive_seqs_in_their_order_across_series() -> None:
    store = SqliteStore(":memory:")
    first = store.append_encoded("h", A, [("a", 2.0, '{"n":1}')])
    seqs = store.append_encoded("h", A, [("b", 1.0, '{"n":2}'), ("a", 1.0, '{"n":3}'), ("b", 3.0, '{"n":4}')])
    assert seqs == [first[0] + 1, first[0] + 2, first[0] + 3]
    assert [(r.seq, r.doc["n"]) for r in store.series("h", A, "a")] == [(seqs[1], 3), (first[0], 1)]
    assert [(r.seq, r.doc["n"]) for r in store.series("h", A, "b")] == [(seqs[0], 2), (seqs[2], 4)]
    many = store.append_encoded("h", A, [("c", float(i), "{}") for i in range(70)])  # over one INSERT
    assert many == list(range(seqs[2] + 1, seqs[2] + 71))
    assert store.series_keys("h", A) == ["a", "b", "c"]
    store.close()


def test_a_failed_block_keeps_none_of_them_nor_the_names_it_made() -> None:
    store = SqliteStore(":memory:")
    store.append_encoded("h", A, [("a", 1.0, "{}")])
    with pytest.raises(RuntimeError), store.transaction():
        store.append_encoded("h", A, [("a", 2.0, "{}"), ("new", 2.0, "{}")])
        raise RuntimeError("boom")
    assert [r.ts for r in store.series("h", A, "a")] == [1.0]
    assert store.series_keys("h", A) == ["a"]
    assert ("new" in store._sids[("h", A.account, A.region)]) is False
    assert store.append_encoded("h", A, [("new", 3.0, '{"x":1}')])  # made again, usable
    assert [r.doc for r in store.series("h", A, "new")] == [{"x": 1}]
    store.close()


def test_a_malformed_row_writes_nothing() -> None:
    store = SqliteStore(":memory:")
    with pytest.raises(ValueError):
        store.append_encoded("h", A, [("a", 1.0, "{}"), ("b", 2.0)])  # type: ignore[list-item]
    assert store.series_keys("h", A) == []
    assert store.append_encoded("h", A, [("a", 1.0, "{}")]) == [1]
    store.close()
