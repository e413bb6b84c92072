"""The one persistent store every service uses.

Two kinds of data live here:

* **documents** – one JSON object per resource, addressed by
  ``(kind, account, region, key)``; ``kind`` is namespaced by service
  (``"logs.group"``, ``"s3.bucket"``).  Keys sort as strings, so listing by
  prefix and paging with ``start_after`` are cheap.
* **series** – append-only, time-ordered records under one document key
  (log events of a stream, datapoints of a metric), each with a store-assigned
  increasing ``seq`` (never given twice: AUTOINCREMENT; a batch's rows get
  consecutive seqs in their order).  Queried by time range, oldest or newest
  first.  A batch goes in as multi-row INSERTs (``append_columns``;
  ``append``/``append_many``/``append_encoded`` are forms of it).

Rules: every write outside a ``transaction()`` commits before it returns, and a
``transaction()`` commits when the block exits; SQLite runs in WAL mode so a
committed write survives ``kill -9`` of the server.  A failed block rolls back
whole: nothing half-written (the block: :mod:`gureum.core.store_txn`).  The
interface (:class:`Store`) is what services see; SQLite is one backend of it.
"""

from __future__ import annotations

import builtins
import functools
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

from gureum.core.store_txn import Transaction

Doc = dict[str, Any]
_encode = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(doc, separators=…), made once


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a resource lives: an account and a region ("" for global)."""

    account: str
    region: str = ""


GLOBAL = Scope("", "")


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    ts: float
    doc: Doc


class Store(Protocol):
    def get(self, kind: str, scope: Scope, key: str) -> Doc | None: ...
    def put(self, kind: str, scope: Scope, key: str, doc: Doc) -> None: ...
    def put_encoded(self, kind: str, scope: Scope, key: str, text: str) -> None: ...
    def insert(self, kind: str, scope: Scope, key: str, doc: Doc) -> bool: ...
    def delete(self, kind: str, scope: Scope, key: str) -> bool: ...
    def list(
        self,
        kind: str,
        scope: Scope | None = None,
        prefix: str = "",
        start_after: str = "",
        limit: int | None = None,
    ) -> builtins.list[tuple[str, Doc]]: ...
    def count(self, kind: str, scope: Scope | None = None, prefix: str = "") -> int: ...
    def list_scopes(self, kind: str) -> builtins.list[Scope]: ...
    def transaction(self) -> Any: ...
    def append(self, kind: str, scope: Scope, key: str, items: Sequence[tuple[float, Doc]]) -> builtins.list[int]: ...
    def append_many(self, kind: str, scope: Scope, rows: Sequence[tuple[str, float, Doc]]) -> builtins.list[int]: ...
    def append_encoded(self, kind: str, scope: Scope, rows: Sequence[tuple[str, float, str]]) -> builtins.list[int]: ...
    def append_columns(
        self, kind: str, scope: Scope, keys: Sequence[str], times: Sequence[float], bodies: Sequence[str]
    ) -> builtins.list[int]: ...
    def series(
        self,
        kind: str,
        scope: Scope,
        key: str,
        start: float | None = None,
        end: float | None = None,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> builtins.list[Record]: ...
    def series_keys(self, kind: str, scope: Scope, prefix: str = "") -> builtins.list[str]: ...
    def trim_series(self, kind: str, scope: Scope, key: str, before: float) -> int: ...
    def drop_series(self, kind: str, scope: Scope, key: str) -> int: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, account, region, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series_names (
    sid INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, key TEXT NOT NULL,
    UNIQUE (kind, account, region, key)
);
CREATE TABLE IF NOT EXISTS series_rows (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid INTEGER NOT NULL,
    ts REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS series_rows_by_time ON series_rows (sid, ts, seq);
"""

# Data dirs written before series_names existed hold one ``series`` table (its own kind, account, region
# and key columns on every row, indexed by all of them): its rows move over once, seqs unchanged.
_MIGRATE_SERIES = """
INSERT OR IGNORE INTO series_names (kind, account, region, key)
    SELECT DISTINCT kind, account, region, key FROM series ORDER BY kind, account, region, key;
INSERT INTO series_rows (seq, sid, ts, body)
    SELECT s.seq, n.sid, s.ts, s.body FROM series AS s JOIN series_names AS n
    ON n.kind = s.kind AND n.account = s.account AND n.region = s.region AND n.key = s.key ORDER BY s.seq;
"""


