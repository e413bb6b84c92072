"""One alarm's breach flags, carried from evaluation to evaluation (the evaluator's every-minute question).

Pure.  :class:`Judge` answers :func:`alarm_eval.next_state` for one spec
without judging the whole range again each minute:

* it keeps the flags of the newest N (EvaluationPeriods) periods of the
  range — 1 breaching, 0 not breaching, -1 missing — and two counts over
  them: breaching and missing;
* :meth:`Judge.moved` is told that the range moved on by one period (the
  sample window's :meth:`~sample_window.SampleWindow.advance` said so) and is
  given only the new period's datapoint: its flag goes into a ring of the
  newest N flags in place of the one leaving; :meth:`Judge.full` computes
  every flag again from the whole range (a new range, late data, a trim).
  The judge remembers the start of the range its flags are of: a move from
  any other range (one it was not shown) is refused (None), as is a range
  the counts cannot decide, and the caller judges the whole range;
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
    __slots__ = ("spec", "n", "m", "op", "threshold", "general", "period", "ring", "at", "tail", "gaps", "start")

    def __init__(self, spec: AlarmSpec) -> None:
        self.spec = spec
        self.n, self.m = spec.evaluation_periods, spec.datapoints_to_alarm
        self.op, self.threshold = THRESHOLD_OPERATORS[spec.comparison][0], spec.threshold
        self.period = spec.period
        # Percentiles with EvaluateLowSampleCountPercentile ignore: the full rules every time.
        self.general = spec.low_sample == "ignore" and low_sample_limit(spec.statistic) is not None
        self.ring: list[int] = [-1] * self.n  # the newest n periods' flags, the oldest at ``at``
        self.at = 0
        self.tail = self.gaps = 0  # breaching, missing among the newest n periods
        self.start = float("nan")  # the start of the range the flags are of

    def full(self, points: Sequence[Datapoint | None], previous: str, start: float) -> State:
        """The next state for the range of ``points`` from ``start``, judged from scratch."""
        self.start = start
        op, threshold, n = self.op, self.threshold, self.n
        newest = [-1 if p is None else (1 if op(p.value, threshold) else 0) for p in points[-n:]]
        self.ring = newest = [-1] * (n - len(newest)) + newest  # (a range shorter than n: missing before it)
        self.at = 0
        self.tail, self.gaps = newest.count(1), newest.count(-1)
        if self.gaps or self.general or not points:
            return next_state(self.spec, points, previous)
        return _ALARM if self.tail >= self.m else _OK

    def moved(self, newest: Datapoint | None, start: float) -> State | None:
        """The next state when the range moved on by one period to ``start`` and ``newest`` is the new
        period's datapoint; None when the whole range is needed (:meth:`full`): gaps among the
        newest n, percentiles judged on their sample counts, or a move from a range not judged here."""
        if start != self.start + self.period:
            return None
        self.start = start
        flag = -1 if newest is None else (1 if self.op(newest.value, self.threshold) else 0)
        ring, at = self.ring, self.at
        leaving = ring[at]
        if flag != leaving:
            ring[at] = flag
            self.tail += (flag == 1) - (leaving == 1)
            self.gaps += (flag == -1) - (leaving == -1)
        self.at = (at + 1) % self.n
        if self.gaps or self.general:
            return None
        return _ALARM if self.tail >= self.m else _OK
