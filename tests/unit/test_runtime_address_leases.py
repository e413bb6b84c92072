"""Machine-wide address leases: two data dirs never share an address, in one process or two.

Every test uses its own lease directory (``lease_dir=``), so a Gureum
running on this machine at the same time cannot change what it sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gureum.core.store import SqliteStore
from gureum.runtime import address_leases
from gureum.runtime.address_leases import Holder, Lease, Verdict, judge
from gureum.runtime.addresses import AddressAllocator, AddressesExhausted

RANGE = "127.0.9.0/28"  # 13 usable hosts: .2 … .14
SMALL = "127.0.9.0/29"  # 5 usable hosts: .2 … .6


def _alloc(tmp_path: Path, name: str, network: str = RANGE) -> AddressAllocator:
    return AddressAllocator(SqliteStore(tmp_path / name / "gureum.db"), network, lease_dir=tmp_path / "leases")


def _files(tmp_path: Path) -> dict[str, dict]:
    leases = tmp_path / "leases"
    return {p.name: json.loads(p.read_text()) for p in leases.iterdir() if not p.name.startswith(".")}


_CHILD = textwrap.dedent(
    """
    import sys
    from gureum.core.store import SqliteStore
    from gureum.runtime.addresses import AddressAllocator
    db, leases, network, count, prefix = sys.argv[1:6]
    alloc = AddressAllocator(SqliteStore(db), network, lease_dir=leases)
    print(" ".join(alloc.allocate(f"{prefix}-{i}") for i in range(int(count))), flush=True)
    """
)


def _child(tmp_path: Path, name: str, count: int, network: str = RANGE) -> subprocess.Popen[str]:
    """Another Gureum process leasing ``count`` addresses for data dir ``name``, then exiting."""
    args = [str(tmp_path / name / "gureum.db"), str(tmp_path / "leases"), network, str(count), name]
    (tmp_path / name).mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-c", _CHILD, *args], stdout=subprocess.PIPE, text=True)


def _ips(proc: subprocess.Popen[str]) -> list[str]:
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    return out.split()


@pytest.mark.parametrize(
    ("holder", "in_store", "alive", "store_exists", "expected"),
    [
        ("me", True, False, False, Verdict.OURS),
        ("me", False, True, True, Verdict.STALE),  # released, or our store was reset
        ("other", False, True, True, Verdict.TAKEN),
        ("other", True, True, True, Verdict.TAKEN),  # a live Gureum keeps what it holds
        ("other", False, False, True, Verdict.DORMANT),  # it may come back for it
        ("other", True, False, True, Verdict.STALE),  # both claim it: the live one wins
        ("other", False, False, False, Verdict.STALE),  # its data dir is gone
    ],
)
def test_judge(holder: str, in_store: bool, alive: bool, store_exists: bool, expected: Verdict) -> None:
    lease = Lease("127.0.9.2", Holder(holder, "/x/gureum.db", 1, 0.0), "arn:o", 0.0)
    assert judge(lease, "me", in_store, alive, store_exists) is expected


def test_two_data_dirs_in_one_process_never_share_an_address(tmp_path: Path) -> None:
    a, b = _alloc(tmp_path, "a"), _alloc(tmp_path, "b")
    got_a = [a.allocate(f"a-{i}") for i in range(6)]
    got_b = [b.allocate(f"b-{i}") for i in range(7)]
    assert len(set(got_a + got_b)) == 13
    with pytest.raises(AddressesExhausted):
        a.allocate("one-too-many")  # b's process is alive: nothing of b's is handed out
    files = _files(tmp_path)
    assert {ip for ip, f in files.items() if f["owner"].startswith("b-")} == set(got_b)
    assert all(f["pid"] == os.getpid() for f in files.values())
    assert b.release(got_b[0]) and got_b[0] not in _files(tmp_path)
    assert a.allocate("one-too-many") == got_b[0]


def test_two_processes_at_once_never_share_an_address(tmp_path: Path) -> None:
    children = [_child(tmp_path, name, 4) for name in ("b", "c", "d")]
    a = _alloc(tmp_path, "a")
    mine = a.allocate("a-0")
    theirs = [ip for proc in children for ip in _ips(proc)]
    assert len(set([mine, *theirs])) == 13  # the whole range, each address once


def test_a_gone_gureum_keeps_its_addresses_while_its_data_dir_exists(tmp_path: Path) -> None:
    gone = _ips(_child(tmp_path, "b", 3, SMALL))  # leases .2 .3 .4, then its process exits
    a = _alloc(tmp_path, "a", SMALL)
    assert [a.allocate("a-0"), a.allocate("a-1")] == ["127.0.9.5", "127.0.9.6"]
    # Nothing else free: the oldest lease of the gone Gureum is handed out.
    assert a.allocate("a-2") == gone[0]
    files = _files(tmp_path)
    assert files[gone[0]]["pid"] == os.getpid() and files[gone[1]]["pid"] != os.getpid()


def test_the_leases_of_a_deleted_data_dir_are_reclaimed(tmp_path: Path) -> None:
    gone = _ips(_child(tmp_path, "b", 5, SMALL))
    (tmp_path / "b" / "gureum.db").unlink()
    a = _alloc(tmp_path, "a", SMALL)
    assert sorted(a.allocate(f"a-{i}") for i in range(5)) == sorted(gone)
    assert all(f["owner"].startswith("a-") for f in _files(tmp_path).values())


def test_a_reused_pid_does_not_keep_a_lease(tmp_path: Path) -> None:
    """A lease file naming this very pid but another start time: that process is gone."""
    leases = tmp_path / "leases"
    leases.mkdir()
    doc = {"holder": "x", "path": None, "owner": "o", "pid": os.getpid(), "started": 12.0}
    (leases / "127.0.9.2").write_text(json.dumps(doc))
    assert _alloc(tmp_path, "a", SMALL).allocate("a") == "127.0.9.2"


def test_a_restart_keeps_its_addresses_and_names_the_new_process(tmp_path: Path) -> None:
    before = _ips(_child(tmp_path, "a", 3))  # the first life of data dir a
    other = _alloc(tmp_path, "b")
    assert other.allocate("b-0") not in before  # a is gone but may come back
    again = _alloc(tmp_path, "a")  # a restarted: in this process now
    assert [again.allocate(f"a-{i}") for i in range(3)] == before
    files = _files(tmp_path)
    assert all(files[ip]["pid"] == os.getpid() for ip in before)  # adopted: alive again
    assert again.allocate("a-3") not in before + [other.lookup("b-0")]


def test_a_live_gureum_that_took_an_address_keeps_it_and_the_owner_moves(tmp_path: Path) -> None:
    first = _ips(_child(tmp_path, "a", 1, SMALL))[0]
    for f in (tmp_path / "leases").iterdir():
        f.unlink()  # the directory was emptied (a reboot clears /run)
    b = _alloc(tmp_path, "b", SMALL)
    assert b.allocate("b-0") == first  # free as far as the directory knows
    a = _alloc(tmp_path, "a", SMALL)  # a comes back: its store says first is a-0's
    assert a.lookup("a-0") == first
    moved = a.allocate("a-0")
    assert moved != first and a.lookup("a-0") == moved and b.lookup("b-0") == first


def test_a_reset_store_gives_its_addresses_back(tmp_path: Path) -> None:
    a, b = _alloc(tmp_path, "a", SMALL), _alloc(tmp_path, "b", SMALL)
    held = {a.allocate(f"a-{i}") for i in range(5)}
    a.store.reset()
    assert a.allocate("after-reset") in held  # sweeps the files its store no longer lists
    assert len({b.allocate(f"b-{i}") for i in range(4)} & held) == 4


def test_release_owner_removes_the_file(tmp_path: Path) -> None:
    a = _alloc(tmp_path, "a")
    ip = a.allocate("x")
    assert ip in _files(tmp_path)
    assert a.release_owner("x") == [ip] and ip not in _files(tmp_path)


def test_in_memory_stores_lease_privately_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(address_leases.LEASE_DIR_ENV, str(tmp_path / "leases"))
    one = AddressAllocator(SqliteStore(":memory:"), SMALL)
    two = AddressAllocator(SqliteStore(":memory:"), SMALL)
    assert one.allocate("x") == two.allocate("y") == "127.0.9.2"
    assert not (tmp_path / "leases").exists()
    on_disk = AddressAllocator(SqliteStore(tmp_path / "d" / "gureum.db"), SMALL)  # the default directory
    assert on_disk.allocate("z") == "127.0.9.2" and (tmp_path / "leases" / "127.0.9.2").is_file()


def test_an_unusable_directory_leaves_the_store_alone_in_charge(tmp_path: Path) -> None:
    (tmp_path / "leases").write_text("not a directory")
    a = _alloc(tmp_path, "a", SMALL)
    assert [a.allocate("x"), a.allocate("y")] == ["127.0.9.2", "127.0.9.3"]


def test_default_lease_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(address_leases.LEASE_DIR_ENV, str(tmp_path))
    assert address_leases.default_lease_dir() == tmp_path
    monkeypatch.delenv(address_leases.LEASE_DIR_ENV)
    expected = address_leases.RUN_DIR if os.access("/run", os.W_OK) else address_leases.TMP_DIR
    assert address_leases.default_lease_dir() == expected
