"""StateReason and StateReasonData (alarm_eval.explain) are written piece by piece for speed; this
holds them to the plain construction they replaced — the reason's sentence built from lists, the
data a dict given to ``json.dumps`` — over arbitrary specs, datapoints and states, and to
``json.dumps`` for the numbers and strings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.services.cloudwatch import alarm_eval
from gureum.services.cloudwatch.alarm_eval import (
    THRESHOLD_OPERATORS,
    AlarmSpec,
    Datapoint,
    State,
    decide_slots,
    explain,
    java_double,
)
from gureum.services.cloudwatch.alarm_records import _number as records_number

# -- the plain construction (as alarm_eval wrote it before) --------------------------------------


def plain_java_double(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    x = float(x)
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) + int(exponent) - 1
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


def iso(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def listing(slots: Iterable[alarm_eval._Slot]) -> str:
    items = [f"{plain_java_double(s.point.value)} ({datetime.fromtimestamp(s.ts, UTC).strftime('%d/%m/%y %H:%M:%S')})"
             for s in reversed(list(slots)) if s.point]
    return "[" + ", ".join(items) + "]"


def plain_reason(spec: AlarmSpec, evaluated: Sequence[alarm_eval._Slot], state: State) -> str:
    n, m = spec.evaluation_periods, spec.datapoints_to_alarm
    words = THRESHOLD_OPERATORS[spec.comparison][1]
    threshold = plain_java_double(spec.threshold)
    real = [s for s in evaluated if s.point is not None]
    filled = [s for s in evaluated if s.point is None]
    if state is State.INSUFFICIENT_DATA:
        unknown = len(filled)
        return f"Insufficient Data: {plural(unknown, 'datapoint')} {'was' if unknown == 1 else 'were'} unknown."
    treated = "Breaching" if spec.treat_missing == "breaching" else "NonBreaching"
    if not real:
        return (
            f"Threshold Crossed: no datapoints were received for {plural(n, 'period')} and "
            f"{len(filled)} missing {'datapoint was' if len(filled) == 1 else 'datapoints were'} treated as [{treated}]."
        )
    alarm = state is State.ALARM
    shown = [s for s in real if (s.mark == "B") == alarm]
    count = sum(1 for s in evaluated if s.mark == "B") if alarm else sum(1 for s in evaluated if s.mark != "B")
    verb = "was" if count == 1 else "were"
    relation = words if alarm else f"not {words}"
    if n == 1:
        text = f"Threshold Crossed: 1 datapoint {listing(shown)} was {relation} the threshold ({threshold})."
    else:
        needed = m if alarm else n - m + 1
        transition = "OK -> ALARM" if alarm else "ALARM -> OK"
        text = (
            f"Threshold Crossed: {count} out of the last {n} datapoints {listing(shown)} {verb} {relation} "
            f"the threshold ({threshold}) (minimum {plural(needed, 'datapoint')} for {transition} transition)."
        )
    fills = [s for s in filled if s.mark in ("B", "O")]
    if fills:
        text += (
            f" {len(fills)} missing {'datapoint was' if len(fills) == 1 else 'datapoints were'} "
            f"treated as [{treated}]."
        )
    return text


def plain_reason_data(spec: AlarmSpec, evaluated: Sequence[alarm_eval._Slot], now: float) -> str:
    data: dict[str, object] = {"version": "1.0", "queryDate": iso(now)}
    if evaluated:
        data["startDate"] = iso(evaluated[0].ts)
    if spec.statistic:
        data["statistic"] = spec.statistic
    if spec.unit:
        data["unit"] = spec.unit
    data["period"] = spec.period
    data["recentDatapoints"] = [s.point.value for s in evaluated if s.point is not None]
    data["threshold"] = float(spec.threshold)
    points: list[dict[str, object]] = []
    for s in reversed(evaluated):
        item: dict[str, object] = {"timestamp": iso(s.ts)}
        if s.point is not None:
            if s.point.sample_count is not None:
                item["sampleCount"] = float(s.point.sample_count)
            item["value"] = s.point.value
        points.append(item)
    data["evaluatedDatapoints"] = points
    return json.dumps(data, separators=(",", ":"))


# -- the properties ---------------------------------------------------------------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e9, max_value=1e9),
    st.sampled_from([0.0, -0.0, 1e-3, -1e-3, 1e7, -1e7, 9999999.999, 0.000999, 85.0, 46.93]),
    st.integers(-10**6, 10**6),
)


@given(numbers)
def test_numbers(x: float) -> None:
    assert java_double(x) == plain_java_double(x)
    assert records_number(x) == json.dumps(x) == alarm_eval._json_number(x)


@st.composite
def cases(draw: st.DrawFn) -> tuple[AlarmSpec, tuple[Datapoint | None, ...], float, State]:
    n = draw(st.integers(1, 6))
    period = draw(st.sampled_from([10, 60, 300]))
    spec = AlarmSpec(
        period=period, evaluation_periods=n, datapoints_to_alarm=draw(st.integers(1, n)),
        threshold=draw(st.one_of(st.floats(-1e8, 1e8), st.sampled_from([50.0, 0.5, 1e-5, 2e9]))),
        comparison=draw(st.sampled_from(sorted(THRESHOLD_OPERATORS))),
        treat_missing=draw(st.sampled_from(["missing", "ignore", "breaching", "notBreaching"])),
        statistic=draw(st.sampled_from([None, "Average", "p90", "SampleCount", 'we"ird\u00e9'])),
        unit=draw(st.sampled_from([None, "Percent", "Milliseconds", "\u00b5s"])),
    )
    now = 1_767_225_600.0 + draw(st.integers(0, 10**6)) * 10 + draw(st.sampled_from([0.0, 5.0, 5.123]))
    value = st.one_of(st.floats(allow_nan=False, allow_infinity=False), numbers)
    point = st.builds(Datapoint, st.just(0.0), value, st.one_of(st.none(), st.floats(0, 1e6), st.integers(0, 99)))
    points = tuple(draw(st.lists(st.one_of(st.none(), point), min_size=spec.range_size, max_size=spec.range_size)))
    return spec, points, now, draw(st.sampled_from(list(State)))


@settings(max_examples=400)
@given(cases())
def test_explain_is_the_plain_construction(case: tuple[AlarmSpec, tuple[Datapoint | None, ...], float, State]) -> None:
    spec, points, now, previous = case
    decision = decide_slots(spec, points, now, previous)
    for state in State:  # every state's words, whatever this decision's state
        evaluated = decision.evaluated(spec)
        assert alarm_eval._reason(spec, evaluated, state) == plain_reason(spec, evaluated, state)
    reason, data = explain(spec, decision, now)
    evaluated = decision.evaluated(spec)
    assert reason == plain_reason(spec, evaluated, decision.state)
    assert data == plain_reason_data(spec, evaluated, now)
