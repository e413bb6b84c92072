"""PutMetricAlarm / PutCompositeAlarm input rules and the spec the evaluator runs.  Pure.

:func:`metric_alarm_fields` checks a PutMetricAlarm request beyond the
model's shapes and returns the alarm's configuration as DescribeAlarms
shows it (``MetricAlarm`` members).  Rules (PutMetricAlarm API reference,
"Using Amazon CloudWatch alarms"):

* a single metric (``Namespace``, ``MetricName``, ``Period``, exactly one of
  ``Statistic``/``ExtendedStatistic``) or a ``Metrics`` list, never both;
* ``Period`` 10, 20, 30 or a multiple of 60; ``EvaluationPeriods`` ×
  ``Period`` at most one day (seven days for periods of an hour or more);
* ``DatapointsToAlarm`` ≤ ``EvaluationPeriods``; ``TreatMissingData`` one of
  missing, ignore, breaching, notBreaching; ``EvaluateLowSampleCountPercentile``
  evaluate or ignore and only with a percentile;
* a metric math ``Metrics`` list: at most 20 queries, unique Ids, each with
  exactly one of ``MetricStat``/``Expression``, all MetricStats on one
  period, expressions that parse and name known Ids, and exactly one query
  returning data (``ReturnData`` defaults to true);
* anomaly detection bands (``ThresholdMetricId`` and the three band
  operators) and PromQL alarms (``EvaluationCriteria``) are refused as not
  supported by Gureum;
* action ARNs must be ARNs; math alarms cannot take EC2 actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gureum.core.errors import ServiceError, ValidationError
from gureum.core.ids import parse_arn
from gureum.services.cloudwatch import metric_math, metrics, stats
from gureum.services.cloudwatch.alarm_eval import (
    BAND_OPERATORS,
    THRESHOLD_OPERATORS,
    TREAT_MISSING,
    AlarmSpec,
)

ACTION_LISTS = ("OKActions", "AlarmActions", "InsufficientDataActions")
STATE_ACTIONS = {"OK": "OKActions", "ALARM": "AlarmActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
MAX_METRICS = 20
DAY = 86_400


def invalid(message: str) -> ValidationError:
    return ValidationError(message, code="ValidationError")


def _null(member: str) -> ValidationError:
    return invalid(f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
                   "Member must not be null")


def check_alarm_period(period: int, member: str = "Period") -> None:
    if period in (10, 20, 30) or (period >= 60 and period % 60 == 0):
        return
    raise invalid(f"{member} must be 10, 20, 30 or a multiple of 60")


def check_actions(req: Mapping[str, Any], *, math: bool = False, composite: bool = False) -> None:
    for field in ACTION_LISTS:
        for arn in req.get(field) or []:
            parts = parse_arn(str(arn))
            if parts is None or not parts["service"]:
                raise invalid(f"Invalid arn syntax: {arn}")
            if math and parts["service"] == "automate":
                raise invalid("Alarms based on math expressions cannot perform Amazon EC2 actions.")
            if composite and parts["service"] == "autoscaling":
                raise invalid(f"Composite alarms cannot have Auto Scaling actions ({arn}).")


def _check_evaluation(req: Mapping[str, Any], period: int) -> None:
    if req.get("EvaluationPeriods") is None:
        raise _null("evaluationPeriods")
    n = int(req["EvaluationPeriods"])
    limit = 7 * DAY if period >= 3600 else DAY
    if n * period > limit:
        raise invalid(
            f"The evaluation period multiplied by the number of evaluation periods must not exceed {limit} seconds "
            f"({'7 days' if limit > DAY else '1 day'}); it is {n} * {period} = {n * period}."
        )
    m = req.get("DatapointsToAlarm")
    if m is not None and int(m) > n:
        raise invalid(f"DatapointsToAlarm ({m}) must be less than or equal to EvaluationPeriods ({n}).")
    treat = req.get("TreatMissingData")
    if treat is not None and treat not in TREAT_MISSING:
        raise invalid(f"Invalid value {treat} for TreatMissingData. Valid values are: {', '.join(TREAT_MISSING)}.")


def _check_comparison(req: Mapping[str, Any]) -> None:
    op = req.get("ComparisonOperator")
    if req.get("ThresholdMetricId") or op in BAND_OPERATORS:
        raise ServiceError(
            "ValidationError",
            "Anomaly detection alarms (ThresholdMetricId, ComparisonOperator "
            f"{' / '.join(BAND_OPERATORS)}) are not supported by Gureum yet.",
            400,
            sender_fault=True,
        )
    if op is None:
        raise _null("comparisonOperator")
    if op not in THRESHOLD_OPERATORS:
        raise invalid(f"Invalid value {op} for ComparisonOperator.")
    if req.get("Threshold") is None:
        raise _null("threshold")


def _check_single(req: Mapping[str, Any]) -> None:
    for field in ("Namespace", "MetricName"):
        if not req.get(field):
            raise invalid(f"{field} must be specified for an alarm on a single metric.")
    if req.get("Period") is None:
        raise invalid("Period must be specified for an alarm on a single metric.")
    check_alarm_period(int(req["Period"]))
    stat, ext = req.get("Statistic"), req.get("ExtendedStatistic")
    if (stat is None) == (ext is None):
        raise invalid("Exactly one of Statistic and ExtendedStatistic must be specified.")
    if ext is not None and stats.parse_percentile(str(ext)) is None:
        raise invalid(f"The value {ext} for parameter ExtendedStatistic is not supported by Gureum yet or is invalid.")
    low = req.get("EvaluateLowSampleCountPercentile")
    if low is not None:
        if low not in ("evaluate", "ignore"):
            raise invalid(f"Invalid value {low} for EvaluateLowSampleCountPercentile. Valid values are: evaluate, ignore.")
        if ext is None:
            raise invalid("EvaluateLowSampleCountPercentile can only be used with a percentile ExtendedStatistic.")
    metrics.canonical(req.get("Dimensions") or [])


def _check_metrics(queries: Sequence[Mapping[str, Any]]) -> int:
    """Check a math alarm's Metrics list; returns the alarm's period."""
    if len(queries) > MAX_METRICS:
        raise invalid(f"The collection Metrics must not have a size greater than {MAX_METRICS}.")
    ids = [str(q.get("Id") or "") for q in queries]
    if len(set(ids)) != len(ids):
        raise invalid("The Ids in the Metrics list must be unique.")
    if sum(1 for q in queries if q.get("ReturnData", True) is not False) != 1:
        raise invalid("Exactly one element of the metrics list should return data.")
    periods = set()
    exprs = []
    for q in queries:
        if (q.get("MetricStat") is None) == (q.get("Expression") is None):
            raise invalid(f"Exactly one of MetricStat and Expression must be specified in Metrics (Id {q.get('Id')}).")
        if q.get("MetricStat"):
            ms = q["MetricStat"]
            check_alarm_period(int(ms["Period"]), "Metrics.MetricStat.Period")
            if ms["Stat"] not in stats.STANDARD_STATISTICS and stats.parse_percentile(ms["Stat"]) is None:
                raise invalid(f"The value {ms['Stat']} for Stat is not supported by Gureum yet or is invalid.")
            periods.add(int(ms["Period"]))
        else:
            exprs.append(metric_math.Expression(str(q["Id"]), str(q["Expression"])))
    if len(periods) > 1:
        raise invalid("All metrics in a metric math alarm must use the same period.")
    known = {str(q["Id"]) for q in queries}
    for e in exprs:
        try:
            tree = metric_math.parse(e.text)
        except metric_math.MathError as exc:
            raise invalid(f"Error in expression {e.id}: {exc.message}") from exc
        unknown = sorted(metric_math.references(tree) - known)
        if unknown:
            raise invalid(f"Error in expression {e.id}: Unrecognized metric or expression id {unknown[0]}")
    if periods:
        return periods.pop()
    returned = next(q for q in queries if q.get("ReturnData", True) is not False)
    if returned.get("Period"):
        check_alarm_period(int(returned["Period"]))
        return int(returned["Period"])
    raise invalid("A metric math alarm needs a Period on its expression or at least one MetricStat.")


SINGLE_FIELDS = ("Namespace", "MetricName", "Dimensions", "Statistic", "ExtendedStatistic", "Period", "Unit")


def metric_alarm_fields(req: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration members of the MetricAlarm a valid request describes."""
    if req.get("EvaluationCriteria") is not None:
        raise invalid("PromQL alarms (EvaluationCriteria) are not supported by Gureum yet.")
    queries = list(req.get("Metrics") or [])
    given = [f for f in SINGLE_FIELDS if req.get(f) not in (None, [])]
    if queries and given:
        raise invalid(f"Metrics and {given[0]} cannot both be specified: a metric math alarm has no {given[0]}.")
    if not queries and not req.get("MetricName") and not req.get("Namespace"):
        raise invalid("Either a metric (Namespace, MetricName) or a Metrics list must be specified.")
    _check_comparison(req)
    if queries:
        period = _check_metrics(queries)
    else:
        _check_single(req)
        period = int(req["Period"])
    _check_evaluation(req, period)
    check_actions(req, math=bool(queries))
    out: dict[str, Any] = {}
    keep = (*SINGLE_FIELDS, "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
            "TreatMissingData", "EvaluateLowSampleCountPercentile", "Metrics")
    for field in keep:
        if req.get(field) not in (None, []):
            out[field] = req[field]
    if "Threshold" in out:
        out["Threshold"] = float(out["Threshold"])
    if not queries:
        out["Dimensions"] = list(req.get("Dimensions") or [])
    return out


