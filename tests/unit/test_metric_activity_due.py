"""When a publish writes put times (metric_activity.Namespace.due): never more than ACTIVE_REFRESH
seconds of lag in the store, a metric put now and then refreshed through its own document (not the
namespace's whole activity document), many metrics put one by one still in one activity write."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.core.store import Doc, Scope, SqliteStore
from gureum.services.cloudwatch import metric_activity, metrics

SCOPE = Scope("123456789012", "us-east-1")
START = 1_767_225_600.0
REFRESH = metric_activity.ACTIVE_REFRESH


class CountingStore(SqliteStore):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.puts: Counter[str] = Counter()

    def put(self, kind: str, scope: Scope, key: str, doc: Doc) -> None:
        self.puts[kind] += 1
        super().put(kind, scope, key, doc)


def stored_last_put(store: SqliteStore, namespace: str, key: str) -> float:
    """What a process started on this store takes as the metric's last put."""
    doc = store.get(metrics.METRIC, SCOPE, key) or {}
    acts = (store.get(metric_activity.ACTIVE, SCOPE, namespace) or {}).get("puts", {})
    return max(float(doc.get("lastPut", 0)), float(acts.get(key, 0)))


_times = st.sampled_from([0.0, 1.0, 299.0, 300.0, 301.0, 600.0, 700.0])


@settings(max_examples=400, deadline=None)
@given(stored=st.dictionaries(st.sampled_from("abcdef"), _times), puts=st.dictionaries(st.sampled_from("abcdefg"), _times),
       keys=st.sets(st.sampled_from("abcdefg")), now=st.sampled_from([300.0, 600.0, 601.0, 700.0]),
       flushed=st.sampled_from([-math.inf, 300.0, 550.0, 650.0]))
def test_what_is_written_leaves_every_key_put_within_active_refresh(
        stored: dict[str, float], puts: dict[str, float], keys: set[str], now: float, flushed: float) -> None:
    ns = metric_activity.Namespace()
    ns.stored, ns.puts, ns.flushed = dict(stored), dict(puts), flushed
    due = ns.due(SqliteStore(":memory:"), SCOPE, "NS", keys, now)
    fresh = all(0 <= now - stored.get(k, -math.inf) < REFRESH for k in keys)
    if flushed == -math.inf or now < flushed:
        assert due is metric_activity.FLUSH  # a process's first write merges what the store held
    elif fresh:
        assert due is None
    else:
        assert due is metric_activity.FLUSH or (isinstance(due, list) and 0 < len(due) <= metric_activity.ALONE)
    after = dict(stored)
    if due is metric_activity.FLUSH:
        after.update(dict.fromkeys(keys, now))
    elif due:
        assert set(due) <= keys
        after.update(dict.fromkeys(due, now))
    assert all(0 <= now - after.get(k, -math.inf) < REFRESH for k in keys)


def test_a_metric_put_now_and_then_refreshes_its_own_document(tmp_path: Path) -> None:
    """Twenty metrics of a namespace each put alone, one every few minutes (Auto Scaling's
    ScalingFlapCount): its document's lastPut moves on, the activity document is written once."""
    store = CountingStore(tmp_path / "s.db")
    truth: dict[str, float] = {}
    for n in range(60):
        now = START + 97 * n
        group = f"g{(n * 7) % 20}"
        metrics.publish(store, SCOPE, "Gureum/X", "Flaps", 1.0, dimensions={"G": group}, timestamp=now)
        truth[metrics.metric_key("Gureum/X", "Flaps", (("G", group),))] = now
        for key, t in truth.items():
            assert 0 <= t - stored_last_put(store, "Gureum/X", key) < REFRESH
    assert store.puts[metric_activity.ACTIVE] == 1  # the process's first write only
    store.close()
    again = SqliteStore(tmp_path / "s.db")  # a new process: its first write merges the documents' times
    metrics.publish(again, SCOPE, "Gureum/X", "Other", 1.0, timestamp=START + 97 * 60)
    acts = (again.get(metric_activity.ACTIVE, SCOPE, "Gureum/X") or {}).get("puts", {})
    assert all(float(acts[key]) >= t - REFRESH for key, t in truth.items())
    since = START + 97 * 45
    found = {d["Dimensions"][0]["Value"] for _, d in metrics.find_metrics(again, SCOPE, name="Flaps",
                                                                          active_since=since)}
    assert found == {group for key, t in truth.items() if t >= since for group in [key.split('"')[-2]]}
    again.close()


def test_many_metrics_put_one_by_one_every_minute_share_one_activity_write(tmp_path: Path) -> None:
    """Eight metrics put each alone every minute (a group's metrics): an activity write every
    ACTIVE_REFRESH seconds or so for all of them, not a document write per metric."""
    store = CountingStore(tmp_path / "s.db")
    names = [f"M{i}" for i in range(8)]
    for minute in range(31):
        for name in names:
            metrics.publish(store, SCOPE, "AWS/X", name, 1.0, timestamp=START + 60 * minute + 1)
    writes: dict[str, Any] = dict(store.puts)
    assert writes[metrics.METRIC] == len(names)  # the first put of each
    assert writes[metric_activity.ACTIVE] <= 2 * (1 + 30 * 60 // int(REFRESH))  # (one document each: ~48)
    for name in names:
        key = metrics.metric_key("AWS/X", name, ())
        assert 0 <= START + 60 * 30 + 1 - stored_last_put(store, "AWS/X", key) < REFRESH
    store.close()
