"""The alarm evaluator: every metric alarm evaluated once a minute (every
period for 10/20/30-second alarms) on the injected clock.

Theory of operation: the ``cloudwatch.alarm`` controller's keys are
``[account, region, name]``.  An evaluation takes the alarm from the
engine's :class:`~alarm_cache.AlarmCache` (decoded once, read again only
after a write), its datapoints for the evaluation range (:mod:`metric_query`
— the same numbers GetMetricData gives — one per period from the decoded
samples the store's :mod:`sample_window` holds, the range sliding on by a
period each minute), asks the alarm's state judge
(:class:`alarm_track.Judge`, carried from minute to minute: its
per-period breach flags are moved on by one period, so the usual minute is
an update of two counts and a comparison) for the next state and, only on a new
state, makes the full :class:`~alarm_eval.Decision` with its words and
applies it (:mod:`alarm_transitions`: the state and its history written at
once, actions, composite parents).  An evaluation that changes nothing
writes nothing.  When the state holds, Auto Scaling actions are invoked
again once per period.

Scheduling: an alarm is evaluated at most once per evaluation step (the
minute, or its period when shorter); each evaluation asks the runner to come
back :data:`EVAL_DELAY` seconds after the next step boundary, so late
datapoints of the period that just closed are in.  The runner's resync every
:data:`RESYNC_SECONDS` catches alarms whose schedule was lost (a restart, a
new alarm).  Handlers call :func:`poke` to have an alarm evaluated right
away (PutMetricAlarm).  SetAlarmState's state therefore lasts until the next
step, as on AWS.  With ``--time-scale 60`` a minute of evaluation passes in
a real second.
"""

from __future__ import annotations

import json
import logging
import math
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch import (
    alarm_transitions,
    metric_math,
    metric_query,
    metrics,
    sample_window,
)
from gureum.services.cloudwatch.alarm_cache import AlarmCache, Entry
from gureum.services.cloudwatch.alarm_cache import (
    alarm_key as alarm_key,  # the controller keys, re-exported
)
from gureum.services.cloudwatch.alarm_eval import (
    AlarmSpec,
    Datapoint,
    Decision,
    decide,
    decide_slots,
    explain,
    window,
)
from gureum.services.cloudwatch.sample_window import STAYED

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.cloudwatch.alarms")

CONTROLLER = "cloudwatch.alarm"
EVAL_DELAY = 5.0
RESYNC_SECONDS = 60.0
TRIM_SECONDS = 3600.0


def parse_key(key: str) -> tuple[Scope, str]:
    account, region, name = json.loads(key)
    return Scope(account, region), name


def datapoints(app: App, scope: Scope, alarm: dict[str, Any], spec: AlarmSpec, now: float) -> list[Datapoint]:
    """The alarm's datapoints over its evaluation range at ``now``."""
    start, end = window(spec, now)
    if not alarm.get("Metrics"):
        dims = tuple(sorted((d["Name"], d["Value"]) for d in alarm.get("Dimensions") or []))
        q = metric_query.StatQuery(alarm["Namespace"], alarm["MetricName"], dims, spec.period,
                                   str(spec.statistic), alarm.get("Unit"))
        key = metrics.metric_key(q.namespace, q.name, q.dimensions)
        slots = metric_query.period_datapoints(app.store, scope, q, key, start, end,
                                               sample_window.window_for(app.store))
        return [p for p in slots if p is not None]
    queries = alarm["Metrics"]
    returned = next(q for q in queries if q.get("ReturnData", True) is not False)
    try:
        results = metric_query.run_math(app.store, scope, queries, start, end, spec.period,
                                         sample_window.window_for(app.store))
    except metric_math.MathError as exc:
        log.info("alarm %s: %s", alarm["AlarmName"], exc.message)
        return []
    series = results.get(returned["Id"]) or []
    if len(series) != 1:  # an array cannot be compared with a threshold
        return []
    return [Datapoint(t, v) for t, v in series[0].points.items() if math.isfinite(v)]


Source = Callable[["App", Scope, dict[str, Any], AlarmSpec, float], list[Datapoint]]


