"""SqliteStore's series layout: rows keyed by a series id, pre-encoded bodies, and data dirs written
with the older one-table layout read (and appended to) as before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gureum.core.store import Scope, SqliteStore

A = Scope("123456789012", "us-east-1")
B = Scope("123456789012", "eu-west-1")

_OLD_SCHEMA = """
CREATE TABLE docs (
    kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, account, region, key)
) WITHOUT ROWID;
CREATE TABLE series (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, key TEXT NOT NULL,
    ts REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX series_by_time ON series (kind, account, region, key, ts, seq);
"""


def _old_data_dir(path: Path) -> None:
    """A store file as the one-table layout wrote it: two series, one deleted newest row."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(_OLD_SCHEMA)
    rows = [("logs.events", A, "g/s1", 10.0, '{"m":"a"}'), ("logs.events", A, "g/s1", 20.0, '{"m":"b"}'),
            ("cloudwatch.data", B, "m1", 60.0, '{"x":1.5,"u":"None","r":60}'),
            ("logs.events", A, "g/s1", 15.0, '{"m":"c"}'), ("logs.events", A, "g/s2", 5.0, '{"m":"gone"}')]
    for kind, scope, key, ts, body in rows:
        db.execute("INSERT INTO series (kind, account, region, key, ts, body) VALUES (?,?,?,?,?,?)",
                   (kind, scope.account, scope.region, key, ts, body))
    db.execute("DELETE FROM series WHERE seq = 5")  # the high-water mark (5) is above every row left
    db.execute("INSERT INTO docs VALUES ('t.doc', ?, ?, 'k', '{\"a\":1}')", (A.account, A.region))
    db.close()


def test_an_old_data_dir_reads_as_before_and_seqs_go_on(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_data_dir(path)
    store = SqliteStore(path)
    got = [(r.seq, r.ts, r.doc["m"]) for r in store.series("logs.events", A, "g/s1")]
    assert got == [(1, 10.0, "a"), (4, 15.0, "c"), (2, 20.0, "b")]
    assert [r.doc for r in store.series("cloudwatch.data", B, "m1")] == [{"x": 1.5, "u": "None", "r": 60}]
    assert store.series_keys("logs.events", A) == ["g/s1"]  # g/s2 lost its only row before
    assert store.get("t.doc", A, "k") == {"a": 1}
    page = store.series("logs.events", A, "g/s1", after_seq=4)
    assert [r.seq for r in page] == [2]
    # A seq is never given twice: the next one is above the old table's high-water mark.
    assert store.append("logs.events", A, "g/s2", [(6.0, {"m": "new"})]) == [6]
    store.close()
    again = SqliteStore(path)  # opened again: nothing to move, everything still there
    assert [r.doc["m"] for r in again.series("logs.events", A, "g/s2")] == ["new"]
    assert [r.seq for r in again.series("logs.events", A, "g/s1")] == [1, 4, 2]
    tables = {r[0] for r in again._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "series" not in tables
    again.close()


def test_append_encoded_stores_the_text_as_given(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    seqs = store.append_encoded("k", A, [("a", 2.0, '{"x":2.5}'), ("b", 1.0, '{"x":1e-07,"u":"Percent"}')])
    assert [r.doc for r in store.series("k", A, "a")] == [{"x": 2.5}]
    assert [(r.seq, r.doc) for r in store.series("k", A, "b")] == [(seqs[1], {"x": 1e-07, "u": "Percent"})]
    assert store.series("k", B, "a") == []  # same key, other scope
    store.close()


def test_a_rolled_back_first_append_leaves_no_name_behind() -> None:
    store = SqliteStore(":memory:")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.append("k", A, "fresh", [(1.0, {"n": 1})])
            raise RuntimeError("boom")
    assert store.series("k", A, "fresh") == [] and store.series_keys("k", A) == []
    assert store.append("k", A, "fresh", [(2.0, {"n": 2})])  # the name is made again, in a kept transaction
    assert [r.doc for r in store.series("k", A, "fresh")] == [{"n": 2}]
    assert store.series_keys("k", A) == ["fresh"]
    store.close()


def test_series_written_by_one_store_object_are_read_by_another(tmp_path: Path) -> None:
    one, two = SqliteStore(tmp_path / "s.db"), SqliteStore(tmp_path / "s.db")
    assert two.series("k", A, "a") == []  # asked before it exists: not remembered as missing
    one.append("k", A, "a", [(1.0, {"n": 1})])
    assert [r.doc for r in two.series("k", A, "a")] == [{"n": 1}]
    two.append("k", A, "a", [(2.0, {"n": 2})])
    assert [r.doc["n"] for r in one.series("k", A, "a")] == [1, 2]
    assert one.drop_series("k", A, "a") == 2 and two.series_keys("k", A) == []
    one.close()
    two.close()
