"""An in-memory window of recent metric samples, for the alarm evaluator.

The evaluator asks for the same few minutes of the same metrics every
minute; reading them from the store each time decodes every sample's JSON
again (most of an evaluation's time).  A :class:`SampleWindow` (one per
store, :func:`window_for`) keeps the decoded samples of the metrics alarms
read, and :func:`metrics.record_points` adds what it stores to the metrics
already held, so only the first read of a metric (or a read reaching further
back than ever before) goes to the store.

Rules:

* the store stays the truth: a metric not held is loaded from the store,
  from the requested start on, with every sample newer than that;
* samples are noted after their transaction committed; each is kept once
  (by its timestamp and series seq, unique), so a load and a note racing on
  one sample do not count it twice;
* order is the store's — (timestamp, seq) — so aggregation gives exactly the
  numbers a read of the store gives;
* :meth:`SampleWindow.periods` also keeps each period's aggregate, computed
  once and again only when a sample of that period arrives (late data);
  :meth:`SampleWindow.slide` gives one reader (an alarm) its range again a
  period later by looking up only the newest period, as long as the
  metric's ``generation`` (moved by every dropped aggregate: late data, a
  trim) is the one it saw; :meth:`SampleWindow.advance` does the same for
  many readers at once, as long as the window's ``epoch`` (moved whenever
  any metric's generation moves or a metric is let go) is the one each saw;
* :meth:`SampleWindow.trim` (the evaluator calls it now and then) drops
  metrics nobody read since the last trim and samples older than the oldest
  start asked for; :func:`forget` drops everything (the app's reset).
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.cloudwatch import stats

DATA = "cloudwatch.data"  # metrics.DATA (not imported: metrics imports this module)

_MISSING = object()
STAYED = object()  # SampleWindow.advance: this slide did not move
Key = tuple[str, str, str]  # account, region, metric key
Row = tuple[float, int, stats.Sample]  # ts, seq, sample


def _between(rows: list[Row], start: float, end: float) -> list[stats.Sample]:
    # ``(t,)`` sorts before every row ``(t, seq, sample)``: the first row at or after t.
    lo = bisect_left(rows, (start,))
    hi = bisect_left(rows, (end,), lo=lo)
    return [r[2] for r in rows[lo:hi]]


@dataclass
class _Held:
    since: float  # every stored sample with ts >= since is here
    rows: list[Row] = field(default_factory=list)  # by (ts, seq): unique
    wanted: float = float("inf")  # the oldest start asked for since the last trim
    # Aggregated periods: (period, how) → period start → the computed point (None: no samples).
    memo: dict[tuple[int, Hashable], dict[float, Any]] = field(default_factory=dict)
    memo_end: float = float("-inf")  # no memoized period reaches this time
    generation: int = 0  # moves whenever a memoized period is dropped
    live: bool = True  # False once the window let go of it (trimmed away, cleared)

    def forget_periods(self, ts: float) -> None:
        """A sample at ``ts`` arrived: every memoized period holding it is stale."""
        if ts >= self.memo_end:  # newer than every memoized period (new data: the usual case)
            return
        self.generation += 1
        for (period, _), points in self.memo.items():
            for start in [b for b in points if b <= ts < b + period]:
                del points[start]


class Slide:
    """What :meth:`SampleWindow.slide` computed last for one reader: reused (and moved on, in place)
    when the range moves on; a reader must not share it.

    (A plain slotted class: one is made per alarm evaluation, and frozen dataclasses are slow to make.)
    """

    __slots__ = ("held", "generation", "period", "how", "start", "points", "memo", "epoch", "compute", "span")

    def __init__(self, held: _Held, generation: int, period: int, how: Hashable, start: float,
                 points: tuple[Any, ...], memo: dict[float, Any], epoch: int = -1,
                 compute: Callable[[list[stats.Sample], float], Any] | None = None) -> None:
        self.held = held
        self.generation = generation
        self.period = period
        self.how = how
        self.start = start
        self.points: tuple[Any, ...] | None = points  # None: moved on by advance (SampleWindow.points_of)
        self.memo = memo  # held.memo[(period, how)]
        self.epoch = epoch  # the window's epoch when made (SampleWindow.advance)
        self.compute = compute
        self.span = len(points) * period


class SampleWindow:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Key, _Held] = {}
        self.epoch = 0  # moves with any held metric's generation, and when one is let go

    def note(self, scope: Scope, key: str, rows: Iterable[tuple[int, stats.Sample]]) -> None:
        """Samples just stored (seq, sample); kept only for metrics already held."""
        self.note_many(scope, {key: rows})

    def note_many(self, scope: Scope, by_key: Mapping[str, Iterable[tuple[int, stats.Sample]]]) -> None:
        """:meth:`note` for several metrics at once."""
        account, region = scope.account, scope.region
        with self._lock:
            get = self._held.get
            for key, rows in by_key.items():
                held = get((account, region, key))
                if held is not None:
                    generation = held.generation
                    self._note(held, rows)
                    if held.generation != generation:
                        self.epoch += 1

    @staticmethod
    def _note(held: _Held, rows: Iterable[tuple[int, stats.Sample]]) -> None:
        # Rows are unique by (ts, seq) (a seq has one ts): one after the newest held row is new (the
        # usual case: appended); any other is looked up where it would go (a load and a note racing).
        held_rows = held.rows
        for seq, sample in rows:
            ts = sample.ts
            if ts < held.since:
                continue
            if held_rows:
                last = held_rows[-1]
                if ts < last[0] or (ts == last[0] and seq <= last[1]):
                    at = bisect_left(held_rows, (ts, seq))
                    if at < len(held_rows) and held_rows[at][1] == seq:
                        continue  # held already
                    held.forget_periods(ts)
                    held_rows.insert(at, (ts, seq, sample))
                    continue
            if ts < held.memo_end:
                held.forget_periods(ts)
            held_rows.append((ts, seq, sample))

    def _held_from(self, store: Store, scope: Scope, key: str, start: float) -> _Held:
        """The held samples of a metric, loaded from the store if not held from ``start`` on (locked)."""
        k = (scope.account, scope.region, key)
        held = self._held.get(k)
        if held is None or start < held.since:
            from gureum.services.cloudwatch.metrics import decode_sample

            records = store.series(DATA, scope, key, start=start)
            held = _Held(start)
            held.rows = [(r.ts, r.seq, decode_sample(r.ts, r.doc)) for r in records]
            old = self._held.get(k)
            if old is not None:
                old.live = False
                self.epoch += 1
            self._held[k] = held
        if start < held.wanted:
            held.wanted = start
        return held

    def read(self, store: Store, scope: Scope, key: str, start: float, end: float) -> list[stats.Sample]:
        """The samples of one metric with ``start <= ts < end``, in store order."""
        with self._lock:
            return _between(self._held_from(store, scope, key, start).rows, start, end)

    def periods(
        self, store: Store, scope: Scope, key: str, start: float, end: float, period: int, how: Hashable,
        compute: Callable[[list[stats.Sample], float], Any],
    ) -> list[Any]:
        """``compute(samples of the period, period start)`` for every period of ``[start, end)``.

        Results are memoized per (``period``, ``how``) and period start until a sample of that
        period arrives; ``how`` names everything else ``compute`` depends on (statistic, unit).
        """
        with self._lock:
            return self._periods(self._held_from(store, scope, key, start), start, end, period, how, compute)

    @staticmethod
    def _periods(held: _Held, start: float, end: float, period: int, how: Hashable,
                 compute: Callable[[list[stats.Sample], float], Any]) -> list[Any]:
        memo = held.memo.get((period, how))
        if memo is None:
            memo = held.memo[(period, how)] = {}
        get = memo.get
        out = []
        at = start
        while at < end:
            point = get(at, _MISSING)
            if point is _MISSING:
                point = memo[at] = compute(_between(held.rows, at, min(at + period, end)), at)
                held.memo_end = max(held.memo_end, at + period)
            out.append(point)
            at += period
        return out

    def slide(
        self, store: Store, scope: Scope, key: str, start: float, count: int, period: int, how: Hashable,
        compute: Callable[[list[stats.Sample], float], Any], last: Slide | None,
    ) -> Slide:
        """:meth:`periods` of ``count`` periods from ``start``, reusing ``last`` (the same reader's
        previous answer) for the periods both ranges hold, when nothing memoized changed since."""
        end = start + count * period
        with self._lock:
            if last is not None:  # the usual minute: the range moved on by one period
                held = last.held
                if (held.live and held.generation == last.generation and start == last.start + period
                        and last.period == period and last.how == how and last.span == count * period):
                    at = end - period
                    memo = last.memo
                    point = memo.get(at, _MISSING)
                    if point is _MISSING:
                        point = memo[at] = compute(_between(held.rows, at, end), at)
                        if end > held.memo_end:
                            held.memo_end = end
                    if start < held.wanted:
                        held.wanted = start
                    if last.points is None:  # moved by advance: made now
                        last.points = tuple(self._periods(held, start, end, period, how, compute))
                    else:
                        last.points = last.points[1:] + (point,)  # the reader's own: moved on
                    last.start = start
                    last.epoch = self.epoch  # (its metric's generation held: true as of now)
                    return last
            held = self._held_from(store, scope, key, start)
            memo = held.memo.setdefault((period, how), {})
            if (last is not None and last.held is held and last.generation == held.generation
                    and last.period == period and last.how == how and last.span == count * period
                    and last.points is not None):
                moved = (start - last.start) / period
                if moved == 0:
                    last.epoch = self.epoch
                    return last
                if 0 < moved < count and moved == int(moved):
                    kept = last.points[int(moved):]
                    fresh = self._periods(held, start + len(kept) * period, end, period, how, compute)
                    return Slide(held, held.generation, period, how, start, kept + tuple(fresh), memo,
                                 self.epoch, compute)
            points = tuple(self._periods(held, start, end, period, how, compute))
            return Slide(held, held.generation, period, how, start, points, memo, self.epoch, compute)

    def advance(self, slides: list[Slide], starts: list[float]) -> list[Any]:
        """Move each slide on to its start, in place, when that is its last range moved on by one
        period and nothing memoized changed anywhere since it was made (the window's ``epoch``).

        Each one's newest period's point (None: no samples), or :data:`STAYED` for one not moved
        (:meth:`slide` it).  A moved slide's ``points`` are left for :meth:`points_of` to make
        (most minutes nobody needs them: the judge counts its flags).
        """
        out: list[Any] = []
        add = out.append
        missing, stayed = _MISSING, STAYED
        with self._lock:
            epoch = self.epoch
            for last, start in zip(slides, starts, strict=True):
                if last.epoch != epoch or start != last.start + last.period:
                    add(stayed)
                    continue
                end = start + last.span
                at = end - last.period
                memo = last.memo
                point = memo.get(at, missing)
                held = last.held
                if point is missing:
                    point = memo[at] = last.compute(_between(held.rows, at, end), at)  # type: ignore[misc]
                    if end > held.memo_end:
                        held.memo_end = end
                if start < held.wanted:
                    held.wanted = start
                last.start = start
                last.points = None
                add(point)
        return out

    def points_of(self, store: Store, scope: Scope, key: str, slide: Slide) -> tuple[Any, ...]:
        """The points of a slide :meth:`advance` moved (made once; what a read gives now)."""
        points = slide.points
        if points is not None:
            return points
        with self._lock:
            held = slide.held
            if held.live:  # (_periods computes again what late data dropped since)
                points = tuple(self._periods(held, slide.start, slide.start + slide.span, slide.period, slide.how,
                                             slide.compute))  # type: ignore[arg-type]
                slide.generation, slide.epoch = held.generation, self.epoch
            else:  # let go of since (a trim, a reload): from the store again
                held = self._held_from(store, scope, key, slide.start)
                memo = held.memo.setdefault((slide.period, slide.how), {})
                points = tuple(self._periods(held, slide.start, slide.start + slide.span, slide.period, slide.how,
                                             slide.compute))  # type: ignore[arg-type]
                slide.held, slide.memo, slide.generation, slide.epoch = held, memo, held.generation, self.epoch
            slide.points = points
        return points

    def trim(self) -> None:
        with self._lock:
            self.epoch += 1
            for k, held in list(self._held.items()):
                if held.wanted == float("inf"):
                    held.live = False
                    del self._held[k]
                    continue
                del held.rows[:bisect_left(held.rows, (held.wanted,))]
                held.since = max(held.since, held.wanted)
                held.generation += 1
                for points in held.memo.values():
                    for at in [b for b in points if b < held.since]:
                        del points[at]
                held.wanted = float("inf")

    def clear(self) -> None:
        with self._lock:
            self.epoch += 1
            for held in self._held.values():
                held.live = False
            self._held.clear()

    def __len__(self) -> int:
        return len(self._held)


_WINDOWS: weakref.WeakKeyDictionary[Any, SampleWindow] = weakref.WeakKeyDictionary()


def window_for(store: Store) -> SampleWindow:
    win = _WINDOWS.get(store)
    if win is None:
        win = _WINDOWS[store] = SampleWindow()
    return win


def held(store: Store) -> SampleWindow | None:
    """The store's window if anyone made one (writers note into it only then)."""
    return _WINDOWS.get(store)


def forget(store: Store) -> None:
    win = _WINDOWS.get(store)
    if win is not None:
        win.clear()
