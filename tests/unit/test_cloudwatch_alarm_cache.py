"""The evaluator's alarm cache against a real in-memory store: every scopes() answer is what the
store holds, whoever wrote it — the evaluator (the same document object), anyone else (a new
object), a delete, or more writes than the journal keeps."""

from __future__ import annotations

import copy
from typing import Any

from gureum.core.store import Scope, SqliteStore
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch.alarm_cache import AlarmCache

SCOPE = Scope("123456789012", "us-east-1")
OTHER = Scope("123456789012", "eu-west-1")


def alarm(name: str, threshold: float) -> dict[str, Any]:
    return {"type": "MetricAlarm", "alarm": {
        "AlarmName": name, "AlarmArn": records.alarm_arn(SCOPE, name), "StateValue": "OK", "Namespace": "N",
        "MetricName": "M", "Statistic": "Average", "Period": 60, "EvaluationPeriods": 1, "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold"}}


def seen(cache: AlarmCache) -> dict[tuple[str, str], float]:
    return {(scope.region, e.name): e.doc["alarm"]["Threshold"] for scope, entries in cache.scopes() for e in entries}


def stored(store: SqliteStore) -> dict[tuple[str, str], float]:
    return {(scope.region, name): doc["alarm"]["Threshold"]
            for scope in records.every_scope(store) for name, doc in records.all_alarms(store, scope)}


def test_scopes_follow_every_kind_of_write() -> None:
    store = SqliteStore(":memory:")
    for i in range(3):
        records.put(store, SCOPE, f"a{i}", alarm(f"a{i}", i))
    cache = AlarmCache(store)
    assert seen(cache) == stored(store) and len(stored(store)) == 3
    first = cache.scopes()
    assert cache.scopes() is first  # nothing written: the same answer

    entry = next(e for e in first[0][1] if e.name == "a1")
    entry.doc["alarm"]["StateValue"] = "ALARM"
    records.put(store, SCOPE, "a1", entry.doc)  # the evaluator's own write: the entry stays
    again = cache.scopes()
    assert next(e for e in again[0][1] if e.name == "a1") is entry

    changed = copy.deepcopy(entry.doc)
    changed["alarm"]["Threshold"] = 99.0
    records.put(store, SCOPE, "a1", changed)  # PutMetricAlarm: a new document
    assert seen(cache) == stored(store) and stored(store)[("us-east-1", "a1")] == 99.0

    records.delete(store, SCOPE, "a0")
    records.put(store, OTHER, "b", alarm("b", 7))
    assert seen(cache) == stored(store) and ("us-east-1", "a0") not in stored(store)

    own = next(e for _, entries in cache.scopes() for e in entries if e.name == "a2").doc
    records.put(store, SCOPE, "a1", alarm("a1", 5.0))
    for i in range(records.Versions.JOURNAL_MAX * 2 + 3):  # the write of a1 falls out of the journal
        own["alarm"]["Threshold"] = 1000.0 + i
        records.put(store, SCOPE, "a2", own)  # the evaluator's own writes
    assert seen(cache) == stored(store)
    assert stored(store)[("us-east-1", "a1")] == 5.0 and stored(store)[("us-east-1", "a2")] == 1000.0 + 2 * 4096 + 2

    records.forget(store)  # a reset: everything read again
    assert seen(cache) == stored(store)
