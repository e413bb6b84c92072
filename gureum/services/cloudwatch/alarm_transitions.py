"""What happens when an alarm's state is set: the record, the history, the
actions, and the composite alarms above it.

Used by the evaluator (:mod:`alarm_controller`) and by SetAlarmState and
PutCompositeAlarm (:mod:`alarms_api`).  Rules (CloudWatch user guide, "Alarm
actions"):

* every state update writes a ``StateUpdate`` history item
  (``Alarm updated from OK to ALARM``);
* on a *transition*, with ``ActionsEnabled``, each ARN of the new state's
  action list is dispatched on the bus as ``cloudwatch.alarm_action`` (see
  :func:`action_payload`) and recorded as an ``Action`` history item
  (``Successfully executed action <arn>``).  Auto Scaling and Application
  Auto Scaling subscribe to that topic and run their policies; SNS topics,
  Lambda functions and EC2 actions are dispatched and recorded the same way
  (Gureum has no SNS yet: the message is in the item's HistoryData);
* Auto Scaling actions (ARNs of service ``autoscaling``) are invoked again
  for every period the alarm stays in the state (:func:`reinvoke_due`: an
  Action item each time, the alarm's ``invoked`` marks kept in memory and
  completed from those items when the document is read again);
  every other action fires on transitions only;
* after a transition the composite alarms whose rule names the alarm are
  evaluated again, recursively.

Every state change is also published as ``cloudwatch.alarm_state`` (name,
state, previous state, scope) for anyone who watches alarms (ECS deployment
alarms, the console).
"""

from __future__ import annotations

import functools
import json
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gureum.core.ids import parse_arn
from gureum.core.store import Scope
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch import composite
from gureum.services.cloudwatch.alarm_config import STATE_ACTIONS
from gureum.services.cloudwatch.alarm_eval import iso_millis

if TYPE_CHECKING:
    from gureum.app import App

ACTION_TOPIC = "cloudwatch.alarm_action"
STATE_TOPIC = "cloudwatch.alarm_state"
MAX_DEPTH = 16
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
}


_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(…, separators=…), made once
_string = json.encoder.encode_basestring_ascii  # how that encoder writes a str


@functools.lru_cache(maxsize=4096)  # asked for every action of every alarm at every evaluation
def _service(action: str) -> str | None:
    parts = parse_arn(action)
    return None if parts is None else str(parts["service"])


def is_autoscaling(action: str) -> bool:
    return _service(action) == "autoscaling"


