"""CloudWatch alarm operations: PutMetricAlarm, PutCompositeAlarm,
DescribeAlarms, DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState,
Enable/DisableAlarmActions and the alarm tags.

Handlers record intent: a new or updated metric alarm is stored (state
INSUFFICIENT_DATA with "Unchecked: Initial alarm creation" when new; an
update keeps the state and overwrites the whole configuration, tags
excepted) and handed to the evaluator (:func:`alarm_controller.poke`).
SetAlarmState applies its state at once (history, actions on a transition)
and the next evaluation decides again.  A composite alarm is evaluated when
it is saved and whenever a child changes state.  Validation lives in
:mod:`alarm_config`; DescribeAlarmHistory in :mod:`alarm_history_api`.
"""

from __future__ import annotations

import json
from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import alarm_controller, alarm_transitions, composite
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch.alarm_config import composite_fields, invalid, metric_alarm_fields
from gureum.services.cloudwatch.metric_handlers import decode_token, encode_token

DEFAULT_PAGE = 50
MAX_PAGE = 100


def _combination(message: str) -> ServiceError:
    return ServiceError("InvalidParameterCombination", message, 400, sender_fault=True)


def _base(ctx: RequestContext, req: dict[str, Any], existing: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    """Members every alarm has, the state carried over from ``existing``."""
    now = ctx.clock.now()
    name = req["AlarmName"]
    if existing is not None and existing["type"] != kind:
        other = "composite" if existing["type"] == "CompositeAlarm" else "metric"
        call = "PutCompositeAlarm" if other == "composite" else "PutMetricAlarm"
        raise invalid(f"The alarm {name} already exists as a {other} alarm; use {call} to update it.")
    alarm: dict[str, Any] = {
        "AlarmName": name,
        "AlarmArn": records.alarm_arn(ctx.scope, name),
        "AlarmConfigurationUpdatedTimestamp": now,
        "ActionsEnabled": req.get("ActionsEnabled", True) is not False,
        "OKActions": list(req.get("OKActions") or []),
        "AlarmActions": list(req.get("AlarmActions") or []),
        "InsufficientDataActions": list(req.get("InsufficientDataActions") or []),
    }
    if req.get("AlarmDescription") is not None:
        alarm["AlarmDescription"] = req["AlarmDescription"]
    state = ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp", "StateTransitionedTimestamp")
    if existing is not None:
        alarm.update({k: existing["alarm"][k] for k in state if k in existing["alarm"]})
    else:
        alarm.update(StateValue="INSUFFICIENT_DATA", StateReason=records.INITIAL_REASON,
                     StateUpdatedTimestamp=now, StateTransitionedTimestamp=now)
    return alarm


def _save(ctx: RequestContext, kind: str, alarm: dict[str, Any], existing: dict[str, Any] | None,
          tags: list[dict[str, str]]) -> dict[str, Any]:
    name = alarm["AlarmName"]
    doc = {
        "type": kind,
        "alarm": alarm,
        "tags": existing["tags"] if existing is not None else tags,
        "invoked": existing.get("invoked", {}) if existing is not None else {},
    }
    if existing is not None:
        summary, data = f'Alarm "{name}" updated', records.config_history_data("Update", alarm, existing["alarm"])
    else:
        summary, data = f'Alarm "{name}" created', records.config_history_data("Create", alarm)
    with ctx.store.transaction():
        records.put(ctx.store, ctx.scope, name, doc)
        records.add_history(ctx.store, ctx.scope, name, kind, "ConfigurationUpdate", summary, data, ctx.clock.now())
    return doc


def put_metric_alarm(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    fields = metric_alarm_fields(req)
    existing = records.get(ctx.store, ctx.scope, req["AlarmName"])
    alarm = _base(ctx, req, existing, "MetricAlarm")
    alarm.update(fields)
    _save(ctx, "MetricAlarm", alarm, existing, list(req.get("Tags") or []))
    alarm_controller.poke(ctx.app, ctx.scope, req["AlarmName"])
    return {}


def _descendants(ctx: RequestContext, names: list[str], seen: set[str]) -> set[str]:
    for child in names:
        if child in seen:
            continue
        seen.add(child)
        doc = records.get(ctx.store, ctx.scope, child)
        if doc is not None and doc["type"] == "CompositeAlarm":
            _descendants(ctx, composite.children(composite.parse_rule(doc["alarm"]["AlarmRule"])), seen)
    return seen


def put_composite_alarm(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["AlarmName"]
    fields = composite_fields(req)
    kids = composite.children(composite.parse_rule(req["AlarmRule"]))
    missing = [c for c in kids if c != name and records.get(ctx.store, ctx.scope, c) is None]
    if missing:
        raise invalid(f"Could not save the composite alarm as alarms [{', '.join(missing)}] in the alarm rule do not exist")
    if name in _descendants(ctx, kids, set()):
        raise invalid(f"The alarm rule of {name} refers to {name} itself, directly or through other composite alarms.")
    existing = records.get(ctx.store, ctx.scope, name)
    alarm = _base(ctx, req, existing, "CompositeAlarm")
    alarm.update(fields)
    doc = _save(ctx, "CompositeAlarm", alarm, existing, list(req.get("Tags") or []))
    alarm_transitions.evaluate_composite(ctx.app, ctx.scope, doc, ctx.clock.now())
    return {}


def _page_args(req: dict[str, Any]) -> tuple[int, str]:
    size = int(req.get("MaxRecords") or DEFAULT_PAGE)
    if not 1 <= size <= MAX_PAGE:
        raise invalid(f"The value {size} for parameter MaxRecords is invalid: it must be between 1 and {MAX_PAGE}.")
    after = ""
    if req.get("NextToken"):
        after = decode_token(req["NextToken"], "InvalidNextToken")
        if not isinstance(after, str):
            raise ServiceError("InvalidNextToken", "The specified NextToken is not valid.", 400, sender_fault=True)
    return size, after


def _wanted(doc: dict[str, Any], req: dict[str, Any]) -> bool:
    alarm = doc["alarm"]
    if doc["type"] not in (req.get("AlarmTypes") or ["MetricAlarm"]):
        return False
    if req.get("AlarmNames") and alarm["AlarmName"] not in req["AlarmNames"]:
        return False
    if req.get("AlarmNamePrefix") and not alarm["AlarmName"].startswith(req["AlarmNamePrefix"]):
        return False
    if req.get("StateValue") and alarm["StateValue"] != req["StateValue"]:
        return False
    prefix = req.get("ActionPrefix")
    if prefix:
        actions = [*alarm.get("OKActions", []), *alarm.get("AlarmActions", []), *alarm.get("InsufficientDataActions", [])]
        return any(a.startswith(prefix) for a in actions)
    return True


def _related(ctx: RequestContext, req: dict[str, Any]) -> list[tuple[str, dict[str, Any]]] | None:
    """ChildrenOfAlarmName / ParentsOfAlarmName answers (every other filter ignored), or None."""
    docs = records.all_alarms(ctx.store, ctx.scope)
    if req.get("ChildrenOfAlarmName"):
        parent = records.get(ctx.store, ctx.scope, req["ChildrenOfAlarmName"])
        if parent is None or parent["type"] != "CompositeAlarm":
            return []
        kids = set(composite.children(composite.parse_rule(parent["alarm"]["AlarmRule"])))
        return [(n, d) for n, d in docs if n in kids]
    if req.get("ParentsOfAlarmName"):
        child = req["ParentsOfAlarmName"]
        return [
            (n, d) for n, d in docs
            if d["type"] == "CompositeAlarm" and child in composite.children(composite.parse_rule(d["alarm"]["AlarmRule"]))
        ]
    return None


def describe_alarms(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("AlarmNames") and req.get("AlarmNamePrefix"):
        raise _combination("AlarmNames and AlarmNamePrefix cannot be specified together.")
    size, after = _page_args(req)
    related = _related(ctx, req)
    if related is None:
        found = [(n, d) for n, d in records.all_alarms(ctx.store, ctx.scope) if _wanted(d, req)]
    else:
        found = related
    found = [(n, d) for n, d in found if n > after]
    page, more = found[:size], len(found) > size
    out: dict[str, Any] = {
        "MetricAlarms": [d["alarm"] for _, d in page if d["type"] == "MetricAlarm"],
        "CompositeAlarms": [d["alarm"] for _, d in page if d["type"] == "CompositeAlarm"],
    }
    if more:
        out["NextToken"] = encode_token(page[-1][0])
    return out


def _watches(alarm: dict[str, Any], req: dict[str, Any]) -> bool:
    dims = sorted((d["Name"], d["Value"]) for d in req.get("Dimensions") or [])
    wanted = {k: req.get(k) for k in ("Statistic", "ExtendedStatistic", "Period", "Unit") if req.get(k) is not None}
    stats_ = [q["MetricStat"] for q in alarm.get("Metrics") or [] if q.get("MetricStat")]
    candidates = [
        {"Namespace": s["Metric"].get("Namespace"), "MetricName": s["Metric"].get("MetricName"),
         "Dimensions": s["Metric"].get("Dimensions") or [], "Period": s.get("Period"), "Unit": s.get("Unit"),
         "Statistic": s.get("Stat"), "ExtendedStatistic": s.get("Stat")}
        for s in stats_
    ] or [alarm]
    for c in candidates:
        if (c.get("Namespace"), c.get("MetricName")) != (req["Namespace"], req["MetricName"]):
            continue
        if sorted((d["Name"], d["Value"]) for d in c.get("Dimensions") or []) != dims:
            continue
        if all(c.get(k) == v for k, v in wanted.items()):
            return True
    return False


def describe_alarms_for_metric(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    found = [
        d["alarm"] for _, d in records.all_alarms(ctx.store, ctx.scope)
        if d["type"] == "MetricAlarm" and _watches(d["alarm"], req)
    ]
    return {"MetricAlarms": found}


def delete_alarms(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    names = list(dict.fromkeys(req["AlarmNames"]))
    gone = set(names)
    blocked = []
    for n, d in records.all_alarms(ctx.store, ctx.scope):
        if d["type"] == "CompositeAlarm" and n not in gone:
            kids = composite.children(composite.parse_rule(d["alarm"]["AlarmRule"]))
            blocked += [k for k in kids if k in gone and k not in blocked]
    if blocked:
        which = "it" if len(blocked) == 1 else "them"
        raise invalid(f"Cannot delete {','.join(blocked)} as there are composite alarm(s) depending on {which}.")
    now = ctx.clock.now()
    with ctx.store.transaction():
        for name in names:  # names that do not exist are skipped, as CloudWatch does
            doc = records.get(ctx.store, ctx.scope, name)
            if doc is None:
                continue
            records.delete(ctx.store, ctx.scope, name)
            records.add_history(ctx.store, ctx.scope, name, doc["type"], "ConfigurationUpdate",
                                f'Alarm "{name}" deleted', records.config_history_data("Delete", doc["alarm"]), now)
    for name in names:
        alarm_controller.engine(ctx.app).forget(alarm_controller.alarm_key(ctx.scope, name))
    return {}


def _existing(ctx: RequestContext, name: str) -> dict[str, Any]:
    doc = records.get(ctx.store, ctx.scope, name)
    if doc is None:
        raise ServiceError("ResourceNotFound", f"Alarm {name} not found", sender_fault=True)
    return doc


def set_alarm_state(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = _existing(ctx, req["AlarmName"])
    data = req.get("StateReasonData")
    if data is not None:
        try:
            json.loads(data)
        except ValueError as exc:
            raise ServiceError("InvalidFormat", "The StateReasonData is not valid JSON.", sender_fault=True) from exc
    alarm_transitions.set_state(ctx.app, ctx.scope, doc, req["StateValue"], req["StateReason"], data, ctx.clock.now())
    return {}


def _set_actions(ctx: RequestContext, names: list[str], enabled: bool) -> None:
    now = ctx.clock.now()
    for name in names:
        doc = records.get(ctx.store, ctx.scope, name)
        if doc is None or doc["alarm"].get("ActionsEnabled", True) == enabled:
            continue
        original = dict(doc["alarm"])
        doc["alarm"]["ActionsEnabled"] = enabled
        doc["alarm"]["AlarmConfigurationUpdatedTimestamp"] = now
        with ctx.store.transaction():
            records.put(ctx.store, ctx.scope, name, doc)
            records.add_history(ctx.store, ctx.scope, name, doc["type"], "ConfigurationUpdate",
                                f'Alarm "{name}" updated', records.config_history_data("Update", doc["alarm"], original), now)


def enable_alarm_actions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _set_actions(ctx, list(req["AlarmNames"]), True)
    return {}


def disable_alarm_actions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _set_actions(ctx, list(req["AlarmNames"]), False)
    return {}


def _by_arn(ctx: RequestContext, arn: str) -> tuple[str, dict[str, Any]]:
    prefix = records.alarm_arn(ctx.scope, "")
    doc = records.get(ctx.store, ctx.scope, arn[len(prefix):]) if arn.startswith(prefix) else None
    if doc is None:
        raise ServiceError("ResourceNotFoundException", f"The resource {arn} does not exist.", sender_fault=True)
    return arn[len(prefix):], doc


def list_tags_for_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, doc = _by_arn(ctx, req["ResourceARN"])
    return {"Tags": doc.get("tags") or []}


def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name, doc = _by_arn(ctx, req["ResourceARN"])
    tags = {t["Key"]: t["Value"] for t in doc.get("tags") or []}
    tags.update({t["Key"]: t["Value"] for t in req["Tags"]})
    doc["tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    records.put(ctx.store, ctx.scope, name, doc)
    return {}


def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name, doc = _by_arn(ctx, req["ResourceARN"])
    doc["tags"] = [t for t in doc.get("tags") or [] if t["Key"] not in set(req["TagKeys"])]
    records.put(ctx.store, ctx.scope, name, doc)
    return {}


OPERATIONS = {
    "PutMetricAlarm": put_metric_alarm,
    "PutCompositeAlarm": put_composite_alarm,
    "DescribeAlarms": describe_alarms,
    "DescribeAlarmsForMetric": describe_alarms_for_metric,
    "DeleteAlarms": delete_alarms,
    "SetAlarmState": set_alarm_state,
    "EnableAlarmActions": enable_alarm_actions,
    "DisableAlarmActions": disable_alarm_actions,
    "ListTagsForResource": list_tags_for_resource,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
}
