"""Alarms for Gureum's other services: the public way in.

Auto Scaling creates and deletes the alarms its target tracking policies own,
ECS reads deployment alarms, the console shows states — through these
functions, never through this folder's other modules.  They run the very
handlers the API runs (same validation, history and evaluation), in the
caller's account and region.

Alarm actions reach other services on the bus:

* ``ACTION_TOPIC`` (``cloudwatch.alarm_action``) — one message per action ARN
  when an alarm enters a state with actions, and again every period for
  Auto Scaling ARNs while it stays there.  Payload: ``arn``, ``alarm``,
  ``alarmArn``, ``alarmType``, ``state``, ``previousState``, ``account``,
  ``region``, ``reason``, ``reasonData`` (StateReasonData JSON), ``value``
  (the newest datapoint evaluated, for step adjustments), ``threshold``,
  ``comparison``, ``timestamp``, ``repeat`` (a re-invocation), and for
  non-Auto Scaling ARNs ``message`` (the SNS notification body).
* ``STATE_TOPIC`` (``cloudwatch.alarm_state``) — every state update:
  ``account``, ``region``, ``alarm``, ``state``, ``previousState``,
  ``timestamp``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.ids import request_id
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch.alarm_transitions import ACTION_TOPIC, STATE_TOPIC

if TYPE_CHECKING:
    from gureum.app import App

__all__ = ["ACTION_TOPIC", "STATE_TOPIC", "alarm", "call", "delete_alarms", "put_metric_alarm"]


def call(app: App, scope: Scope, operation: str, **req: Any) -> dict[str, Any]:
    """Run a CloudWatch operation (model member names) as ``scope``; raises ServiceError."""
    api = app.service_api("cloudwatch")
    assert api is not None
    ctx = RequestContext("cloudwatch", operation, scope.account, scope.region, request_id(), app)
    return api.handlers[operation](ctx, req)  # type: ignore[return-value]


def put_metric_alarm(app: App, scope: Scope, **req: Any) -> None:
    call(app, scope, "PutMetricAlarm", **req)


def delete_alarms(app: App, scope: Scope, names: list[str]) -> None:
    call(app, scope, "DeleteAlarms", AlarmNames=names)


def alarm(app: App, scope: Scope, name: str) -> dict[str, Any] | None:
    """The alarm as DescribeAlarms shows it (StateValue…), or None."""
    doc = records.get(app.store, scope, name)
    return None if doc is None else dict(doc["alarm"])
