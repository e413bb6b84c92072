"""The evaluator's sliding datapoints (one per period, reused from minute to minute)
give exactly what a fresh read of the store gives.

Random publishes — late ones included (a sample for a period already
aggregated) and batches — ranges that move by one period, by several, not
at all or backwards, trims and a reset in between; every slide is compared
with :func:`metric_query.read_points` on the store, period by period.
"""

from __future__ import annotations

import random

from gureum.core.store import Scope, SqliteStore
from gureum.services.cloudwatch import metric_query, metrics, sample_window

SCOPE = Scope("123456789012", "us-east-1")
T0 = 1_767_225_600.0
KEY = metrics.metric_key("Sim", "CPU", (("Host", "a"),))


def query(stat: str, period: int, unit: str | None = None) -> metric_query.StatQuery:
    return metric_query.StatQuery("Sim", "CPU", (("Host", "a"),), period, stat, unit)


def expected(store: SqliteStore, q: metric_query.StatQuery, start: float, count: int) -> list[tuple[float, float, float]]:
    return [(p.ts, p.value, p.sample_count)
            for p in metric_query.read_points(store, SCOPE, q, start, start + count * q.period)]


def test_slides_match_store_reads() -> None:
    store = SqliteStore(":memory:")
    rng = random.Random(11)
    win = sample_window.window_for(store)
    readers = [(query("Average", 60), 5), (query("Maximum", 60), 17), (query("p90", 60), 4),
               (query("SampleCount", 300), 4), (query("Sum", 60, "Percent"), 7), (query("Minimum", 10), 6)]
    last: dict[int, sample_window.Slide | None] = {i: None for i in range(len(readers))}
    for minute in range(300):
        now = T0 + minute * 60
        values = []
        for _ in range(rng.randint(0, 3)):
            late = rng.random() < 0.15
            ts = now - rng.randint(1, 20) * 60 if late else now + rng.choice([0, 10, 30])
            values.append((ts, metrics.Value("CPU", rng.uniform(0, 100), {"Host": "a"},
                                             rng.choice(["Percent", "None"]))))
        for ts, v in values:
            if rng.random() < 0.5:
                metrics.publish_many(store, SCOPE, "Sim", [v, v], timestamp=ts)
            else:
                metrics.publish(store, SCOPE, "Sim", v.name, v.value, dimensions=v.dimensions, unit=v.unit,
                                timestamp=ts, resolution=1 if v.unit == "Percent" else 60)
        for i, (q, count) in enumerate(readers):
            step = min(q.period, 60)
            jump = rng.choice([1, 1, 1, 1, 0, 2, -1]) if minute % 7 == 3 else 1
            end = (now + jump * 60) // step * step
            start = end - count * q.period
            slide = metric_query.slide_datapoints(store, SCOPE, q, KEY, start, count, win, last[i])
            last[i] = slide
            got = [(p.ts, p.value, p.sample_count) for p in slide.points if p is not None]
            assert got == expected(store, q, start, count), (minute, q)
            assert len(slide.points) == count
        if minute % 45 == 44:
            win.trim()
        if minute == 150:
            sample_window.forget(store)
    store.close()
