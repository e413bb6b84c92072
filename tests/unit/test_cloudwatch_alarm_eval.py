"""The pure alarm evaluator against the CloudWatch user guide's own tables.

Tables: "How alarm state is evaluated when data is missing"
(AlarmThatSendsEmail.md in awsdocs/amazon-cloudwatch-user-guide): 5
datapoints retrieved, newest on the right; ``0`` not breaching, ``X``
breaching, ``-`` missing.  "keep" is "Retain current state".
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.cloudwatch.alarm_eval import (
    AlarmSpec,
    Datapoint,
    State,
    evaluate,
    java_double,
    low_sample_limit,
    window,
)

NOW = 1_795_000_000.0 + 30  # half a minute past a minute boundary
TREATS = ("missing", "ignore", "breaching", "notBreaching")


def spec(n: int = 3, m: int = 3, treat: str = "missing", **kw: object) -> AlarmSpec:
    base: dict[str, object] = dict(
        period=300, evaluation_periods=n, datapoints_to_alarm=m, threshold=50.0,
        comparison="GreaterThanThreshold", treat_missing=treat, statistic="Average",
    )
    base.update(kw)
    return AlarmSpec(**base)  # type: ignore[arg-type]


def points(pattern: str, s: AlarmSpec, now: float = NOW) -> list[Datapoint]:
    """``"0 - X - X"`` → datapoints in the evaluation range, oldest first."""
    marks = pattern.split()
    start, end = window(s, now)
    assert len(marks) == s.range_size
    out = []
    for i, mark in enumerate(marks):
        if mark != "-":
            out.append(Datapoint(start + i * s.period, 90.0 if mark == "X" else 10.0, 1.0))
    return out


def run(pattern: str, s: AlarmSpec, previous: State) -> State:
    return evaluate(s, points(pattern, s), NOW, previous).state


KEEP = "keep"

# pattern → (MISSING, IGNORE, BREACHING, NOT BREACHING)
THREE_OF_THREE = [
    ("0 - X - X", ("OK", "OK", "OK", "OK")),
    ("0 - - - -", ("OK", "OK", "OK", "OK")),
    ("- - - - -", ("INSUFFICIENT_DATA", KEEP, "ALARM", "OK")),
    ("0 X X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("- - - - X", ("INSUFFICIENT_DATA", KEEP, "ALARM", "OK")),
    ("X - - - -", ("ALARM", KEEP, "ALARM", "OK")),
]
TWO_OF_THREE = [
    ("0 - X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 0 X 0 X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 - X - -", ("OK", "OK", "ALARM", "OK")),
    ("- - - - 0", ("OK", "OK", "ALARM", "OK")),
    ("- - - - X", ("INSUFFICIENT_DATA", KEEP, "ALARM", "OK")),
]


def _cases(table: list[tuple[str, tuple[str, ...]]], m: int) -> list[tuple[str, int, str, str]]:
    return [(p, m, treat, want) for p, wants in table for treat, want in zip(TREATS, wants, strict=True)]


@pytest.mark.parametrize(
    ("pattern", "m", "treat", "want"), _cases(THREE_OF_THREE, 3) + _cases(TWO_OF_THREE, 2)
)
@pytest.mark.parametrize("previous", list(State))
def test_aws_missing_data_tables(pattern: str, m: int, treat: str, want: str, previous: State) -> None:
    expected = previous if want == KEEP else State(want)
    assert run(pattern, spec(3, m, treat), previous) is expected


# More patterns, derived from the same rules (premature-alarm rule of the guide's
# "Avoiding premature transitions to alarm state").
MORE = [
    # pattern, N, M, treat, previous, expected
    ("- - X - -", 3, 3, "missing", State.OK, State.ALARM),       # oldest evaluated breaching
    ("- - - X -", 3, 3, "missing", State.OK, State.INSUFFICIENT_DATA),  # may still turn out fine
    ("- - - X -", 3, 2, "missing", State.OK, State.ALARM),       # breaching 2 periods ago, M=2
    ("- - - X 0", 3, 3, "missing", State.ALARM, State.OK),
    ("- - X - 0", 3, 3, "missing", State.ALARM, State.OK),
    ("X X X X X", 3, 3, "ignore", State.OK, State.ALARM),
    ("X X 0 X X", 3, 3, "breaching", State.ALARM, State.OK),
    ("X X 0 X X", 3, 2, "breaching", State.OK, State.ALARM),
]


@pytest.mark.parametrize(("pattern", "n", "m", "treat", "previous", "expected"), MORE)
def test_more_patterns(pattern: str, n: int, m: int, treat: str, previous: State, expected: State) -> None:
    assert run(pattern, spec(n, m, treat), previous) is expected


@pytest.mark.parametrize("treat", TREATS)
def test_one_of_one(treat: str) -> None:
    s = spec(1, 1, treat)
    assert run("- - X", s, State.OK) is State.ALARM
    assert run("X X 0", s, State.ALARM) is State.OK
    # the newest datapoint missing: the last real one is used (looks back)
    assert run("0 X -", s, State.OK) is State.ALARM
    want = {"missing": State.INSUFFICIENT_DATA, "ignore": State.ALARM, "breaching": State.ALARM,
            "notBreaching": State.OK}[treat]
    assert run("- - -", s, State.ALARM) is want


@pytest.mark.parametrize(
    ("op", "value", "breach"),
    [
        ("GreaterThanThreshold", 50.0, False), ("GreaterThanThreshold", 50.5, True),
        ("GreaterThanOrEqualToThreshold", 50.0, True), ("GreaterThanOrEqualToThreshold", 49.9, False),
        ("LessThanThreshold", 50.0, False), ("LessThanThreshold", 49.9, True),
        ("LessThanOrEqualToThreshold", 50.0, True), ("LessThanOrEqualToThreshold", 50.1, False),
    ],
)
def test_comparison_operators(op: str, value: float, breach: bool) -> None:
    s = spec(1, 1, comparison=op, period=60)
    start, _ = window(s, NOW)
    out = evaluate(s, [Datapoint(start + 2 * 60, value, 1.0)], NOW, State.INSUFFICIENT_DATA)
    assert out.state is (State.ALARM if breach else State.OK)
    assert out.changed and out.value == value


def test_window_slides_by_minute_for_long_periods() -> None:
    s = spec(3, 3, period=300)
    start, end = window(s, 1_000_000_230.0)  # 10:03:50-like: end at the minute
    assert end == 1_000_000_200.0 and start == end - 5 * 300
    hr = spec(3, 3, period=10)
    assert window(hr, 1_000_000_235.0) == (1_000_000_230.0 - 50, 1_000_000_230.0)


def test_period_in_progress_is_not_evaluated() -> None:
    s = spec(1, 1, period=60)
    _, end = window(s, NOW)
    # A datapoint for the current (incomplete) minute is outside the range.
    assert run_points(s, [Datapoint(end, 99.0)], State.OK) is State.INSUFFICIENT_DATA


def run_points(s: AlarmSpec, pts: Sequence[Datapoint], previous: State) -> State:
    return evaluate(s, pts, NOW, previous).state


def test_reason_alarm_three_of_three() -> None:
    s = spec(3, 3, period=60, threshold=80.0)
    start, _ = window(s, NOW)
    pts = [Datapoint(start + (2 + i) * 60, v, 1.0) for i, v in enumerate([85.0, 86.0, 87.5])]
    out = evaluate(s, pts, NOW, State.OK)
    t = [start + (2 + i) * 60 for i in range(3)]
    from gureum.services.cloudwatch.alarm_eval import reason_time

    assert out.reason == (
        f"Threshold Crossed: 3 out of the last 3 datapoints [87.5 ({reason_time(t[2])}), 86.0 ({reason_time(t[1])}), "
        f"85.0 ({reason_time(t[0])})] were greater than the threshold (80.0) "
        "(minimum 3 datapoints for OK -> ALARM transition)."
    )
    data = json.loads(out.reason_data)
    assert list(data) == ["version", "queryDate", "startDate", "statistic", "period", "recentDatapoints",
                          "threshold", "evaluatedDatapoints"]
    assert data["version"] == "1.0" and data["statistic"] == "Average" and data["period"] == 60
    assert data["recentDatapoints"] == [85.0, 86.0, 87.5] and data["threshold"] == 80.0
    assert data["evaluatedDatapoints"][0] == {"timestamp": _iso(t[2]), "sampleCount": 1.0, "value": 87.5}
    assert data["startDate"] == _iso(t[0])
    assert data["queryDate"].endswith("+0000") and len(data["queryDate"]) == 28


def _iso(ts: float) -> str:
    from gureum.services.cloudwatch.alarm_eval import iso_millis

    return iso_millis(ts)


def test_reason_one_datapoint_and_ok() -> None:
    s = spec(1, 1, period=60, threshold=40.0)
    start, _ = window(s, NOW)
    t = start + 2 * 60
    from gureum.services.cloudwatch.alarm_eval import reason_time

    high = evaluate(s, [Datapoint(t, 46.93, 5.0)], NOW, State.INSUFFICIENT_DATA)
    assert high.reason == f"Threshold Crossed: 1 datapoint [46.93 ({reason_time(t)})] was greater than the threshold (40.0)."
    low = evaluate(s, [Datapoint(t, 5.0, 5.0)], NOW, State.ALARM)
    assert low.reason == f"Threshold Crossed: 1 datapoint [5.0 ({reason_time(t)})] was not greater than the threshold (40.0)."


def test_reason_m_of_n_ok_and_missing() -> None:
    s = spec(3, 2, period=60, threshold=80.0)
    start, _ = window(s, NOW)
    pts = [Datapoint(start + (2 + i) * 60, v) for i, v in enumerate([10.0, 90.0, 20.0])]
    out = evaluate(s, pts, NOW, State.ALARM)
    assert out.state is State.OK
    assert out.reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [20.0 (")
    assert out.reason.endswith("were not greater than the threshold (80.0) (minimum 2 datapoints for ALARM -> OK transition).")
    breaching = evaluate(spec(3, 3, "breaching", period=60), [], NOW, State.OK)
    assert breaching.state is State.ALARM
    assert breaching.reason == (
        "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [Breaching]."
    )
    nb = evaluate(spec(3, 3, "notBreaching", period=60), [], NOW, State.ALARM)
    assert nb.reason.endswith("treated as [NonBreaching].") and nb.state is State.OK
    unknown = evaluate(spec(3, 3, "missing", period=60), [], NOW, State.OK)
    assert unknown.reason == "Insufficient Data: 3 datapoints were unknown."
    assert json.loads(unknown.reason_data)["recentDatapoints"] == []


def test_low_sample_percentiles() -> None:
    assert low_sample_limit("p99") == pytest.approx(1000.0)
    assert low_sample_limit("p50") == pytest.approx(20.0)
    assert low_sample_limit("p10") == pytest.approx(100.0)
    assert low_sample_limit("Average") is None
    s = spec(1, 1, period=60, statistic="p90", low_sample="ignore")
    start, _ = window(s, NOW)
    few = [Datapoint(start + 120, 99.0, 50.0)]  # p90 needs 100 samples
    assert run_points(s, few, State.OK) is State.OK
    enough = [Datapoint(start + 120, 99.0, 150.0)]
    assert run_points(s, enough, State.OK) is State.ALARM
    evaluate_anyway = spec(1, 1, period=60, statistic="p90", low_sample="evaluate")
    assert run_points(evaluate_anyway, few, State.OK) is State.ALARM


@pytest.mark.parametrize(
    ("x", "text"),
    [(85, "85.0"), (46.93, "46.93"), (1e7, "1.0E7"), (12345678.9, "1.23456789E7"), (1e-4, "1.0E-4"),
     (-2.5e-7, "-2.5E-7"), (0.001, "0.001"), (0, "0.0")],
)
def test_java_double(x: float, text: str) -> None:
    assert java_double(x) == text


marks = st.lists(st.sampled_from("0X-"), min_size=5, max_size=5)


@given(marks, st.sampled_from(TREATS), st.integers(1, 3), st.sampled_from(list(State)))
def test_properties(pattern: list[str], treat: str, m: int, previous: State) -> None:
    s = spec(3, m, treat)
    text = " ".join(pattern)
    got = run(text, s, previous)
    real = [c for c in pattern if c != "-"]
    if len(real) >= 3:  # enough real data: TreatMissingData does not matter
        newest = real[-3:]
        assert got is (State.ALARM if newest.count("X") >= m else State.OK)
    if treat == "breaching" and "0" not in pattern:
        assert got is State.ALARM
    if treat == "notBreaching" and "X" not in pattern:
        assert got is State.OK
    if not real and treat in ("missing", "ignore"):
        assert got is (State.INSUFFICIENT_DATA if treat == "missing" else previous)
    # breaching missing data never makes a state "less alarming" than notBreaching
    hi = run(text, spec(3, m, "breaching"), previous)
    lo = run(text, spec(3, m, "notBreaching"), previous)
    assert not (lo is State.ALARM and hi is State.OK)
