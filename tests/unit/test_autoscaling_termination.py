"""Termination policies (termination) and group reconciliation (group_reconcile): tables and properties."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.autoscaling import group_reconcile as gr
from gureum.services.autoscaling import termination as t
from gureum.services.autoscaling.termination import Candidate, Config

NOW = 1_800_000_000.0
LT1, LT2 = Config("lt", "lt-1", 1), Config("lt", "lt-1", 2)
LC_OLD = Config("lc", "old", 100.0)


def cand(iid: str, zone: str = "a", age: float = 0.0, config: Config | None = LT2, protected: bool = False) -> Candidate:
    return Candidate(iid, zone, NOW - age, config, protected)


def choose(cands: list[Candidate], n: int = 1, policies: tuple[str, ...] = ("Default",)) -> list[str]:
    return t.choose_victims(cands, n, policies, LT2, NOW, random.Random(7))


def test_the_busiest_zone_loses_first_whatever_the_policy() -> None:
    cands = [cand("i-a1", "a", 100), cand("i-a2", "a", 50), cand("i-b1", "b", 9000)]
    assert choose(cands, policies=("OldestInstance",)) == ["i-a1"]  # the oldest of zone a, not i-b1


@pytest.mark.parametrize(("policy", "victim"), [
    ("OldestInstance", "i-old"),
    ("NewestInstance", "i-new"),
    ("OldestLaunchTemplate", "i-v1"),
    ("OldestLaunchConfiguration", "i-lc"),
    ("ClosestToNextInstanceHour", "i-hour"),
])
def test_each_policy_picks_its_instance(policy: str, victim: str) -> None:
    cands = [
        cand("i-old", age=5000), cand("i-new", age=10), cand("i-v1", age=100, config=LT1),
        cand("i-lc", age=200, config=LC_OLD), cand("i-hour", age=3599),
    ]
    assert choose(cands, policies=(policy,)) == [victim]


def test_default_prefers_launch_configurations_then_old_templates_then_the_hour() -> None:
    assert choose([cand("i-v1", config=LT1), cand("i-lc", config=LC_OLD), cand("i-cur")]) == ["i-lc"]
    assert choose([cand("i-v1", age=10, config=LT1), cand("i-cur", age=3500)]) == ["i-v1"]
    assert choose([cand("i-x", age=100), cand("i-y", age=3500)]) == ["i-y"]


def test_policies_chain_as_tie_breakers() -> None:
    cands = [cand("i-1", age=100, config=LT1), cand("i-2", age=500, config=LT1), cand("i-3", age=900)]
    assert choose(cands, policies=("OldestLaunchTemplate", "NewestInstance")) == ["i-1"]


def test_protected_instances_are_never_chosen() -> None:
    cands = [cand("i-p", "a", protected=True), cand("i-q", "a", protected=True), cand("i-r", "b")]
    assert choose(cands, 3) == ["i-r"]


@st.composite
def fleets(draw: st.DrawFn) -> list[Candidate]:
    n = draw(st.integers(1, 12))
    return [Candidate(f"i-{k:02d}", draw(st.sampled_from("abc")), NOW - draw(st.integers(0, 10_000)),
                      draw(st.sampled_from([LT1, LT2, LC_OLD, None])), draw(st.booleans())) for k in range(n)]


@given(fleets(), st.integers(0, 12), st.lists(st.sampled_from(t.POLICIES), max_size=3), st.integers(0, 99))
def test_victims_are_unprotected_distinct_and_keep_zones_balanced(cands: list[Candidate], n: int,
                                                                  policies: list[str], seed: int) -> None:
    out = t.choose_victims(cands, n, policies, LT2, NOW, random.Random(seed))
    unprotected = [c for c in cands if not c.protected]
    assert len(out) == min(n, len(unprotected)) and len(set(out)) == len(out)
    assert all(not next(c for c in cands if c.instance_id == i).protected for i in out)
    counts = Counter(c.zone for c in cands)
    for victim in out:  # each one came from a zone at least as full as every zone with a candidate left
        zone = next(c.zone for c in cands if c.instance_id == victim)
        left = {c.zone for c in unprotected if c.instance_id not in out[:out.index(victim)]}
        assert counts[zone] == max(counts[z] for z in left)
        counts[zone] -= 1


# -- group reconciliation ------------------------------------------------------------------------

ZONES = ("a", "b", "c")


def member(iid: str, zone: str, state: str = "InService", **kw: object) -> gr.Member:
    return gr.Member(iid, zone, state, **kw)  # type: ignore[arg-type]


def test_launches_spread_over_the_emptiest_zones() -> None:
    plan = gr.decide(gr.GroupSpec(5, 10, ZONES), [member("i-1", "a")], NOW)
    assert [launch.zone for launch in plan.launches] == ["b", "c", "a", "b"]


def test_unhealthy_members_are_replaced() -> None:
    plan = gr.decide(gr.GroupSpec(2, 4, ZONES), [member("i-1", "a", healthy=False), member("i-2", "b")], NOW)
    assert plan.removals == (gr.Removal("i-1", gr.Why.UNHEALTHY),)
    assert [launch.zone for launch in plan.launches] == ["a"]


@pytest.mark.parametrize(("suspended", "removed", "launched"), [
    (frozenset(), 1, 1),
    (frozenset({"ReplaceUnhealthy"}), 0, 0),
    (frozenset({"Launch"}), 1, 0),
    (frozenset({"Terminate"}), 0, 0),
])
def test_suspended_processes(suspended: frozenset[str], removed: int, launched: int) -> None:
    plan = gr.decide(gr.GroupSpec(2, 4, ZONES, suspended), [member("i-1", "a", healthy=False),
                                                           member("i-2", "b")], NOW)
    assert (len(plan.removals), len(plan.launches)) == (removed, launched)


def test_scale_in_chooses_by_policy_and_spares_the_protected() -> None:
    members = [member("i-1", "a", protected=True), member("i-2", "a", launched_at=NOW - 10),
               member("i-3", "b", launched_at=NOW - 900)]
    plan = gr.decide(gr.GroupSpec(1, 4, ZONES, termination_policies=("OldestInstance",)), members, NOW)
    assert {r.instance_id for r in plan.removals} == {"i-2", "i-3"}
    plan = gr.decide(gr.GroupSpec(0, 4, ZONES), [member("i-1", "a", protected=True)], NOW)
    assert plan.empty


def test_zone_rebalancing_launches_first_then_takes_from_the_busiest_zone() -> None:
    members = [member("i-1", "a"), member("i-2", "a"), member("i-3", "a")]
    plan = gr.decide(gr.GroupSpec(3, 3, ("a", "b")), members, NOW)
    assert plan.launches == (gr.Launch("b", gr.Why.REBALANCE),) and not plan.removals
    pending = [*members, member("i-4", "b", "Pending", launched_for="rebalance")]
    assert gr.decide(gr.GroupSpec(3, 3, ("a", "b")), pending, NOW).empty  # waits for it to serve
    served = [*members, member("i-4", "b", launched_for="rebalance")]
    plan = gr.decide(gr.GroupSpec(3, 3, ("a", "b")), served, NOW)
    assert len(plan.removals) == 1 and plan.removals[0].instance_id.startswith("i-") and \
        plan.removals[0].instance_id != "i-4"


def test_no_rebalancing_when_only_protected_instances_could_move() -> None:
    members = [member(f"i-{k}", "a", protected=True) for k in range(3)]
    assert gr.decide(gr.GroupSpec(3, 3, ("a", "b")), members, NOW).empty


def test_members_in_a_zone_the_group_left_go_first() -> None:
    members = [member("i-1", "a"), member("i-2", "z")]
    plan = gr.decide(gr.GroupSpec(1, 3, ("a", "b")), members, NOW)
    assert plan.removals == (gr.Removal("i-2", gr.Why.CAPACITY),)
