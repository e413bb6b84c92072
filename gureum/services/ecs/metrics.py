"""ECS CPUUtilization and MemoryUtilization in CloudWatch, from real container stats.

Every minute (of the app's clock) the metrics controller samples the stats of
every RUNNING task's containers through the runtime driver and publishes, in
namespace ``AWS/ECS``, per service (dimensions ClusterName, ServiceName) and
per cluster (ClusterName), as ECS defines them:

    CPUUtilization    = 100 × CPU units used / CPU units reserved
    MemoryUtilization = 100 × MiB used / MiB reserved

Used CPU units are the containers' CPU % × 1024 / 100 (100 % = one core =
1024 units).  Reserved is the task's ``cpu``/``memory`` when set, else the
sum of its containers' (``memory`` or ``memoryReservation``); a task that
reserves no CPU counts as reserving one vCPU (1024 units), the most a
single-threaded container can use.  :func:`utilization` is pure.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.base import DriverError, RuntimeDriver, Stats
from gureum.services.ecs import names
from gureum.services.ecs.runtime_link import driver_of

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecs.metrics")

Doc = dict[str, Any]
NAMESPACE = "AWS/ECS"
PERIOD = 60.0
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TaskUsage:
    cpu_used: float  # CPU units
    cpu_reserved: float
    mem_used: float  # MiB
    mem_reserved: float


def reserved(task: Doc) -> tuple[float, float]:
    defs = task.get("_containerDefs") or []
    cpu = float(task.get("cpu") or sum(int(c.get("cpu") or 0) for c in defs) or 1024)
    mem = float(task.get("memory") or sum(int(c.get("memory") or c.get("memoryReservation") or 0) for c in defs))
    return cpu, mem


def task_usage(task: Doc, samples: list[Stats]) -> TaskUsage:
    cpu, mem = reserved(task)
    return TaskUsage(
        cpu_used=sum(s.cpu_percent for s in samples) * 1024 / 100,
        cpu_reserved=cpu,
        mem_used=sum(s.memory_bytes for s in samples) / MIB,
        mem_reserved=mem,
    )


def utilization(usages: list[TaskUsage]) -> tuple[float | None, float | None]:
    """(CPUUtilization, MemoryUtilization) in percent over some tasks; None without a reservation."""
    cpu_res = sum(u.cpu_reserved for u in usages)
    mem_res = sum(u.mem_reserved for u in usages)
    cpu = 100 * sum(u.cpu_used for u in usages) / cpu_res if cpu_res else None
    mem = 100 * sum(u.mem_used for u in usages) / mem_res if mem_res else None
    return cpu, mem


class MetricsController:
    def __init__(self, app: App) -> None:
        self.app = app

    def keys(self) -> list[str]:
        return ["all"]

    async def reconcile(self, _key: str) -> Requeue | None:
        store = self.app.store
        running = [(scope, t) for scope in store.list_scopes(names.TASK)
                   for _, t in store.list(names.TASK, scope) if t.get("lastStatus") == "RUNNING"]
        if not running:
            return None
        driver = await driver_of(self.app)
        usages = await asyncio.gather(*(self._usage(driver, t) for _, t in running))
        self.publish(running, list(usages), self.app.clock.now())
        return None

    async def _usage(self, driver: RuntimeDriver, task: Doc) -> TaskUsage | None:
        samples = []
        for rec in (task.get("_c") or {}).values():
            if not rec.get("id"):
                continue
            try:
                samples.append(await driver.stats(rec["id"]))
            except DriverError:
                continue  # it stopped in between: no sample
        return task_usage(task, samples) if samples else None

    def publish(self, running: list[tuple[Scope, Doc]], usages: list[TaskUsage | None], now: float) -> None:
        from gureum.services.cloudwatch.metrics import Value, publish_many

        groups: dict[tuple[Scope, tuple[tuple[str, str], ...]], list[TaskUsage]] = {}
        for (scope, t), u in zip(running, usages, strict=True):
            if u is None:
                continue
            groups.setdefault((scope, (("ClusterName", t["_cluster"]),)), []).append(u)
            if t.get("_service"):
                svc = (("ClusterName", str(t["_cluster"])), ("ServiceName", str(t["_service"])))
                groups.setdefault((scope, svc), []).append(u)
        batches: dict[Scope, list[Value]] = {}  # one transaction per account and region
        for (scope, dims), us in groups.items():
            cpu, mem = utilization(us)
            for name, value in (("CPUUtilization", cpu), ("MemoryUtilization", mem)):
                if value is not None:
                    batches.setdefault(scope, []).append(Value(name, value, dict(dims), "Percent"))
        for scope, batch in batches.items():
            publish_many(self.app.store, scope, NAMESPACE, batch, timestamp=now)
