"""Publishing in batches, the metric documents' ``lastPut``, and the evaluator's alarm cache.

A real App and an in-memory store on a SimClock: what is cached in memory must
always give the answers a fresh read of the store gives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope, SqliteStore
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import alarm_controller, alarm_records, metric_activity, metrics
from gureum.settings import Settings

START = 1_767_225_600.0
ACCOUNT, REGION = "123456789012", "us-east-1"
SCOPE = Scope(ACCOUNT, REGION)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(":memory:"))
    a.service_api("cloudwatch")
    yield a
    a.store.close()


def call(app: App, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api("cloudwatch")
    assert api is not None
    return api.handlers[op](RequestContext("cloudwatch", op, ACCOUNT, REGION, "rid", app), req)  # type: ignore[return-value]


def listed(app: App, **req: Any) -> list[str]:
    return sorted(f"{m['MetricName']}:{m['Dimensions'][0]['Value'] if m['Dimensions'] else ''}"
                  for m in call(app, "ListMetrics", **req)["Metrics"])


def advance(app: App, seconds: float) -> float:
    asyncio.run(app.clock.advance(seconds))  # type: ignore[attr-defined]
    return app.clock.now()


def test_publish_many_stores_every_value_in_one_call(app: App) -> None:
    values = [metrics.Value("CPU", 10.0 * i, {"Host": f"h{i}"}, "Percent") for i in range(5)]
    metrics.publish_many(app.store, SCOPE, "Bench", values, timestamp=START + 30)
    assert listed(app, Namespace="Bench") == [f"CPU:h{i}" for i in range(5)]
    samples = metrics.read_samples(app.store, SCOPE, "Bench", "CPU", (("Host", "h3"),), START, START + 60)
    assert [(s.ts, s.total, s.unit) for s in samples] == [(START, 30.0, "Percent")]  # truncated to the minute
    metrics.publish_many(app.store, SCOPE, "Bench", [], timestamp=START)  # nothing: no error


def test_recently_active_is_exact_although_last_put_is_written_less_often(app: App) -> None:
    metrics.publish(app.store, SCOPE, "Bench", "Load", 1.0, timestamp=START)
    doc = app.store.get(metrics.METRIC, SCOPE, metrics.metric_key("Bench", "Load", ()))
    assert doc is not None and doc["lastPut"] == START
    three_hours = 3 * 3600
    later = START + 200  # within ACTIVE_REFRESH: the document is not rewritten...
    metrics.publish(app.store, SCOPE, "Bench", "Load", 2.0, timestamp=later)
    assert (app.store.get(metrics.METRIC, SCOPE, metrics.metric_key("Bench", "Load", ())) or {})["lastPut"] == START
    # ...but RecentlyActive counts the newest put: at START + 3 h + 100 s it is still active.
    assert advance(app, three_hours + 100) == START + three_hours + 100
    assert listed(app, RecentlyActive="PT3H") == ["Load:"]
    assert advance(app, 101) == later + three_hours + 1
    assert listed(app, RecentlyActive="PT3H") == []
    # Past ACTIVE_REFRESH the stored put time moves on (the namespace's activity document).
    metrics.publish(app.store, SCOPE, "Bench", "Load", 3.0, timestamp=START + metrics.ACTIVE_REFRESH)
    key = metrics.metric_key("Bench", "Load", ())
    assert stored_last_put(app, "Bench", key) == START + metrics.ACTIVE_REFRESH


def stored_last_put(app: App, namespace: str, key: str) -> float:
    """What a process started on this store would take as the metric's last put."""
    doc = app.store.get(metrics.METRIC, SCOPE, key) or {}
    activity = (app.store.get(metric_activity.ACTIVE, SCOPE, namespace) or {}).get("puts", {})
    return max(float(doc.get("lastPut", 0)), float(activity.get(key, 0)))


