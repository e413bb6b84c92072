"""Table tests and properties of the CloudWatch aggregation core."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.cloudwatch import stats
from gureum.services.cloudwatch.stats import (
    aggregate,
    align_start,
    from_statistic_set,
    from_value,
    from_values,
    parse_percentile,
    percentile,
)

T0 = 1_700_000_040.0  # a whole minute


def test_one_period_of_plain_values() -> None:
    samples = [from_value(T0 + i, v) for i, v in enumerate([1.0, 5.0, 3.0])]
    [b] = aggregate(samples, T0, T0 + 60, 60)
    assert b.start == T0
    assert b.stats == {"SampleCount": 3, "Average": 3.0, "Sum": 9.0, "Minimum": 1.0, "Maximum": 5.0}


def test_periods_are_aligned_from_start_and_empty_ones_left_out() -> None:
    samples = [from_value(T0 + 5, 1), from_value(T0 + 65, 2), from_value(T0 + 190, 4), from_value(T0 + 300, 9)]
    buckets = aggregate(samples, T0, T0 + 300, 60, ["Sum"])
    assert [(b.start - T0, b.stats["Sum"]) for b in buckets] == [(0, 1), (60, 2), (180, 4)]


def test_values_with_counts_and_statistic_sets() -> None:
    samples = [
        from_values(T0, [10.0, 20.0], [3, 1]),
        from_statistic_set(T0 + 1, sample_count=4, total=100.0, minimum=5.0, maximum=40.0),
    ]
    [b] = aggregate(samples, T0, T0 + 60, 60)
    assert b.stats["SampleCount"] == 8
    assert b.stats["Sum"] == 150.0
    assert b.stats["Minimum"] == 5.0 and b.stats["Maximum"] == 40.0
    assert b.stats["Average"] == 150.0 / 8


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0, 1.0), (10, 1.0), (50, 5.0), (90, 9.0), (99, 10.0), (100, 10.0)],
)
def test_percentile_nearest_rank(p: float, expected: float) -> None:
    assert percentile([(float(v), 1.0) for v in range(1, 11)], p) == expected


def test_percentiles_use_counts_and_skip_statistic_sets() -> None:
    [b] = aggregate([from_values(T0, [1.0, 100.0], [99, 1])], T0, T0 + 60, 60, [], ["p50", "p99", "p99.5"])
    assert b.stats == {"p50": 1.0, "p99": 1.0, "p99.5": 100.0}
    [b] = aggregate([from_statistic_set(T0, 2, 3, 1, 2)], T0, T0 + 60, 60, ["Sum"], ["p50"])
    assert b.stats == {"Sum": 3}


@pytest.mark.parametrize(
    ("name", "expected"),
    [("p99", 99.0), ("p99.9", 99.9), ("p0", 0.0), ("p100", 100.0), ("p101", None), ("p9.999", None), ("P50", None), ("avg", None)],
)
def test_parse_percentile(name: str, expected: float | None) -> None:
    assert parse_percentile(name) == expected


def test_units_mixed_become_none() -> None:
    [b] = aggregate([from_value(T0, 1, "Count"), from_value(T0, 2, "Percent")], T0, T0 + 60, 60)
    assert b.unit == "None"
    [b] = aggregate([from_value(T0, 1, "Count")], T0, T0 + 60, 60)
    assert b.unit == "Count"


@pytest.mark.parametrize(
    ("age_days", "period", "start", "expected"),
    [
        (1, 60, 1_000_000_034.0, 1_000_000_020.0),  # whole minute
        (1, 300, 1_000_000_034.0, 1_000_000_020.0),  # still the minute, not the period
        (1, 10, 1_000_000_034.0, 1_000_000_030.0),  # high resolution: period divisions
        (20, 60, 1_000_000_034.0, 999_999_900.0),  # 15–63 days: 5 minutes
        (100, 60, 1_000_000_034.0, 999_997_200.0),  # older: the hour
    ],
)
def test_align_start(age_days: int, period: int, start: float, expected: float) -> None:
    assert align_start(start, period, start + age_days * 86_400) == expected


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
sample_st = st.one_of(
    st.builds(lambda off, v: from_value(T0 + off, v), st.integers(0, 599), finite),
    st.builds(
        lambda off, pairs: from_values(T0 + off, [v for v, _ in pairs], [c for _, c in pairs]),
        st.integers(0, 599),
        st.lists(st.tuples(finite, st.integers(1, 5)), min_size=1, max_size=8),
    ),
    st.builds(
        lambda off, n, a, b: from_statistic_set(T0 + off, n, (a + b) / 2 * n, min(a, b), max(a, b)),
        st.integers(0, 599),
        st.integers(1, 20),
        finite,
        finite,
    ),
)


@given(st.lists(sample_st, min_size=1, max_size=30), st.sampled_from([60, 120, 300]))
def test_aggregate_properties(samples: list[stats.Sample], period: int) -> None:
    buckets = aggregate(samples, T0, T0 + 600, period)
    # Every sample lands in exactly one period: counts and sums are conserved.
    assert sum(b.stats["SampleCount"] for b in buckets) == pytest.approx(sum(s.count for s in samples))
    assert sum(b.stats["Sum"] for b in buckets) == pytest.approx(sum(s.total for s in samples), rel=1e-9, abs=1e-3)
    for b in buckets:
        inside = [s for s in samples if b.start <= s.ts < b.start + period]
        assert b.stats["SampleCount"] == sum(s.count for s in inside)
        assert b.stats["Minimum"] == min(s.minimum for s in inside)
        assert b.stats["Maximum"] == max(s.maximum for s in inside)
        slack = 1e-9 * max(1.0, abs(b.stats["Minimum"]), abs(b.stats["Maximum"]))
        assert b.stats["Minimum"] - slack <= b.stats["Average"] <= b.stats["Maximum"] + slack
        assert (b.start - T0) % period == 0


@given(st.lists(st.tuples(finite, st.integers(1, 5)), min_size=1, max_size=20), st.floats(0, 100))
def test_percentile_is_one_of_the_values_and_monotonic(pairs: list[tuple[float, int]], p: float) -> None:
    fpairs = [(v, float(c)) for v, c in pairs]
    value = percentile(fpairs, p)
    assert value in [v for v, _ in pairs]
    assert percentile(fpairs, 0) <= value <= percentile(fpairs, 100)
    assert math.isclose(percentile(fpairs, 100), max(v for v, _ in pairs))