def spoken_time(ts: float) -> str:
    """``Friday 23 October, 2020 13:36:40 UTC`` (composite alarm reasons)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%A %d %B, %Y %H:%M:%S UTC")


def newest_value(reason_data: str | None) -> float | None:
    """The newest datapoint of a StateReasonData (what a scaling policy compares)."""
    if not reason_data:
        return None
    return _newest_value(reason_data)


@functools.lru_cache(maxsize=1024)  # re-invoked actions send the same reason data every period
def _newest_value(reason_data: str) -> float | None:
    try:
        recent = json.loads(reason_data).get("recentDatapoints") or []
        return float(recent[-1]) if recent else None
    except (ValueError, TypeError, AttributeError):
        return None


def notification(scope: Scope, alarm: dict[str, Any], previous: str, now: float) -> dict[str, Any]:
    """The state-change message CloudWatch publishes to SNS topics."""
    msg: dict[str, Any] = {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": scope.account,
        "AlarmConfigurationUpdatedTimestamp": iso_millis(float(alarm["AlarmConfigurationUpdatedTimestamp"])),
        "NewStateValue": alarm["StateValue"],
        "NewStateReason": alarm["StateReason"],
        "StateChangeTime": iso_millis(now),
        "Region": REGION_NAMES.get(scope.region, scope.region),
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": previous,
        "OKActions": alarm.get("OKActions") or [],
        "AlarmActions": alarm.get("AlarmActions") or [],
        "InsufficientDataActions": alarm.get("InsufficientDataActions") or [],
    }
    if "AlarmRule" in alarm:
        msg["AlarmRule"] = alarm["AlarmRule"]
        return msg
    trigger: dict[str, Any] = {
        "Period": alarm.get("Period"),
        "EvaluationPeriods": alarm.get("EvaluationPeriods"),
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods"),
        "ComparisonOperator": alarm.get("ComparisonOperator"),
        "Threshold": alarm.get("Threshold"),
        "TreatMissingData": alarm.get("TreatMissingData") or "missing",
        "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile") or "",
    }
    if alarm.get("Metrics"):
        trigger["Metrics"] = alarm["Metrics"]
    else:
        stat = alarm.get("Statistic")
        trigger.update(
            MetricName=alarm.get("MetricName"),
            Namespace=alarm.get("Namespace"),
            StatisticType="Statistic" if stat else "ExtendedStatistic",
            Statistic=stat.upper() if stat else None,
            ExtendedStatistic=alarm.get("ExtendedStatistic"),
            Unit=alarm.get("Unit"),
            Dimensions=[{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions") or []],
        )
    msg["Trigger"] = trigger
    return msg


def action_payload(
    scope: Scope, doc: dict[str, Any], action: str, previous: str, now: float, *, repeat: bool
) -> dict[str, Any]:
    """What ``cloudwatch.alarm_action`` subscribers get for one action ARN.

    ``message`` (the SNS notification) is there for actions other than Auto Scaling.
    """
    alarm = doc["alarm"]
    payload = {
        "arn": action,
        "alarm": alarm["AlarmName"],
        "alarmArn": alarm["AlarmArn"],
        "alarmType": doc["type"],
        "state": alarm["StateValue"],
        "previousState": previous,
        "account": scope.account,
        "region": scope.region,
        "reason": alarm.get("StateReason"),
        "reasonData": alarm.get("StateReasonData"),
        "value": newest_value(alarm.get("StateReasonData")),
        "threshold": alarm.get("Threshold"),
        "comparison": alarm.get("ComparisonOperator"),
        "timestamp": now,
        "repeat": repeat,
    }
    if not is_autoscaling(action):
        payload["message"] = notification(scope, alarm, previous, now)
    return payload


def _actions(
    scope: Scope, doc: dict[str, Any], actions: list[str], previous: str, now: float, *, repeat: bool
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    """Each action's payload and its ``Action`` history item (type, summary, data); marks ``doc``'s
    ``invoked`` times."""
    invoked = doc.setdefault("invoked", {})
    payloads, items = [], []
    stamp = int(now * 1000)
    for action in actions:
        payload = action_payload(scope, doc, action, previous, now, repeat=repeat)
        payloads.append(payload)
        invoked[action] = now
        # {"actionState":"Succeeded","stateUpdateTimestamp":…,"notificationResource":…[,"publishedMessage":…]},
        # compact, as the JSON encoder writes that dict
        data = '{"actionState":"Succeeded","stateUpdateTimestamp":' + str(stamp) + ',"notificationResource":' \
            + _string(action)
        if _service(action) == "sns":
            data += ',"publishedMessage":' + _string(_compact(payload["message"]))
        items.append(("Action", records.ACTION_SUMMARY + action, data + "}"))
    return payloads, items


def _store(app: App, scope: Scope, doc: dict[str, Any], items: list[tuple[str, str, str]], now: float) -> None:
    """``doc`` and its history items (type, summary, data as a JSON string: ``"…"``), in that order,
    in one transaction."""
    name, kind = doc["alarm"]["AlarmName"], doc["type"]
    with app.store.transaction():
        records.put(app.store, scope, name, doc)
        records.add_history_literals(app.store, scope, name, kind, items, now)


def set_state(
    app: App,
    scope: Scope,
    doc: dict[str, Any],
    state: str,
    reason: str,
    reason_data: str | None,
    now: float,
    depth: int = 0,
    composites: list[str] | None = None,
) -> bool:
    """Record a state update of an alarm; on a transition fire its actions. Returns whether it changed.

    The alarm, its StateUpdate item and, on a transition, its Action items and ``invoked`` marks
    are written in one transaction; then the state is published, then the actions (their
    subscribers see the alarm as stored).

    ``composites``: the names of the scope's composite alarms when the caller knows them
    (the evaluator's tick), so a transition need not read every alarm to find its parents.
    """
    alarm = doc["alarm"]
    name = alarm["AlarmName"]
    before = {k: alarm.get(k) for k in ("StateValue", "StateReason", "StateReasonData")}
    previous = str(alarm["StateValue"])
    changed = previous != state
    alarm.update(StateValue=state, StateReason=reason, StateUpdatedTimestamp=now)
    if reason_data:
        alarm["StateReasonData"] = reason_data
    else:
        alarm.pop("StateReasonData", None)
    if changed:
        alarm["StateTransitionedTimestamp"] = now
    items = [("StateUpdate", f"Alarm updated from {previous} to {state}", records.state_history_literal(before, alarm))]
    payloads: list[dict[str, Any]] = []
    if changed and alarm.get("ActionsEnabled", True):
        payloads, actions = _actions(scope, doc, list(alarm.get(STATE_ACTIONS[state]) or []), previous, now,
                                     repeat=False)
        items += [(kind, summary, _string(data)) for kind, summary, data in actions]
    _store(app, scope, doc, items, now)
    app.bus.publish(STATE_TOPIC, {"account": scope.account, "region": scope.region, "alarm": name,
                                  "state": state, "previousState": previous, "timestamp": now})
    for payload in payloads:
        app.bus.publish(ACTION_TOPIC, payload)
    if changed:
        update_parents(app, scope, name, now, depth, composites)
    return changed


# store → (account, region, name) → the alarm document object whose ``invoked`` marks are known to be
# current (completed from the history once, then kept by this module's own writes)
_CURRENT: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], dict[str, Any]]] = weakref.WeakKeyDictionary()
_CURRENT_MAX = 4096


def _marks(app: App, scope: Scope, doc: dict[str, Any], period: int, now: float) -> dict[str, Any]:
    """``doc``'s ``invoked`` marks, current.  A document read from the store holds the marks of its
    last write; the re-invocations since then are the alarm's ``Action`` items, looked up once per
    document object: since the state began and at most a period ago (older ones are due anyway)."""
    invoked: dict[str, Any] = doc.setdefault("invoked", {})
    current = _CURRENT.get(app.store)
    if current is None:
        current = _CURRENT[app.store] = {}
    alarm = doc["alarm"]
    key = (scope.account, scope.region, alarm["AlarmName"])
    if current.get(key) is not doc:
        began = float(alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp") or 0.0)
        for action, at in records.invocations_since(app.store, scope, alarm["AlarmName"],
                                                    max(began, now - period)).items():
            if at > float(invoked.get(action, float("-inf"))):
                invoked[action] = at
        if len(current) >= _CURRENT_MAX:
            current.clear()
        current[key] = doc
    return invoked


def reinvoke_due(app: App, scope: Scope, doc: dict[str, Any], period: int, now: float) -> int:
    """Invoke again the Auto Scaling actions of an alarm that stays in its state a period longer.

    Their Action items are written first (one transaction); they are the record of the
    invocation — the alarm document is not written again for its ``invoked`` marks (:func:`_marks`).
    """
    alarm = doc["alarm"]
    if not alarm.get("ActionsEnabled", True):
        return 0
    actions = [a for a in alarm.get(STATE_ACTIONS[alarm["StateValue"]]) or [] if is_autoscaling(a)]
    if not actions:
        return 0
    invoked = _marks(app, scope, doc, period, now)
    due = [a for a in actions if now - float(invoked.get(a, float("-inf"))) >= period - 1]
    if due:
        payloads, items = _actions(scope, doc, due, alarm["StateValue"], now, repeat=True)
        records.add_history_items(app.store, scope, alarm["AlarmName"], doc["type"], items, now)
        for payload in payloads:
            app.bus.publish(ACTION_TOPIC, payload)
    return len(due)


def _child_state(scope: Scope, alarm: dict[str, Any]) -> composite.ChildState:
    ts = float(alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp") or 0.0)
    return composite.ChildState(alarm["AlarmArn"], alarm["StateValue"], iso_millis(ts), spoken_time(ts))


def evaluate_composite(app: App, scope: Scope, doc: dict[str, Any], now: float, depth: int = 0) -> bool:
    rule = composite.parse_rule(doc["alarm"]["AlarmRule"])
    kids: dict[str, composite.ChildState] = {}
    for child in composite.children(rule):
        cdoc = records.get(app.store, scope, child)
        if cdoc is not None:
            kids[child] = _child_state(scope, cdoc["alarm"])
    state, reason, data = composite.decide(rule, kids)
    if state == doc["alarm"]["StateValue"]:
        return False
    return set_state(app, scope, doc, state, reason, data, now, depth + 1)


def update_parents(
    app: App, scope: Scope, child: str, now: float, depth: int = 0, composites: list[str] | None = None
) -> None:
    if depth >= MAX_DEPTH or composites == []:
        return
    if composites is None:
        docs = [doc for _, doc in records.all_alarms(app.store, scope)]
    else:
        docs = [d for d in (records.get(app.store, scope, n) for n in composites) if d is not None]
    for doc in docs:
        if doc["type"] != "CompositeAlarm":
            continue
        if child in composite.children(composite.parse_rule(doc["alarm"]["AlarmRule"])):
            evaluate_composite(app, scope, doc, now, depth)
