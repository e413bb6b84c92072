"""Placement: filters with recorded reasons, strategies as ordered tie-breakers, memberOf."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.ecs.placement import (
    Constraint,
    ExpressionError,
    InstanceView,
    Strategy,
    TaskNeed,
    evaluate,
    place_tasks,
    rank_instances,
)


def inst(i: str, cpu: int = 1024, mem: int = 2048, az: str = "a", itype: str = "t3.micro", groups: tuple = ()) -> InstanceView:
    return InstanceView(
        id=i,
        ec2_instance_id=f"i-{i}",
        attributes=(("ecs.availability-zone", f"us-east-1{az}"), ("ecs.instance-type", itype)),
        remaining_cpu=cpu,
        remaining_memory=mem,
        groups=groups,
    )


NEED = TaskNeed(cpu=256, memory=512, group="service:web")


def test_binpack_memory_fills_tightest_first() -> None:
    pool = [inst("a", mem=4096), inst("b", mem=1024), inst("c", mem=2048)]
    out = place_tasks(pool, NEED, 3, [Strategy("binpack", "memory")])
    assert out.instance_ids == ("b", "b", "c")


def test_spread_by_zone_then_binpack_breaks_ties() -> None:
    pool = [inst("a", az="a", mem=4096), inst("b", az="a", mem=1024), inst("c", az="b", mem=8192), inst("d", az="b", mem=2048)]
    out = place_tasks(pool, NEED, 4, [Strategy("spread", "attribute:ecs.availability-zone"), Strategy("binpack", "memory")])
    assert out.instance_ids == ("b", "d", "b", "d")


def test_spread_instance_id_round_robins() -> None:
    pool = [inst("a"), inst("b"), inst("c")]
    out = place_tasks(pool, NEED, 4, [Strategy("spread", "instanceId")])
    assert sorted(out.instance_ids[:3]) == ["a", "b", "c"] and len(out.instance_ids) == 4


def test_random_is_seeded() -> None:
    pool = [inst(x) for x in "abcdef"]
    a = place_tasks(pool, NEED, 3, [Strategy("random")], seed=7)
    b = place_tasks(pool, NEED, 3, [Strategy("random")], seed=7)
    assert a == b


def test_rejections_record_reasons() -> None:
    pool = [inst("a", cpu=100), inst("b", mem=100), inst("c", itype="m5.large"), inst("d", groups=("service:web",))]
    out = place_tasks(
        pool,
        NEED,
        1,
        constraints=[Constraint("memberOf", "attribute:ecs.instance-type =~ t3.*"), Constraint("distinctInstance")],
    )
    assert out.instance_ids == () and out.unplaced == 1
    assert dict(out.rejections) == {"a": "RESOURCE:CPU", "b": "RESOURCE:MEMORY", "c": "ATTRIBUTE", "d": "DistinctInstance"}


def test_distinct_instance_across_placements() -> None:
    out = place_tasks([inst("a"), inst("b")], NEED, 3, constraints=[Constraint("distinctInstance")])
    assert sorted(out.instance_ids) == ["a", "b"] and out.unplaced == 1


def test_ports_conflict() -> None:
    need = TaskNeed(cpu=0, memory=0, host_ports=frozenset({80}))
    out = place_tasks([inst("a")], need, 2)
    assert out.instance_ids == ("a",) and out.rejections == (("a", "RESOURCE:PORTS"),)


@pytest.mark.parametrize(
    "expr,ok",
    [
        ("attribute:ecs.instance-type == t3.micro", True),
        ("attribute:ecs.instance-type != t3.micro", False),
        ("attribute:ecs.instance-type in [t2.micro, t3.micro]", True),
        ("attribute:ecs.instance-type not_in [t2.micro, t3.micro]", False),
        ("attribute:ecs.instance-type =~ t3.*", True),
        ("attribute:custom exists", False),
        ("attribute:custom !exists", True),
        ("attribute:ecs.availability-zone == us-east-1b or attribute:ecs.instance-type == t3.micro", True),
        ("attribute:ecs.availability-zone == us-east-1b and attribute:ecs.instance-type == t3.micro", False),
        ("ec2InstanceId in [i-a, i-z]", True),
    ],
)
def test_member_of(expr: str, ok: bool) -> None:
    assert evaluate(expr, inst("a")) is ok


def test_member_of_rejects_garbage() -> None:
    with pytest.raises(ExpressionError):
        evaluate("task:group == x", inst("a"))


@given(mems=st.lists(st.integers(600, 5000), min_size=1, max_size=6), n=st.integers(1, 6))
def test_binpack_never_overcommits(mems: list[int], n: int) -> None:
    pool = [inst(f"i{k}", cpu=10_000, mem=m) for k, m in enumerate(mems)]
    out = place_tasks(pool, NEED, n, [Strategy("binpack", "memory")])
    for k, m in enumerate(mems):
        assert out.instance_ids.count(f"i{k}") * NEED.memory <= m
    assert len(out.instance_ids) + out.unplaced == n


def test_strategies_are_lexicographic_not_averaged() -> None:
    # spread decides first; binpack only among the zone with fewest tasks
    pool = [inst("a", az="a", mem=600, groups=("service:web",)), inst("b", az="b", mem=9000)]
    ranked = rank_instances(pool, NEED, [Strategy("spread", "attribute:ecs.availability-zone"), Strategy("binpack", "memory")], random.Random(0))
    assert [i.id for i in ranked] == ["b", "a"]