def spec_of(alarm: Mapping[str, Any]) -> AlarmSpec:
    """The evaluator's view of a stored MetricAlarm."""
    n = int(alarm["EvaluationPeriods"])
    queries = alarm.get("Metrics") or []
    if queries:
        returned = next(q for q in queries if q.get("ReturnData", True) is not False)
        stat_periods = [int(q["MetricStat"]["Period"]) for q in queries if q.get("MetricStat")]
        period = stat_periods[0] if stat_periods else int(returned["Period"])
        statistic = None
    else:
        period = int(alarm["Period"])
        statistic = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    return AlarmSpec(
        period=period,
        evaluation_periods=n,
        datapoints_to_alarm=int(alarm.get("DatapointsToAlarm") or n),
        threshold=float(alarm["Threshold"]),
        comparison=str(alarm["ComparisonOperator"]),
        treat_missing=str(alarm.get("TreatMissingData") or "missing"),
        statistic=statistic,
        unit=alarm.get("Unit"),
        low_sample=str(alarm.get("EvaluateLowSampleCountPercentile") or "evaluate"),
    )


def composite_fields(req: Mapping[str, Any]) -> dict[str, Any]:
    check_actions(req, composite=True)
    out = {f: req[f] for f in ("AlarmRule", "ActionsSuppressor", "ActionsSuppressorWaitPeriod",
                               "ActionsSuppressorExtensionPeriod") if req.get(f) is not None}
    return out
