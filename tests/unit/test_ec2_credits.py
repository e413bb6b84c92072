"""CPU credit accounting (gureum.services.ec2.credits): AWS's table and whole days, minute by minute."""

from __future__ import annotations

import pytest

from gureum.services.ec2 import credits
from gureum.services.ec2.instance_types import lookup

# (type, credits/h, max balance, vCPUs, baseline per vCPU, T2 launch credits) — AWS-FACTS §8
TABLE = [
    ("t2.nano", 3, 72, 1, 0.05, 30),
    ("t2.micro", 6, 144, 1, 0.10, 30),
    ("t2.small", 12, 288, 1, 0.20, 30),
    ("t2.medium", 24, 576, 2, 0.20, 60),
    ("t2.large", 36, 864, 2, 0.30, 60),
    ("t2.xlarge", 54, 1296, 4, 0.225, 120),
    ("t2.2xlarge", 81.6, 1958.4, 8, 0.17, 240),
    ("t3.nano", 6, 144, 2, 0.05, 0),
    ("t3.micro", 12, 288, 2, 0.10, 0),
    ("t3.small", 24, 576, 2, 0.20, 0),
    ("t3.medium", 24, 576, 2, 0.20, 0),
    ("t3.large", 36, 864, 2, 0.30, 0),
    ("t3.xlarge", 96, 2304, 4, 0.40, 0),
    ("t3.2xlarge", 192, 4608, 8, 0.40, 0),
]


def t(name: str):  # type: ignore[no-untyped-def]
    found = lookup(name)
    assert found is not None
    return found


@pytest.mark.parametrize(("name", "per_hour", "cap", "vcpus", "base", "launch"), TABLE)
def test_table(name: str, per_hour: float, cap: float, vcpus: int, base: float, launch: int) -> None:
    it = t(name)
    assert it.vcpus == vcpus
    assert credits.earn_per_minute(it) * 60 == pytest.approx(per_hour)
    assert credits.max_balance(it) == pytest.approx(cap)
    assert credits.baseline_cpus(it) == pytest.approx(base * vcpus)
    # earned/h = baseline × vCPUs × 60
    assert per_hour == pytest.approx(base * vcpus * 60)
    mode = credits.default_mode(it)
    assert mode == ("standard" if name.startswith("t2") else "unlimited")
    assert credits.at_launch(it, mode).balance == launch


def run(name: str, mode: str, cpu: float, minutes: int, state: credits.Credits | None = None):  # type: ignore[no-untyped-def]
    it = t(name)
    s = state if state is not None else credits.at_launch(it, mode)
    usage = charged = 0.0
    trace = []
    for _ in range(minutes):
        m = credits.minute(it, mode, s, cpu)
        s = m.state
        usage += m.usage
        charged += m.charged
        trace.append(m)
    return s, usage, charged, trace


def test_t2_micro_day_at_30_percent() -> None:
    """Launch credits first (30 at 0.3/min: 100 min, while 10 are earned), then the
    earned balance falls 0.2/min to zero at minute 150; the rest of the day the
    instance is held at its 10 % baseline: it spends exactly what it earns."""
    s, usage, charged, trace = run("t2.micro", "standard", 30.0, 24 * 60)
    assert trace[99].state.launch == pytest.approx(0.0, abs=1e-9)
    assert trace[99].state.earned == pytest.approx(10.0)
    assert trace[99].state.balance == pytest.approx(10.0)
    assert not trace[148].throttled
    assert trace[148].state.balance == pytest.approx(0.2)
    assert trace[149].state.balance == pytest.approx(0.0, abs=1e-9)
    assert trace[149].throttled
    assert trace[149].usage == pytest.approx(0.3)
    assert trace[150].usage == pytest.approx(0.1)  # the baseline
    assert all(m.throttled for m in trace[149:])
    assert s.balance == pytest.approx(0.0, abs=1e-9)
    assert usage == pytest.approx(150 * 0.3 + 1290 * 0.1)  # 174 credits
    assert charged == 0.0


def test_t2_micro_idle_day_reaches_cap_plus_launch_credits() -> None:
    s, usage, _, _ = run("t2.micro", "standard", 0.0, 2 * 24 * 60)
    assert usage == 0.0
    assert s.earned == pytest.approx(144.0)
    assert s.balance == pytest.approx(174.0)  # launch credits do not count towards the cap


def test_below_baseline_accrues_and_releases_throttle_with_hysteresis() -> None:
    it = t("t2.micro")
    s = credits.Credits(throttled=True)
    m = credits.minute(it, "standard", s, 5.0)  # earns 0.1, spends 0.05
    assert m.state.earned == pytest.approx(0.05)
    assert m.throttled  # still under UNTHROTTLE_AT
    s, _, _, trace = run("t2.micro", "standard", 0.0, 10, m.state)
    assert trace[8].throttled and not trace[9].throttled  # 0.05 + 10 × 0.1 ≥ 1


def test_t3_micro_unlimited_day_at_30_percent() -> None:
    """2 vCPUs at 30 % spend 0.6/min, earn 0.2/min: surplus grows 0.4/min up to
    the 288 cap (minute 720), then every further surplus credit is charged."""
    s, usage, charged, trace = run("t3.micro", "unlimited", 30.0, 24 * 60)
    assert usage == pytest.approx(0.6 * 1440)
    assert trace[359].state.surplus == pytest.approx(144.0)
    assert trace[719].state.surplus == pytest.approx(288.0)
    assert trace[719].charged == pytest.approx(0.0, abs=1e-9)
    assert trace[720].charged == pytest.approx(0.4)
    assert s.surplus == pytest.approx(288.0)
    assert charged == pytest.approx(0.4 * 720)
    assert s.balance == 0.0
    assert not any(m.throttled for m in trace)


def test_unlimited_earnings_pay_down_surplus_first() -> None:
    it = t("t3.micro")
    s = credits.Credits(surplus=1.0)
    m = credits.minute(it, "unlimited", s, 0.0, minutes=3)  # earns 0.6
    assert m.state.surplus == pytest.approx(0.4)
    assert m.state.earned == 0.0
    m = credits.minute(it, "unlimited", m.state, 0.0, minutes=5)  # earns 1.0
    assert m.state.surplus == 0.0
    assert m.state.earned == pytest.approx(0.6)


def test_start_after_stop() -> None:
    t2, t3 = t("t2.small"), t("t3.small")
    kept = credits.Credits(earned=50.0, launch=3.0)
    assert credits.on_start(t2, "standard", kept) == credits.Credits(launch=30.0)
    assert credits.on_start(t2, "unlimited", kept) == credits.Credits()
    assert credits.on_start(t3, "unlimited", kept) == kept


def test_cpu_outside_0_100_is_clamped() -> None:
    it = t("t2.nano")
    assert credits.minute(it, "standard", credits.Credits(launch=30), 250.0).usage == pytest.approx(1.0)
    assert credits.minute(it, "standard", credits.Credits(launch=30), -5.0).usage == 0.0
