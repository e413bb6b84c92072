"""The target health state machine: table cases and Hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.elbv2.health import (
    CheckResult,
    Event,
    Health,
    Reason,
    State,
    Thresholds,
    candidates,
    code_matches,
    registered,
    step,
)

LIMITS = Thresholds(healthy=3, unhealthy=2)
PASS = CheckResult(True, code=200)
MISMATCH = CheckResult(False, Reason.RESPONSE_CODE_MISMATCH, 500)
TIMEOUT = CheckResult(False, Reason.TIMEOUT)
REFUSED = CheckResult(False, Reason.FAILED_HEALTH_CHECKS)


def run(h: Health, *results: CheckResult, limits: Thresholds = LIMITS) -> Health:
    for r in results:
        h = step(h, r.event, limits, r)
    return h


def test_registered_starts_in_registration_progress() -> None:
    h = registered()
    assert (h.state, h.reason) == (State.INITIAL, Reason.REGISTRATION_IN_PROGRESS)
    assert registered(in_use=False).reason is Reason.NOT_IN_USE
    assert registered(checks_enabled=False).state is State.UNAVAILABLE


@pytest.mark.parametrize(
    ("results", "state", "reason"),
    [
        ((PASS,), State.HEALTHY, Reason.NONE),  # one pass is enough from initial
        ((MISMATCH,), State.INITIAL, Reason.INITIAL_HEALTH_CHECKING),
        ((MISMATCH, MISMATCH), State.UNHEALTHY, Reason.RESPONSE_CODE_MISMATCH),
        ((TIMEOUT, TIMEOUT), State.UNHEALTHY, Reason.TIMEOUT),
        ((REFUSED, REFUSED), State.UNHEALTHY, Reason.FAILED_HEALTH_CHECKS),
        ((PASS, MISMATCH), State.HEALTHY, Reason.NONE),
        ((PASS, MISMATCH, PASS, MISMATCH), State.HEALTHY, Reason.NONE),  # not consecutive
        ((PASS, MISMATCH, TIMEOUT), State.UNHEALTHY, Reason.TIMEOUT),  # the last failure's reason
        ((MISMATCH, MISMATCH, PASS, PASS), State.UNHEALTHY, Reason.RESPONSE_CODE_MISMATCH),
        ((MISMATCH, MISMATCH, PASS, PASS, PASS), State.HEALTHY, Reason.NONE),
        ((MISMATCH, MISMATCH, PASS, MISMATCH, PASS, PASS, PASS), State.HEALTHY, Reason.NONE),
    ],
)
def test_transitions(results: tuple[CheckResult, ...], state: State, reason: Reason) -> None:
    h = run(registered(), *results)
    assert (h.state, h.reason) == (state, reason)


def test_mismatch_description_names_the_code() -> None:
    h = run(registered(), MISMATCH, MISMATCH)
    assert h.description == "Health checks failed with these codes: [500]"
    # passes below the healthy threshold keep the description
    assert run(h, PASS).description == h.description


@pytest.mark.parametrize("start", [State.INITIAL, State.HEALTHY, State.UNHEALTHY, State.UNUSED])
def test_deregister_drains_from_any_live_state(start: State) -> None:
    h = step(Health(start, Reason.NONE, ""), Event.DEREGISTER, LIMITS)
    assert (h.state, h.reason) == (State.DRAINING, Reason.DEREGISTRATION_IN_PROGRESS)
    # checks no longer move a draining target
    assert run(h, PASS, MISMATCH, MISMATCH).state is State.DRAINING


def test_in_use_and_not_in_use() -> None:
    h = run(registered(), PASS)
    unused = step(h, Event.NOT_IN_USE, LIMITS)
    assert (unused.state, unused.reason) == (State.UNUSED, Reason.NOT_IN_USE)
    back = step(unused, Event.IN_USE, LIMITS)
    assert (back.state, back.reason) == (State.INITIAL, Reason.REGISTRATION_IN_PROGRESS)
    assert step(h, Event.IN_USE, LIMITS) == h  # nothing to do when already in use


def test_candidates_fail_open_only_over_unhealthy() -> None:
    assert candidates({"a": State.HEALTHY, "b": State.UNHEALTHY}) == ["a"]
    assert candidates({"a": State.UNHEALTHY, "b": State.UNHEALTHY, "c": State.DRAINING}) == ["a", "b"]
    assert candidates({"a": State.INITIAL}) == []
    assert candidates({"a": State.DRAINING, "b": State.UNUSED}) == []
    assert candidates({"a": State.UNAVAILABLE}) == ["a"]


@pytest.mark.parametrize(
    ("matcher", "code", "ok"),
    [("200", 200, True), ("200", 204, False), ("200,204", 204, True), ("200-299", 250, True),
     ("200-299", 301, False), ("200-299,404", 404, True)],
)  # fmt: skip
def test_code_matches(matcher: str, code: int, ok: bool) -> None:
    assert code_matches(matcher, code) is ok


def reference(results: list[bool], limits: Thresholds) -> State:
    """An independent model: count runs of consecutive results."""
    state, run_ok, run_fail = State.INITIAL, 0, 0
    for ok in results:
        run_ok, run_fail = (run_ok + 1, 0) if ok else (0, run_fail + 1)
        if state is State.INITIAL and ok:
            state = State.HEALTHY
        elif state in (State.INITIAL, State.HEALTHY) and run_fail >= limits.unhealthy:
            state = State.UNHEALTHY
        elif state is State.UNHEALTHY and run_ok >= limits.healthy:
            state = State.HEALTHY
    return state


@given(
    st.lists(st.booleans(), max_size=40),
    st.integers(2, 10),
    st.integers(2, 10),
)
def test_matches_a_run_counting_model(results: list[bool], healthy: int, unhealthy: int) -> None:
    limits = Thresholds(healthy, unhealthy)
    h = registered()
    for ok in results:
        h = step(h, Event.PASS if ok else Event.FAIL, limits, PASS if ok else TIMEOUT)
    assert h.state is reference(results, limits)
    assert h.state in (State.INITIAL, State.HEALTHY, State.UNHEALTHY)
    if h.state is State.UNHEALTHY:
        assert h.reason is Reason.TIMEOUT
    if h.state is State.HEALTHY:
        assert h.reason is Reason.NONE and h.description == ""


def test_a_stopped_instance_is_unused_until_it_runs_again() -> None:
    h = step(run(registered(), PASS), Event.INVALID_STATE, LIMITS)
    assert (h.state, h.reason) == (State.UNUSED, Reason.INVALID_STATE)
    assert h.description == "Target is in the stopped or terminated state"
    assert run(h, PASS, MISMATCH).state is State.UNUSED  # no checks count while unused
    back = step(h, Event.IN_USE, LIMITS)
    assert (back.state, back.reason) == (State.INITIAL, Reason.REGISTRATION_IN_PROGRESS)
