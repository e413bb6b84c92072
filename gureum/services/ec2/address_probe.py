"""Leasing an instance's private IP that is really free on this host.

The address allocator (:mod:`gureum.runtime.addresses`) knows the leases of
*this* data dir only.  Another Gureum on the same machine (a second data
dir, a test server) hands out the same loopback range, and a program left
behind may still listen there; the instance's container would then fail to
publish its ports.  So before an address is given to an instance, each of
its published ports is test-bound on it; an address with a port in use is
kept out of the allocator's way with a lease owned by :data:`BUSY_OWNER`
(the allocator's documented store format) and the next one is tried.
Busy marks older than :data:`BUSY_TTL` seconds are dropped, so an address
comes back once its squatter has gone.

The engine may still refuse a port another Gureum's container holds (Docker
keeps its own table of published ports, and a stopped instance's address
looks free here); the instance controller then marks the address busy and
gives the instance a new one (:func:`mark_busy`, :func:`lease`).

A port that is busy on the range's first host (``.1``, never handed out)
too is held by a wildcard listener: it is busy on every address, so it is
not counted (the instance still launches; that port will not publish).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable

from gureum.core.store import GLOBAL
from gureum.runtime.addresses import KIND, AddressAllocator, AddressesExhausted

BUSY_OWNER = "ec2:in-use-outside-this-data-dir"
BUSY_TTL = 300.0


def port_in_use(ip: str, port: int) -> bool:
    """Whether something listens on ``ip:port`` (only EADDRINUSE says so)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def busy_ports(ip: str, ports: Iterable[int], wildcard_busy: set[int]) -> list[int]:
    return [p for p in ports if p not in wildcard_busy and port_in_use(ip, p)]


def mark_busy(allocator: AddressAllocator, ip: str, now: float) -> None:
    """Keep ``ip`` out of the allocator's way for :data:`BUSY_TTL` seconds (replaces its lease)."""
    allocator.store.put(KIND, GLOBAL, ip, {"owner": BUSY_OWNER, "since": now})


def _forget_old_marks(allocator: AddressAllocator, now: float) -> None:
    for ip, doc in allocator.store.list(KIND, GLOBAL):
        if doc.get("owner") == BUSY_OWNER and now - float(doc.get("since") or 0) > BUSY_TTL:
            allocator.store.delete(KIND, GLOBAL, ip)


def lease(allocator: AddressAllocator, owner: str, ports: Iterable[int], now: float) -> str:
    """An address for ``owner`` whose ``ports`` are free on this host (AddressesExhausted if none)."""
    wanted = tuple(ports)
    first_host = str(ipaddress.ip_network(allocator.network, strict=False).network_address + 1)
    wildcard = {p for p in wanted if port_in_use(first_host, p)}
    _forget_old_marks(allocator, now)
    for _ in range(len(allocator.leases()) + 256):
        ip = allocator.allocate(owner)
        if not busy_ports(ip, wanted, wildcard):
            return ip
        mark_busy(allocator, ip, now)
    raise AddressesExhausted(f"no free address left in {allocator.network}")
