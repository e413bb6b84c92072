"""Target and group choice: round robin, weights, least outstanding,
slow start, stickiness cookies."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.services.elbv2.balancing import (
    RoundRobin,
    choose,
    decode_cookie,
    encode_cookie,
    least_outstanding,
    parse_cookies,
    slow_start_weight,
    sticky_pick,
    weights_for,
)


def test_round_robin_rotates_evenly() -> None:
    rr = RoundRobin()
    picks = [choose("round_robin", ["a", "b", "c"], rr, outstanding={}) for _ in range(9)]
    assert Counter(picks) == {"a": 3, "b": 3, "c": 3}
    assert picks[:3] != [picks[0]] * 3  # spread, not bursts


def test_weighted_80_20_is_exact_over_a_cycle_and_interleaved() -> None:
    rr = RoundRobin()
    picks = [rr.pick({"blue": 80, "green": 20}) for _ in range(100)]
    assert Counter(picks) == {"blue": 80, "green": 20}
    # smooth: never more than 4 blues in a row for an 80/20 split
    longest = max(len(run) for run in "".join("b" if p == "blue" else "g" for p in picks).split("g"))
    assert longest <= 4


def test_zero_weight_gets_nothing() -> None:
    rr = RoundRobin()
    assert {rr.pick({"a": 1, "b": 0}) for _ in range(10)} == {"a"}
    assert rr.pick({"a": 0}) is None


@settings(deadline=None, max_examples=60)
@given(st.dictionaries(st.sampled_from("abcde"), st.integers(0, 300), min_size=1), st.integers(1, 3))
def test_weighted_counts_stay_within_one_of_the_exact_share(weights: dict[str, int], cycles: int) -> None:
    total = sum(weights.values())
    rr = RoundRobin()
    n = total * cycles if total else 10
    picks = Counter(rr.pick(weights) for _ in range(n))
    if total == 0:
        assert picks == {None: n}
        return
    for key, w in weights.items():
        assert abs(picks.get(key, 0) - n * w / total) <= 1


def test_least_outstanding_prefers_idle_targets_and_rotates_ties() -> None:
    rr = RoundRobin()
    assert least_outstanding(["a", "b", "c"], {"a": 3, "b": 0, "c": 1}, rr) == "b"
    ties = [least_outstanding(["a", "b"], {"a": 0, "b": 0}, rr) for _ in range(4)]
    assert Counter(ties) == {"a": 2, "b": 2}
    assert least_outstanding([], {}, rr) is None


def test_slow_start_ramps_linearly_then_full() -> None:
    assert slow_start_weight(100.0, None, 60) == 1.0
    assert slow_start_weight(100.0, 100.0, 0) == 1.0
    assert slow_start_weight(100.0, 100.0, 60) == 0.1  # the floor
    assert abs(slow_start_weight(130.0, 100.0, 60) - 0.5) < 1e-9
    assert slow_start_weight(161.0, 100.0, 60) == 1.0


def test_slow_start_shares_and_fresh_groups() -> None:
    w = weights_for(["old", "new"], 130.0, {"new": 100.0}, 60)
    assert w["old"] == 1.0 and abs(w["new"] - 0.5) < 1e-9
    # every target new: nobody to ramp against, all full weight
    assert weights_for(["a", "b"], 100.0, {"a": 100.0, "b": 100.0}, 60) == {"a": 1.0, "b": 1.0}
    rr = RoundRobin()
    picks = Counter(
        choose("round_robin", ["old", "new"], rr, outstanding={}, now=130.0, healthy_since={"new": 100.0}, slow_start=60)
        for _ in range(300)
    )
    assert picks["new"] == 100 and picks["old"] == 200


def test_cookies_round_trip_and_stickiness() -> None:
    value = encode_cookie("127.0.0.1:8080")
    assert decode_cookie(value) == "127.0.0.1:8080"
    assert decode_cookie("%%%") is None
    assert sticky_pick(value, ["127.0.0.1:8080", "x"]) == "127.0.0.1:8080"
    assert sticky_pick(value, ["x"]) is None  # the named target is no longer a candidate
    assert parse_cookies(["a=1; AWSALB=xyz", "a=2"]) == {"a": "1", "AWSALB": "xyz"}