_STATEMENTS = 256  # prepared statements a connection keeps: the store's own and one per INSERT row count
_ROWS_PER_INSERT = 64  # rows per INSERT statement of append_encoded


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def _insert_rows(n: int) -> str:
    return "INSERT INTO series_rows (sid, ts, body) VALUES " + ",".join(["(?,?,?)"] * n)


class SqliteStore:
    """:class:`Store` on SQLite (WAL).  Safe to call from several threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, cached_statements=_STATEMENTS
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives a crash of the
        # process (kill -9); only a power loss can roll back the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A multi-row INSERT in a transaction keeps a statement journal: in memory, not in a temp file.
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._depth = 0
        self._txn = Transaction(self)
        # Series names → sid, per (kind, account, region).  Names are never deleted, so an entry stays
        # true; one made inside a transaction is dropped again if that transaction rolls back.
        self._sids: dict[tuple[str, str, str], dict[str, int]] = {}
        self._new_sids: builtins.list[tuple[tuple[str, str, str], str]] = []
        self._migrate_series()
        self.resets = 0  # how many times reset() emptied the store (caches of its documents compare it)

    # -- transactions -------------------------------------------------------------

    def transaction(self) -> Transaction:
        """A block that commits when it exits and rolls back whole if it raises; blocks nest (only the
        outermost one commits).  One object per store: its state is the store's depth, under the lock."""
        return self._txn

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` block is open (in any thread): a write made now may roll back."""
        return self._depth > 0

    # -- documents ----------------------------------------------------------------

    def get(self, kind: str, scope: Scope, key: str) -> Doc | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM docs WHERE kind=? AND account=? AND region=? AND key=?",
                (kind, scope.account, scope.region, key),
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, kind: str, scope: Scope, key: str, doc: Doc) -> None:
        body = _encode(doc)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO docs (kind, account, region, key, body) VALUES (?,?,?,?,?)",
                (kind, scope.account, scope.region, key, body),
            )

    def put_encoded(self, kind: str, scope: Scope, key: str, text: str) -> None:
        """:meth:`put` of a document the caller already encoded: ``text`` is the JSON text of an object
        (a writer with a cheaper encoding of its own documents; reads decode it like any other).  Same
        rules as :meth:`put`: committed when it returns, or with the enclosing transaction.  Only the
        first character is checked (a ``{``): the rest is the caller's word."""
        if text[:1] != "{":
            raise ValueError("put_encoded: the text of a JSON object is expected")
        args = (text, kind, scope.account, scope.region, key)
        with self._lock:
            # An existing document's body is updated in place (cheaper than REPLACE's delete and insert
            # of the row); a new one is inserted (OR REPLACE: whatever another connection did between).
            if self._db.execute("UPDATE docs SET body=? WHERE kind=? AND account=? AND region=? AND key=?",
                                args).rowcount == 0:
                self._db.execute(
                    "INSERT OR REPLACE INTO docs (body, kind, account, region, key) VALUES (?,?,?,?,?)", args
                )

    def insert(self, kind: str, scope: Scope, key: str, doc: Doc) -> bool:
        """Create ``key`` unless it exists; returns whether it was created."""
        body = _encode(doc)
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO docs (kind, account, region, key, body) VALUES (?,?,?,?,?)",
                (kind, scope.account, scope.region, key, body),
            )
            return cur.rowcount == 1

    def delete(self, kind: str, scope: Scope, key: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM docs WHERE kind=? AND account=? AND region=? AND key=?",
                (kind, scope.account, scope.region, key),
            )
            return cur.rowcount > 0

    def list(
        self,
        kind: str,
        scope: Scope | None = None,
        prefix: str = "",
        start_after: str = "",
        limit: int | None = None,
    ) -> builtins.list[tuple[str, Doc]]:
        sql = "SELECT key, body FROM docs WHERE kind=?"
        args: builtins.list[Any] = [kind]
        if scope is not None:
            sql += " AND account=? AND region=?"
            args += [scope.account, scope.region]
        if prefix:
            sql += " AND key >= ? AND key < ?"
            args += [prefix, prefix + "\U0010ffff"]
        if start_after:
            sql += " AND key > ?"
            args.append(start_after)
        sql += " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [(k, json.loads(b)) for k, b in rows]

    def count(self, kind: str, scope: Scope | None = None, prefix: str = "") -> int:
        sql = "SELECT COUNT(*) FROM docs WHERE kind=?"
        args: builtins.list[Any] = [kind]
        if scope is not None:
            sql += " AND account=? AND region=?"
            args += [scope.account, scope.region]
        if prefix:
            sql += " AND key >= ? AND key < ?"
            args += [prefix, prefix + "\U0010ffff"]
        with self._lock:
            return int(self._db.execute(sql, args).fetchone()[0])

    def list_scopes(self, kind: str) -> builtins.list[Scope]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT account, region FROM docs WHERE kind=?", (kind,)
            ).fetchall()
        return [Scope(a, r) for a, r in rows]

    # -- series -------------------------------------------------------------------
    #
    # A series' rows carry its sid (series_names), not its kind, account, region and key: the index
    # every append updates is (sid, ts, seq), a few bytes per row.

    def _migrate_series(self) -> None:
        with self.transaction():
            old = "SELECT 1 FROM sqlite_master WHERE type='table' AND name='series'"
            if self._db.execute(old).fetchone() is None:
                return
            for statement in _MIGRATE_SERIES.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            # AUTOINCREMENT's high-water mark moves over too: a seq is never given twice.
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='series'").fetchone()
            if row is not None:
                if self._db.execute("SELECT 1 FROM sqlite_sequence WHERE name='series_rows'").fetchone():
                    self._db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name='series_rows'", row)
                else:
                    self._db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('series_rows', ?)", row)
            self._db.execute("DROP TABLE series")

    def _sid(self, kind: str, scope: Scope, key: str, create: bool) -> int | None:
        """The series' sid (made if ``create``; called under the lock, inside a transaction to create)."""
        where = (kind, scope.account, scope.region)
        sids = self._sids.get(where)
        if sids is None:
            sids = self._sids[where] = {}
        sid = sids.get(key)
        if sid is not None:
            return sid
        row = self._db.execute(
            "SELECT sid FROM series_names WHERE kind=? AND account=? AND region=? AND key=?", (*where, key)
        ).fetchone()
        if row is None:
            if not create:
                return None
            cur = self._db.execute(
                "INSERT INTO series_names (kind, account, region, key) VALUES (?,?,?,?)", (*where, key)
            )
            row = (int(cur.lastrowid or 0),)
            self._new_sids.append((where, key))
        sids[key] = sid = int(row[0])
        return sid

    def append(
        self, kind: str, scope: Scope, key: str, items: Sequence[tuple[float, Doc]]
    ) -> builtins.list[int]:
        return self.append_encoded(kind, scope, [(key, ts, _encode(doc)) for ts, doc in items])

    def append_many(self, kind: str, scope: Scope, rows: Sequence[tuple[str, float, Doc]]) -> builtins.list[int]:
        """Append ``(key, ts, doc)`` rows to several series of one kind in one transaction; their seqs."""
        return self.append_encoded(kind, scope, [(key, ts, _encode(doc)) for key, ts, doc in rows])

    def append_encoded(self, kind: str, scope: Scope, rows: Sequence[tuple[str, float, str]]) -> builtins.list[int]:
        """:meth:`append_many` of documents the caller already encoded: each body is the JSON text of an
        object (a writer with a cheaper encoding of its own documents; reads decode it like any other)."""
        n = len(rows)
        if not n:
            return []
        if n <= _ROWS_PER_INSERT:  # one INSERT (a history item or two): none of the columns' work
            params: builtins.list[Any] = []
            with self._txn:
                sids = self._sids.get((kind, scope.account, scope.region), {})
                for key, ts, body in rows:
                    params += (sids.get(key) or self._sid(kind, scope, key, create=True), ts, body)
                last = self._db.execute(_insert_rows(n), params).lastrowid or 0
            return builtins.list(range(last - n + 1, last + 1))  # (consecutive: see append_columns)
        keys, times, bodies = zip(*rows, strict=True)
        return self.append_columns(kind, scope, keys, times, bodies)

    def append_columns(
        self, kind: str, scope: Scope, keys: Sequence[str], times: Sequence[float], bodies: Sequence[str]
    ) -> builtins.list[int]:
        """:meth:`append_encoded` of rows given as columns (row ``i``: ``keys[i]``, ``times[i]``,
        ``bodies[i]``; a publisher's batch shares one time: ``[ts] * n``); their seqs, in order."""
        n = len(keys)
        if not n:
            return []
        with self._txn:
            sids = builtins.list(map(self._sids.get((kind, scope.account, scope.region), {}).get, keys))
            if None in sids:  # (sids start at 1: a missing one is made)
                sids = [sid or self._sid(kind, scope, key, create=True) for sid, key in zip(sids, keys, strict=True)]
            params = builtins.list(chain.from_iterable(zip(sids, times, bodies, strict=True)))
            last = 0
            for at in range(0, 3 * n, 3 * _ROWS_PER_INSERT):  # one multi-row INSERT per chunk, not per row
                chunk = params[at:at + 3 * _ROWS_PER_INSERT]
                last = self._db.execute(_insert_rows(len(chunk) // 3), chunk).lastrowid or 0
        # Statements of one connection, under the lock, in one transaction: AUTOINCREMENT gave
        # the rows consecutive seqs in their order, the last one ``last``.
        return builtins.list(range(last - n + 1, last + 1))

    def series(
        self,
        kind: str,
        scope: Scope,
        key: str,
        start: float | None = None,
        end: float | None = None,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> builtins.list[Record]:
        """Records of one series with ``start <= ts < end``, ordered by (ts, seq).

        ``after_seq``/``before_seq`` page through records in that order: they
        select records strictly after/before the record with that seq.
        """
        with self._lock:
            sid = self._sid(kind, scope, key, create=False)
            if sid is None:
                return []
            sql = "SELECT seq, ts, body FROM series_rows WHERE sid=?"
            args: builtins.list[Any] = [sid]
            if start is not None:
                sql += " AND ts >= ?"
                args.append(start)
            if end is not None:
                sql += " AND ts < ?"
                args.append(end)
            for seq, op in ((after_seq, ">"), (before_seq, "<")):
                if seq is None:
                    continue
                row = self._db.execute("SELECT ts FROM series_rows WHERE seq=?", (seq,)).fetchone()
                if row is None:
                    continue
                sql += f" AND (ts {op} ? OR (ts = ? AND seq {op} ?))"
                args += [row[0], row[0], seq]
            order = "DESC" if newest_first else "ASC"
            sql += f" ORDER BY ts {order}, seq {order}"
            if limit is not None:
                sql += " LIMIT ?"
                args.append(limit)
            rows = self._db.execute(sql, args).fetchall()
        return [Record(int(s), float(t), json.loads(b)) for s, t, b in rows]

    def series_keys(self, kind: str, scope: Scope, prefix: str = "") -> builtins.list[str]:
        """Keys of the series holding at least one record."""
        sql = ("SELECT key FROM series_names AS n WHERE kind=? AND account=? AND region=?"
               " AND EXISTS (SELECT 1 FROM series_rows AS r WHERE r.sid = n.sid)")
        args: builtins.list[Any] = [kind, scope.account, scope.region]
        if prefix:
            sql += " AND key >= ? AND key < ?"
            args += [prefix, prefix + "\U0010ffff"]
        with self._lock:
            return [r[0] for r in self._db.execute(sql + " ORDER BY key", args).fetchall()]

    def trim_series(self, kind: str, scope: Scope, key: str, before: float) -> int:
        with self._lock:
            sid = self._sid(kind, scope, key, create=False)
            if sid is None:
                return 0
            return self._db.execute("DELETE FROM series_rows WHERE sid=? AND ts < ?", (sid, before)).rowcount

    def drop_series(self, kind: str, scope: Scope, key: str) -> int:
        with self._lock:
            sid = self._sid(kind, scope, key, create=False)
            if sid is None:
                return 0
            return self._db.execute("DELETE FROM series_rows WHERE sid=?", (sid,)).rowcount

    # -- admin ----------------------------------------------------------------------

    def reset(self) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM docs")
            self._db.execute("DELETE FROM series_rows")  # series_names stay: a name holds no data
        self.resets += 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
