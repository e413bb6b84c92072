"""The evaluator's in-memory samples give exactly what a read of the store gives.

Random publishes (late ones included: a sample for a period already
aggregated), reads of sliding windows with several statistics and periods,
trims and a reset in between; every read through the window is compared with
:func:`metric_query.read_points` on the store.
"""

from __future__ import annotations

import random

from gureum.core.store import Scope, SqliteStore
from gureum.services.cloudwatch import metric_query, metrics, sample_window, stats
from gureum.services.cloudwatch.datum import Point

SCOPE = Scope("123456789012", "us-east-1")
T0 = 1_767_225_600.0


def query(stat: str, period: int, unit: str | None = None) -> metric_query.StatQuery:
    return metric_query.StatQuery("Sim", "CPU", (("Host", "a"),), period, stat, unit)


def test_window_reads_match_store_reads() -> None:
    store = SqliteStore(":memory:")
    rng = random.Random(5)
    win = sample_window.window_for(store)
    queries = [query("Average", 60), query("Maximum", 300), query("p90", 60), query("SampleCount", 120),
               query("Sum", 60, "Percent")]
    for minute in range(240):
        now = T0 + minute * 60
        for _ in range(rng.randint(0, 3)):
            late = rng.random() < 0.2
            ts = now - rng.randint(1, 20) * 60 if late else now
            metrics.publish(store, SCOPE, "Sim", "CPU", rng.uniform(0, 100), dimensions={"Host": "a"},
                            unit=rng.choice(["Percent", "None"]), timestamp=ts)
        for q in queries:
            end = now // 60 * 60
            start = end - 5 * q.period
            got = metric_query.read_points(store, SCOPE, q, start, end, win)
            assert got == metric_query.read_points(store, SCOPE, q, start, end), (minute, q)
        if minute % 50 == 49:
            win.trim()
        if minute == 120:
            sample_window.forget(store)
            assert len(win) == 0
    store.close()


def test_a_read_further_back_reloads_from_the_store() -> None:
    store = SqliteStore(":memory:")
    win = sample_window.window_for(store)
    for i in range(30):
        metrics.publish(store, SCOPE, "Sim", "CPU", float(i), dimensions={"Host": "a"}, timestamp=T0 + i * 60)
    q = query("Average", 60)
    assert [p.value for p in metric_query.read_points(store, SCOPE, q, T0 + 1500, T0 + 1800, win)] == \
        [25.0, 26.0, 27.0, 28.0, 29.0]
    win.trim()  # keeps only what was asked for since
    assert [p.value for p in metric_query.read_points(store, SCOPE, q, T0, T0 + 180, win)] == [0.0, 1.0, 2.0]
    store.close()


def test_advanced_slides_hold_what_the_store_gives() -> None:
    """Readers moved on together each minute (``advance``), or slid one by one when it says no,
    always hold exactly the store's datapoints; late data and trims make it say no."""
    store = SqliteStore(":memory:")
    rng = random.Random(11)
    win = sample_window.window_for(store)
    queries = [query("Average", 60), query("Maximum", 60), query("p90", 60), query("Sum", 300),
               query("SampleCount", 60), query("Minimum", 60), query("Sum", 60), query("p50", 60, "Percent"),
               query("Average", 60, "Percent"), query("p10", 120)]
    key = metrics.metric_key("Sim", "CPU", (("Host", "a"),))
    count = 5
    slides: list[sample_window.Slide | None] = [None] * len(queries)
    moved_ever = refused_after_late = 0
    for minute in range(180):
        now = T0 + minute * 60
        late = rng.random() < 0.15
        for _ in range(rng.randint(1, 3)):
            ts = now - rng.randint(1, 4) * 60 if late else now
            if rng.random() < 0.1:  # a statistic set: no values (no percentile for its period)
                lo, hi = sorted((rng.uniform(0, 100), rng.uniform(0, 100)))
                sample = stats.Sample(ts, 3.0, lo + hi + (lo + hi) / 2, lo, hi, (), "Percent")
                metrics.record_points(store, SCOPE, "Sim", [Point("CPU", (("Host", "a"),), sample, 60)], now)
                continue
            metrics.publish(store, SCOPE, "Sim", "CPU", rng.uniform(0, 100), dimensions={"Host": "a"},
                            unit=rng.choice(["Percent", "None"]), timestamp=ts)
        if minute % 45 == 44:
            win.trim()
        end = now // 60 * 60
        starts = [end - count * q.period for q in queries]
        held = [i for i, s in enumerate(slides) if s is not None]
        moved = dict(zip(held, win.advance([slides[i] for i in held], [starts[i] for i in held]), strict=True))
        for i, q in enumerate(queries):
            newest = moved.get(i, sample_window.STAYED)
            if newest is not sample_window.STAYED:
                moved_ever += 1
                slide = slides[i]
                assert slide is not None and slide.points is None  # (made when asked for)
                if minute % 2:  # made by points_of, or by the next slide()
                    assert win.points_of(store, SCOPE, key, slide)[-1] == newest
            else:
                if late and i in moved:
                    refused_after_late += 1
                how, compute = metric_query.reader(q)
                slides[i] = win.slide(store, SCOPE, key, starts[i], count, q.period, how, compute, slides[i])
            slide = slides[i]
            assert slide is not None
            if minute % 3 == 0 and slide.points is None:  # left unmade until next minute's slide()
                continue
            want = metric_query.period_datapoints(store, SCOPE, q, key, starts[i], end,
                                                  sample_window.SampleWindow())  # a fresh window: the store
            assert list(win.points_of(store, SCOPE, key, slide)) == want, (minute, q)
            aggregated = metric_query.read_points(store, SCOPE, q, starts[i], end)  # stats.aggregate's numbers
            assert [(p.ts, p.value, p.sample_count) for p in want if p is not None] == \
                [(p.ts, p.value, p.sample_count) for p in aggregated], (minute, q)
    assert moved_ever > 300 and refused_after_late > 0  # the fast path ran, and stood aside for late data
    store.close()


def test_a_sample_noted_again_is_kept_once() -> None:
    """A load from the store and a note of the same committed samples (racing threads) count them once,
    whether they are the newest held or older ones."""
    store = SqliteStore(":memory:")
    win = sample_window.window_for(store)
    for i in range(5):
        metrics.publish(store, SCOPE, "Sim", "CPU", float(i), dimensions={"Host": "a"}, timestamp=T0 + i * 60)
    key = metrics.metric_key("Sim", "CPU", (("Host", "a"),))
    assert len(win.read(store, SCOPE, key, T0, T0 + 300)) == 5  # loaded from the store
    records = store.series(sample_window.DATA, SCOPE, key)
    again = [(r.seq, metrics.decode_sample(r.ts, r.doc)) for r in records]
    win.note(SCOPE, key, again[-1:])  # the newest again
    win.note(SCOPE, key, list(reversed(again)))  # every one again, oldest last
    assert [s.total for s in win.read(store, SCOPE, key, T0, T0 + 300)] == [0.0, 1.0, 2.0, 3.0, 4.0]
    store.close()
