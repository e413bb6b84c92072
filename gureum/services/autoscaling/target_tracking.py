"""The CloudWatch alarms a target tracking policy creates and owns.  Pure.

Shared by EC2 Auto Scaling and Application Auto Scaling.  As on AWS (see
AWS-FACTS §6.2; the numbers are what the consoles show, AWS does not
document them):

* ``TargetTracking-<resource>-AlarmHigh-<uuid>``: metric > target for 3
  datapoints within 3 minutes (period 60 s);
* ``TargetTracking-<resource>-AlarmLow-<uuid>``: metric < a lower threshold
  for 15 datapoints within 15 minutes — 0.7 × target for an EC2 Auto Scaling
  group, 0.9 × target for Application Auto Scaling; no low alarm with
  ``DisableScaleIn``;
* both call the policy (``AlarmActions``) and say "DO NOT EDIT OR DELETE".

Predefined metrics map to the metric each service publishes; a customized
metric is used as given (one metric, or a metric math ``Metrics`` list).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gureum.core.ids import uuid4

Doc = dict[str, Any]
HIGH_POINTS, LOW_POINTS, PERIOD = 3, 15, 60
EC2_LOW_RATIO, AAS_LOW_RATIO = 0.7, 0.9


class TrackingError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str = "Average"
    unit: str | None = None


def alb_dimensions(resource_label: str | None) -> tuple[tuple[str, str], ...]:
    """``app/<lb>/<id>/targetgroup/<tg>/<id>`` → LoadBalancer and TargetGroup dimensions."""
    parts = (resource_label or "").split("/")
    if len(parts) != 6 or parts[0] != "app" or parts[3] != "targetgroup":
        raise TrackingError(f"The ResourceLabel {resource_label!r} is not valid: it must be "
                            "app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>")
    return (("LoadBalancer", "/".join(parts[:3])), ("TargetGroup", "/".join(parts[3:])))


def customized(spec: Mapping[str, Any]) -> Metric | list[Doc]:
    """A CustomizedMetricSpecification: one metric, or the math query list."""
    if spec.get("Metrics"):
        out = []
        for q in spec["Metrics"]:
            item = {k: v for k, v in q.items() if v is not None}
            if "MetricStat" in item:
                item["MetricStat"] = {**item["MetricStat"], "Period": PERIOD}
            out.append(item)
        return out
    if not spec.get("Namespace") or not spec.get("MetricName"):
        raise TrackingError("A customized metric needs a Namespace and a MetricName, or Metrics.")
    dims = tuple((str(d["Name"]), str(d["Value"])) for d in spec.get("Dimensions") or [])
    return Metric(str(spec["Namespace"]), str(spec["MetricName"]), dims, str(spec.get("Statistic") or "Average"),
                  spec.get("Unit"))


def tracked(config: Mapping[str, Any], predefined_metrics: Mapping[str, tuple[str, str, str]],
            own_dimensions: Callable[[], tuple[tuple[str, str], ...]], unsupported: str) -> Metric | list[Doc]:
    """The metric a TargetTrackingConfiguration tracks: its customized metric, or a predefined one
    (``predefined_metrics``: type → namespace, metric, statistic) with the ResourceLabel's dimensions for
    ALBRequestCountPerTarget and ``own_dimensions()`` otherwise.  ``unsupported`` is the message for an
    unknown type (``{kind}`` in it is the type).  :class:`TrackingError` for bad input."""
    predefined, custom = config.get("PredefinedMetricSpecification"), config.get("CustomizedMetricSpecification")
    if bool(predefined) == bool(custom):
        raise TrackingError("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification "
                            "must be specified.")
    if custom:
        return customized(custom)
    assert predefined is not None
    kind = predefined["PredefinedMetricType"]
    if kind not in predefined_metrics:
        raise TrackingError(unsupported.format(kind=kind))
    namespace, metric, stat = predefined_metrics[kind]
    if kind == "ALBRequestCountPerTarget":
        dims = alb_dimensions(predefined.get("ResourceLabel"))
    else:
        dims = own_dimensions()
    return Metric(namespace, metric, dims, stat)


def _alarm(name: str, policy_arn: str, metric: Metric | list[Doc], operator: str, threshold: float,
           points: int) -> Doc:
    req: Doc = {
        "AlarmName": name,
        "AlarmDescription": f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy_arn}.",
        "ActionsEnabled": True,
        "AlarmActions": [policy_arn],
        "EvaluationPeriods": points,
        "DatapointsToAlarm": points,
        "Threshold": threshold,
        "ComparisonOperator": operator,
    }
    if isinstance(metric, list):
        req["Metrics"] = metric
    else:
        req.update(Namespace=metric.namespace, MetricName=metric.name, Statistic=metric.statistic, Period=PERIOD,
                   Dimensions=[{"Name": n, "Value": v} for n, v in metric.dimensions])
        if metric.unit:
            req["Unit"] = metric.unit
    return req


def alarm_requests(resource: str, policy_arn: str, metric: Metric | list[Doc], target: float,
                   disable_scale_in: bool, low_ratio: float) -> list[Doc]:
    """PutMetricAlarm requests for the high (and low) alarm of a policy."""
    out = [_alarm(f"TargetTracking-{resource}-AlarmHigh-{uuid4()}", policy_arn, metric, "GreaterThanThreshold",
                  float(target), HIGH_POINTS)]
    if not disable_scale_in:
        low = round(float(target) * low_ratio, 6)
        out.append(_alarm(f"TargetTracking-{resource}-AlarmLow-{uuid4()}", policy_arn, metric, "LessThanThreshold",
                          low, LOW_POINTS))
    return out
