"""The credit controller over a simulated day, on the SimClock.

The real :class:`CreditController`, store and CloudWatch publishing; the
instance's workload is simulated by :class:`Workload`, a driver stand-in
whose measured CPU is the workload's demand held under the CPU limit the
controller last set with ``update_limits`` — what a CFS quota does to a
real container (tests/runtime/test_update_limits.py shows docker doing it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope, SqliteStore
from gureum.runtime.base import Stats
from gureum.services.cloudwatch import metrics
from gureum.services.ec2.credit_controller import CREDITS, CreditController
from gureum.services.ec2.names import INSTANCE
from gureum.settings import Settings

SCOPE = Scope("123456789012", "us-east-1")
START = 1_767_225_600.0
IID = "i-0123456789abcdef0"


class Workload:
    """One container: CPU demand (% of one CPU) under the limit last set."""

    def __init__(self, demand: float, cpus: float = 1.0) -> None:
        self.demand, self.cpus, self.limits = demand, cpus, []  # type: list[float]

    async def stats(self, _cid: str) -> Stats:
        return Stats(cpu_percent=min(self.demand, self.cpus * 100.0), memory_bytes=1, memory_limit=None,
                     online_cpus=1)

    async def update_limits(self, _cid: str, cpus: float) -> None:
        self.cpus = cpus
        self.limits.append(cpus)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(":memory:"))
    yield a
    a.store.close()


def day(app: App, itype: str, work: Workload, minutes: int, mode: str | None = None) -> CreditController:
    async def get_runtime() -> Workload:
        return work

    app.get_runtime = get_runtime  # type: ignore[method-assign]
    doc = {"InstanceId": IID, "InstanceType": itype, "State": {"Name": "running"}, "_cid": "c1", "_since": START}
    if mode:
        doc["_cpuCredits"] = mode
    app.store.put(INSTANCE, SCOPE, IID, doc)
    ctl = CreditController(app)
    clock = app.clock
    assert isinstance(clock, SimClock)

    async def run() -> None:
        await ctl.reconcile("all")  # first sight: launch credits
        for _ in range(minutes):
            await clock.advance(60)
            await ctl.reconcile("all")

    asyncio.run(run())
    return ctl


def values(app: App, name: str) -> list[float]:
    dims = metrics.canonical({"InstanceId": IID})
    samples = metrics.read_samples(app.store, SCOPE, "AWS/EC2", name, dims, START, START + 3 * 86400)
    return [s.total for s in samples]


def test_t2_micro_at_30_percent_for_a_day_is_throttled_for_real(app: App) -> None:
    work = Workload(30.0)
    day(app, "t2.micro", work, 24 * 60)
    usage, balance = values(app, "CPUCreditUsage"), values(app, "CPUCreditBalance")
    assert len(usage) == len(balance) == 1440
    assert sum(usage) == pytest.approx(174.0)  # 150 min at 0.3, then 1290 at the 0.1 baseline
    assert balance[0] == pytest.approx(29.8)  # 30 launch credits − 0.3 + 0.1 earned
    assert balance[99] == pytest.approx(10.0)
    assert balance[149] == pytest.approx(0.0, abs=1e-9)
    assert min(balance) >= 0.0
    assert work.limits == [pytest.approx(0.1)]  # held at the baseline once, never released
    assert usage[-1] == pytest.approx(0.1)
    assert app.store.get(CREDITS, SCOPE, IID)["throttled"] is True
    assert set(values(app, "CPUSurplusCreditBalance")) == {0.0}


def test_throttle_is_released_when_the_load_drops(app: App) -> None:
    work = Workload(100.0)
    ctl = day(app, "t2.nano", work, 40)  # 30 launch credits at ~0.95/min net: gone at minute 32
    assert work.limits == [pytest.approx(0.05)]
    work.demand = 0.0
    clock = app.clock
    assert isinstance(clock, SimClock)

    async def idle() -> None:
        for _ in range(25):  # earns 0.05/min: back above 1 credit after 20 minutes
            await clock.advance(60)
            await ctl.reconcile("all")

    asyncio.run(idle())
    assert work.limits == [pytest.approx(0.05), 1.0]
    assert app.store.get(CREDITS, SCOPE, IID)["throttled"] is False


def test_t3_unlimited_accrues_surplus_and_never_throttles(app: App) -> None:
    work = Workload(60.0, cpus=2.0)  # 60 % of one CPU = 30 % of the instance's 2 vCPUs
    day(app, "t3.micro", work, 24 * 60)
    surplus, charged = values(app, "CPUSurplusCreditBalance"), values(app, "CPUSurplusCreditsCharged")
    assert surplus[-1] == pytest.approx(288.0)
    assert sum(charged) == pytest.approx(0.4 * 720)
    assert work.limits == []
