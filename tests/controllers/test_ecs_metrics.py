"""ECS utilization metrics: the pure formula, and one pass of the metrics
controller publishing into CloudWatch's store from (fake) container stats."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ecs_task_controller import NOW, SCOPE, FakeDriver, call, controller, reconcile

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.runtime.base import Stats
from gureum.services.cloudwatch.metrics import canonical, read_samples
from gureum.services.ecs.metrics import MetricsController, TaskUsage, utilization
from gureum.services.ecs.records import scoped_key, service_key
from gureum.services.ecs.service_controller import ServiceController
from gureum.settings import Settings


def test_utilization_formula() -> None:
    a = TaskUsage(cpu_used=512, cpu_reserved=1024, mem_used=128, mem_reserved=512)
    b = TaskUsage(cpu_used=0, cpu_reserved=1024, mem_used=384, mem_reserved=512)
    assert utilization([a, b]) == (25.0, 50.0)
    assert utilization([TaskUsage(1, 1024, 1, 0)]) == (100 / 1024, None)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    a.service_api("ecs")
    yield a
    a.store.close()


class StatsDriver(FakeDriver):
    async def stats(self, cid: str) -> Stats:
        return Stats(cpu_percent=25.0, memory_bytes=64 * 1024 * 1024, memory_limit=None, online_cpus=2)


def test_metrics_pass_publishes_service_and_cluster(app: App) -> None:
    drv = StatsDriver()
    call(app, "CreateCluster")
    call(app, "RegisterTaskDefinition", family="f", cpu="512", memory="256",
         containerDefinitions=[{"name": "app", "image": "gureum/busybox:latest"}])
    call(app, "CreateService", serviceName="web", taskDefinition="f", desiredCount=2)
    ServiceController(app).reconcile_now(scoped_key(SCOPE, service_key("default", "web")))
    tctl = controller(app, drv)
    for key in tctl.keys():
        reconcile(tctl, key)
    asyncio.run(MetricsController(app).reconcile("all"))
    for dims in ({"ClusterName": "default", "ServiceName": "web"}, {"ClusterName": "default"}):
        cpu = read_samples(app.store, SCOPE, "AWS/ECS", "CPUUtilization", canonical(dims), NOW - 60, NOW + 60)
        mem = read_samples(app.store, SCOPE, "AWS/ECS", "MemoryUtilization", canonical(dims), NOW - 60, NOW + 60)
        # each task: 25 % of a core = 256 of 512 units; 64 of 256 MiB
        assert [s.total / s.count for s in cpu] == [50.0]
        assert [s.total / s.count for s in mem] == [25.0]
