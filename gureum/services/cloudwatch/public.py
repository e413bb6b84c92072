"""What other services (the Auto Scaling services' target tracking policies)
may call on CloudWatch alarms.

    put_metric_alarm(app, scope, {"AlarmName": …, "Namespace": …, …})   # PutMetricAlarm's input
    delete_alarms(app, scope, ["name", …])
    alarm(app, scope, "name")        # the MetricAlarm dict, as DescribeAlarms shows it, or None

They behave exactly as the API operations (same checks, same errors:
``ValidationError``/``ServiceError`` with CloudWatch's codes), load the
service so the evaluator runs, and return at once.
"""

from __future__ import annotations

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
    from gureum.services.cloudwatch import alarm_records

    out = []
    for _, doc in alarm_records.all_alarms(app.store, scope):
        a = doc["alarm"]
        if any(action_arn in (a.get(k) or []) for k in ("AlarmActions", "OKActions", "InsufficientDataActions")):
            out.append({"AlarmName": a["AlarmName"], "AlarmARN": a["AlarmArn"]})
    return out
