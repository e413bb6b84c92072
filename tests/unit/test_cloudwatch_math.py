"""Metric math: parser and evaluator tables, errors, and Hypothesis properties."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.cloudwatch.metric_math import (
    Expression,
    MathError,
    Series,
    Value,
    as_series,
    evaluate_queries,
    parse,
    references,
)

GRID = [0.0, 60.0, 120.0, 180.0]


def metrics() -> dict[str, Series]:
    return {
        "m1": Series("CPU a", {0.0: 10.0, 60.0: 20.0, 120.0: 30.0, 180.0: 40.0}),
        "m2": Series("CPU b", {0.0: 1.0, 120.0: 3.0}),
        "errors_4xx": Series("4xx", {0.0: 5.0, 60.0: 6.0}),
        "errors_5xx": Series("5xx", {60.0: 1.0, 180.0: 2.0}),
    }


def run(text: str) -> Value:
    return evaluate_queries([Expression("e", text)], metrics(), GRID, 60)["e"]


def pts(v: Value) -> dict[float, float]:
    assert isinstance(v, Series), v
    return v.points


CASES: list[tuple[str, object]] = [
    ("m1 + m2", {0.0: 11.0, 120.0: 33.0}),  # only timestamps both have
    ("m1 * 2 - 5", {0.0: 15.0, 60.0: 35.0, 120.0: 55.0, 180.0: 75.0}),
    ("100 / m2", {0.0: 100.0, 120.0: 100.0 / 3}),
    ("m2 ^ 2", {0.0: 1.0, 120.0: 9.0}),
    ("2 ^ 3 ^ 2", 512.0),  # right-associative
    ("-2 ^ 2", -4.0),
    ("(1 + 2) * 3", 9.0),
    ("1 + 2 * 3", 7.0),
    ("m1 / (m1 - 20)", {0.0: -1.0, 120.0: 3.0, 180.0: 2.0}),  # x/0 gives no value
    ("SUM(m1)", 100.0),
    ("AVG(m1)", 25.0),
    ("MIN(m1)", 10.0),
    ("MAX(m1)", 40.0),
    ("STDDEV(m1)", statistics.pstdev([10.0, 20.0, 30.0, 40.0])),
    ("SUM([m1, m2])", {0.0: 11.0, 60.0: 20.0, 120.0: 33.0, 180.0: 40.0}),
    ("MAX(METRICS())", {0.0: 10.0, 60.0: 20.0, 120.0: 30.0, 180.0: 40.0}),
    ('SUM(METRICS("errors"))', {0.0: 5.0, 60.0: 7.0, 180.0: 2.0}),
    ('SUM([METRICS("4xx"), METRICS("5xx")])', {0.0: 5.0, 60.0: 7.0, 180.0: 2.0}),
    ("FILL(m2, 0)", {0.0: 1.0, 60.0: 0.0, 120.0: 3.0, 180.0: 0.0}),
    ("FILL(m2, REPEAT)", {0.0: 1.0, 60.0: 1.0, 120.0: 3.0, 180.0: 3.0}),
    ("FILL(m2, LINEAR)", {0.0: 1.0, 60.0: 2.0, 120.0: 3.0, 180.0: 3.0}),
    ("FILL(errors_5xx, REPEAT)", {0.0: 1.0, 60.0: 1.0, 120.0: 1.0, 180.0: 2.0}),  # leading gap: first value
    ("IF(m1 > 15, 1, 0)", {0.0: 0.0, 60.0: 1.0, 120.0: 1.0, 180.0: 1.0}),
    ("IF(m1 >= 30, m1)", {120.0: 30.0, 180.0: 40.0}),
    ("IF(m1 > 10 AND m1 < 40, m1, 0)", {0.0: 0.0, 60.0: 20.0, 120.0: 30.0, 180.0: 0.0}),
    ("IF(m1 == 10 || m1 == 40, 1, 0)", {0.0: 1.0, 60.0: 0.0, 120.0: 0.0, 180.0: 1.0}),
    ("IF(NOT m1 > 20, m1, 0)", {0.0: 10.0, 60.0: 20.0, 120.0: 0.0, 180.0: 0.0}),
    ("IF(m1 != 20, m2)", {0.0: 1.0, 120.0: 3.0}),
    ("ABS(m1 - 25)", {0.0: 15.0, 60.0: 5.0, 120.0: 5.0, 180.0: 15.0}),
    ("CEIL(m1 / 7)", {0.0: 2.0, 60.0: 3.0, 120.0: 5.0, 180.0: 6.0}),
    ("FLOOR(m1 / 7)", {0.0: 1.0, 60.0: 2.0, 120.0: 4.0, 180.0: 5.0}),
    ("RATE(m1)", {60.0: 10 / 60, 120.0: 10 / 60, 180.0: 10 / 60}),
    ("DIFF(m1)", {60.0: 10.0, 120.0: 10.0, 180.0: 10.0}),
    ("DIFF_TIME(m2)", {120.0: 120.0}),
    ("RUNNING_SUM(m1)", {0.0: 10.0, 60.0: 30.0, 120.0: 60.0, 180.0: 100.0}),
    ("PERIOD(m1)", 60.0),
    ("m1 / PERIOD(m1)", {0.0: 10 / 60, 60.0: 20 / 60, 120.0: 0.5, 180.0: 40 / 60}),
    ("TIME_SERIES(7)", {t: 7.0 for t in GRID}),
    ("SQRT(m2)", {0.0: 1.0, 120.0: math.sqrt(3.0)}),
    ("LOG10(m1)", {0.0: 1.0, 60.0: math.log10(20), 120.0: math.log10(30), 180.0: math.log10(40)}),
]


@pytest.mark.parametrize(("text", "want"), CASES)
def test_expressions(text: str, want: object) -> None:
    got = run(text)
    if isinstance(want, dict):
        assert pts(got) == pytest.approx(want)
        assert list(pts(got)) == sorted(pts(got))
    else:
        assert got == pytest.approx(want)


def test_arrays() -> None:
    arr = run("METRICS() * 10")
    assert isinstance(arr, list) and [s.label for s in arr] == ["CPU a", "CPU b", "4xx", "5xx"]
    assert arr[1].points == {0.0: 10.0, 120.0: 30.0}
    assert [s.label for s in run('REMOVE_EMPTY(METRICS("m"))')] == ["CPU a", "CPU b"]  # type: ignore[union-attr]
    filled = run('FILL(METRICS("errors"), 0)')
    assert isinstance(filled, list) and all(set(s.points) == set(GRID) for s in filled)


def test_expressions_use_each_other_in_any_order() -> None:
    out = evaluate_queries(
        [Expression("e3", "e2 * 2"), Expression("e2", "e1 + 1"), Expression("e1", "SUM(METRICS())")],
        metrics(), GRID, 60,
    )
    assert pts(out["e3"])[0.0] == (10 + 1 + 5 + 1) * 2
    # METRICS() holds metrics only, never the expressions
    assert pts(out["e1"])[0.0] == 16.0


def test_scalars_become_constant_series() -> None:
    [s] = as_series(run("SUM(m1)"), "total", GRID)
    assert s.label == "total" and s.points == {t: 100.0 for t in GRID}
    assert as_series(math.nan, "x", GRID)[0].points == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FOO(m1)", "Error in expression e: Unknown function FOO"),
        ("m1 +", "Error in expression e: Syntax error at position 5: the expression ends too early"),
        ("m1 $ 2", "Error in expression e: Unexpected character '$' at position 4"),
        ("(m1", "Error in expression e: Syntax error at position 4: expected ')' but found the end of the expression"),
        ("FILL(m1)", "Error in expression e: FILL takes 2 arguments (1 given)"),
        ("IF(m1)", "Error in expression e: IF takes 2 to 3 arguments (1 given)"),
        ("m9 + 1", "Error in expression e: Unrecognized metric or expression id m9"),
        ("e + 1", "Error in expression e: An expression cannot refer to itself"),
        ("METRICS() + METRICS()", "Error in expression e: The operator + cannot be used between two arrays of time series"),
        ("FILL(m1, m2)", "Error in expression e: The second argument of FILL must be a number, REPEAT or LINEAR"),
        ("METRICS(m1)", "Error in expression e: The argument of METRICS must be a string"),
        ("", "Error in expression e: The expression is empty"),
        ("m1 m2", "Error in expression e: Syntax error at position 4: unexpected 'm2'"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(MathError) as info:
        run(text)
    assert info.value.message == message
    assert info.value.code == "ValidationError" and info.value.status == 400


def test_circular_dependency() -> None:
    with pytest.raises(MathError, match="Circular dependency between expressions a, b"):
        evaluate_queries([Expression("a", "b + 1"), Expression("b", "a + 1")], {}, GRID, 60)


def test_references() -> None:
    assert references(parse("IF(m1 > 2, FILL(m2, REPEAT), e1) + SUM([m3, m1])")) == {"m1", "m2", "e1", "m3"}
    assert references(parse('SUM(METRICS("x")) * 2')) == set()


# -- properties ------------------------------------------------------------------------

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
series_st = st.dictionaries(st.sampled_from(GRID), values, max_size=4).map(
    lambda d: dict(sorted(d.items()))
)


@given(st.lists(series_st, min_size=1, max_size=5))
def test_sum_of_metrics_is_elementwise_sum(many: list[dict[float, float]]) -> None:
    ms = {f"m{i}": Series(f"s{i}", d) for i, d in enumerate(many)}
    out = evaluate_queries([Expression("e", "SUM(METRICS())"), Expression("a", "AVG(METRICS())"),
                            Expression("hi", "MAX(METRICS())"), Expression("lo", "MIN(METRICS())")], ms, GRID, 60)
    for t in GRID:
        present = [d[t] for d in many if t in d]
        if not present:
            assert t not in pts(out["e"])
            continue
        assert pts(out["e"])[t] == pytest.approx(math.fsum(present))
        assert pts(out["a"])[t] == pytest.approx(math.fsum(present) / len(present))
        assert pts(out["hi"])[t] == max(present) and pts(out["lo"])[t] == min(present)


@given(series_st, series_st)
def test_addition_commutes_and_fill_covers_the_grid(a: dict[float, float], b: dict[float, float]) -> None:
    ms = {"m1": Series("a", a), "m2": Series("b", b)}
    out = evaluate_queries([Expression("x", "m1 + m2"), Expression("y", "m2 + m1"),
                            Expression("f", "FILL(m1, REPEAT)"), Expression("z", "FILL(m1, 0) + FILL(m2, 0)")],
                           ms, GRID, 60)
    assert pts(out["x"]) == pytest.approx(pts(out["y"]))
    assert set(pts(out["x"])) == set(a) & set(b)
    if a:
        assert set(pts(out["f"])) == set(GRID)
        assert all(pts(out["f"])[t] == v for t, v in a.items())
    assert set(pts(out["z"])) == set(GRID)


@given(series_st, st.floats(min_value=-100, max_value=100, allow_nan=False))
def test_if_splits_by_condition(a: dict[float, float], cut: float) -> None:
    ms = {"m1": Series("a", a)}
    out = evaluate_queries([Expression("e", f"IF(m1 > {cut!r}, 1, 0) + IF(m1 <= {cut!r}, 1, 0)")], ms, GRID, 60)
    assert pts(out["e"]) == {t: 1.0 for t in a}
