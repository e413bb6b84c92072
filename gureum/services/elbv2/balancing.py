"""Choosing a target (and, for weighted forwards, a target group).

Pure: no I/O, no clock (``now`` comes in), no randomness (the caller keeps
the round-robin state).  The proxy calls these on every request.

* **Round robin** is *smooth weighted round robin* (each pick adds every
  candidate's weight to its credit, takes the highest credit and charges it
  the total): with equal weights it is plain rotation; with weights it
  spreads picks evenly instead of in bursts, so a 90/10 split is exact over
  any 10 requests.  The same picker chooses between the target groups of a
  weighted forward action.
* **Least outstanding requests** picks the candidate with the fewest requests
  in flight, ties broken by the round-robin order.
* **Slow start** (``slow_start.duration_seconds``): a target that became
  healthy less than ``duration`` ago gets a share that ramps linearly from
  ``SLOW_START_FLOOR`` to its full weight.  It leaves slow start when the
  window ends.  Targets healthy when slow start was enabled never enter it
  (the caller passes no ``healthy_since`` for them).
* **Stickiness**: a cookie names the target (``AWSALB`` for lb_cookie,
  ``AWSALBAPP-0`` for app_cookie) or the group (``AWSALBTG`` for group
  stickiness); it is honoured only while that target is a candidate.  The
  values are opaque to clients: URL-safe base64 of what they name.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SLOW_START_FLOOR = 0.1  # a target in slow start gets at least 10 % of its share
LB_COOKIE = "AWSALB"
LB_COOKIE_CORS = "AWSALBCORS"
APP_COOKIE = "AWSALBAPP-0"
GROUP_COOKIE = "AWSALBTG"
GROUP_COOKIE_CORS = "AWSALBTGCORS"


@dataclass
class RoundRobin:
    """Credits of smooth weighted round robin, keyed by candidate."""

    credit: dict[str, float] = field(default_factory=dict)

    def pick(self, weights: Mapping[str, float]) -> str | None:
        live = {k: w for k, w in weights.items() if w > 0}
        if not live:
            return None
        total = 0.0
        best: str | None = None
        for key in sorted(live):
            w = live[key]
            total += w
            c = self.credit.get(key, 0.0) + w
            self.credit[key] = c
            if best is None or c > self.credit[best]:
                best = key
        assert best is not None
        self.credit[best] -= total
        for gone in [k for k in self.credit if k not in live]:
            del self.credit[gone]
        return best


def slow_start_weight(now: float, healthy_since: float | None, duration: float) -> float:
    """A target's weight (0.1…1) while it ramps up after becoming healthy."""
    if duration <= 0 or healthy_since is None:
        return 1.0
    elapsed = now - healthy_since
    if elapsed >= duration:
        return 1.0
    return max(SLOW_START_FLOOR, min(1.0, elapsed / duration))


def weights_for(
    candidates: Sequence[str], now: float, healthy_since: Mapping[str, float], slow_start: float
) -> dict[str, float]:
    weights = {k: slow_start_weight(now, healthy_since.get(k), slow_start) for k in candidates}
    if weights and all(w < 1.0 for w in weights.values()):
        # Every target is new (a fresh group): nobody to ramp against.
        return {k: 1.0 for k in weights}
    return weights


def least_outstanding(
    candidates: Sequence[str], outstanding: Mapping[str, int], rr: RoundRobin
) -> str | None:
    if not candidates:
        return None
    fewest = min(outstanding.get(k, 0) for k in candidates)
    tied = {k: 1.0 for k in candidates if outstanding.get(k, 0) == fewest}
    return rr.pick(tied)


def choose(
    algorithm: str,
    candidates: Sequence[str],
    rr: RoundRobin,
    *,
    outstanding: Mapping[str, int],
    now: float = 0.0,
    healthy_since: Mapping[str, float] | None = None,
    slow_start: float = 0.0,
) -> str | None:
    """The target for one request by the group's algorithm."""
    if not candidates:
        return None
    if algorithm == "least_outstanding_requests":
        return least_outstanding(candidates, outstanding, rr)
    return rr.pick(weights_for(candidates, now, healthy_since or {}, slow_start))


# -- stickiness cookies -----------------------------------------------------------


def encode_cookie(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cookie(value: str) -> str | None:
    try:
        pad = "=" * (-len(value) % 4)
        text = base64.b64decode(value + pad, altchars=b"-_", validate=True).decode()
        return text or None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def sticky_pick(cookie: str | None, candidates: Sequence[str]) -> str | None:
    """The target a stickiness cookie names, if it is still a candidate."""
    if not cookie:
        return None
    named = decode_cookie(cookie)
    return named if named in candidates else None


def parse_cookies(header_values: Sequence[str]) -> dict[str, str]:
    """``Cookie`` header values → name → value (the first of a name wins)."""
    out: dict[str, str] = {}
    for header in header_values:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name and name not in out:
                out[name] = value.strip().strip('"')
    return out