class AlarmEngine:
    """Evaluates alarms against the store; synchronous, so simulations can drive it directly.

    Alarms are read through an :class:`~alarm_cache.AlarmCache` (decoded once, read again
    only when written); a single-metric alarm's datapoints come straight from the
    store's :mod:`sample_window` (one per period, memoized).
    """

    def __init__(self, app: App, source: Source | None = None) -> None:
        self.app = app
        # Where datapoints come from: the store (the metrics API) unless a
        # simulation feeds them directly.
        self.source: Source = source or datapoints
        self.evaluated: dict[str, int] = {}  # key → last evaluated step number
        self.last_trim = float("-inf")
        self.cache = AlarmCache(app.store)
        self.window = sample_window.window_for(app.store)

    def keys(self) -> list[str]:
        return [e.key for _, entries in self.cache.scopes()
                for e in entries if e.spec is not None]

    def forget(self, key: str) -> None:
        self.evaluated.pop(key, None)

    def evaluate(self, scope: Scope, name: str, now: float) -> Decision | None:
        """Evaluate one alarm now (whatever its schedule); None if it is gone or not a metric alarm."""
        entry = self.cache.get(scope, name)
        if entry is None or entry.spec is None:
            return None
        return self._evaluate(entry, now, wanted=True)

    def _evaluate(self, entry: Entry, now: float, composites: list[str] | None = None, *,
                  wanted: bool = False, points: tuple[Datapoint | None, ...] | None = None) -> Decision | None:
        """One evaluation; the decision when the state changed, or always when ``wanted``.

        ``points``: the range's datapoints when the caller (the tick) already slid it.
        """
        spec = entry.spec
        assert spec is not None
        doc = entry.doc
        state = doc["alarm"]["StateValue"]
        decision: Decision | None = None
        if points is None and entry.reader is not None and entry.metric is not None and self.source is datapoints:
            points = self._slide(entry, now)
            judge = entry.judge
            assert judge is not None and entry.slide is not None
            # (the judge is shown every range the alarm's slide holds: its flags stay those of the slide)
            if judge.full(points, state, entry.slide.start) == state and not wanted:
                points = None  # the state holds (no words, no Decision)
            else:
                decision = decide_slots(spec, points, now, state)
        elif points is not None:
            decision = decide_slots(spec, points, now, state)
        else:
            decision = decide(spec, self.source(self.app, entry.scope, doc["alarm"], spec, now), now, state)
        try:
            if decision is not None and decision.changed:  # words only for a change
                reason, data = explain(spec, decision, now)
                records.note_compact(data)  # HistoryData embeds it as it is
                alarm_transitions.set_state(self.app, entry.scope, doc, decision.state.value, reason, data, now,
                                            composites=composites)
            elif entry.autoscaling.get(state):
                alarm_transitions.reinvoke_due(self.app, entry.scope, doc, spec.period, now)
        except BaseException:
            self.cache.drop(entry.scope, entry.name)  # the document may differ from the store now
            raise
        return decision

    def _slide(self, entry: Entry, now: float) -> tuple[Datapoint | None, ...]:
        """The datapoint of each period of the range, from the sample window (alarm_eval.window)."""
        spec = entry.spec
        assert spec is not None and entry.reader is not None and entry.metric is not None
        step = entry.step
        how, compute = entry.reader
        entry.slide = slide = self.window.slide(
            self.app.store, entry.scope, entry.metric, float(math.floor(now / step) * step - entry.span),
            entry.count, spec.period, how, compute, entry.slide)
        assert slide.points is not None  # (slide() always gives its points)
        return slide.points

    def tick(self, now: float) -> int:
        """Evaluate every alarm whose step came (simulations call this; the runner goes key by key).

        The usual evaluation is inlined: the ranges of a scope's single-metric alarms are moved on
        by a period together (:meth:`sample_window.SampleWindow.advance`), each alarm's carried
        :class:`~alarm_track.Judge` says whether the state holds, and only Auto Scaling actions due
        again are looked at; a change goes through :meth:`_evaluate`.
        """
        count = 0
        evaluated = self.evaluated
        numbers: dict[int, int] = {}  # step → its number at ``now``
        direct = self.source is datapoints
        for scope, entries in self.cache.scopes():
            composites = [e.name for e in entries if e.composite]
            due: list[Entry] = []
            starts: list[float] = []
            for entry in entries:
                spec = entry.spec
                if spec is None:
                    continue
                step = entry.step
                number = numbers.get(step)
                if number is None:
                    number = numbers[step] = math.floor(now / step)
                key = entry.key
                last = evaluated.get(key)
                if last == number or (last is not None and now - number * step < EVAL_DELAY):
                    continue
                evaluated[key] = number
                count += 1
                if entry.reader is None or entry.metric is None or not direct:
                    self._evaluate(entry, now, composites)
                else:
                    due.append(entry)
                    starts.append(float(number * step - entry.span))
            if due:
                self._judge_due(scope, due, starts, now, composites)
        self._trim(now)
        return count

    def _judge_due(self, scope: Scope, due: list[Entry], starts: list[float], now: float,
                   composites: list[str]) -> None:
        """The tick's single-metric alarms of one scope: ranges moved on, states judged, changes applied."""
        win, store, stayed = self.window, self.app.store, STAYED
        slides = [e.slide for e in due]
        if None not in slides:  # the usual minute: every alarm was evaluated before
            newest = win.advance(slides, starts)  # type: ignore[arg-type]
        else:
            held = [i for i, s in enumerate(slides) if s is not None]
            newest = [stayed] * len(due)
            for i, point in zip(held, win.advance([slides[i] for i in held], [starts[i] for i in held]),  # type: ignore[misc]
                                strict=True):
                newest[i] = point
        for entry, start, point in zip(due, starts, newest, strict=True):
            state = entry.doc["alarm"]["StateValue"]
            judge = entry.judge
            new = None if point is stayed else judge.moved(point, start)  # type: ignore[union-attr]
            if new is None:  # the whole range: not moved, or not decided by the counts
                if point is stayed:
                    how, compute = entry.reader  # type: ignore[misc]
                    entry.slide = win.slide(store, scope, entry.metric, start, entry.count,  # type: ignore[arg-type]
                                            entry.spec.period, how, compute, entry.slide)  # type: ignore[union-attr]
                points = win.points_of(store, scope, entry.metric, entry.slide)  # type: ignore[arg-type]
                new = judge.full(points, state, start)  # type: ignore[union-attr]
            if new != state:
                points = win.points_of(store, scope, entry.metric, entry.slide)  # type: ignore[arg-type]
                self._evaluate(entry, now, composites, points=points)
            elif entry.autoscaling.get(state):
                try:
                    alarm_transitions.reinvoke_due(self.app, scope, entry.doc, entry.spec.period, now)  # type: ignore[union-attr]
                except BaseException:
                    self.cache.drop(scope, entry.name)
                    raise

    def run(self, key: str, now: float) -> tuple[bool, float | None]:
        """Evaluate ``key`` if its step came: (evaluated?, seconds until it should run again or None).

        A step is evaluated :data:`EVAL_DELAY` seconds after its boundary at the earliest,
        whoever asks (the runner's resync may come right on the boundary).
        """
        scope, name = parse_key(key)
        entry = self.cache.get(scope, name)
        if entry is None or entry.spec is None:
            self.forget(key)
            return False, None
        return self._run(key, entry, now)

    def _run(self, key: str, entry: Entry, now: float,
             composites: list[str] | None = None) -> tuple[bool, float | None]:
        spec = entry.spec
        assert spec is not None
        step = entry.step
        number = math.floor(now / step)
        last = self.evaluated.get(key)
        if last == number:
            return False, None
        if now - number * step < EVAL_DELAY and last is not None:
            return False, number * step + EVAL_DELAY - now
        self.evaluated[key] = number
        self._evaluate(entry, now, composites)
        self._trim(now)
        return True, (number + 1) * step + EVAL_DELAY - now

    def _trim(self, now: float) -> None:
        if now - self.last_trim >= TRIM_SECONDS:
            self.last_trim = now
            records.trim_history(self.app.store, now)
            self.window.trim()


_ENGINES: weakref.WeakKeyDictionary[Any, AlarmEngine] = weakref.WeakKeyDictionary()


def engine(app: App) -> AlarmEngine:
    eng = _ENGINES.get(app)
    if eng is None:
        eng = _ENGINES[app] = AlarmEngine(app)
    return eng


def poke(app: App, scope: Scope, name: str) -> None:
    """Have an alarm evaluated as soon as the runner gets to it (a new or updated alarm)."""
    key = alarm_key(scope, name)
    engine(app).forget(key)
    if CONTROLLER in app.runner.controllers:
        app.runner.enqueue(CONTROLLER, key)


def start(app: App) -> None:
    """Register the evaluator on the app's runner (ServiceApi start-up hook)."""
    eng = engine(app)

    async def reconcile(key: str) -> Requeue | None:
        _, wait = eng.run(key, app.clock.now())
        return None if wait is None else Requeue(after=max(wait, 0.0))

    app.runner.register(CONTROLLER, reconcile, list_keys=eng.keys, period=RESYNC_SECONDS)


def reset(app: App) -> None:
    engine(app).evaluated.clear()
    records.forget(app.store)
    sample_window.forget(app.store)
