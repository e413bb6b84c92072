"""Pure cores of CodeDeploy: traffic plans, in-place batching, instance filters, statuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.codedeploy import lifecycle_status as ls
from gureum.services.codedeploy.deployment_configs import PREDEFINED
from gureum.services.codedeploy.inplace_plan import (
    check_constraints,
    decide_inplace,
    minimum_healthy,
)
from gureum.services.codedeploy.instance_filters import filter_matches, select_instances
from gureum.services.codedeploy.traffic_plan import canary, linear, plan_for, weights

# -- traffic plans of every predefined ECS/Lambda configuration -------------------------------------

EXPECTED = {
    "ECSAllAtOnce": [(0, 100)],
    "ECSCanary10Percent5Minutes": [(0, 10), (299, 10), (300, 100)],
    "ECSCanary10Percent15Minutes": [(0, 10), (899, 10), (900, 100)],
    "ECSLinear10PercentEvery1Minutes": [(0, 10), (59, 10), (60, 20), (120, 30), (539, 90), (540, 100)],
    "ECSLinear10PercentEvery3Minutes": [(0, 10), (180, 20), (1619, 90), (1620, 100)],
    "LambdaAllAtOnce": [(0, 100)],
    "LambdaCanary10Percent5Minutes": [(0, 10), (300, 100)],
    "LambdaCanary10Percent10Minutes": [(599, 10), (600, 100)],
    "LambdaCanary10Percent15Minutes": [(899, 10), (900, 100)],
    "LambdaCanary10Percent30Minutes": [(1799, 10), (1800, 100)],
    "LambdaLinear10PercentEvery1Minute": [(0, 10), (60, 20), (540, 100)],
    "LambdaLinear10PercentEvery2Minutes": [(119, 10), (120, 20), (1080, 100)],
    "LambdaLinear10PercentEvery3Minutes": [(1620, 100), (1619, 90)],
    "LambdaLinear10PercentEvery10Minutes": [(599, 10), (600, 20), (5400, 100)],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_predefined_traffic_plans(name: str) -> None:
    platform, body = PREDEFINED[name]
    plan = plan_for(body["trafficRoutingConfig"])
    for elapsed, pct in EXPECTED[name]:
        assert plan.percent_at(elapsed) == pct, (name, elapsed)
    assert plan.percent_at(plan.duration) == 100
    assert plan.next_change(plan.duration) is None


def test_every_predefined_traffic_config_is_covered() -> None:
    assert {n for n, (p, _) in PREDEFINED.items() if p != "Server"} == set(EXPECTED)


def test_next_change_and_before_start() -> None:
    plan = canary(10, 5)
    assert plan.percent_at(-1) == 0
    assert plan.next_change(0) == 300
    assert plan.next_change(299.5) == pytest.approx(0.5)
    assert linear(30, 2).steps == ((0, 30), (120, 60), (240, 90), (360, 100))
    assert linear(25, 1).steps[-1] == (180, 100)


def test_degenerate_configs_move_all_at_once() -> None:
    assert plan_for(None).steps == ((0, 100),)
    assert plan_for({"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 0, "canaryInterval": 5}}).steps == ((0, 100),)
    assert weights(10) == (90, 10) and weights(130) == (0, 100) and weights(-5) == (100, 0)


@given(st.integers(1, 99), st.integers(1, 60), st.floats(0, 10_000))
def test_linear_never_goes_back_and_ends_at_100(pct: int, minutes: int, t: float) -> None:
    plan = linear(pct, minutes)
    assert 0 < plan.percent_at(t) <= plan.percent_at(t + 60) <= 100
    assert plan.percent_at(plan.duration) == 100


# -- in-place batching --------------------------------------------------------------------------------

ONE = {"type": "MOST_CONCURRENCY", "value": 1}
HALF = {"type": "FLEET_PERCENT", "value": 50}
ALL = {"type": "HOST_COUNT", "value": 0}


@pytest.mark.parametrize(
    ("n", "mhh", "minimum"),
    [
        (9, {"type": "HOST_COUNT", "value": 6}, 6),
        (9, {"type": "FLEET_PERCENT", "value": 40}, 4),  # AWS's own example: 5 at a time
        (3, HALF, 2), (4, HALF, 2), (5, ONE, 4), (1, ONE, 0), (7, ALL, 0),
    ],
)  # fmt: skip
def test_minimum_healthy(n: int, mhh: dict[str, object], minimum: int) -> None:
    assert minimum_healthy(n, mhh) == minimum


def _states(*pairs: str) -> list[tuple[str, str]]:
    return [(f"i-{k}", s) for k, s in enumerate(pairs)]


P, R, S, F = ls.PENDING, ls.IN_PROGRESS, ls.SUCCEEDED, ls.FAILED


@pytest.mark.parametrize(
    ("mhh", "states", "start", "outcome"),
    [
        (ONE, (P, P, P), ("i-0",), None),
        (ONE, (R, P, P), (), None),
        (ONE, (S, P, P), ("i-1",), None),
        (ONE, (F, P, P), (), F),  # the first instance failed: no more may start
        (ONE, (S, S, F), (), S),  # the last one failed: still Succeeded, as AWS documents
        (ONE, (S, S, S), (), S),
        (HALF, (P, P, P, P), ("i-0", "i-1"), None),
        (HALF, (S, R, P, P), ("i-2",), None),
        (HALF, (F, F, P, P), (), F),
        (ALL, (P, P, P), ("i-0", "i-1", "i-2"), None),
        (ALL, (F, F, S), (), S),  # all at once: one success is enough
        (ALL, (F, F, F), (), F),
        ({"type": "HOST_COUNT", "value": 6}, (P,) * 9, ("i-0", "i-1", "i-2"), None),
    ],
)  # fmt: skip
def test_decide_inplace(mhh: dict[str, object], states: tuple[str, ...], start: tuple[str, ...], outcome: str | None) -> None:
    step = decide_inplace(_states(*states), mhh)
    assert step.start == start
    assert step.outcome == outcome


def test_a_failed_deployment_skips_the_pending_instances() -> None:
    step = decide_inplace(_states(F, P, P), ONE)
    assert step.skip == ("i-1", "i-2") and step.error_code == "HEALTH_CONSTRAINTS"


def test_health_constraints_invalid() -> None:
    assert check_constraints(2, {"type": "HOST_COUNT", "value": 2}) is not None
    assert check_constraints(2, {"type": "FLEET_PERCENT", "value": 99}) is not None
    assert check_constraints(1, ONE) is None and check_constraints(3, ALL) is None


@given(st.integers(1, 12), st.sampled_from([ONE, HALF, ALL, {"type": "FLEET_PERCENT", "value": 25}]), st.randoms())
def test_inplace_keeps_the_minimum_healthy(n: int, mhh: dict[str, object], rnd: object) -> None:
    """Simulate a deployment where instances fail at random: never more in flight than allowed, always an end."""
    states = dict(_states(*([P] * n)))
    minimum = minimum_healthy(n, mhh)
    for _ in range(3 * n + 2):
        step = decide_inplace(list(states.items()), mhh)
        for i in step.start:
            states[i] = R
        unhealthy = sum(1 for s in states.values() if s in (R, F))
        assert unhealthy <= max(n - minimum, 1)
        if step.outcome:
            assert all(s != R for s in states.values())
            return
        running = [i for i, s in states.items() if s == R]
        finished = running[0]
        states[finished] = F if rnd.random() < 0.3 else S  # type: ignore[attr-defined]
    raise AssertionError("the deployment never ended")


# -- instance filters ------------------------------------------------------------------------------


def test_tag_filters() -> None:
    tags = {"app": "web", "env": "prod"}
    assert filter_matches(tags, {"Key": "app", "Type": "KEY_ONLY"})
    assert filter_matches(tags, {"Value": "prod", "Type": "VALUE_ONLY"})
    assert filter_matches(tags, {"Key": "app", "Value": "web", "Type": "KEY_AND_VALUE"})
    assert not filter_matches(tags, {"Key": "app", "Value": "api", "Type": "KEY_AND_VALUE"})
    assert filter_matches(tags, {"Key": "env", "Value": "prod"})  # no Type: the members given decide


def _inst(iid: str, state: str, launched: float, **tags: str) -> dict[str, object]:
    return {"InstanceId": iid, "State": {"Name": state}, "LaunchTime": launched, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def test_select_instances() -> None:
    fleet = [
        _inst("i-b", "running", 2, app="web", env="prod"),
        _inst("i-a", "running", 1, app="web", env="test"),
        _inst("i-c", "stopped", 0, app="web", env="prod"),
        _inst("i-d", "running", 3, **{"aws:autoscaling:groupName": "asg1"}),
    ]
    assert select_instances(fleet, {"ec2TagFilters": [{"Key": "app", "Value": "web", "Type": "KEY_AND_VALUE"}]}) == ["i-a", "i-b"]
    tag_set = {"ec2TagSetList": [[{"Key": "app", "Value": "web", "Type": "KEY_AND_VALUE"}], [{"Value": "prod", "Type": "VALUE_ONLY"}]]}
    assert select_instances(fleet, {"ec2TagSet": tag_set}) == ["i-b"]
    assert select_instances(fleet, {"autoScalingGroups": [{"name": "asg1"}]}) == ["i-d"]
    assert select_instances(fleet, {}) == []


# -- statuses ---------------------------------------------------------------------------------------


def test_deployment_transitions() -> None:
    assert ls.can_move(ls.CREATED, ls.IN_PROGRESS) and ls.can_move(ls.IN_PROGRESS, ls.BAKING)
    assert ls.can_move(ls.BAKING, ls.STOPPED) and ls.can_move(ls.READY, ls.IN_PROGRESS)
    assert not ls.can_move(ls.SUCCEEDED, ls.IN_PROGRESS) and not ls.can_move(ls.BAKING, ls.READY)
    assert not ls.can_move(ls.FAILED, ls.SUCCEEDED)


@pytest.mark.parametrize(
    ("events", "status"),
    [((P, P), P), ((S, P), R), ((S, R), R), ((S, "Skipped"), S), (("Skipped", "Skipped"), "Skipped"), ((S, F, "Skipped"), F)],
)
def test_target_status(events: tuple[str, ...], status: str) -> None:
    assert ls.target_status([{"status": e} for e in events]) == status


def test_overview_counts() -> None:
    assert ls.overview([S, S, F, P]) == {"Pending": 1, "InProgress": 0, "Succeeded": 2, "Failed": 1, "Skipped": 0, "Ready": 0}
