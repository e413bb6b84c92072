"""SqliteStore.put_encoded: a document written as the caller's JSON text reads back like any put one,
under the same rules (replaces, commits when it returns, rolls back with its block)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gureum.core.store import Scope, SqliteStore

A = Scope("111111111111", "us-east-1")
B = Scope("111111111111", "eu-west-1")


def test_the_text_reads_back_as_the_document_it_encodes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    doc = {"n": 1.5e-07, "s": "구름 \u2028\"q\"", "l": [1, None, True], "d": {"x": -0.0}}
    store.put_encoded("t.doc", A, "k", json.dumps(doc, ensure_ascii=False))
    assert store.get("t.doc", A, "k") == doc
    assert store.list("t.doc", A) == [("k", doc)]
    assert store.get("t.doc", B, "k") is None  # other scope
    store.put_encoded("t.doc", A, "k", '{"n":2}')  # replaces, like put
    assert store.get("t.doc", A, "k") == {"n": 2}
    assert store.insert("t.doc", A, "k", {"n": 3}) is False  # it exists, like a put one
    store.close()


def test_it_is_committed_when_it_returns(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.put_encoded("t.doc", A, "k", '{"a":"b"}')
    other = SqliteStore(tmp_path / "s.db")  # another connection sees it without a close of the first
    assert other.get("t.doc", A, "k") == {"a": "b"}
    other.close()
    store.close()


def test_a_failed_block_keeps_nothing_of_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.put_encoded("t.doc", A, "k", '{"v":1}')
    with pytest.raises(RuntimeError), store.transaction():
        store.put_encoded("t.doc", A, "k", '{"v":2}')
        store.put_encoded("t.doc", A, "j", '{"v":3}')
        raise RuntimeError("boom")
    assert store.get("t.doc", A, "k") == {"v": 1}
    assert store.get("t.doc", A, "j") is None
    store.close()


@pytest.mark.parametrize("text", ["", "[1]", "null", "1"])
def test_text_not_of_an_object_is_refused(text: str) -> None:
    store = SqliteStore(":memory:")
    with pytest.raises(ValueError):
        store.put_encoded("t.doc", A, "k", text)
    assert store.get("t.doc", A, "k") is None
    store.close()
