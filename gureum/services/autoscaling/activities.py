"""Scaling activities: their store records and AWS's words for them.

An activity is one launch or one termination (DescribeScalingActivities).
Its ``Cause`` tells the story as AWS does, sentence by sentence: what changed
the desired capacity (kept on the group until the controller acts on it,
see :func:`desired_cause`), then what the group did about it::

    At 2026-11-26T07:31:00Z a user request update of AutoScalingGroup constraints to min: 1,
    max: 4, desired: 3 changing the desired capacity from 1 to 3.  At 2026-11-26T07:31:02Z an
    instance was started in response to a difference between desired and actual capacity,
    increasing the capacity from 1 to 3.

Records live under ``<group>/<start ms>/<id>`` (kind :data:`names.ACTIVITY`),
at most :data:`KEEP` per group (the oldest go first).  Only this module
writes them, so it keeps an upper bound of each group's count and counts
the store only when the bound reaches :data:`KEEP`.  A group reconcile
holds its activity writes in a :class:`Batch` and writes them with the
group document (one write per activity however often the reconcile moved
it; one it holds is not read back).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gureum.core.ids import uuid4
from gureum.core.store import Scope, Store
from gureum.services.autoscaling import names
from gureum.services.autoscaling.names import ACTIVITY

Doc = dict[str, Any]
KEEP = 300
REMEMBER = 10_000  # in-progress activities remembered per store (all forgotten past it)
_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(…, separators=…), made once

IN_PROGRESS, SUCCESSFUL, FAILED, CANCELLED = "InProgress", "Successful", "Failed", "Cancelled"
MID_LIFECYCLE = "MidLifecycleAction"
DONE = frozenset({SUCCESSFUL, FAILED, CANCELLED})


def activity_key(group: str, start: float, activity_id: str) -> str:
    return f"{group}/{int(start * 1000):015d}/{activity_id}"


def start(store: Store, scope: Scope, group: Doc, description: str, cause: str, now: float, *,
          details: dict[str, str] | None = None, status: str = IN_PROGRESS, progress: int = 30,
          message: str | None = None) -> str:
    """Record a new activity; its store key."""
    aid = uuid4()
    name = group["AutoScalingGroupName"]
    doc: Doc = {
        "ActivityId": aid,
        "AutoScalingGroupName": name,
        "AutoScalingGroupARN": group["AutoScalingGroupARN"],
        "Description": description,
        "Cause": cause,
        "StartTime": now,
        "StatusCode": status,
        "Progress": progress,
        "Details": _compact(details or {}),
    }
    if status in DONE:
        doc["EndTime"] = now
        doc["Progress"] = 100
    if message:
        doc["StatusMessage"] = message
    key = activity_key(name, now, aid)
    kept = _batch_of(store)
    if kept is not None:
        kept.docs[(scope, key)] = (doc, name)
        return key
    store.put(ACTIVITY, scope, key, doc)
    _trim(store, scope, name)
    return key


def update(store: Store, scope: Scope, key: str | None, now: float, *, status: str,
           progress: int | None = None, message: str | None = None, description: str | None = None) -> None:
    """Move an activity along; a finished one gets its EndTime (and never changes again)."""
    if not key:
        return
    kept = _batch_of(store)
    held = None if kept is None else kept.docs.get((scope, key))
    if held is not None:
        doc: Doc | None = held[0]
    else:  # a remembered one goes into this batch (and back when it ends well); outside one: forgotten
        known = _remembered(store).pop((scope, key), None)
        doc = dict(known) if known is not None and kept is not None else store.get(ACTIVITY, scope, key)
    if doc is None or doc["StatusCode"] in DONE:
        return
    doc["StatusCode"] = status
    if status in DONE:
        doc["EndTime"] = now
        doc["Progress"] = 100
    elif progress is not None:
        doc["Progress"] = progress
    if message:
        doc["StatusMessage"] = message
    if description:
        doc["Description"] = description
    if kept is not None:
        kept.docs[(scope, key)] = (doc, None if held is None else held[1])
        return
    store.put(ACTIVITY, scope, key, doc)


class Batch:
    """The activity writes of one group reconcile, held until :meth:`flush`.

    Inside :func:`batch` (this thread, this store) :func:`start` and
    :func:`update` change documents held here: an activity started and
    finished in the same reconcile is written once, and one updated after
    its start is not read back.  :meth:`flush` writes them in the order they
    were first written (each new one trimming its group, as :func:`start`
    does outside a batch); the controller flushes in the transaction that
    saves the group, so the reconcile's activities and its group document
    are stored together.

    A batch that ends without an error remembers the activities it wrote
    that are still in progress (per store; a reconcile runs outside any
    transaction, so they are committed): the reconcile that moves one on
    later does not read it back.  Any write of an activity outside a batch
    forgets it; so does a batch that fails (its transaction may have rolled
    back) and a reset of the store.
    """

    __slots__ = ("store", "docs", "written")

    def __init__(self, store: Store) -> None:
        self.store = store
        # (scope, key) -> (document, its group's name when started in this batch, else None)
        self.docs: dict[tuple[Scope, str], tuple[Doc, str | None]] = {}
        self.written: list[tuple[tuple[Scope, str], Doc]] = []

    def flush(self) -> None:
        held, self.docs = self.docs, {}
        for (scope, key), (doc, started) in held.items():
            self.store.put(ACTIVITY, scope, key, doc)
            self.written.append(((scope, key), doc))
            if started is not None:
                _trim(self.store, scope, started)

    def _remember(self) -> None:
        known = _remembered(self.store)
        if len(known) > REMEMBER:
            known.clear()
        for where, doc in self.written:
            if doc["StatusCode"] in DONE:
                known.pop(where, None)  # never changes again
            else:
                known[where] = doc


_local = threading.local()


def _batch_of(store: Store) -> Batch | None:
    kept: Batch | None = getattr(_local, "batch", None)
    return kept if kept is not None and kept.store is store else None


@contextmanager
def batch(store: Store) -> Iterator[Batch]:
    """Hold this thread's activity writes to ``store`` (see :class:`Batch`); what the block did not
    flush is written when it ends, however it ends (an error half-way loses nothing recorded)."""
    outer = getattr(_local, "batch", None)
    kept = _local.batch = Batch(store)
    try:
        yield kept
    except BaseException:
        _local.batch = outer
        kept.flush()  # as they would have been written; not remembered
        raise
    _local.batch = outer
    kept.flush()
    kept._remember()


class _Remembered:
    __slots__ = ("resets", "docs", "__weakref__")

    def __init__(self, resets: int | None) -> None:
        self.resets = resets
        self.docs: dict[tuple[Scope, str], Doc] = {}


_REMEMBERED: weakref.WeakKeyDictionary[Any, _Remembered] = weakref.WeakKeyDictionary()


def _remembered(store: Store) -> dict[tuple[Scope, str], Doc]:
    """The in-progress activities of ``store`` its batches last wrote (see :class:`Batch`)."""
    resets = getattr(store, "resets", None)
    known = _REMEMBERED.get(store)
    if known is None or known.resets != resets:
        known = _REMEMBERED[store] = _Remembered(resets)
    return known.docs


def listing(store: Store, scope: Scope, group: str | None) -> list[Doc]:
    """Activities newest first (of one group, or of every group)."""
    docs = [d for _, d in store.list(ACTIVITY, scope, prefix=f"{group}/" if group else "")]
    docs.sort(key=lambda d: (d["StartTime"], d["ActivityId"]), reverse=True)
    return docs


def in_progress(store: Store, scope: Scope, group: str) -> list[Doc]:
    return [d for d in listing(store, scope, group) if d["StatusCode"] not in DONE]


# An upper bound of each group's activity count, kept by this process: only this module writes
# activities, so the store holds at most this many; the store is counted when the bound reaches KEEP.
_BOUNDS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], int]] = weakref.WeakKeyDictionary()


def _trim(store: Store, scope: Scope, group: str) -> None:
    bounds = _BOUNDS.get(store)
    if bounds is None:
        bounds = _BOUNDS[store] = {}
    key = (scope.account, scope.region, group)
    bound = bounds.get(key)
    if bound is not None and bound < KEEP:
        bounds[key] = bound + 1  # the one just written
        return
    prefix = f"{group}/"
    count = store.count(ACTIVITY, scope, prefix)
    extra = count - KEEP
    if extra > 0:
        known = _remembered(store)
        for k, _ in store.list(ACTIVITY, scope, prefix=prefix, limit=extra):
            store.delete(ACTIVITY, scope, k)
            known.pop((scope, k), None)
    bounds[key] = min(count, KEEP)


# -- words ---------------------------------------------------------------------------------------

_last_iso: tuple[float, str] = (float("nan"), "")


def iso(now: float) -> str:
    """:func:`names.iso`, remembered for the last time asked (a reconcile's sentences share one ``now``)."""
    global _last_iso
    at, text = _last_iso
    if at != now:
        text = names.iso(now)
        _last_iso = (now, text)
    return text


def desired_cause(who: str, before: int, after: int, now: float) -> str:
    """``At T <who> changing the desired capacity from a to b.``"""
    return f"At {iso(now)} {who} changing the desired capacity from {before} to {after}."


def constraints(min_size: int, max_size: int, desired: int) -> str:
    return f"update of AutoScalingGroup constraints to min: {min_size}, max: {max_size}, desired: {desired}"


def join(*sentences: str) -> str:
    return "  ".join(s for s in sentences if s)


def launch_sentence(before: int, after: int, now: float, rebalance: bool = False) -> str:
    if rebalance:
        return (f"At {iso(now)} an instance was launched in response to an Availability Zone imbalance "
                "of the group (AZRebalance).")
    return (f"At {iso(now)} an instance was started in response to a difference between desired and actual "
            f"capacity, increasing the capacity from {before} to {after}.")


def shrink_sentence(before: int, after: int, instance_id: str, now: float) -> str:
    return (f"At {iso(now)} an instance was taken out of service in response to a difference between desired "
            f"and actual capacity, shrinking the capacity from {before} to {after}.  At {iso(now)} instance "
            f"{instance_id} was selected for termination.")


def unhealthy_sentence(instance_id: str, source: str, now: float) -> str:
    if source == "ELB":
        return f"At {iso(now)} an instance was taken out of service in response to an ELB system health check failure."
    if source == "user":
        return (f"At {iso(now)} an instance was taken out of service in response to a user health-check "
                f"(instance {instance_id} marked Unhealthy).")
    return (f"At {iso(now)} an instance was taken out of service in response to an EC2 health check indicating "
            "it has been terminated or stopped.")


def user_terminate_sentence(instance_id: str, now: float, shrink: tuple[int, int] | None) -> str:
    base = f"At {iso(now)} instance {instance_id} was taken out of service in response to a user request"
    if shrink is None:
        return base + "."
    return base + f", shrinking the capacity from {shrink[0]} to {shrink[1]}."


def attach_sentence(desired: int, now: float) -> str:
    """AWS's cause of an ``Attaching an existing EC2 instance`` activity."""
    return f"At {iso(now)} an instance was added in response to user request. Keeping the capacity at the new {desired}."


def refresh_launch_sentence(now: float) -> str:
    return f"At {iso(now)} an instance was launched in response to an instance refresh."


def refresh_take_out_sentence(instance_id: str, now: float) -> str:
    return (f"At {iso(now)} an instance was taken out of service in response to an instance refresh.  "
            f"At {iso(now)} instance {instance_id} was selected for termination.")


def delete_sentence(now: float) -> str:
    return f"At {iso(now)} an instance was taken out of service in response to a user request to delete the group."
