"""Private IPs for instances and awsvpc tasks, from a loopback range.

Linux routes all of 127.0.0.0/8 to ``lo``, so every address in the default
range 127.0.1.0/24 is reachable from this machine with no set-up, and a
container's ports published on its own address never clash with another's:
two tasks can both serve port 80.

Rules:

* :func:`pick_address` is pure: given the range, the addresses in use and
  where the last search ended, it returns the next free one.  The network
  and broadcast addresses and the first host (``.1``, the "gateway", as in
  a VPC subnet) are never handed out.
* :class:`AddressAllocator` keeps the leases in the store (kind
  ``runtime.address``, global scope, key = the IP), so a restarted server
  never hands out an address still in use.  A lease is claimed with
  ``Store.insert`` (create-if-absent), so two allocations never get the
  same IP.  The search goes round the range from the last one handed out,
  so a freed address is not reused at once (stale connections to it die
  first).
* ``allocate(owner)`` is idempotent per owner: asking again returns the
  owner's existing lease.
* Leases are machine-wide too: each is also a file in a lease directory
  every Gureum on this machine shares (:mod:`address_leases`), so two data
  dirs never hand out the same address, with no server to coordinate them.
  A lease is taken in the store and in the directory inside one store
  transaction and under the directory's lock; the store stays the truth for
  this data dir's own leases (a file of ours it does not list is stale and
  removed by the next allocation or release).
* The first allocator of a data dir in a process re-adopts the store's
  leases in the directory, so a restarted Gureum keeps its addresses.  If a
  live Gureum of another data dir took one meanwhile (the directory was
  emptied at boot), ``allocate(owner)`` moves that owner to a new address
  and logs it; ``lookup`` still answers from the store until then.
* A store without a file (``:memory:``, in tests) leases privately unless
  given a ``lease_dir``: it has no data dir another Gureum could collide with.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gureum.core.store import GLOBAL, Store
from gureum.runtime.address_leases import (
    Holder,
    MachineLeases,
    Survey,
    default_lease_dir,
    process_started,
)

DEFAULT_RANGE = "127.0.1.0/24"
KIND = "runtime.address"
CURSOR_KIND = "runtime.address-cursor"

log = logging.getLogger("gureum.runtime")


class AddressesExhausted(Exception):
    """Every address of the range is leased."""


def usable_hosts(network: str) -> list[str]:
    net = ipaddress.ip_network(network, strict=False)
    if net.num_addresses < 4:
        raise ValueError(f"range {network} is too small")
    skip = {net.network_address, net.network_address + 1, net.broadcast_address}
    return [str(a) for a in net if a not in skip]


def pick_address(hosts: list[str], used: Iterable[str], after: str | None) -> str | None:
    """The first host not in ``used``, searching round from just after ``after``."""
    taken = set(used)
    start = hosts.index(after) + 1 if after in hosts else 0
    for i in range(len(hosts)):
        candidate = hosts[(start + i) % len(hosts)]
        if candidate not in taken:
            return candidate
    return None


class AddressAllocator:
    def __init__(self, store: Store, network: str = DEFAULT_RANGE, *, lease_dir: str | Path | None = None) -> None:
        self.store = store
        self.network = network
        self._hosts = usable_hosts(network)
        self._machine = _machine_leases(store, lease_dir)
        if self._machine is not None and _first_use(self._machine):
            self._adopt()

    def _leases(self) -> list[tuple[str, dict[str, object]]]:
        in_range = set(self._hosts)
        return [(ip, doc) for ip, doc in self.store.list(KIND, GLOBAL) if ip in in_range]

    @contextmanager
    def _survey(self, ours: Iterable[str]) -> Iterator[Survey]:
        if self._machine is None:
            yield Survey(None, {}, {})
            return
        with self._machine.survey(set(ours)) as survey:
            yield survey

    def _adopt(self) -> None:
        """Name this process in the directory for every lease of the store (after a restart)."""
        with self.store.transaction():
            everything = self.store.list(KIND, GLOBAL)
            with self._survey(ip for ip, _ in everything) as machine:
                for ip, doc in everything:
                    if not machine.take(ip, str(doc.get("owner", ""))):
                        log.warning(
                            "%s, leased to %s, is held by another Gureum on this machine; "
                            "its owner gets a new address when it next asks", ip, doc.get("owner"),
                        )

    def lookup(self, owner: str) -> str | None:
        for ip, doc in self._leases():
            if doc.get("owner") == owner:
                return ip
        return None

    def owner_of(self, ip: str) -> str | None:
        doc = self.store.get(KIND, GLOBAL, ip)
        return None if doc is None else str(doc.get("owner", ""))

    def allocate(self, owner: str) -> str:
        """Lease an address to ``owner`` (an ARN) or return its current one."""
        with self.store.transaction():
            everything = self.store.list(KIND, GLOBAL)
            ours = {ip for ip, _ in everything}
            in_range = set(self._hosts)
            with self._survey(ours) as machine:
                for ip, doc in everything:
                    if ip in in_range and doc.get("owner") == owner:
                        if machine.take(ip, owner):
                            return ip
                        log.warning("%s is held by another Gureum on this machine: %s moves to a new address", ip, owner)
                        self.store.delete(KIND, GLOBAL, ip)
                        ours.discard(ip)
                        break
                picked = self._pick(machine, ours, owner)
                if not self.store.insert(KIND, GLOBAL, picked, {"owner": owner}):
                    raise AddressesExhausted(f"no free address left in {self.network}")
                self.store.put(CURSOR_KIND, GLOBAL, self.network, {"last": picked})
                return picked

    def _pick(self, machine: Survey, ours: set[str], owner: str) -> str:
        """A free address, taken in the directory; else the oldest one a gone Gureum left."""
        cursor = self.store.get(CURSOR_KIND, GLOBAL, self.network) or {}
        used = ours | machine.blocked()
        while (picked := pick_address(self._hosts, used, cursor.get("last"))) is not None:
            if machine.take(picked, owner):
                return picked
            used.add(picked)
        for picked in machine.dormant_oldest_first(set(self._hosts) - ours):
            if machine.take(picked, owner):
                log.info("%s gets %s, left by a Gureum that has stopped (nothing else is free)", owner, picked)
                return picked
        raise AddressesExhausted(f"no free address left in {self.network}")

    def release(self, ip: str) -> bool:
        with self.store.transaction():
            gone = self.store.delete(KIND, GLOBAL, ip)
            self._sweep()
        return gone

    def release_owner(self, owner: str) -> list[str]:
        freed = []
        with self.store.transaction():
            for ip, doc in self._leases():
                if doc.get("owner") == owner:
                    self.store.delete(KIND, GLOBAL, ip)
                    freed.append(ip)
            if freed:
                self._sweep()
        return freed

    def _sweep(self) -> None:
        """Remove the directory's files of addresses the store no longer leases (inside a transaction)."""
        if self._machine is not None:
            with self._survey(ip for ip, _ in self.store.list(KIND, GLOBAL)):
                pass  # a survey removes stale leases

    def leases(self) -> dict[str, str]:
        """Every lease of the range: ip → owner."""
        return {ip: str(doc.get("owner", "")) for ip, doc in self._leases()}


_machines: dict[tuple[str, str, int], MachineLeases] = {}
_machines_lock = threading.Lock()


def _machine_leases(store: Store, lease_dir: str | Path | None) -> MachineLeases | None:
    """The lease directory as this store's data dir sees it (None: lease privately)."""
    path = getattr(store, "path", None)
    on_disk = bool(path) and path != ":memory:" and not str(path).startswith("file:")
    if lease_dir is None and not on_disk:
        return None
    directory = Path(lease_dir) if lease_dir is not None else default_lease_dir()
    pid = os.getpid()
    if on_disk:
        resolved: str | None = str(Path(str(path)).resolve())
        ident = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    else:
        resolved, ident = None, f"memory-{pid}-{id(store):x}"
    key = (str(directory), ident, pid)
    with _machines_lock:
        machine = _machines.get(key)
        if machine is None:
            holder = Holder(ident, resolved, pid, process_started(pid) or 0.0)
            machine = _machines[key] = MachineLeases(directory, holder)
        return machine


def _first_use(machine: MachineLeases) -> bool:
    with _machines_lock:
        first, machine.adopted = not machine.adopted, True
        return first
