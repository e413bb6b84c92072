"""Docker's health state machine, as tables."""

from __future__ import annotations

import pytest

from gureum.runtime.base import Health, HealthCheck
from gureum.runtime.health import HealthState, next_health

CHECK = HealthCheck(("CMD", "true"), interval=1, timeout=1, retries=3, start_period=10)
S, H, U = Health.STARTING, Health.HEALTHY, Health.UNHEALTHY


def _run(results: list[tuple[float, bool]]) -> list[tuple[Health, int]]:
    state, out = HealthState(), []
    for at, passed in results:
        state = next_health(state, CHECK, passed, started_at=0.0, now=at)
        out.append((state.status, state.failing_streak))
    return out


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        # failures in the start period do not count
        ([(1, False), (2, False), (3, False), (4, False)], [(S, 0)] * 4),
        # after it, three failures make it unhealthy
        ([(11, False), (12, False), (13, False)], [(S, 1), (S, 2), (U, 3)]),
        # a success in the start period makes it healthy at once, then failures count
        ([(1, True), (2, False), (3, False), (4, False)], [(H, 0), (H, 1), (H, 2), (U, 3)]),
        # a success resets the streak
        ([(11, False), (12, False), (13, True), (14, False)], [(S, 1), (S, 2), (H, 0), (H, 1)]),
        # unhealthy recovers on one success
        ([(11, False), (12, False), (13, False), (14, True)], [(S, 1), (S, 2), (U, 3), (H, 0)]),
    ],
)
def test_next_health(results: list[tuple[float, bool]], expected: list[tuple[Health, int]]) -> None:
    assert _run(results) == expected