def test_stored_put_times_lag_at_most_active_refresh_and_survive_a_new_process(tmp_path: Path) -> None:
    """Every batch, the stored last put of every metric put is within ACTIVE_REFRESH of the truth; a
    store opened again (a restart) lists what a running process lists, and keeps the older puts."""
    path = tmp_path / "s.db"
    store = SqliteStore(path)
    keys = {name: metrics.metric_key("Bench", name, ()) for name in ("A", "B", "C")}
    truth: dict[str, float] = {}
    for minute in range(40):
        now = START + 60 * minute + 7
        names = ["A"] + (["B"] if minute % 3 == 0 else []) + (["C"] if minute < 4 else [])
        metrics.publish_many(store, SCOPE, "Bench", [metrics.Value(n, 1.0) for n in names], timestamp=now)
        for n in names:
            truth[n] = now
        for n, t in truth.items():
            doc = store.get(metrics.METRIC, SCOPE, keys[n]) or {}
            acts = (store.get(metric_activity.ACTIVE, SCOPE, "Bench") or {}).get("puts", {})
            stored = max(float(doc.get("lastPut", 0)), float(acts.get(keys[n], 0)))
            assert 0 <= t - stored < metrics.ACTIVE_REFRESH, (minute, n)
    store.close()
    again = SqliteStore(path)  # a new process: nothing in memory
    metrics.publish_many(again, SCOPE, "Bench", [metrics.Value("A", 2.0)], timestamp=START + 60 * 41)
    acts = (again.get(metric_activity.ACTIVE, SCOPE, "Bench") or {}).get("puts", {})
    assert float(acts[keys["B"]]) >= truth["B"] - metrics.ACTIVE_REFRESH  # B's put kept across the restart
    assert float(acts[keys["C"]]) >= truth["C"] - metrics.ACTIVE_REFRESH
    since = START + 60 * 20
    found = sorted(d["MetricName"] for _, d in metrics.find_metrics(again, SCOPE, active_since=since))
    assert found == ["A", "B"]  # C was last put in minute 3
    again.close()


def test_a_reset_store_gets_its_metric_documents_again(app: App) -> None:
    metrics.publish(app.store, SCOPE, "Bench", "Load", 1.0, timestamp=START)
    app.reset()  # the store is emptied
    assert listed(app) == []
    metrics.publish(app.store, SCOPE, "Bench", "Load", 2.0, timestamp=START + 10)
    assert listed(app) == ["Load:"]
    # Also when only the store was reset (no service hook ran).
    app.store.reset()
    metrics.publish(app.store, SCOPE, "Bench", "Load", 2.0, timestamp=START + 20)
    assert listed(app) == ["Load:"]


def _alarm(app: App, name: str, threshold: float, **extra: Any) -> None:
    call(app, "PutMetricAlarm", AlarmName=name, Namespace="Bench", MetricName="Load", Statistic="Average",
         Period=60, EvaluationPeriods=1, Threshold=threshold, ComparisonOperator="GreaterThanThreshold", **extra)


def _state(app: App, name: str) -> str:
    return str(call(app, "DescribeAlarms", AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def test_the_evaluator_sees_every_change_made_behind_its_cache(app: App) -> None:
    engine = alarm_controller.engine(app)
    _alarm(app, "a", 50.0)
    for minute in range(3):
        metrics.publish(app.store, SCOPE, "Bench", "Load", 70.0, timestamp=START + minute * 60)
    now = advance(app, 3 * 60 + 5)
    engine.tick(now)
    assert _state(app, "a") == "ALARM"
    _alarm(app, "a", 90.0)  # updated: the cached config must not be used
    metrics.publish(app.store, SCOPE, "Bench", "Load", 70.0, timestamp=START + 3 * 60)
    now = advance(app, 60)
    engine.tick(now)
    assert _state(app, "a") == "OK"
    call(app, "DeleteAlarms", AlarmNames=["a"])
    _alarm(app, "a", 10.0)  # deleted and made again
    metrics.publish(app.store, SCOPE, "Bench", "Load", 70.0, timestamp=START + 4 * 60)
    now = advance(app, 60)
    assert engine.tick(now) == 1
    assert _state(app, "a") == "ALARM"
    call(app, "SetAlarmState", AlarmName="a", StateValue="OK", StateReason="by hand")
    doc = alarm_records.get(app.store, SCOPE, "a")
    assert doc is not None and doc["alarm"]["StateReason"] == "by hand"
    app.reset()
    assert engine.tick(advance(app, 60)) == 0  # nothing left after a reset
    _alarm(app, "b", 10.0)
    assert engine.keys() == [alarm_controller.alarm_key(SCOPE, "b")]


def test_a_transition_written_by_the_evaluator_is_in_the_store_at_once(app: App) -> None:
    engine = alarm_controller.engine(app)
    _alarm(app, "c", 50.0)
    metrics.publish(app.store, SCOPE, "Bench", "Load", 70.0, timestamp=START)
    engine.tick(advance(app, 65))
    fresh = SqliteStore.get(app.store, alarm_records.ALARM, SCOPE, "c")  # type: ignore[arg-type]
    assert fresh is not None and fresh["alarm"]["StateValue"] == "ALARM"
    # The evaluator's own write keeps its cached entry (no new read of the store needed).
    entry = engine.cache.get(SCOPE, "c")
    assert entry is not None and entry.doc is engine.cache.get(SCOPE, "c").doc  # type: ignore[union-attr]
