"""The transaction block of :class:`~gureum.core.store.SqliteStore` (its part of the store's rules).

Rules: the block holds the store's lock from enter to exit; only the outermost block of a thread
begins (``BEGIN IMMEDIATE``) and ends the SQLite transaction: COMMIT when it exits normally, ROLLBACK
when it raises (or when its COMMIT fails), and then the series ids made inside it are forgotten (their
rows and names are gone with it).  An inner block that raises only passes the exception on: the
outer block decides.  One object per store: its state is the store's depth, under the lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gureum.core.store import SqliteStore


class Transaction:
    """:meth:`SqliteStore.transaction`: a plain context manager (entered for every write, so cheap)."""

    __slots__ = ("_store",)

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        if store._depth == 0:
            try:
                store._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                store._lock.release()
                raise
        store._depth += 1

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        store = self._store
        try:
            store._depth -= 1
            if store._depth:
                return
            if kind is None:
                try:
                    store._db.execute("COMMIT")
                except BaseException:
                    _roll_back(store)
                    raise
            else:
                _roll_back(store)
            store._new_sids.clear()
        finally:
            store._lock.release()


def _roll_back(store: SqliteStore) -> None:
    try:
        if store._db.in_transaction:
            store._db.execute("ROLLBACK")
    finally:
        for where, key in store._new_sids:  # (sids made in the block are gone with it)
            store._sids.get(where, {}).pop(key, None)
        store._new_sids.clear()
