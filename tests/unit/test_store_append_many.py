"""SqliteStore.append_many: rows of several series in one call, each with the seq a read shows."""

from __future__ import annotations

from gureum.core.store import Scope, SqliteStore

SCOPE = Scope("123456789012", "us-east-1")


def test_append_many_returns_the_seqs_the_series_hold() -> None:
    store = SqliteStore(":memory:")
    first = store.append("k", SCOPE, "a", [(0.0, {"n": 0})])[0]
    seqs = store.append_many("k", SCOPE, [("a", 2.0, {"n": 1}), ("b", 1.0, {"n": 2}), ("a", 1.0, {"n": 3})])
    assert len(set(seqs)) == 3
    got = {(r.doc["n"], r.seq) for key in ("a", "b") for r in store.series("k", SCOPE, key)}
    assert got == {(0, first), (1, seqs[0]), (2, seqs[1]), (3, seqs[2])}
    assert [r.doc["n"] for r in store.series("k", SCOPE, "a")] == [0, 3, 1]  # by time, then seq
    assert store.append_many("k", SCOPE, []) == []
    store.append("k", SCOPE, "b", [(5.0, {"n": 4})])  # seqs go on increasing after a batch
    assert store.series("k", SCOPE, "b")[-1].seq > max(seqs)
    store.close()


def test_a_failed_block_keeps_nothing_of_a_batch() -> None:
    store = SqliteStore(":memory:")
    try:
        with store.transaction():
            store.append_many("k", SCOPE, [("a", 1.0, {"n": 1})])
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.series("k", SCOPE, "a") == []
    store.close()
