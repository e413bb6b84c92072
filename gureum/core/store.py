"""The one persistent store every service uses.

Two kinds of data live here:

* **documents** – one JSON object per resource, addressed by
  ``(kind, account, region, key)``; ``kind`` is namespaced by service
  (``"logs.group"``, ``"s3.bucket"``).  Keys sort as strings, so listing by
  prefix and paging with ``start_after`` are cheap.
* **series** – append-only, time-ordered records under one document key
  (log events of a stream, datapoints of a metric), each with a store-assigned
  increasing ``seq``.  Queried by time range, oldest or newest first.

Rules: every write outside a ``transaction()`` commits before it returns, and a
``transaction()`` commits when the block exits; SQLite runs in WAL mode so a
committed write survives ``kill -9`` of the server.  A failed block rolls back
whole: nothing half-written.  The interface (:class:`Store`) is what services
see; SQLite is one backend of it.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
CREATE TABLE IF NOT EXISTS series (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, key TEXT NOT NULL,
    ts REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS series_by_time ON series (kind, account, region, key, ts, seq);
"""


class SqliteStore:
    """:class:`Store` on SQLite (WAL).  Safe to call from several threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives a crash of the
        # process (kill -9); only a power loss can roll back the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._depth = 0

    # -- transactions -------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outer:
                    self._db.execute("COMMIT")

    # -- documents ----------------------------------------------------------------

    def get(self, kind: str, scope: Scope, key: str) -> Doc | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM docs WHERE kind=? AND account=? AND region=? AND key=?",
                (kind, scope.account, scope.region, key),
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, kind: str, scope: Scope, key: str, doc: Doc) -> None:
        body = json.dumps(doc, separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO docs (kind, account, region, key, body) VALUES (?,?,?,?,?)",
                (kind, scope.account, scope.region, key, body),
            )

    def insert(self, kind: str, scope: Scope, key: str, doc: Doc) -> bool:
        """Create ``key`` unless it exists; returns whether it was created."""
        body = json.dumps(doc, separators=(",", ":"))
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

    def append(
        self, kind: str, scope: Scope, key: str, items: Sequence[tuple[float, Doc]]
    ) -> builtins.list[int]:
        seqs: builtins.list[int] = []
        with self.transaction():
            for ts, doc in items:
                cur = self._db.execute(
                    "INSERT INTO series (kind, account, region, key, ts, body) VALUES (?,?,?,?,?,?)",
                    (kind, scope.account, scope.region, key, ts, json.dumps(doc, separators=(",", ":"))),
                )
                seqs.append(int(cur.lastrowid or 0))
        return seqs

    def append_many(self, kind: str, scope: Scope, rows: Sequence[tuple[str, float, Doc]]) -> builtins.list[int]:
        """Append ``(key, ts, doc)`` rows to several series of one kind in one transaction; their seqs."""
        if not rows:
            return []
        params = [(kind, scope.account, scope.region, key, ts, _encode(doc)) for key, ts, doc in rows]
        with self.transaction():
            self._db.executemany(
                "INSERT INTO series (kind, account, region, key, ts, body) VALUES (?,?,?,?,?,?)", params
            )
            last = int(self._db.execute("SELECT last_insert_rowid()").fetchone()[0])
        # One statement on one connection, under the lock, in one transaction: AUTOINCREMENT
        # gave the rows consecutive seqs, the last one ``last``.
        return builtins.list(range(last - len(params) + 1, last + 1))

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
        sql = "SELECT seq, ts, body FROM series WHERE kind=? AND account=? AND region=? AND key=?"
        args: builtins.list[Any] = [kind, scope.account, scope.region, key]
        if start is not None:
            sql += " AND ts >= ?"
            args.append(start)
        if end is not None:
            sql += " AND ts < ?"
            args.append(end)
        with self._lock:
            for seq, op in ((after_seq, ">"), (before_seq, "<")):
                if seq is None:
                    continue
                row = self._db.execute("SELECT ts FROM series WHERE seq=?", (seq,)).fetchone()
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
        sql = "SELECT DISTINCT key FROM series WHERE kind=? AND account=? AND region=?"
        args: builtins.list[Any] = [kind, scope.account, scope.region]
        if prefix:
            sql += " AND key >= ? AND key < ?"
            args += [prefix, prefix + "\U0010ffff"]
        with self._lock:
            return [r[0] for r in self._db.execute(sql + " ORDER BY key", args).fetchall()]

    def trim_series(self, kind: str, scope: Scope, key: str, before: float) -> int:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM series WHERE kind=? AND account=? AND region=? AND key=? AND ts < ?",
                (kind, scope.account, scope.region, key, before),
            )
            return cur.rowcount

    def drop_series(self, kind: str, scope: Scope, key: str) -> int:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM series WHERE kind=? AND account=? AND region=? AND key=?",
                (kind, scope.account, scope.region, key),
            )
            return cur.rowcount

    # -- admin ----------------------------------------------------------------------

    def reset(self) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM docs")
            self._db.execute("DELETE FROM series")

    def close(self) -> None:
        with self._lock:
            self._db.close()
