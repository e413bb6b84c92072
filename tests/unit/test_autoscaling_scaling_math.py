"""Scaling arithmetic (scaling_math) and policy decisions (policy_decide): tables and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.autoscaling import scaling_math
from gureum.services.autoscaling.policy_decide import (
    SIMPLE,
    STEP,
    TARGET,
    Capacity,
    PolicySpec,
    Trigger,
    decide,
)
from gureum.services.autoscaling.scaling_math import Step, StepError

# -- percent rounding and adjustments ------------------------------------------------------------


@pytest.mark.parametrize(("change", "rounded"), [
    (1.8, 1), (2.5, 2), (1.0, 1), (0.4, 1), (0.0, 0), (-0.4, -1), (-1.0, -1), (-1.8, -1), (-2.5, -2),
])
def test_percent_rounding_follows_aws(change: float, rounded: int) -> None:
    assert scaling_math.round_percent(change) == rounded


@pytest.mark.parametrize(("current", "kind", "adj", "mam", "wanted"), [
    (4, "ChangeInCapacity", 2, None, 6),
    (4, "ChangeInCapacity", -3, None, 1),
    (4, "ExactCapacity", 7, None, 7),
    (4, "PercentChangeInCapacity", 25, None, 5),        # 25 % of 4 = 1
    (4, "PercentChangeInCapacity", 25, 2, 6),           # the AWS example: MinAdjustmentMagnitude 2 adds 2
    (10, "PercentChangeInCapacity", 15, None, 11),      # 1.5 rounds down to 1
    (3, "PercentChangeInCapacity", 10, None, 4),        # 0.3 becomes 1
    (3, "PercentChangeInCapacity", -10, None, 2),       # -0.3 becomes -1
    (10, "PercentChangeInCapacity", -25, None, 8),      # -2.5 rounds toward zero: -2
    (10, "PercentChangeInCapacity", -25, 4, 6),         # raised to a magnitude of 4
    (0, "PercentChangeInCapacity", 50, 2, 2),           # nothing to take a percent of: the minimum
])
def test_adjustments(current: int, kind: str, adj: int, mam: int | None, wanted: int) -> None:
    assert scaling_math.apply_adjustment(current, kind, adj, mam) == wanted


# -- steps -------------------------------------------------------------------------------------------

OUT_STEPS = (Step(0, 10, 1), Step(10, 20, 2), Step(20, None, 3))
IN_STEPS = (Step(-10, 0, -1), Step(None, -10, -2))


@pytest.mark.parametrize(("metric", "adj"), [
    (50, 1),     # exactly at the threshold: the first step above (lower bound inclusive)
    (59.9, 1), (60, 2),  # 60 is the lower bound of the second step: inclusive above the threshold
    (69.99, 2), (70, 3), (1e9, 3),
])
def test_step_above_the_threshold_lower_bound_inclusive(metric: float, adj: int) -> None:
    step = scaling_math.pick_step(OUT_STEPS, metric, 50)
    assert step is not None and step.adjustment == adj


@pytest.mark.parametrize(("metric", "adj"), [
    (49.9, -1), (40.1, -1),
    (40, -2),  # below the threshold the upper bound is inclusive (and the lower exclusive): -10 is the second step's
    (39.9, -2), (-1e9, -2),
])
def test_step_below_the_threshold_upper_bound_inclusive(metric: float, adj: int) -> None:
    step = scaling_math.pick_step(IN_STEPS, metric, 50)
    assert step is not None and step.adjustment == adj


def test_no_step_outside_the_intervals() -> None:
    assert scaling_math.pick_step(OUT_STEPS, 49, 50) is None
    assert scaling_math.pick_step(IN_STEPS, 51, 50) is None


@pytest.mark.parametrize(("steps", "words"), [
    ((Step(0, 10, 1), Step(15, None, 2)), "gaps"),
    ((Step(0, 10, 1), Step(5, None, 2)), "overlap"),
    ((Step(1, 2, 1),), "unspecified upper bound"),
    ((Step(-5, 0, -1),), "unspecified lower bound"),
    ((Step(10, 5, 1), Step(10, None, 1)), "greater than"),
    ((Step(None, None, 1), Step(0, None, 1)), "cannot be left unspecified"),
    ((), "At least one"),
    (tuple(Step(i, i + 1, 1) for i in range(20)) + (Step(20, None, 1),), "at most 20"),
])
def test_bad_step_sets_are_refused(steps: tuple[Step, ...], words: str) -> None:
    with pytest.raises(StepError, match=words):
        scaling_math.check_steps(steps)


def test_good_step_sets_pass() -> None:
    scaling_math.check_steps(OUT_STEPS)
    scaling_math.check_steps(IN_STEPS)
    scaling_math.check_steps((Step(None, None, 1),))
    scaling_math.check_steps((Step(None, 0, -1), Step(0, None, 1)))


@st.composite
def contiguous_steps(draw: st.DrawFn) -> tuple[Step, ...]:
    cuts = sorted(set(draw(st.lists(st.integers(-100, 100), min_size=1, max_size=8))))
    bounds: list[float | None] = [None, *map(float, cuts), None]
    return tuple(Step(lo, hi, draw(st.integers(-5, 5))) for lo, hi in zip(bounds, bounds[1:], strict=False))


@given(contiguous_steps(), st.floats(-500, 500), st.floats(-100, 100))
def test_a_valid_step_set_picks_exactly_one_step(steps: tuple[Step, ...], metric: float, threshold: float) -> None:
    scaling_math.check_steps(steps)
    picked = scaling_math.pick_step(steps, metric, threshold)
    assert picked is not None
    d = metric - threshold
    holding = [s for s in steps if (s.lower is None or s.lower <= d) and (s.upper is None or d <= s.upper)]
    assert picked in holding and 1 <= len(holding) <= 2  # two only on a shared bound


# -- target tracking -------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "metric", "target", "wanted"), [
    (2, 100, 50, 4), (3, 60, 50, 4), (4, 25, 50, 2), (5, 41, 50, 5), (10, 50, 50, 10), (0, 80, 50, 1), (0, 10, 50, 0),
    (3, 50.0000000001, 50, 3),  # float noise does not add an instance
])
def test_target_tracking_rounds_up(current: int, metric: float, target: float, wanted: int) -> None:
    assert scaling_math.target_capacity(current, metric, target) == wanted


# -- policy decisions -----------------------------------------------------------------------------

CAP = Capacity(desired=4, min_size=1, max_size=10)


def test_simple_policy_adjusts_and_respects_its_cooldown() -> None:
    policy = PolicySpec(SIMPLE, "ChangeInCapacity", 2)
    assert decide(policy, CAP, Trigger()).desired == 6
    blocked = Capacity(4, 1, 10, simple_blocked="cooldown")
    out = decide(policy, blocked, Trigger())
    assert out.desired is None and out.reason == "cooldown"


def test_only_an_alarm_in_alarm_scales() -> None:
    policy = PolicySpec(SIMPLE, "ChangeInCapacity", 2)
    assert decide(policy, CAP, Trigger(state="INSUFFICIENT_DATA")).desired is None
    assert decide(policy, CAP, Trigger(state="OK")).desired is None


def test_step_scale_out_does_not_count_warming_instances() -> None:
    policy = PolicySpec(STEP, "ChangeInCapacity", steps=(Step(0, 20, 1), Step(20, None, 3)))
    # The AWS example: desired 11 with one instance warming; the same breach again adds nothing…
    warming = Capacity(desired=11, min_size=1, max_size=20, base_out=10, in_blocked="1 warming")
    assert decide(policy, warming, Trigger(metric=62, threshold=60)).desired is None
    # …a bigger breach adds only what the bigger step asks beyond the warming one.
    assert decide(policy, warming, Trigger(metric=85, threshold=60)).desired == 13


def test_no_scale_in_while_instances_warm_up() -> None:
    policy = PolicySpec(STEP, "ChangeInCapacity", steps=(Step(None, 0, -1),))
    blocked = Capacity(4, 1, 10, base_out=3, in_blocked="1 instance(s) are launching or warming up")
    out = decide(policy, blocked, Trigger(metric=10, threshold=30))
    assert out.desired is None and "warming" in out.reason
    assert decide(policy, CAP, Trigger(metric=10, threshold=30)).desired == 3


def test_target_tracking_scale_in_can_be_disabled() -> None:
    on = PolicySpec(TARGET, target=50.0)
    off = PolicySpec(TARGET, target=50.0, disable_scale_in=True)
    assert decide(on, CAP, Trigger(metric=20)).desired == 2
    assert decide(off, CAP, Trigger(metric=20)).desired is None
    assert decide(off, CAP, Trigger(metric=100)).desired == 8


POLICIES = st.one_of(
    st.builds(PolicySpec, st.just(SIMPLE), st.sampled_from(["ChangeInCapacity", "ExactCapacity",
                                                             "PercentChangeInCapacity"]),
              st.integers(-50, 50), st.one_of(st.none(), st.integers(1, 5))),
    st.builds(PolicySpec, st.just(STEP), st.sampled_from(["ChangeInCapacity", "PercentChangeInCapacity"]),
              st.none(), st.none(), contiguous_steps()),
    st.builds(PolicySpec, st.just(TARGET), target=st.floats(1, 100), disable_scale_in=st.booleans()),
)


@given(POLICIES, st.integers(0, 20), st.integers(0, 20), st.integers(0, 40), st.integers(0, 5),
       st.floats(0, 200), st.floats(0, 100))
def test_desired_always_stays_within_min_and_max(policy: PolicySpec, a: int, b: int, desired: int, warming: int,
                                                 metric: float, threshold: float) -> None:
    lo, hi = min(a, b), max(a, b)
    desired = max(lo, min(hi, desired))
    cap = Capacity(desired, lo, hi, base_out=max(0, desired - warming), in_blocked="warming" if warming else None)
    out = decide(policy, cap, Trigger(metric=metric, threshold=threshold))
    if out.desired is not None:
        assert lo <= out.desired <= hi
        assert out.desired != desired
        if warming and out.desired < desired:
            pytest.fail("scaled in while instances were warming up")
    assert not math.isnan(metric)
