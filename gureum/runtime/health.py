"""Container health as Docker computes it: a pure state machine.

No I/O here.  The process driver's shim runs the check command and feeds
each result to :func:`next_health`; the docker driver lets the engine do it.

Docker's rules (https://docs.docker.com/reference/dockerfile/#healthcheck):
the status starts ``starting``; a passing check makes it ``healthy`` and
resets the failure streak; a failing check adds to the streak, and
``retries`` consecutive failures make it ``unhealthy``.  Failures during
``start_period`` (counted from the container start) do not count, but a
success during it already makes the container healthy.
"""

from __future__ import annotations

from dataclasses import dataclass

from gureum.runtime.base import Health, HealthCheck


@dataclass(frozen=True, slots=True)
class HealthState:
    status: Health = Health.STARTING
    failing_streak: int = 0


def next_health(
    state: HealthState, check: HealthCheck, passed: bool, started_at: float, now: float
) -> HealthState:
    if passed:
        return HealthState(Health.HEALTHY, 0)
    if now - started_at < check.start_period and state.status is Health.STARTING:
        return state
    streak = state.failing_streak + 1
    status = Health.UNHEALTHY if streak >= max(1, check.retries) else state.status
    return HealthState(status, streak)
