"""Auto-healing decisions (pure) and the deployment status aggregate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.opsworks.deployment_status import CommandView, aggregate, duration
from gureum.services.opsworks.healing import Heal, HealView, auto_healing, decide_heal

T = 300.0


@pytest.mark.parametrize(("status", "healing", "last", "now", "expected"), [
    ("online", True, 1000.0, 1000.0 + T, Heal.NONE),  # exactly the timeout: not yet
    ("online", True, 1000.0, 1000.0 + T + 1, Heal.HEAL),
    ("online", False, 1000.0, 1000.0 + T + 1, Heal.LOST),
    ("online", True, 1000.0, 1100.0, Heal.NONE),
    ("running_setup", True, 1000.0, 2000.0, Heal.HEAL),
    ("connection_lost", True, 1000.0, 1001.0, Heal.HEAL),  # healing turned on while lost
    ("connection_lost", False, 1000.0, 1001.0, Heal.RECOVERED),  # the agent reports again
    ("connection_lost", False, 1000.0, 2000.0, Heal.NONE),
    ("booting", True, 1000.0, 9999.0, Heal.NONE),  # the boot timeout's business
    ("stopped", True, 1000.0, 9999.0, Heal.NONE),
    ("stopping", True, 1000.0, 9999.0, Heal.NONE),
    ("online", True, None, 9999.0, Heal.NONE),  # never reported
])
def test_decide_heal(status: str, healing: bool, last: float | None, now: float, expected: Heal) -> None:
    assert decide_heal(HealView(status, healing), last, now, T) is expected


@pytest.mark.parametrize(("flags", "expected"), [
    ([True], True), ([None], True), ([True, None], True),
    ([True, False], False),  # one layer with healing off: not healed
    ([], False),
])
def test_auto_healing_needs_every_layer(flags: list[bool | None], expected: bool) -> None:
    assert auto_healing(flags) is expected


@given(st.floats(0, 1e6), st.floats(0, 1e4), st.floats(1, 1e4))
def test_silence_under_the_timeout_never_heals(last: float, silence: float, timeout: float) -> None:
    now = last + silence
    result = decide_heal(HealView("online", True), last, now, timeout)
    assert (result is Heal.HEAL) == (now - last > timeout)


def cv(status: str, done: float | None = None) -> CommandView:
    return CommandView(status, 100.0, done)


@pytest.mark.parametrize(("cmds", "status", "completed"), [
    ([], "successful", 100.0),
    ([cv("pending")], "running", None),
    ([cv("successful", 110.0), cv("pending")], "running", None),
    ([cv("successful", 110.0), cv("successful", 120.0)], "successful", 120.0),
    ([cv("successful", 110.0), cv("failed", 105.0)], "failed", 110.0),
    ([cv("successful", 110.0), cv("skipped", 101.0), cv("superseded", 102.0)], "successful", 110.0),
    ([cv("skipped", 101.0)], "successful", 101.0),
])
def test_aggregate(cmds: list[CommandView], status: str, completed: float | None) -> None:
    agg = aggregate(cmds, 100.0)
    assert (agg.status, agg.completed_at) == (status, completed)


def test_duration() -> None:
    assert duration(100.0, None) is None
    assert duration(100.0, 112.6) == 13
