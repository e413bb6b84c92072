"""The per-minute metrics of a target group (pure): what ALB's metrics table says is reported."""

from __future__ import annotations

import pytest

from gureum.services.elbv2.health import State
from gureum.services.elbv2.metrics import group_values
from gureum.services.elbv2.plane import Counters

H, U = State.HEALTHY, State.UNHEALTHY


@pytest.mark.parametrize(("requests", "states", "per_target"), [
    (90, [H, H, H], 30.0),  # requests / healthy targets
    (90, [H, U, U], 90.0),  # unhealthy targets take no share
    (90, [U, U, U], 30.0),  # none healthy: over all targets
    (0, [H, H], 0.0),  # "Always reported": 0 in a minute without requests
    (5, [], 5.0),
])
def test_request_count_per_target(requests: int, states: list[State], per_target: float) -> None:
    got = group_values(Counters(requests=requests), states)
    assert got["RequestCountPerTarget"] == (per_target, "Count")


def test_counts_only_when_not_zero_host_counts_always() -> None:
    idle = group_values(Counters(), [H, U])
    assert "RequestCount" not in idle and "HTTPCode_Target_2XX_Count" not in idle
    assert idle["HealthyHostCount"] == (1.0, "Count") and idle["UnHealthyHostCount"] == (1.0, "Count")
    busy = group_values(Counters(requests=4, target_2xx=3, target_5xx=1), [H])
    assert busy["RequestCount"] == (4.0, "Count")
    assert busy["HTTPCode_Target_2XX_Count"] == (3.0, "Count") and busy["HTTPCode_Target_5XX_Count"] == (1.0, "Count")
