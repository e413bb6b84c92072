"""DescribeAlarmHistory: the alarm history items of a scope, filtered and paged.

Filters: ``AlarmName``, ``AlarmTypes`` (metric alarms only when omitted, as
CloudWatch does), ``HistoryItemType`` (ConfigurationUpdate, StateUpdate,
Action), ``StartDate``/``EndDate`` (both inclusive).  ``ScanBy``
TimestampDescending (default, newest first) or TimestampAscending;
``MaxRecords`` 1–100 (default 100); ``NextToken`` marks the last item
returned.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch.alarm_config import invalid
from gureum.services.cloudwatch.datum import epoch
from gureum.services.cloudwatch.metric_handlers import decode_token, encode_token

MAX_RECORDS = 100


def _matches(item: dict[str, Any], req: dict[str, Any]) -> bool:
    if req.get("AlarmName") and item["AlarmName"] != req["AlarmName"]:
        return False
    if item.get("AlarmType", "MetricAlarm") not in (req.get("AlarmTypes") or ["MetricAlarm"]):
        return False
    return not (req.get("HistoryItemType") and item["HistoryItemType"] != req["HistoryItemType"])


def describe_alarm_history(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    size = int(req.get("MaxRecords") or MAX_RECORDS)
    if not 1 <= size <= MAX_RECORDS:
        raise invalid(f"The value {size} for parameter MaxRecords is invalid: it must be between 1 and {MAX_RECORDS}.")
    newest_first = (req.get("ScanBy") or "TimestampDescending") == "TimestampDescending"
    start = epoch(req["StartDate"]) if req.get("StartDate") is not None else None
    end = epoch(req["EndDate"]) + 0.001 if req.get("EndDate") is not None else None
    if start is not None and end is not None and start >= end:
        raise invalid("The parameter StartDate must be less than the parameter EndDate.")
    mark = None
    if req.get("NextToken"):
        mark = decode_token(req["NextToken"], "InvalidNextToken")
        if not isinstance(mark, int):
            raise ServiceError("InvalidNextToken", "The specified NextToken is not valid.", 400, sender_fault=True)
    found: list[tuple[int, dict[str, Any]]] = []
    for seq, item in records.history(ctx.store, ctx.scope, start=start, end=end, newest_first=newest_first,
                                     after_seq=mark):
        if _matches(item, req):
            found.append((seq, item))
            if len(found) > size:
                break
    page = found[:size]
    out: dict[str, Any] = {"AlarmHistoryItems": [item for _, item in page]}
    if len(found) > size:
        out["NextToken"] = encode_token(page[-1][0])
    return out


OPERATIONS = {"DescribeAlarmHistory": describe_alarm_history}
