"""Machine-wide leases of private IPs: one file per address, shared by every Gureum here.

The allocator (:mod:`gureum.runtime.addresses`) keeps a data dir's leases in
its store.  Two Gureums with two data dirs on one machine (the test suite's
session server and a per-test server, a user's two data dirs) would each
hand out the same loopback addresses, and their containers would then fight
over the ports.  This module is the machine-wide layer under the store: no
server to run, only a directory.

Layout: ``<lease dir>/<ip>`` holds one JSON object ``{"holder", "path",
"owner", "pid", "started"}``: the id of the data dir that leased the address,
the path of its store, the owner (for people reading the directory), and
the pid and start time of the Gureum process holding it.  Every
read-decide-write happens under an exclusive ``flock`` on ``<lease
dir>/.lock`` (released by the kernel if the process dies), and a lease file
is created whole: written to a temporary file, then ``link``\\ ed to its name,
which fails if the name exists (``O_EXCL`` semantics without ever showing
half a file).

Who may use an address whose file exists is :func:`judge` (pure):

=========================  ========================  ===========
holder                     its process               verdict
=========================  ========================  ===========
our data dir, in our store —                         ``OURS``
our data dir, not in it    —                         ``STALE``
another data dir           alive                     ``TAKEN``
another data dir           gone, in our store        ``STALE``
another data dir           gone, its store exists    ``DORMANT``
another data dir           gone, no store left       ``STALE``
=========================  ========================  ===========

Why:

* the store is the truth for our own leases: a file of ours that the store
  no longer lists was released (or the store was reset) and is stale;
* a holder that is gone may come back, and its containers may even still
  run (the process driver's shims and Docker's containers outlive the
  server), so its leases stay reserved while its store exists (``DORMANT``)
  and are handed out only when nothing else is free, oldest first;
* "alive" compares the process's start time too, so a reused pid does not
  count; a store without a file (``:memory:``) dies with its process;
* when both our store and a gone holder claim an address (the lease
  directory was emptied, e.g. ``/run`` at boot, and both leased it since),
  the live one keeps it.

Where: ``$GUREUM_ADDRESS_LEASES``, else ``/run/gureum/addresses`` when it
can be written (a tmpfs, emptied at boot together with the pids it
records), else ``/tmp/gureum-addresses``.  A directory Gureum creates is
world-writable with the sticky bit, like ``/tmp``, so Gureums of several
users share it (one user cannot remove another's stale lease: it then
counts as taken).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import psutil  # type: ignore[import-untyped]

log = logging.getLogger("gureum.runtime")

LEASE_DIR_ENV = "GUREUM_ADDRESS_LEASES"
RUN_DIR = Path("/run/gureum/addresses")
TMP_DIR = Path("/tmp/gureum-addresses")
LOCK = ".lock"
START_TOLERANCE = 1.0  # seconds: psutil's start times are exact to the clock tick


class Verdict(StrEnum):
    OURS = "ours"
    TAKEN = "taken"
    DORMANT = "dormant"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Holder:
    """A data dir (``id``, the ``path`` of its store or None) in one process."""

    id: str
    path: str | None
    pid: int
    started: float


@dataclass(frozen=True, slots=True)
class Lease:
    ip: str
    holder: Holder
    owner: str
    mtime: float


def judge(lease: Lease, me: str, in_our_store: bool, holder_alive: bool, store_exists: bool) -> Verdict:
    """Who may use ``lease``'s address, seen from data dir ``me`` (the table above)."""
    if lease.holder.id == me:
        return Verdict.OURS if in_our_store else Verdict.STALE
    if holder_alive:
        return Verdict.TAKEN
    if in_our_store or not store_exists:
        return Verdict.STALE
    return Verdict.DORMANT


def default_lease_dir() -> Path:
    env = os.environ.get(LEASE_DIR_ENV)
    if env:
        return Path(env)
    for probe in (RUN_DIR, *RUN_DIR.parents):  # the deepest part that exists decides
        if probe.is_dir():
            return RUN_DIR if os.access(probe, os.W_OK | os.X_OK) else TMP_DIR
    return TMP_DIR


def process_started(pid: int) -> float | None:
    """The start time of a live process ``pid``, None when there is none (or a zombie)."""
    if pid <= 0:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return float(proc.create_time())
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:  # exists, but not ours to look at
        return -1.0


