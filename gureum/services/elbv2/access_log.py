"""ALB access-log entries.  Pure formatting.

One line per request, space-separated, in the field order of ALB's access
log (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html):

    type time elb client:port target:port request_processing_time
    target_processing_time response_processing_time elb_status_code
    target_status_code received_bytes sent_bytes "request" "user_agent"
    ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
    "chosen_cert_arn" matched_rule_priority request_creation_time
    "actions_executed" "redirect_url" "error_reason" "target:port_list"
    "target_status_code_list" "classification" "classification_reason"

Times Gureum does not measure separately are ``0.000``; ``-1`` where ALB
writes it (no target answered).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gureum.services.elbv2.proxy import Exchange


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _q(value: str) -> str:
    return '"' + value.replace('"', "%22") + '"'


def format_entry(ex: Exchange, mono_now: float, now: float) -> str:
    lb = ex.lb
    elb_id = "app/" + lb.arn.split(":loadbalancer/app/", 1)[-1]
    kind = "https" if ex.listener.protocol == "HTTPS" else "http"
    client = f"{ex.conn.peer[0]}:{ex.conn.peer[1]}"
    request = f"{ex.head.method} {kind}://{ex.host or '-'}:{ex.listener.port}{ex.path}"
    if ex.query:
        request += "?" + ex.query
    request += f" {ex.head.version}"
    ua = ex.head.get("user-agent") or "-"
    target_time = f"{ex.target_time:.3f}" if ex.target_time >= 0 else "-1"
    target_status = str(ex.target_status) if ex.target_status is not None else "-"
    fields = [
        kind,
        iso(now),
        elb_id,
        client,
        ex.target,
        "0.000",
        target_time,
        "0.000",
        str(ex.status),
        target_status,
        str(ex.received),
        str(ex.sent),
        _q(request),
        _q(ua),
        "-",
        "-",
        ex.group_arn,
        _q(ex.trace or "-"),
        _q("-"),
        _q("-"),
        ex.rule_priority,
        iso(ex.received_at),
        _q(ex.actions),
        _q(ex.redirect_url),
        _q(ex.error_reason),
        _q(ex.target),
        _q(target_status),
        _q("-"),
        _q("-"),
    ]
    return " ".join(fields)
