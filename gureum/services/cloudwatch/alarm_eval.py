"""Metric alarm evaluation: datapoints in, the alarm's new state out.  Pure.

:func:`evaluate` is one evaluation of one alarm at ``now``, as CloudWatch
describes it ("Evaluating an alarm", "How alarm state is evaluated when data
is missing", AlarmThatSendsEmail in the CloudWatch user guide):

* The **evaluation range** is ``EvaluationPeriods + 2`` periods (the guide's
  example fetches 5 datapoints for 3 evaluation periods) ending at the last
  boundary before ``now``: the minute for periods of 60 s and more (so a
  5-minute alarm slides by a minute: at 10:06 it looks at 10:01–10:06), the
  period itself for 10/20/30 s alarms.  The period in progress is never
  evaluated: its datapoint is not complete yet.
* With at least N (EvaluationPeriods) real datapoints in the range, the newest
  N real ones are evaluated and TreatMissingData does not matter.
* With none, ``missing`` → INSUFFICIENT_DATA, ``ignore`` → state kept,
  ``breaching`` → ALARM, ``notBreaching`` → OK.
* Otherwise every real datapoint is evaluated plus as few filled ones as make
  N: the newest missing periods, filled per TreatMissingData.  ALARM when at
  least M (DatapointsToAlarm) are breaching.  For ``missing``/``ignore``
  the fills are unknown: the alarm still goes to ALARM when there is no
  real non-breaching datapoint and the oldest breaching one is at least M
  periods old (the guide's "premature transition" rule: ``X - - - -`` is
  ALARM, ``- - - - X`` is not yet); else OK when some real datapoint is not
  breaching, else INSUFFICIENT_DATA (``missing``) or the state is kept
  (``ignore``).
* ``EvaluateLowSampleCountPercentile: ignore`` keeps the state while an
  evaluated percentile datapoint has fewer samples than 10/(1-p) (p ≥ 0.5)
  or 10/p (p < 0.5).

The result carries StateReason and StateReasonData worded and shaped as
CloudWatch writes them (``Threshold Crossed: 3 out of the last 3 datapoints
[85.0 (26/11/26 07:33:00), …] were greater than the threshold (80.0)
(minimum 3 datapoints for OK -> ALARM transition).``).
"""

from __future__ import annotations

import functools
import json
import math
import operator
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple


class State(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


THRESHOLD_OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
BAND_OPERATORS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
TREAT_MISSING = ("missing", "ignore", "breaching", "notBreaching")
EXTRA_RANGE = 2
_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(…, separators=…), made once


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str = "missing"
    statistic: str | None = None  # "Average", "p99"; None for a metric math alarm
    unit: str | None = None
    low_sample: str = "evaluate"  # EvaluateLowSampleCountPercentile

    @property
    def range_size(self) -> int:
        return self.evaluation_periods + EXTRA_RANGE

    @property
    def step(self) -> int:
        """How often the alarm is evaluated (and how its window slides)."""
        return 60 if self.period >= 60 else self.period


@dataclass(frozen=True, slots=True)
class Datapoint:
    ts: float
    value: float
    sample_count: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    state: State
    reason: str
    reason_data: str
    changed: bool
    value: float | None = None  # newest evaluated real value (what scaling policies compare)


class _Slot(NamedTuple):  # a tuple: made for every evaluated period of every change, and quick to make
    ts: float
    point: Datapoint | None
    mark: str  # "B" breaching, "O" not breaching, "U" unknown (missing/ignore fill)


# -- formatting ------------------------------------------------------------------------


_REPRS: dict[float, str] = {}  # float.__repr__ of the numbers reasons spelled lately
_REPRS_MAX = 8192
_FINITE = sys.float_info.max


def _repr(x: float) -> str:
    """``float.__repr__(x)`` of a float other than 0.0 and -0.0 (one key for both), remembered: a
    datapoint is spelled in every reason while it is in an evaluation range."""
    text = _REPRS.get(x)
    if text is None:
        if len(_REPRS) >= _REPRS_MAX:
            _REPRS.clear()
        text = _REPRS[x] = float.__repr__(x)
    return text


def _json_number(x: float) -> str:
    """A number as the JSON encoder writes it."""
    if type(x) is float and -_FINITE <= x <= _FINITE and x != 0:  # finite (NaN fails), not a zero
        return _repr(x)
    return _compact(x)


def java_double(x: float) -> str:
    """A number as Java's Double.toString writes it (CloudWatch's reasons do)."""
    if type(x) is float and (1e-3 <= x < 1e7 or -1e7 < x <= -1e-3):  # the usual number, at once
        return _repr(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    x = float(x)
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)  # Python's shortest repr is decimal in this range, like Java's
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) + int(exponent) - 1
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


