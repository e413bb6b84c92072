"""Composite alarm rules: parsing, precedence, naming, and the decided state.  Pure."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.core.errors import ValidationError
from gureum.services.cloudwatch.composite import (
    Both,
    Check,
    ChildState,
    Const,
    Not,
    alarm_name,
    children,
    decide,
    holds,
    parse_rule,
)

ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"


@pytest.mark.parametrize(
    ("rule", "states", "want"),
    [
        ("ALARM(a)", {"a": "ALARM"}, True),
        ("ALARM(a)", {"a": "OK"}, False),
        ("OK(a) AND INSUFFICIENT_DATA(b)", {"a": "OK", "b": "INSUFFICIENT_DATA"}, True),
        ("ALARM(a) OR ALARM(b) AND ALARM(c)", {"a": "ALARM", "b": "OK", "c": "OK"}, True),  # AND binds tighter
        ("(ALARM(a) OR ALARM(b)) AND ALARM(c)", {"a": "ALARM", "b": "OK", "c": "OK"}, False),
        ("NOT ALARM(a) AND ALARM(b)", {"a": "OK", "b": "ALARM"}, True),  # NOT binds tightest
        ("NOT (ALARM(a) AND ALARM(b))", {"a": "ALARM", "b": "ALARM"}, False),
        ('ALARM("db primary (eu)")', {"db primary (eu)": "ALARM"}, True),
        (f"ALARM({ARN}web)", {"web": "ALARM"}, True),
        ("TRUE", {}, True),
        ("FALSE OR NOT TRUE", {}, False),
        ("ALARM(missing)", {}, False),
    ],
)
def test_rules(rule: str, states: dict[str, str], want: bool) -> None:
    assert holds(parse_rule(rule), states) is want


def test_tree_and_children() -> None:
    rule = parse_rule('ALARM(a) OR NOT OK("b c") AND ALARM(a)')
    assert rule == Both("OR", Check("ALARM", "a"), Both("AND", Not(Check("OK", "b c")), Check("ALARM", "a")))
    assert children(rule) == ["a", "b c"]
    assert children(parse_rule("TRUE")) == [] and parse_rule("FALSE") == Const(False)
    assert alarm_name(f"{ARN}x:y") == "x:y" and alarm_name("plain") == "plain"


@pytest.mark.parametrize(
    "rule", ["", "ALARM(a) AND", "ALARM a", "ALARM()", "MAYBE(a)", "ALARM(a))", "(ALARM(a)", "alarm(a)", "x" * 10_241]
)
def test_bad_rules(rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_rule(rule)
    assert info.value.code == "ValidationError"


def test_decide_names_the_triggering_child() -> None:
    kids = {
        "a": ChildState(ARN + "a", "ALARM", "2026-01-01T10:00:00.000+0000", "Thursday 01 January, 2026 10:00:00 UTC"),
        "b": ChildState(ARN + "b", "ALARM", "2026-01-01T10:05:00.000+0000", "Thursday 01 January, 2026 10:05:00 UTC"),
        "c": ChildState(ARN + "c", "OK", "2026-01-01T11:00:00.000+0000", "Thursday 01 January, 2026 11:00:00 UTC"),
    }
    state, reason, data = decide(parse_rule("ALARM(a) AND ALARM(b) AND NOT ALARM(c)"), kids)
    assert state == "ALARM"
    assert reason == f"{ARN}b transitioned to ALARM at Thursday 01 January, 2026 10:05:00 UTC"
    assert json.loads(data) == {"triggeringAlarms": [
        {"arn": ARN + "a", "state": {"value": "ALARM", "timestamp": "2026-01-01T10:00:00.000+0000"}},
        {"arn": ARN + "b", "state": {"value": "ALARM", "timestamp": "2026-01-01T10:05:00.000+0000"}},
    ]}
    state, reason, _ = decide(parse_rule("ALARM(c)"), kids)
    assert state == "OK" and reason.startswith(f"{ARN}c transitioned to OK at ")


names = st.sampled_from(["a", "b", "c"])
states_st = st.fixed_dictionaries({n: st.sampled_from(["OK", "ALARM", "INSUFFICIENT_DATA"]) for n in "abc"})


@given(names, names, states_st)
def test_de_morgan(x: str, y: str, states: dict[str, str]) -> None:
    left = parse_rule(f"NOT (ALARM({x}) OR OK({y}))")
    right = parse_rule(f"NOT ALARM({x}) AND NOT OK({y})")
    assert holds(left, states) == holds(right, states)
