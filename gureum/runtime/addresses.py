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
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from gureum.core.store import GLOBAL, Store

DEFAULT_RANGE = "127.0.1.0/24"
KIND = "runtime.address"
CURSOR_KIND = "runtime.address-cursor"


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
    def __init__(self, store: Store, network: str = DEFAULT_RANGE) -> None:
        self.store = store
        self.network = network
        self._hosts = usable_hosts(network)

    def _leases(self) -> list[tuple[str, dict[str, object]]]:
        in_range = set(self._hosts)
        return [(ip, doc) for ip, doc in self.store.list(KIND, GLOBAL) if ip in in_range]

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
            leases = self._leases()
            for ip, doc in leases:
                if doc.get("owner") == owner:
                    return ip
            cursor = self.store.get(CURSOR_KIND, GLOBAL, self.network) or {}
            picked = pick_address(self._hosts, (ip for ip, _ in leases), cursor.get("last"))
            if picked is None or not self.store.insert(KIND, GLOBAL, picked, {"owner": owner}):
                raise AddressesExhausted(f"no free address left in {self.network}")
            self.store.put(CURSOR_KIND, GLOBAL, self.network, {"last": picked})
            return picked

    def release(self, ip: str) -> bool:
        return self.store.delete(KIND, GLOBAL, ip)

    def release_owner(self, owner: str) -> list[str]:
        freed = []
        with self.store.transaction():
            for ip, doc in self._leases():
                if doc.get("owner") == owner:
                    self.store.delete(KIND, GLOBAL, ip)
                    freed.append(ip)
        return freed

    def leases(self) -> dict[str, str]:
        """Every lease of the range: ip → owner."""
        return {ip: str(doc.get("owner", "")) for ip, doc in self._leases()}
