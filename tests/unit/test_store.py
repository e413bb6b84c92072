"""SqliteStore: documents, paging, transactions, series — on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gureum.core.store import GLOBAL, Scope, SqliteStore

A = Scope("111111111111", "us-east-1")
B = Scope("222222222222", "eu-west-1")


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "db" / "gureum.db")
    yield s
    s.close()


# -- documents -----------------------------------------------------------------------


def test_put_get_delete_round_trip(store: SqliteStore) -> None:
    assert store.get("t.doc", A, "k") is None
    store.put("t.doc", A, "k", {"n": 1, "s": "구름", "l": [1, 2], "d": {"x": None}})
    assert store.get("t.doc", A, "k") == {"n": 1, "s": "구름", "l": [1, 2], "d": {"x": None}}
    store.put("t.doc", A, "k", {"n": 2})
    assert store.get("t.doc", A, "k") == {"n": 2}
    assert store.delete("t.doc", A, "k") is True
    assert store.delete("t.doc", A, "k") is False
    assert store.get("t.doc", A, "k") is None


def test_documents_are_isolated_by_kind_account_and_region(store: SqliteStore) -> None:
    store.put("t.doc", A, "k", {"who": "A"})
    store.put("t.doc", B, "k", {"who": "B"})
    store.put("t.other", A, "k", {"who": "other"})
    store.put("t.doc", Scope(A.account, "eu-west-1"), "k", {"who": "A-eu"})
    store.put("t.doc", GLOBAL, "k", {"who": "global"})
    assert store.get("t.doc", A, "k") == {"who": "A"}
    assert store.get("t.doc", B, "k") == {"who": "B"}
    assert store.get("t.other", A, "k") == {"who": "other"}
    assert store.get("t.doc", Scope(A.account, "eu-west-1"), "k") == {"who": "A-eu"}
    assert store.get("t.doc", GLOBAL, "k") == {"who": "global"}
    assert store.count("t.doc") == 4
    assert store.count("t.doc", A) == 1
    assert sorted(store.list_scopes("t.doc"), key=str) == sorted(
        [A, B, Scope(A.account, "eu-west-1"), GLOBAL], key=str
    )


def test_insert_creates_only_once(store: SqliteStore) -> None:
    assert store.insert("t.doc", A, "k", {"v": 1}) is True
    assert store.insert("t.doc", A, "k", {"v": 2}) is False
    assert store.get("t.doc", A, "k") == {"v": 1}


def test_list_orders_by_key_and_filters_prefix(store: SqliteStore) -> None:
    for key in ["b/2", "a/1", "b/1", "b", "c", "b/10", "ba"]:
        store.put("t.doc", A, key, {"key": key})
    store.put("t.doc", B, "b/3", {"key": "elsewhere"})
    assert [k for k, _ in store.list("t.doc", A)] == ["a/1", "b", "b/1", "b/10", "b/2", "ba", "c"]
    assert [k for k, _ in store.list("t.doc", A, prefix="b/")] == ["b/1", "b/10", "b/2"]
    assert [d["key"] for _, d in store.list("t.doc", A, prefix="b/")] == ["b/1", "b/10", "b/2"]
    assert store.count("t.doc", A, prefix="b") == 5
    # Without a scope: every account and region.
    assert [k for k, _ in store.list("t.doc", prefix="b/")] == ["b/1", "b/10", "b/2", "b/3"]


def test_list_pages_with_start_after_and_limit(store: SqliteStore) -> None:
    keys = [f"k{i:03d}" for i in range(25)]
    for key in reversed(keys):
        store.put("t.doc", A, key, {})
    seen: list[str] = []
    marker = ""
    while True:
        page = store.list("t.doc", A, start_after=marker, limit=10)
        if not page:
            break
        assert len(page) <= 10
        seen += [k for k, _ in page]
        marker = page[-1][0]
    assert seen == keys
    # start_after combined with a prefix stays inside the prefix.
    store.put("t.doc", A, "z", {})
    assert [k for k, _ in store.list("t.doc", A, prefix="k02", start_after="k021")] == [
        "k022", "k023", "k024"
    ]


def test_transaction_commits_on_success(store: SqliteStore) -> None:
    with store.transaction():
        store.put("t.doc", A, "x", {"v": 1})
        store.append("t.series", A, "s", [(1.0, {"m": "a"})])
    assert store.get("t.doc", A, "x") == {"v": 1}
    assert len(store.series("t.series", A, "s")) == 1


def test_transaction_rollback_leaves_nothing(store: SqliteStore) -> None:
    store.put("t.doc", A, "kept", {"v": 0})
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put("t.doc", A, "x", {"v": 1})
            store.put("t.doc", A, "kept", {"v": 99})
            store.delete("t.doc", A, "kept")
            store.append("t.series", A, "s", [(1.0, {"m": "a"}), (2.0, {"m": "b"})])
            with store.transaction():  # nested blocks join the outer one
                store.put("t.doc", A, "y", {"v": 2})
            raise RuntimeError("boom")
    assert store.get("t.doc", A, "x") is None
    assert store.get("t.doc", A, "y") is None
    assert store.get("t.doc", A, "kept") == {"v": 0}
    assert store.series("t.series", A, "s") == []
    assert store.series_keys("t.series", A) == []


def test_rolled_back_writes_are_not_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    s = SqliteStore(path)
    s.put("t.doc", A, "committed", {"v": 1})
    with pytest.raises(ValueError):
        with s.transaction():
            s.put("t.doc", A, "rolled-back", {"v": 2})
            raise ValueError
    s.close()
    s2 = SqliteStore(path)
    assert s2.get("t.doc", A, "committed") == {"v": 1}
    assert s2.get("t.doc", A, "rolled-back") is None
    s2.close()


def test_writes_persist_across_store_objects(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    s1 = SqliteStore(path)
    s1.put("t.doc", A, "k", {"v": 1})
    s1.append("t.series", A, "s", [(5.0, {"m": 1})])
    # A second connection sees committed writes while the first is still open.
    s2 = SqliteStore(path)
    assert s2.get("t.doc", A, "k") == {"v": 1}
    assert [r.doc for r in s2.series("t.series", A, "s")] == [{"m": 1}]
    s1.close()
    s2.close()


def test_reset_clears_documents_and_series(store: SqliteStore) -> None:
    store.put("t.doc", A, "k", {})
    store.append("t.series", A, "s", [(1.0, {})])
    store.reset()
    assert store.count("t.doc") == 0
    assert store.series("t.series", A, "s") == []


# -- series ----------------------------------------------------------------------------


def _fill(store: SqliteStore) -> list[int]:
    # Out of time order on purpose, with a tie at ts=20.
    items = [(30.0, {"m": "c"}), (10.0, {"m": "a"}), (20.0, {"m": "b1"}), (20.0, {"m": "b2"}), (40.0, {"m": "d"})]
    return store.append("t.series", A, "s", items)


def test_append_assigns_increasing_seqs(store: SqliteStore) -> None:
    seqs = _fill(store)
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    more = store.append("t.series", A, "s", [(1.0, {})])
    assert more[0] > seqs[-1]


def test_series_is_ordered_by_time_then_seq(store: SqliteStore) -> None:
    _fill(store)
    assert [r.doc["m"] for r in store.series("t.series", A, "s")] == ["a", "b1", "b2", "c", "d"]
    assert [r.doc["m"] for r in store.series("t.series", A, "s", newest_first=True)] == [
        "d", "c", "b2", "b1", "a"
    ]
    assert [r.ts for r in store.series("t.series", A, "s")] == [10.0, 20.0, 20.0, 30.0, 40.0]


def test_series_time_range_is_half_open(store: SqliteStore) -> None:
    _fill(store)
    got = store.series("t.series", A, "s", start=20.0, end=40.0)
    assert [r.doc["m"] for r in got] == ["b1", "b2", "c"]
    assert store.series("t.series", A, "s", start=41.0) == []


def test_series_pages_forward_with_after_seq(store: SqliteStore) -> None:
    _fill(store)
    pages: list[list[str]] = []
    after: int | None = None
    while True:
        page = store.series("t.series", A, "s", after_seq=after, limit=2)
        if not page:
            break
        pages.append([r.doc["m"] for r in page])
        after = page[-1].seq
    # The tie at ts=20 is split across pages without losing or repeating a record.
    assert pages == [["a", "b1"], ["b2", "c"], ["d"]]


def test_series_pages_backward_with_before_seq(store: SqliteStore) -> None:
    _fill(store)
    pages: list[list[str]] = []
    before: int | None = None
    while True:
        page = store.series("t.series", A, "s", before_seq=before, limit=2, newest_first=True)
        if not page:
            break
        pages.append([r.doc["m"] for r in page])
        before = page[-1].seq
    assert pages == [["d", "c"], ["b2", "b1"], ["a"]]


def test_series_after_and_before_together(store: SqliteStore) -> None:
    _fill(store)
    allrecs = store.series("t.series", A, "s")
    got = store.series("t.series", A, "s", after_seq=allrecs[0].seq, before_seq=allrecs[4].seq)
    assert [r.doc["m"] for r in got] == ["b1", "b2", "c"]


def test_series_are_separate_per_key_and_scope(store: SqliteStore) -> None:
    store.append("t.series", A, "s1", [(1.0, {"m": 1})])
    store.append("t.series", A, "s2", [(1.0, {"m": 2})])
    store.append("t.series", B, "s1", [(1.0, {"m": 3})])
    assert [r.doc for r in store.series("t.series", A, "s1")] == [{"m": 1}]
    assert store.series_keys("t.series", A) == ["s1", "s2"]
    assert store.series_keys("t.series", A, prefix="s2") == ["s2"]
    assert store.series_keys("t.series", B) == ["s1"]


def test_trim_series_drops_only_older_records(store: SqliteStore) -> None:
    _fill(store)
    store.append("t.series", B, "s", [(1.0, {"m": "other"})])
    assert store.trim_series("t.series", A, "s", before=30.0) == 3
    assert [r.doc["m"] for r in store.series("t.series", A, "s")] == ["c", "d"]
    assert len(store.series("t.series", B, "s")) == 1
    assert store.drop_series("t.series", A, "s") == 2
    assert store.series("t.series", A, "s") == []
    assert len(store.series("t.series", B, "s")) == 1
