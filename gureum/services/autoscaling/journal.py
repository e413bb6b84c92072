"""What the group controller knows of a group's children without asking the store again.

Every reconcile used to list the group's scheduled actions, read its active
instance refresh pointer and (when a member may step) list its lifecycle
hooks — almost always the same empty answers.  This module keeps the
answer of such a query (:func:`cached`) per (kind, account, region, group)
with the *version* of that group's children of that kind it was read at.

Rules:

* every writer of those kinds (:data:`names.HOOK`, :data:`names.SCHEDULED`,
  :data:`names.REFRESH_ACTIVE`) calls :func:`wrote` *after* its store write
  (inside or outside a transaction): the version moves, so the next
  :func:`cached` reads the store again;
* :func:`cached` notes the version *before* it queries the store and keeps
  the answer under that version: a write that lands between the two leaves
  a newer version, so the answer is read again next time (never a stale
  answer kept as current);
* a store that was reset (``SqliteStore.resets`` moved, or :func:`forget`
  from the ``gureum.reset`` subscription) answers nothing from before;
* a write rolled back moved the version too (the answer is only read
  again), and answers are filled outside transactions (the controller's
  queries run before its save), so no uncommitted answer is kept;
* answers are immutable values (tuples, booleans, strings, None), shared
  by every caller.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from gureum.core.store import Scope, Store

T = TypeVar("T")
Key = tuple[str, str, str, str]  # kind, account, region, group


class _Journal:
    __slots__ = ("versions", "answers", "resets", "__weakref__")

    def __init__(self, resets: int | None) -> None:
        self.versions: dict[Key, int] = {}
        self.answers: dict[Key, tuple[int, Any]] = {}
        self.resets = resets


_JOURNALS: weakref.WeakKeyDictionary[Any, _Journal] = weakref.WeakKeyDictionary()


def _journal(store: Store) -> _Journal:
    resets = getattr(store, "resets", None)
    journal = _JOURNALS.get(store)
    if journal is None or journal.resets != resets:
        journal = _JOURNALS[store] = _Journal(resets)
    return journal


def wrote(store: Store, kind: str, scope: Scope, group: str) -> None:
    """A child of ``kind`` of ``group`` was written or deleted (call after the store write)."""
    versions = _journal(store).versions
    key = (kind, scope.account, scope.region, group)
    versions[key] = versions.get(key, 0) + 1


def cached(store: Store, kind: str, scope: Scope, group: str, load: Callable[[], T]) -> T:
    """``load()`` (a store query about ``group``'s children of ``kind``), or its kept answer."""
    journal = _journal(store)
    key = (kind, scope.account, scope.region, group)
    version = journal.versions.get(key, 0)
    kept = journal.answers.get(key)
    if kept is not None and kept[0] == version:
        answer: T = kept[1]
        return answer
    answer = load()
    journal.answers[key] = (version, answer)
    return answer


def forget(store: Store) -> None:
    """Drop every answer of ``store`` (it was reset)."""
    _JOURNALS.pop(store, None)
