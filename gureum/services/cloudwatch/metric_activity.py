"""When each metric was last put: ListMetrics' ``RecentlyActive``.

Exact in memory while the process runs; in the store at most
:data:`ACTIVE_REFRESH` seconds behind (what a ``kill -9`` can lose).

Store layout (per account+region scope):

* ``cloudwatch.metric`` documents (see :mod:`metrics`) carry ``lastPut``:
  the time this process first stored data for the metric (older data dirs:
  the last time it was refreshed);
* ``cloudwatch.active`` – key: a namespace; doc ``{"puts": {metric key:
  last put}}`` for the namespace's metrics put within the last
  :data:`KEEP` seconds (``RecentlyActive``'s reach).

When a put is written (:meth:`Namespace.due`, in the transaction of the
publish): a metric's time in the store is refreshed only when a put is
:data:`ACTIVE_REFRESH` seconds (or more) ahead of it — that is the whole
guarantee: the store is never that far behind a put.  Where: the first
write of this process (and one after the clock moved back) is the activity
document; else a few stale metrics of a namespace where no other metric is
waiting to be refreshed (a metric put now and then, such as Auto Scaling's
``ScalingFlapCount``) get their own metric documents rewritten with
``lastPut`` (a small document each, not the namespace's whole activity);
else the activity document, one write for all of them (a collector's
batch, or many metrics each put alone every minute).

A metric's last put is the newest of the three (document, activity
document, memory).  Rules: a metric document is written when this process
first stores data for the metric (and when it refreshes its time, above);
the activity document first written by this process merges what the store
held (nothing put before a restart is lost); a reset store is noticed — by ``SqliteStore.resets`` when the store
counts its resets, else by counting the namespace's metric documents when
one would be skipped — and everything is written again.  No I/O but the
store's.
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Collection, Iterable
from itertools import repeat
from typing import Any

from gureum.core.store import Scope, Store

ACTIVE = "cloudwatch.active"
METRIC = "cloudwatch.metric"  # (metrics.METRIC)
ACTIVE_REFRESH = 300.0
KEEP = 3 * 3600.0
FLUSH = "flush"  # :meth:`Namespace.due`: the activity document is to be written
ALONE = 2  # at most this many stale metrics, none other waiting: their own documents instead


class Namespace:
    """What this process knows of one namespace in one scope."""

    __slots__ = ("puts", "stored", "flushed", "newest")

    def __init__(self) -> None:
        self.puts: dict[str, float] = {}  # metric key → newest put (its document is in the store)
        # Each metric's put time as the store holds it (activity document, or the metric document
        # this process wrote); None until first read.
        self.stored: dict[str, float] | None = None
        self.flushed = float("-inf")  # when this process last wrote the activity document
        self.newest = float("-inf")  # the newest time in ``puts``

    def due(self, store: Store, scope: Scope, namespace: str, keys: Collection[str], now: float) -> Any:
        """What a put of ``keys`` (their documents already in the store) at ``now`` writes: None
        (the store's time of each is less than ACTIVE_REFRESH seconds behind), :data:`FLUSH` (the
        activity document) or a list of the stale keys whose metric documents are rewritten."""
        if self.flushed == -math.inf or now < self.flushed:  # the first write of this process, or the clock moved back
            return FLUSH
        if not keys:
            return None
        stored = self.read(store, scope, namespace)
        times = list(map(stored.get, keys, repeat(-math.inf)))
        # (now - t falls as t grows: the oldest and the newest time decide for all of them)
        if 0 <= now - max(times) and now - min(times) < ACTIVE_REFRESH:
            return None
        stale = [k for k, t in zip(keys, times, strict=True) if not 0 <= now - t < ACTIVE_REFRESH]
        if len(stale) > ALONE or self.waiting(stored, now, stale, ALONE - len(stale)):
            return FLUSH
        return stale

    def waiting(self, stored: dict[str, float], now: float, stale: list[str], most: int) -> bool:
        """Whether more than ``most`` metrics but ``stale`` were put within ACTIVE_REFRESH seconds and
        after the time the store holds for them (the activity document would refresh them too)."""
        found = 0
        since = now - ACTIVE_REFRESH
        get = stored.get
        for key, t in self.puts.items():
            if t >= since and t > get(key, -math.inf) and key not in stale:
                found += 1
                if found > most:
                    return True
        return False

    def put(self, keys: Iterable[str], now: float) -> None:
        """``keys`` put at ``now`` (a clock moved back keeps a newer time)."""
        puts = self.puts
        if self.newest <= now:
            puts.update(dict.fromkeys(keys, now))
            self.newest = now
            return
        for key in keys:
            if not puts.get(key, now) > now:
                puts[key] = now

    def read(self, store: Store, scope: Scope, namespace: str) -> dict[str, float]:
        """Each metric's put time as the store holds it: the activity document's, or its metric
        document's ``lastPut`` when newer (read once; kept up to date by this process's writes)."""
        if self.stored is None:
            stored = stored_puts(store, scope, namespace)
            get = stored.get
            for key, doc in store.list(METRIC, scope, prefix=_prefix(namespace)):
                t = doc.get("lastPut")
                if isinstance(t, (int, float)) and t > get(key, -math.inf):
                    stored[key] = float(t)
            self.stored = stored
        return self.stored

    def activity(self, store: Store, scope: Scope, namespace: str, keys: Iterable[str], now: float) -> dict[str, float]:
        """The activity document to write now: what the store held, the puts known, ``keys`` at ``now``."""
        merged = {k: t for k, t in self.read(store, scope, namespace).items() if t >= now - KEEP}
        merged.update((k, t) for k, t in self.puts.items() if t >= now - KEEP)
        merged.update((k, now) for k in keys)
        return merged


class Activity:
    """Per store: one :class:`Namespace` per (account, region, namespace)."""

    def __init__(self, store: Store) -> None:
        self.spaces: dict[tuple[str, str, str], Namespace] = {}
        self.resets = _resets(store) or 0  # the store's count when ``spaces`` was last checked against it

    def space(self, scope: Scope, namespace: str) -> Namespace:
        ns = self.spaces.get((scope.account, scope.region, namespace))
        if ns is None:
            ns = self.spaces[(scope.account, scope.region, namespace)] = Namespace()
        return ns

    def reset_seen(self, store: Store, scope: Scope, namespace: str, prefix: str, skipped: bool) -> bool:
        """Forget what the store lost if it was reset; whether it was.

        ``skipped``: some metric document of the batch would not be written (only then is a store
        that does not count its resets asked how many documents the namespace holds).
        """
        resets = _resets(store)
        if resets is not None:
            if resets == self.resets:
                return False
            self.resets = resets
            self.spaces.clear()
            return True
        ns = self.spaces.get((scope.account, scope.region, namespace))
        if skipped and ns is not None and store.count("cloudwatch.metric", scope, prefix) < len(ns.puts):
            del self.spaces[(scope.account, scope.region, namespace)]
            return True
        return False

    def newest(self, scope: Scope, namespace: str, key: str) -> float:
        ns = self.spaces.get((scope.account, scope.region, namespace))
        return 0.0 if ns is None else ns.puts.get(key, 0.0)


def _resets(store: Store) -> int | None:
    resets = getattr(store, "resets", None)
    return resets if isinstance(resets, int) else None


_ACTIVITY: weakref.WeakKeyDictionary[Any, Activity] = weakref.WeakKeyDictionary()


def of(store: Store) -> Activity:
    activity = _ACTIVITY.get(store)
    if activity is None:
        activity = _ACTIVITY[store] = Activity(store)
    return activity


def _prefix(namespace: str) -> str:
    """The metric keys' prefix of a namespace (metrics.key_prefix)."""
    return json.dumps([namespace], separators=(",", ":"), ensure_ascii=False)[:-1] + ","


def stored_puts(store: Store, scope: Scope, namespace: str) -> dict[str, float]:
    """The activity document's put times (empty if there is none)."""
    return dict((store.get(ACTIVE, scope, namespace) or {}).get("puts", {}))
