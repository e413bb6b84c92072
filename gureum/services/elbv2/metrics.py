"""CloudWatch metrics of the balancers, every minute, in ``AWS/ApplicationELB``.

Per balancer (dimension ``LoadBalancer=app/<name>/<id>``): RequestCount,
HTTPCode_Target_2XX/3XX/4XX/5XX_Count, HTTPCode_ELB_4XX/5XX_Count,
HTTPCode_ELB_502/503/504_Count, TargetResponseTime (the minute's average),
ActiveConnectionCount, NewConnectionCount.  Per target group (dimensions
``TargetGroup=targetgroup/<name>/<id>`` and ``LoadBalancer``):
RequestCount, RequestCountPerTarget, HTTPCode_Target_*_Count,
HealthyHostCount, UnHealthyHostCount.  Counts are published only when not
zero (as ALB reports only while traffic flows); host counts always.

RequestCountPerTarget follows its own line in the ALB metrics table: the
minute's requests divided by the healthy targets (all targets when none is
healthy), "Reporting criteria: Always reported" — 0 in a minute without
requests, which is what lets a target tracking policy on it scale in once
traffic stops — under the dimension sets ``TargetGroup`` and
``TargetGroup, LoadBalancer``; its only valid statistic is Sum.
Published through :func:`gureum.services.cloudwatch.metrics.publish`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gureum.services.elbv2.health import State
from gureum.services.elbv2.plane import Counters

if TYPE_CHECKING:
    from gureum.services.elbv2.runtime import Runtime

log = logging.getLogger("gureum.elbv2")
NAMESPACE = "AWS/ApplicationELB"

_COUNTS = (
    ("RequestCount", "requests"),
    ("HTTPCode_Target_2XX_Count", "target_2xx"),
    ("HTTPCode_Target_3XX_Count", "target_3xx"),
    ("HTTPCode_Target_4XX_Count", "target_4xx"),
    ("HTTPCode_Target_5XX_Count", "target_5xx"),
    ("HTTPCode_ELB_4XX_Count", "elb_4xx"),
    ("HTTPCode_ELB_5XX_Count", "elb_5xx"),
    ("HTTPCode_ELB_502_Count", "elb_502"),
    ("HTTPCode_ELB_503_Count", "elb_503"),
    ("HTTPCode_ELB_504_Count", "elb_504"),
    ("NewConnectionCount", "new_connections"),
)


def lb_dimension(arn: str) -> str:
    return "app/" + arn.split(":loadbalancer/app/", 1)[-1]


def tg_dimension(arn: str) -> str:
    return "targetgroup/" + arn.split(":targetgroup/", 1)[-1]


def values(c: Counters) -> dict[str, tuple[float, str]]:
    out: dict[str, tuple[float, str]] = {}
    for metric, attr in _COUNTS:
        n = getattr(c, attr)
        if n:
            out[metric] = (float(n), "Count")
    if c.response_time_count:
        out["TargetResponseTime"] = (c.response_time_sum / c.response_time_count, "Seconds")
    return out


def group_values(c: Counters, states: list[State]) -> dict[str, tuple[float, str]]:
    """A target group's metrics for one minute, from its counters and its targets' states.  Pure."""
    healthy = sum(1 for s in states if s is State.HEALTHY)
    unhealthy = sum(1 for s in states if s is State.UNHEALTHY)
    out = values(c)
    out["RequestCountPerTarget"] = (c.requests / max(1, healthy or len(states)), "Count")
    out["HealthyHostCount"] = (float(healthy), "Count")
    out["UnHealthyHostCount"] = (float(unhealthy), "Count")
    return out


def publish_all(rt: Runtime) -> None:
    try:
        from gureum.services.cloudwatch.metrics import publish
    except ImportError:  # CloudWatch not present: nothing to publish to
        return
    now = rt.clock.now()
    for lb in list(rt.lbs.values()):
        counts = lb.counters.take()
        dims = {"LoadBalancer": lb_dimension(lb.arn)}
        for name, (value, unit) in values(counts).items():
            publish(rt.store, lb.scope, NAMESPACE, name, value, dimensions=dims, unit=unit, timestamp=now)
        publish(rt.store, lb.scope, NAMESPACE, "ActiveConnectionCount", float(counts.active_connections),
                dimensions=dims, unit="Count", timestamp=now)  # fmt: skip
    for group in list(rt.groups.values()):
        lbs = group.doc.get("LoadBalancerArns") or []
        counts = group.counters.take()
        if not lbs:
            continue
        tg = {"TargetGroup": tg_dimension(group.arn)}
        dims = {**tg, "LoadBalancer": lb_dimension(lbs[0])}
        metrics = group_values(counts, [t.state for t in group.targets.values()])
        for name, (value, unit) in metrics.items():
            publish(rt.store, group.scope, NAMESPACE, name, value, dimensions=dims, unit=unit, timestamp=now)
        value, unit = metrics["RequestCountPerTarget"]
        publish(rt.store, group.scope, NAMESPACE, "RequestCountPerTarget", value, dimensions=tg, unit=unit,
                timestamp=now)
