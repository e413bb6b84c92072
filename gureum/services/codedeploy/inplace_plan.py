"""Which instances an in-place deployment deploys to next.  Pure.

The deployment configuration's minimum healthy hosts (``MinimumHealthyHosts``)
says how many of the deployment's N instances must stay healthy; an instance
being deployed to, or one whose deployment failed, does not count as
healthy.  So at any moment at most ``N - minimum`` instances are in progress
or failed, and CodeDeploy starts the next ones as earlier ones finish:

================  ===================================  ===========================
type              minimum healthy                      example (9 instances)
================  ===================================  ===========================
HOST_COUNT v      v                                    v=6: 3 at a time
FLEET_PERCENT p   ceil(N × p / 100)                    p=40: min 4, 5 at a time
MOST_CONCURRENCY  N - v (``OneAtATime``, v=1)          one at a time
================  ===================================  ===========================

The deployment fails as soon as no more instance may start while some are
still pending (too many failed: ``HEALTH_CONSTRAINTS``); the pending ones
are then skipped.  When every instance is done it succeeds if at least
``max(minimum, 1)`` succeeded — hence with ``OneAtATime`` a failure on the
*last* instance still leaves the deployment Succeeded, as AWS documents.
A configuration that leaves no instance free to start at all is
``HEALTH_CONSTRAINTS_INVALID``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PENDING, IN_PROGRESS, SUCCEEDED, FAILED, SKIPPED = "Pending", "InProgress", "Succeeded", "Failed", "Skipped"


@dataclass(frozen=True, slots=True)
class InplaceStep:
    start: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    outcome: str | None = None  # Succeeded | Failed when the deployment is over
    error_code: str | None = None
    message: str = ""


def minimum_healthy(n: int, mhh: dict[str, Any] | None) -> int:
    """How many of ``n`` instances must stay healthy under ``mhh``."""
    mhh = mhh or {"type": "MOST_CONCURRENCY", "value": 1}
    kind, value = mhh.get("type"), int(mhh.get("value") or 0)
    if kind == "HOST_COUNT":
        return value
    if kind == "FLEET_PERCENT":
        return math.ceil(n * value / 100)
    return max(0, n - max(1, value))  # MOST_CONCURRENCY: ``value`` at a time


def check_constraints(n: int, mhh: dict[str, Any] | None) -> str | None:
    """A message when the configuration lets no instance be deployed to."""
    if n and n - minimum_healthy(n, mhh) < 1:
        m = minimum_healthy(n, mhh)
        return (
            f"The minimum number of healthy instances ({m}) required by the deployment configuration "
            f"leaves no instance of the {n} in the deployment to deploy to."
        )
    return None


def decide_inplace(states: list[tuple[str, str]], mhh: dict[str, Any] | None) -> InplaceStep:
    """The next step given ``[(instance id, status)]`` in deployment order."""
    n = len(states)
    minimum = minimum_healthy(n, mhh)
    pending = [i for i, s in states if s == PENDING]
    running = sum(1 for _, s in states if s == IN_PROGRESS)
    failed = sum(1 for _, s in states if s == FAILED)
    succeeded = sum(1 for _, s in states if s == SUCCEEDED)
    allowed = (n - minimum) - running - failed
    start = tuple(pending[: max(0, allowed)])
    if start or running:
        return InplaceStep(start=start)
    if pending:
        return InplaceStep(
            skip=tuple(pending), outcome=FAILED, error_code="HEALTH_CONSTRAINTS",
            message=(
                "The overall deployment failed because too many individual instances failed deployment, "
                "too few healthy instances are available for deployment, or some instances in your "
                "deployment group are experiencing problems."
            ),
        )  # fmt: skip
    if succeeded >= max(minimum, 1):
        return InplaceStep(outcome=SUCCEEDED)
    return InplaceStep(
        outcome=FAILED, error_code="HEALTH_CONSTRAINTS",
        message=f"The overall deployment failed: {succeeded} of {n} instances succeeded, {max(minimum, 1)} needed.",
    )  # fmt: skip
