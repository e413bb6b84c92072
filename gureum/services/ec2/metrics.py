"""EC2 CPUUtilization in CloudWatch (namespace ``AWS/EC2``), from real container stats.

Every minute of the app's clock the metrics controller samples each running
instance's container through the runtime driver.  An instance with detailed
monitoring (``Monitoring.State = enabled``) gets a datapoint every minute;
one with basic monitoring every five minutes, as on AWS.  Published:

* per instance, dimension ``InstanceId``;
* per Auto Scaling group, dimension ``AutoScalingGroupName`` (from the
  instance's ``aws:autoscaling:groupName`` tag): the average of its
  instances sampled in that round.

``CPUUtilization`` = the container's CPU % (100 = one core) over the CPUs the
instance may use (its vCPUs, at most the host's), capped at 100.
:func:`utilization` and :func:`due` are pure.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.base import DriverError, RuntimeDriver
from gureum.services.ec2 import instance_types, tag_store
from gureum.services.ec2.names import INSTANCE

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ec2.metrics")

Doc = dict[str, Any]
NAMESPACE = "AWS/EC2"
PERIOD = 60.0
BASIC_PERIOD = 300.0
ASG_TAG = "aws:autoscaling:groupName"
METRICS_CONTROLLER = "ec2.metrics"


def utilization(cpu_percent: float, vcpus: int, host_cpus: int) -> float:
    cpus = min(vcpus, max(1, host_cpus))
    return max(0.0, min(100.0, cpu_percent / cpus))


def due(detailed: bool, last: float | None, now: float) -> bool:
    """Whether an instance gets a datapoint now (the first one right away)."""
    if last is None:
        return True
    return now - last >= (PERIOD if detailed else BASIC_PERIOD) - 1.0  # a tick may run a little early


class MetricsController:
    def __init__(self, app: App) -> None:
        self.app = app
        self.last: dict[tuple[Scope, str], float] = {}

    def keys(self) -> list[str]:
        return ["all"]

    async def reconcile(self, _key: str) -> Requeue | None:
        store, now = self.app.store, self.app.clock.now()
        chosen = []
        for scope in store.list_scopes(INSTANCE):
            for iid, doc in store.list(INSTANCE, scope):
                if doc["State"]["Name"] != "running" or not doc.get("_cid"):
                    continue
                detailed = doc.get("Monitoring", {}).get("State") == "enabled"
                if due(detailed, self.last.get((scope, iid)), now):
                    chosen.append((scope, doc))
        if not chosen:
            return None
        driver: RuntimeDriver = await self.app.get_runtime()
        values = await asyncio.gather(*(self._sample(driver, doc) for _, doc in chosen))
        self._publish(chosen, list(values), now)
        return None

    async def _sample(self, driver: RuntimeDriver, doc: Doc) -> float | None:
        itype = instance_types.lookup(doc["InstanceType"])
        try:
            stats = await driver.stats(doc["_cid"])
        except DriverError:
            return None  # it stopped in between: no datapoint
        return utilization(stats.cpu_percent, itype.vcpus if itype else 1, os.cpu_count() or 1)

    def _publish(self, chosen: list[tuple[Scope, Doc]], values: list[float | None], now: float) -> None:
        from gureum.services.cloudwatch.metrics import Value, publish_many

        batches: dict[Scope, list[Value]] = {}  # one transaction per account and region
        groups: dict[tuple[Scope, str], list[float]] = {}
        for (scope, doc), value in zip(chosen, values, strict=True):
            if value is None:
                continue
            iid = doc["InstanceId"]
            self.last[(scope, iid)] = now
            batches.setdefault(scope, []).append(Value("CPUUtilization", value, {"InstanceId": iid}, "Percent"))
            group = tag_store.get(self.app.store, scope, iid).get(ASG_TAG)
            if group:
                groups.setdefault((scope, group), []).append(value)
        for (scope, group), vals in groups.items():
            batches.setdefault(scope, []).append(
                Value("CPUUtilization", sum(vals) / len(vals), {"AutoScalingGroupName": group}, "Percent"))
        for scope, batch in batches.items():
            publish_many(self.app.store, scope, NAMESPACE, batch, timestamp=now)
        # Forget instances not sampled for a while (terminated), so the map stays small.
        self.last = {k: v for k, v in self.last.items() if now - v < 2 * BASIC_PERIOD}
