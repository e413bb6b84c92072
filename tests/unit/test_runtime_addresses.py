"""The loopback address allocator: pure picking, and leases kept in the real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.core.store import SqliteStore
from gureum.runtime.addresses import (
    AddressAllocator,
    AddressesExhausted,
    pick_address,
    usable_hosts,
)


def test_usable_hosts_skip_network_gateway_and_broadcast() -> None:
    hosts = usable_hosts("127.0.1.0/24")
    assert hosts[0] == "127.0.1.2" and hosts[-1] == "127.0.1.254" and len(hosts) == 253
    assert usable_hosts("127.0.9.0/29") == [f"127.0.9.{i}" for i in range(2, 7)]
    with pytest.raises(ValueError):
        usable_hosts("127.0.9.0/31")


@pytest.mark.parametrize(
    ("used", "after", "expected"),
    [
        ([], None, "10.0.0.2"),
        (["10.0.0.2"], None, "10.0.0.3"),
        ([], "10.0.0.3", "10.0.0.4"),
        ([], "10.0.0.6", "10.0.0.2"),  # wraps round
        (["10.0.0.2", "10.0.0.3"], "10.0.0.6", "10.0.0.4"),
        (["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"], None, None),
    ],
)
def test_pick_address(used: list[str], after: str | None, expected: str | None) -> None:
    assert pick_address(usable_hosts("10.0.0.0/29"), used, after) == expected


def test_allocate_is_unique_idempotent_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "gureum.db"
    store = SqliteStore(path)
    leases = tmp_path / "leases"  # not the machine's: another Gureum may be running here
    alloc = AddressAllocator(store, lease_dir=leases)
    a = alloc.allocate("arn:aws:ecs:us-east-1:000000000000:task/c/a")
    b = alloc.allocate("arn:aws:ecs:us-east-1:000000000000:task/c/b")
    assert a == "127.0.1.2" and b == "127.0.1.3"
    assert alloc.allocate("arn:aws:ecs:us-east-1:000000000000:task/c/a") == a
    store.close()

    again = AddressAllocator(SqliteStore(path), lease_dir=leases)  # a restarted server
    assert again.leases() == {a: "arn:aws:ecs:us-east-1:000000000000:task/c/a", b: "arn:aws:ecs:us-east-1:000000000000:task/c/b"}
    c = again.allocate("arn:c")
    assert c not in (a, b)
    assert again.lookup("arn:aws:ecs:us-east-1:000000000000:task/c/b") == b
    assert again.owner_of(c) == "arn:c"


def test_a_released_address_is_not_reused_at_once() -> None:
    alloc = AddressAllocator(SqliteStore(":memory:"), "127.0.9.0/29")
    first = alloc.allocate("one")
    assert alloc.release(first)
    assert alloc.allocate("two") != first
    assert alloc.release_owner("two") and alloc.leases() == {}


def test_exhausted_range_says_so() -> None:
    alloc = AddressAllocator(SqliteStore(":memory:"), "127.0.9.0/29")
    got = {alloc.allocate(f"owner-{i}") for i in range(5)}
    assert len(got) == 5
    with pytest.raises(AddressesExhausted):
        alloc.allocate("one-too-many")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 7)), max_size=40))
def test_no_address_is_ever_held_by_two_owners(ops: list[tuple[bool, int]]) -> None:
    alloc = AddressAllocator(SqliteStore(":memory:"), "127.0.9.0/28")
    held: dict[str, str] = {}
    for allocate, n in ops:
        owner = f"owner-{n}"
        if allocate:
            ip = alloc.allocate(owner)
            assert held.get(owner, ip) == ip
            assert ip not in {v for k, v in held.items() if k != owner}
            held[owner] = ip
        elif owner in held:
            alloc.release_owner(owner)
            del held[owner]
    assert alloc.leases() == {ip: owner for owner, ip in held.items()}
