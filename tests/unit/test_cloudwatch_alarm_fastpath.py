"""The evaluator's shortcuts decide exactly what the full rules decide.  Pure.

:class:`alarm_track.Judge` (every minute) and :func:`alarm_eval.decide_slots`
count the newest N datapoints directly when there are enough; the reference here
is the general path — every period filled as TreatMissingData says, then the
rules of :func:`alarm_eval._decide` — for random ranges with gaps, M of N,
every operator and TreatMissingData, and percentiles with few samples.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.services.cloudwatch import alarm_eval as ae
from gureum.services.cloudwatch.alarm_eval import AlarmSpec, Datapoint, State
from gureum.services.cloudwatch.alarm_track import Judge

NOW = 1_795_000_000.0 + 35


@st.composite
def cases(draw: st.DrawFn) -> tuple[AlarmSpec, tuple[Datapoint | None, ...], State]:
    n = draw(st.integers(1, 6))
    spec = AlarmSpec(
        period=draw(st.sampled_from([10, 60, 300])), evaluation_periods=n,
        datapoints_to_alarm=draw(st.integers(1, n)), threshold=50.0,
        comparison=draw(st.sampled_from(sorted(ae.THRESHOLD_OPERATORS))),
        treat_missing=draw(st.sampled_from(ae.TREAT_MISSING)),
        statistic=draw(st.sampled_from(["Average", "p90", "p10"])),
        low_sample=draw(st.sampled_from(["evaluate", "ignore"])),
    )
    start, _ = ae.window(spec, NOW)
    points = tuple(
        None if draw(st.booleans()) and draw(st.booleans()) else
        Datapoint(start + i * spec.period, draw(st.sampled_from([10.0, 50.0, 90.0])),
                  draw(st.sampled_from([1.0, 5.0, 200.0])))
        for i in range(spec.range_size))
    return spec, points, draw(st.sampled_from(list(State)))


def reference(spec: AlarmSpec, points: tuple[Datapoint | None, ...], previous: State) -> State:
    evaluated = ae._evaluated(spec, ae.window(spec, NOW)[0], points)
    limit = ae.low_sample_limit(spec.statistic) if spec.low_sample == "ignore" else None
    if limit is not None and any(s.point is not None and s.point.sample_count is not None
                                 and s.point.sample_count < limit for s in evaluated):
        return previous
    return ae._decide(spec, evaluated, previous)


@settings(max_examples=600, deadline=None)
@given(cases())
def test_shortcuts_match_the_full_rules(case: tuple[AlarmSpec, tuple[Datapoint | None, ...], State]) -> None:
    spec, points, previous = case
    want = reference(spec, points, previous)
    assert Judge(spec).full(points, previous.value, 0.0) is want
    assert ae.next_state(spec, points, previous) is want
    decision = ae.decide_slots(spec, points, NOW, previous)
    assert decision.state is want and decision.changed == (want is not previous)
    real = [p for p in points if p is not None]
    assert ae.decide(spec, real, NOW, previous).state is want  # from the datapoints as a list


@st.composite
def slides(draw: st.DrawFn) -> tuple[AlarmSpec, list[tuple[tuple[Datapoint | None, ...], State, bool]]]:
    """A spec and the ranges one alarm sees minute after minute: mostly moved on by a period (a new
    newest datapoint), sometimes with an older period changed (late data) or a fresh range."""
    spec, points, _ = draw(cases())
    value = st.sampled_from([10.0, 49.0, 50.0, 51.0, 90.0])

    def point(ts: float) -> Datapoint | None:
        if draw(st.integers(0, 3)) == 0:
            return None
        return Datapoint(ts, draw(value), draw(st.sampled_from([1.0, 5.0, 200.0])))

    out = [(points, draw(st.sampled_from(list(State))), False)]
    for _ in range(draw(st.integers(1, 25))):
        how = draw(st.sampled_from(["move"] * 6 + ["late", "fresh", "same"]))
        start = points[0].ts if points[0] is not None else None  # only the order of the periods matters
        ts = (start or 0.0) + len(points) * spec.period
        if how == "move":
            points = points[1:] + (point(ts),)
        elif how == "late":
            i = draw(st.integers(1, len(points) - 1))  # an older period's datapoint changed, then moved on
            points = points[1:i] + (point(points[i].ts if points[i] else 0.0),) + points[i + 1:] + (point(ts),)
        elif how == "fresh":
            points = tuple(point(i * spec.period) for i in range(spec.range_size))
        out.append((points, draw(st.sampled_from(list(State))), how == "move"))
    return spec, out


@settings(max_examples=400, deadline=None)
@given(slides())
def test_the_carried_judge_matches_the_full_rules_minute_after_minute(
    case: tuple[AlarmSpec, list[tuple[tuple[Datapoint | None, ...], State, bool]]],
) -> None:
    spec, ranges = case
    judge = Judge(spec)  # one per alarm, carried from range to range
    start = 0.0
    for i, (points, previous, moved) in enumerate(ranges):
        assert len(points) == spec.range_size
        start = start + spec.period if moved else 1e6 * i  # (a fresh or changed range: somewhere else)
        # The sample window says when a range is the last one moved on by a period, and hands over
        # only its newest datapoint; the judge may ask for the whole range (None).
        got = judge.moved(points[-1], start) if moved else None
        if got is None:
            got = judge.full(points, previous.value, start)
        assert got is reference(spec, points, previous)


def test_a_move_from_a_range_the_judge_was_not_shown_is_judged_in_full() -> None:
    spec = AlarmSpec(period=60, evaluation_periods=2, datapoints_to_alarm=2, threshold=50.0,
                     comparison="GreaterThanThreshold", statistic="Average")
    low, high = Datapoint(0, 10.0), Datapoint(0, 90.0)
    judge = Judge(spec)
    assert judge.full((low, low, low, low), "OK", 0.0) is State.OK
    # The slide moved twice (once without the judge: an evaluation that raised), now two high periods:
    # told "moved" to 120, the judge does not count on flags of the range at 0: it asks for the range.
    assert judge.moved(high, 120.0) is None
    assert judge.full((low, low, high, high), "OK", 120.0) is State.ALARM
    assert judge.moved(low, 180.0) is State.OK  # and moves on from there


@settings(max_examples=300, deadline=None)
@given(cases(), st.lists(st.floats(allow_nan=False), min_size=20, max_size=20))
def test_reason_data_is_compact_json_as_history_data_embeds_it(
    case: tuple[AlarmSpec, tuple[Datapoint | None, ...], State], values: list[float],
) -> None:
    """The evaluator hands StateReasonData to alarm_records.note_compact: HistoryData embeds it
    undecoded, which is right only if re-encoding it would give the same text."""
    spec, points, previous = case
    points = tuple(None if p is None else Datapoint(p.ts, v, p.sample_count) for p, v in zip(points, values[:len(points)], strict=True))
    _, data = ae.explain(spec, ae.decide_slots(spec, points, NOW, previous), NOW)
    assert json.dumps(json.loads(data), separators=(",", ":")) == data