class MachineLeases:
    """The lease directory, seen by one data dir; all work happens in :meth:`survey`."""

    def __init__(self, directory: Path, me: Holder) -> None:
        self.directory = directory
        self.me = me
        self.adopted = False  # the allocator re-adopts its store's leases once per process
        self._warned = False

    @contextmanager
    def survey(self, ours: Collection[str]) -> Iterator[Survey]:
        """Lock the directory and judge every lease; stale ones are removed at once.

        ``ours`` is every address our store leases.  When the directory
        cannot be used, the survey is empty and changes nothing (the
        allocator then works as if alone, and says so once in the log).
        """
        try:
            lock_fd: int | None = self._open_lock()
        except OSError as exc:
            self._warn(f"cannot use the address lease directory {self.directory}: {exc}")
            lock_fd = None
        if lock_fd is None:
            yield Survey(None, {}, {})
            return
        try:
            yield self._judged(lock_fd, set(ours))
        finally:
            os.close(lock_fd)  # closing the only descriptor releases the flock

    def _judged(self, lock_fd: int, ours: set[str]) -> Survey:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            leases = self._read_all()
            verdicts = self._judge_all(leases, ours)
        except OSError as exc:
            self._warn(f"cannot read the address lease directory {self.directory}: {exc}")
            return Survey(None, {}, {})
        for ip, verdict in list(verdicts.items()):
            if verdict is Verdict.STALE and self._unlink(ip):
                del verdicts[ip], leases[ip]
        return Survey(self, leases, verdicts)

    def _open_lock(self) -> int:
        if not self.directory.is_dir():
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.directory.mkdir()
                self.directory.chmod(0o1777)  # shared by every user's Gureum, like /tmp
            except FileExistsError:
                pass
        return os.open(self.directory / LOCK, os.O_RDONLY | os.O_CREAT, 0o666)

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("%s; private addresses are leased for this data dir alone", message)

    def _read_all(self) -> dict[str, Lease]:
        out = {}
        for entry in os.scandir(self.directory):
            if entry.name.startswith("."):
                if entry.name.startswith(".tmp-"):  # its writer died before linking it (we hold the lock)
                    self._unlink(entry.name)
                continue
            out[entry.name] = _parse(entry.name, entry.path)
        return out

    def _judge_all(self, leases: dict[str, Lease], ours: set[str]) -> dict[str, Verdict]:
        alive: dict[tuple[int, float], bool] = {}
        exists: dict[str | None, bool] = {None: False}
        out = {}
        for ip, lease in leases.items():
            h = lease.holder
            if (h.pid, h.started) not in alive:
                started = process_started(h.pid)
                alive[h.pid, h.started] = started is not None and (
                    started < 0 or abs(started - h.started) <= START_TOLERANCE
                )
            if h.path not in exists:
                exists[h.path] = os.path.exists(h.path) if h.path else False
            out[ip] = judge(lease, self.me.id, ip in ours, alive[h.pid, h.started], exists[h.path])
        return out

    def _unlink(self, name: str) -> bool:
        try:
            os.unlink(self.directory / name)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True

    def write(self, ip: str, owner: str, replace: bool) -> bool | None:
        """Make ``ip`` ours (call only under the survey's lock).

        False: a lease file appeared (and ``replace`` was not asked for);
        None: the directory refused the write (warned once).
        """
        doc = {"holder": self.me.id, "path": self.me.path, "owner": owner, "pid": self.me.pid, "started": self.me.started}
        tmp = self.directory / f".tmp-{self.me.pid}-{secrets.token_hex(4)}"
        try:
            tmp.write_text(json.dumps(doc, separators=(",", ":")))
            if replace:
                os.replace(tmp, self.directory / ip)
            else:
                os.link(tmp, self.directory / ip)  # fails if the name exists: O_EXCL, whole file
        except FileExistsError:
            return False
        except OSError as exc:  # EACCES, EPERM, EROFS, ENOSPC…: never worth failing an allocation for
            self._warn(f"cannot write the lease of {ip} in {self.directory}: {exc}")
            return None
        finally:
            self._unlink(tmp.name)
        return True


def _parse(ip: str, path: str) -> Lease:
    """A lease file; one that cannot be read belongs to nobody (it will be judged stale)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        mtime = os.stat(path).st_mtime
        holder = Holder(str(doc["holder"]), doc.get("path") or None, int(doc["pid"]), float(doc["started"]))
        return Lease(ip, holder, str(doc.get("owner", "")), mtime)
    except (OSError, ValueError, KeyError, TypeError):
        return Lease(ip, Holder("", None, 0, 0.0), "", 0.0)


@dataclass
class Survey:
    """What the lease directory says, while its lock is held (``machine`` None: no directory)."""

    machine: MachineLeases | None
    leases: dict[str, Lease]
    verdicts: dict[str, Verdict]

    def verdict(self, ip: str) -> Verdict | None:
        """None: no lease file (any more)."""
        return self.verdicts.get(ip)

    def blocked(self) -> set[str]:
        """Addresses another data dir holds or may come back for."""
        return {ip for ip, v in self.verdicts.items() if v in (Verdict.TAKEN, Verdict.DORMANT)}

    def dormant_oldest_first(self, among: Collection[str]) -> list[str]:
        dormant = [ip for ip, v in self.verdicts.items() if v is Verdict.DORMANT and ip in among]
        return sorted(dormant, key=lambda ip: (self.leases[ip].mtime, ip))

    def take(self, ip: str, owner: str) -> bool:
        """Make ``ip`` ours unless a live Gureum of another data dir holds it."""
        if self.machine is None:
            return True
        verdict = self.verdicts.get(ip)
        if verdict is Verdict.TAKEN:
            return False
        me, lease = self.machine.me, self.leases.get(ip)
        if verdict is Verdict.OURS and lease is not None and (lease.holder.pid, lease.holder.started) == (me.pid, me.started):
            return True
        written = self.machine.write(ip, owner, replace=lease is not None)
        if written is False:
            return False
        if written is None:
            # Another user's file we may not replace counts as taken; a directory
            # that refuses every write leaves us alone with our store (warned).
            return lease is None or verdict is Verdict.OURS
        self.verdicts[ip] = Verdict.OURS
        self.leases[ip] = Lease(ip, me, owner, 0.0)
        return True
