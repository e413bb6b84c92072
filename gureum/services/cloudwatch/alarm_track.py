"""One alarm's breach flags, carried from evaluation to evaluation (the evaluator's every-minute question).

Pure.  :class:`Judge` answers :func:`alarm_eval.next_state` for one spec
without judging the whole range again each minute:

* it keeps one flag per period of the range, oldest first: 1 breaching,
  0 not breaching, -1 missing, and two counts over the newest N
  (EvaluationPeriods) periods: breaching and missing;
* :meth:`Judge.moved` is told that the range moved on by one period (the
  sample window's :meth:`~sample_window.SampleWindow.advance` said so) and
  computes only the newest period's flag; :meth:`Judge.full` computes every
  flag again (a new range, late data, a trim).  The judge remembers the start
  of the range its flags are of: a move from any other range (one it was not
  shown) is judged in full;
* with none of the newest N missing those N are the ones evaluated: ALARM
  with at least M (DatapointsToAlarm) breaching, else OK;
* anything else (gaps in the newest N, percentiles judged on their sample
  counts) is decided by the full rules of :func:`alarm_eval.next_state`.
"""

from __future__ import annotations

from collections.abc import Sequence

from gureum.services.cloudwatch.alarm_eval import (
    THRESHOLD_OPERATORS,
    AlarmSpec,
    Datapoint,
    State,
    low_sample_limit,
    next_state,
)

_ALARM, _OK = State.ALARM, State.OK


class Judge:
    __slots__ = ("spec", "n", "m", "op", "threshold", "general", "flags", "tail", "gaps", "start")

    def __init__(self, spec: AlarmSpec) -> None:
        self.spec = spec
        self.n, self.m = spec.evaluation_periods, spec.datapoints_to_alarm
        self.op, self.threshold = THRESHOLD_OPERATORS[spec.comparison][0], spec.threshold
        # Percentiles with EvaluateLowSampleCountPercentile ignore: the full rules every time.
        self.general = spec.low_sample == "ignore" and low_sample_limit(spec.statistic) is not None
        self.flags: tuple[int, ...] = ()
        self.tail = self.gaps = 0  # breaching, missing among the newest n periods
        self.start = float("nan")  # the start of the range the flags are of

    def full(self, points: Sequence[Datapoint | None], previous: str, start: float) -> State:
        """The next state for the range of ``points`` from ``start``, judged from scratch."""
        self.start = start
        op, threshold, n = self.op, self.threshold, self.n
        self.flags = flags = tuple(-1 if p is None else (1 if op(p.value, threshold) else 0) for p in points)
        newest = flags[-n:]
        self.tail, self.gaps = newest.count(1), newest.count(-1)
        return self._state(points, previous)

    def moved(self, points: Sequence[Datapoint | None], previous: str, start: float) -> State:
        """The next state for the last range moved on by one period to ``start`` (``points[-1]`` is the
        new one)."""
        flags = self.flags
        if start != self.start + self.spec.period or len(flags) != len(points) or len(flags) <= self.n:
            return self.full(points, previous, start)
        self.start = start
        newest = points[-1]
        flag = -1 if newest is None else (1 if self.op(newest.value, self.threshold) else 0)
        leaving = flags[-self.n]
        if flag != leaving:
            self.tail += (flag == 1) - (leaving == 1)
            self.gaps += (flag == -1) - (leaving == -1)
        self.flags = flags[1:] + (flag,)
        if self.gaps or self.general:
            return next_state(self.spec, points, previous)
        return _ALARM if self.tail >= self.m else _OK

    def _state(self, points: Sequence[Datapoint | None], previous: str) -> State:
        if self.gaps or self.general or not points:
            return next_state(self.spec, points, previous)
        return _ALARM if self.tail >= self.m else _OK
