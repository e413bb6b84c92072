"""What other services (the Auto Scaling services' target tracking policies)
may call on CloudWatch alarms.

    put_metric_alarm(app, scope, {"AlarmName": …, "Namespace": …, …})   # PutMetricAlarm's input
    delete_alarms(app, scope, ["name", …])
    alarm(app, scope, "name")        # the MetricAlarm dict, as DescribeAlarms shows it, or None
    alarms(app, scope)               # [alarm dict, …]: every alarm, in name order
    alarms_calling(app, scope, [arn, …])   # {arn: [alarm dict, …]}: the alarms that call each ARN
    alarms_written_since(app, mark)  # (new mark, {(account, region, name): alarm dict or None} or None)

They behave exactly as the API operations (same checks, same errors:
``ValidationError``/``ServiceError`` with CloudWatch's codes), load the
service so the evaluator runs, and return at once.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from gureum.core.ids import request_id
from gureum.core.store import Scope
from gureum.services.api import RequestContext

if TYPE_CHECKING:
    from gureum.app import App


def _ctx(app: App, scope: Scope, operation: str) -> RequestContext:
    app.service_api("cloudwatch")  # loads the service and starts the evaluator
    return RequestContext("cloudwatch", operation, scope.account, scope.region, request_id(), app)


def put_metric_alarm(app: App, scope: Scope, req: dict[str, Any]) -> None:
    from gureum.services.cloudwatch.alarms_api import put_metric_alarm as handler

    handler(_ctx(app, scope, "PutMetricAlarm"), dict(req))


def delete_alarms(app: App, scope: Scope, alarm_names: list[str]) -> None:
    from gureum.services.cloudwatch.alarms_api import delete_alarms as handler

    if alarm_names:
        handler(_ctx(app, scope, "DeleteAlarms"), {"AlarmNames": list(alarm_names)})


def alarm(app: App, scope: Scope, name: str) -> dict[str, Any] | None:
    from gureum.services.cloudwatch import alarm_records

    doc = alarm_records.get(app.store, scope, name)
    return None if doc is None else dict(doc["alarm"])


def alarms_with_action(app: App, scope: Scope, action_arn: str) -> list[dict[str, str]]:
    """``[{"AlarmName", "AlarmARN"}]`` of the alarms that call ``action_arn`` in any state."""
    return [{"AlarmName": a["AlarmName"], "AlarmARN": a["AlarmArn"]}
            for a in alarms_calling(app, scope, [action_arn])[action_arn]]


def alarms(app: App, scope: Scope) -> list[dict[str, Any]]:
    """Every alarm of ``scope``, as DescribeAlarms shows it, in name order."""
    from gureum.services.cloudwatch import alarm_records

    return [dict(doc["alarm"]) for _, doc in alarm_records.all_alarms(app.store, scope)]


def alarms_calling(app: App, scope: Scope, action_arns: Collection[str]) -> dict[str, list[dict[str, Any]]]:
    """For each of ``action_arns``, the alarms (as DescribeAlarms shows them) that call it in any
    state; one pass over the alarms however many ARNs are asked about."""
    from gureum.services.cloudwatch import alarm_records

    out: dict[str, list[dict[str, Any]]] = {arn: [] for arn in action_arns}
    for _, doc in alarm_records.all_alarms(app.store, scope):
        a = doc["alarm"]
        called = {arn for k in ("AlarmActions", "OKActions", "InsufficientDataActions") for arn in a.get(k) or []}
        for arn in called & out.keys():
            out[arn].append(dict(a))
    return out


def alarms_written_since(app: App, mark: tuple[int, int] | None
                         ) -> tuple[tuple[int, int], dict[tuple[str, str, str], dict[str, Any] | None] | None]:
    """(a mark of now, the alarms written by this process since ``mark``: (account, region, name) →
    the alarm as DescribeAlarms shows it, None when deleted) — None instead when that is not known
    (no mark, the store was reset, or too many writes ago): a caller keeping answers about alarms
    asks again only about these."""
    from gureum.services.cloudwatch import alarm_records

    v = alarm_records.versions(app.store)
    now = (v.epoch, v.journal_end())
    if mark is None or mark[0] != v.epoch or mark[1] < v.journal_base:
        return now, None
    out: dict[tuple[str, str, str], dict[str, Any] | None] = {}
    for key in v.journal[mark[1] - v.journal_base:]:
        if key not in out:
            seen = v.latest.get(key)
            doc = None if seen is None else seen[1]
            out[key] = None if doc is None else dict(doc["alarm"])
    return now, out