@functools.lru_cache(maxsize=4096)  # the same period starts appear in many reasons
def reason_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d/%m/%y %H:%M:%S")


@functools.lru_cache(maxsize=4096)
def iso_millis(ts: float) -> str:
    """``2026-11-26T07:31:00.000+0000``, the timestamp format of StateReasonData."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- the rules ------------------------------------------------------------------------


def window(spec: AlarmSpec, now: float) -> tuple[float, float]:
    """``[start, end)`` of the evaluation range at ``now``: whole periods, end on a step boundary."""
    end = math.floor(now / spec.step) * spec.step
    return end - spec.range_size * spec.period, float(end)


def breaches(spec: AlarmSpec, value: float) -> bool:
    op = THRESHOLD_OPERATORS[spec.comparison][0]
    return bool(op(value, spec.threshold))


def low_sample_limit(statistic: str | None) -> float | None:
    """Samples a percentile datapoint needs to count as significant, or None if not a percentile."""
    if not statistic or not statistic.startswith("p"):
        return None
    try:
        p = float(statistic[1:]) / 100.0
    except ValueError:
        return None
    if p <= 0 or p >= 1:
        return None
    return 10.0 / (1.0 - p) if p >= 0.5 else 10.0 / p


def slot_points(spec: AlarmSpec, points: Iterable[Datapoint], now: float) -> tuple[Datapoint | None, ...]:
    """The datapoint of each period of the evaluation range (None: missing), oldest first."""
    start, end = window(spec, now)
    by_ts = {p.ts: p for p in points if start <= p.ts < end}
    return tuple(by_ts.get(start + i * spec.period) for i in range(spec.range_size))


_new = tuple.__new__  # _Slot(...) without the namedtuple's Python-level __new__


def _evaluated(spec: AlarmSpec, start: float, points: Sequence[Datapoint | None]) -> list[_Slot]:
    """The N datapoints evaluated, oldest first, filled as TreatMissingData says."""
    n, period = spec.evaluation_periods, spec.period
    real = [(start + i * period, p) for i, p in enumerate(points) if p is not None]
    op, threshold = THRESHOLD_OPERATORS[spec.comparison][0], spec.threshold
    if len(real) >= n:
        return [_new(_Slot, (ts, p, "B" if op(p.value, threshold) else "O")) for ts, p in real[-n:]]
    fill = {"breaching": "B", "notBreaching": "O"}.get(spec.treat_missing, "U")
    missing = [start + i * period for i, p in enumerate(points) if p is None]
    missing = missing[len(missing) - (n - len(real)) :]  # the newest ones: fill as few as possible
    out = [_new(_Slot, (ts, p, "B" if op(p.value, threshold) else "O")) for ts, p in real]
    out += [_new(_Slot, (ts, None, fill)) for ts in missing]
    return sorted(out, key=lambda s: s.ts)


def _decide(spec: AlarmSpec, evaluated: Sequence[_Slot], previous: State) -> State:
    m = spec.datapoints_to_alarm
    if not any(s.point is not None for s in evaluated) and spec.treat_missing in ("missing", "ignore"):
        return State.INSUFFICIENT_DATA if spec.treat_missing == "missing" else previous
    breaching = sum(1 for s in evaluated if s.mark == "B")
    if breaching >= m:
        return State.ALARM
    if any(s.mark == "O" for s in evaluated):
        return State.OK
    # Only breaching and unknown datapoints: too few breaching yet.
    if spec.treat_missing == "missing":
        oldest = next(i for i, s in enumerate(evaluated) if s.mark == "B")
        if len(evaluated) - oldest >= m:
            return State.ALARM
        return State.INSUFFICIENT_DATA
    return previous


@dataclass(frozen=True, slots=True)
class Decision:
    """The state an evaluation decides, before it is put into words (:func:`explain`)."""

    state: State
    changed: bool
    value: float | None  # newest evaluated real value
    start: float  # the evaluation range's first period
    points: tuple[Datapoint | None, ...]  # one per period of the range (None: missing)

    def evaluated(self, spec: AlarmSpec) -> list[_Slot]:
        return _evaluated(spec, self.start, self.points)


_STATES = {s.value: s for s in State}


@functools.lru_cache(maxsize=256)
def _low_limit(statistic: str | None, low_sample: str) -> float | None:
    return low_sample_limit(statistic) if low_sample == "ignore" else None


def decide(spec: AlarmSpec, points: Iterable[Datapoint], now: float, previous: State | str) -> Decision:
    """One evaluation of an alarm at ``now`` given its datapoints (one per period start)."""
    return decide_slots(spec, slot_points(spec, points, now), now, previous)


def decide_slots(spec: AlarmSpec, points: Sequence[Datapoint | None], now: float,
                 previous: State | str) -> Decision:
    """:func:`decide` given the datapoint of each period of the range (:func:`slot_points`)."""
    prev = _STATES[previous]
    points = tuple(points)
    state, newest = _judge(spec, points, prev)
    return Decision(state, state is not prev, newest, window(spec, now)[0], points)


def next_state(spec: AlarmSpec, points: Sequence[Datapoint | None], previous: State | str) -> State:
    """Only the state :func:`decide_slots` decides (the evaluator's every-minute question)."""
    return _judge(spec, points, _STATES[previous])[0]


def _judge(spec: AlarmSpec, points: Sequence[Datapoint | None], prev: State) -> tuple[State, float | None]:
    """The state and the newest evaluated value.

    The common case — at least N real datapoints — is counted directly: the newest
    N are evaluated, ALARM with M breaching, else OK (one is not breaching).
    """
    real = [p for p in points if p is not None]
    n = spec.evaluation_periods
    limit = _low_limit(spec.statistic, spec.low_sample)
    if len(real) >= n:
        chosen = real[-n:]
        if limit is not None and any(p.sample_count is not None and p.sample_count < limit for p in chosen):
            return prev, chosen[-1].value
        op, threshold = THRESHOLD_OPERATORS[spec.comparison][0], spec.threshold
        breaching = 0
        for p in chosen:
            if op(p.value, threshold):
                breaching += 1
        return State.ALARM if breaching >= spec.datapoints_to_alarm else State.OK, chosen[-1].value
    evaluated = _evaluated(spec, 0.0, points)  # only the order of the periods matters here
    newest = next((s.point.value for s in reversed(evaluated) if s.point is not None), None)
    if limit is not None and any(
        s.point is not None and s.point.sample_count is not None and s.point.sample_count < limit for s in evaluated
    ):
        return prev, newest
    return _decide(spec, evaluated, prev), newest


def explain(spec: AlarmSpec, decision: Decision, now: float) -> tuple[str, str]:
    """StateReason and StateReasonData of a decision."""
    evaluated = decision.evaluated(spec)
    return _reason(spec, evaluated, decision.state), _reason_data(spec, evaluated, now)


def evaluate(spec: AlarmSpec, points: Iterable[Datapoint], now: float, previous: State | str) -> Outcome:
    """:func:`decide` and :func:`explain` in one."""
    d = decide(spec, points, now, previous)
    reason, data = explain(spec, d, now)
    return Outcome(d.state, reason, data, d.changed, d.value)


# -- StateReason / StateReasonData ---------------------------------------------------------


def _listing(slots: Sequence[_Slot]) -> str:
    """``[v (dd/mm/yy HH:MM:SS), …]`` of the slots' datapoints, newest first."""
    return "[" + ", ".join([java_double(s.point.value) + " (" + reason_time(s.ts) + ")"
                            for s in reversed(slots) if s.point is not None]) + "]"


def _reason(spec: AlarmSpec, evaluated: Sequence[_Slot], state: State) -> str:
    n, m = spec.evaluation_periods, spec.datapoints_to_alarm
    alarm = state is State.ALARM
    shown: list[_Slot] = []  # the real datapoints on the side of the state
    breaching = filled = fills = 0  # breaching slots, missing ones, missing ones treated as (non)breaching
    for s in evaluated:
        if s.mark == "B":
            breaching += 1
        if s.point is None:
            filled += 1
            if s.mark != "U":
                fills += 1
        elif (s.mark == "B") is alarm:
            shown.append(s)
    if state is State.INSUFFICIENT_DATA:
        return f"Insufficient Data: {_plural(filled, 'datapoint')} {'was' if filled == 1 else 'were'} unknown."
    treated = "Breaching" if spec.treat_missing == "breaching" else "NonBreaching"
    if filled == len(evaluated):
        return (
            f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and "
            f"{filled} missing {'datapoint was' if filled == 1 else 'datapoints were'} treated as [{treated}]."
        )
    words = THRESHOLD_OPERATORS[spec.comparison][1]
    threshold = java_double(spec.threshold)
    count = breaching if alarm else len(evaluated) - breaching
    relation = words if alarm else "not " + words
    if n == 1:
        text = f"Threshold Crossed: 1 datapoint {_listing(shown)} was {relation} the threshold ({threshold})."
    else:
        needed = m if alarm else n - m + 1
        transition = "OK -> ALARM" if alarm else "ALARM -> OK"
        text = (
            f"Threshold Crossed: {count} out of the last {n} datapoints {_listing(shown)} "
            f"{'was' if count == 1 else 'were'} {relation} "
            f"the threshold ({threshold}) (minimum {_plural(needed, 'datapoint')} for {transition} transition)."
        )
    if fills:
        text += f" {fills} missing {'datapoint was' if fills == 1 else 'datapoints were'} treated as [{treated}]."
    return text


@functools.lru_cache(maxsize=256)
def _data_middle(statistic: str | None, unit: str | None, period: int) -> str:
    """The members of StateReasonData between startDate and recentDatapoints."""
    text = ""
    if statistic:
        text += ',"statistic":' + _compact(statistic)
    if unit:
        text += ',"unit":' + _compact(unit)
    return text + ',"period":' + _compact(period) + ',"recentDatapoints":'


@functools.lru_cache(maxsize=4096)
def _stamp(ts: float) -> str:
    """``{"timestamp":"…"`` of an evaluated datapoint."""
    return '{"timestamp":"' + iso_millis(ts) + '"'


def _reason_data(spec: AlarmSpec, evaluated: Sequence[_Slot], now: float) -> str:
    """StateReasonData, written member by member as the compact JSON encoder writes
    ``{"version":"1.0","queryDate":…,"startDate":…,"statistic":…,"unit":…,"period":…,
    "recentDatapoints":[…],"threshold":…,"evaluatedDatapoints":[{"timestamp":…,"sampleCount":…,
    "value":…},…]}`` (startDate, statistic, unit, sampleCount and value only when there is one)."""
    text = '{"version":"1.0","queryDate":"' + iso_millis(now) + '"'
    if evaluated:
        text += ',"startDate":"' + iso_millis(evaluated[0].ts) + '"'
    items = []
    values = []  # newest first
    for s in reversed(evaluated):
        p = s.point
        if p is None:
            items.append(_stamp(s.ts) + "}")
            continue
        value = _json_number(p.value)
        values.append(value)
        if p.sample_count is None:
            items.append(_stamp(s.ts) + ',"value":' + value + "}")
        else:
            items.append(_stamp(s.ts) + ',"sampleCount":' + _json_number(float(p.sample_count)) + ',"value":'
                         + value + "}")
    values.reverse()
    return (text + _data_middle(spec.statistic, spec.unit, spec.period) + "[" + ",".join(values)
            + '],"threshold":' + _json_number(float(spec.threshold)) + ',"evaluatedDatapoints":['
            + ",".join(items) + "]}")
