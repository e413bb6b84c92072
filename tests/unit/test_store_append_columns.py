"""SqliteStore.append_columns / append_encoded: multi-row INSERTs (chunked), seqs in row order, and the
transaction object: nesting, rollback of a failed block (rows and the series ids it made), the lock."""

from __future__ import annotations

import threading

import pytest

from gureum.core.store import Scope, SqliteStore

SCOPE = Scope("123456789012", "us-east-1")


def test_a_batch_longer_than_one_insert_keeps_row_order_and_seqs() -> None:
    store = SqliteStore(":memory:")
    n = 150  # (more than one INSERT statement's rows)
    keys = [f"m{i % 7}" for i in range(n)]
    seqs = store.append_columns("k", SCOPE, keys, [float(i) for i in range(n)], [f'{{"i":{i}}}' for i in range(n)])
    assert seqs == list(range(seqs[0], seqs[0] + n))
    for key in set(keys):
        got = [(r.seq, r.doc["i"]) for r in store.series("k", SCOPE, key)]
        assert got == [(seqs[i], i) for i in range(n) if keys[i] == key]
    again = store.append_encoded("k", SCOPE, [("m0", 1.0, '{"i":-1}'), ("new", 2.0, '{"i":-2}')])
    assert again == [seqs[-1] + 1, seqs[-1] + 2]
    assert [r.doc for r in store.series("k", SCOPE, "new")] == [{"i": -2}]
    assert store.append_columns("k", SCOPE, [], [], []) == []
    store.close()


def test_columns_of_unequal_length_are_refused_and_leave_nothing() -> None:
    store = SqliteStore(":memory:")
    with pytest.raises(ValueError):
        store.append_columns("k", SCOPE, ["a", "b"], [1.0], ['{}', '{}'])
    assert store.series("k", SCOPE, "a") == [] and store.series_keys("k", SCOPE) == []
    store.close()


def test_a_failed_block_forgets_the_series_ids_it_made(tmp_path: object) -> None:
    store = SqliteStore(":memory:")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.append_encoded("k", SCOPE, [("fresh", 1.0, '{"n":1}')])
            raise RuntimeError("boom")
    assert store.series("k", SCOPE, "fresh") == []
    seq = store.append_encoded("k", SCOPE, [("fresh", 2.0, '{"n":2}')])[0]  # made again, not a stale id
    assert [(r.seq, r.doc) for r in store.series("k", SCOPE, "fresh")] == [(seq, {"n": 2})]
    store.close()


def test_an_inner_failure_caught_inside_the_block_still_commits_the_rest() -> None:
    store = SqliteStore(":memory:")
    with store.transaction():
        store.put("d", SCOPE, "a", {"v": 1})
        with pytest.raises(KeyError):
            with store.transaction():
                store.put("d", SCOPE, "b", {"v": 2})
                raise KeyError("inner")
        store.put("d", SCOPE, "c", {"v": 3})
    assert [k for k, _ in store.list("d", SCOPE)] == ["a", "b", "c"]
    store.close()


def test_the_lock_is_free_after_a_failed_block() -> None:
    store = SqliteStore(":memory:")
    with pytest.raises(RuntimeError):
        with store.transaction():
            raise RuntimeError("boom")
    done = threading.Event()

    def write() -> None:
        store.put("d", SCOPE, "x", {"v": 1})
        done.set()

    t = threading.Thread(target=write)
    t.start()
    assert done.wait(5.0)
    t.join()
    assert store.get("d", SCOPE, "x") == {"v": 1}
    store.close()


def test_append_is_durable_across_a_new_connection(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "g.db"
    store = SqliteStore(path)
    seqs = store.append_columns("k", SCOPE, ["a"] * 3, [60.0] * 3, ['{"x":1.0}', '{"x":2.0}', '{"x":3.0}'])
    other = SqliteStore(path)  # (another connection sees only committed rows)
    assert [(r.seq, r.doc["x"]) for r in other.series("k", SCOPE, "a")] == list(zip(seqs, [1.0, 2.0, 3.0], strict=True))
    other.close()
    store.close()
