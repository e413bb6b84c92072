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

Shipping: while ``access_logs.s3.enabled`` is on, the proxy keeps each line
(at most ``MAX_KEPT`` per balancer) and :func:`ship` writes them every 5
minutes of clock time, gzipped, to the bucket under AWS's key layout
``<prefix>/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/
<account>_elasticloadbalancing_<region>_app.<name>.<id>_<yyyymmddTHHMMZ>_<ip>_<random>.log.gz``.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gureum.core.errors import ServiceError

if TYPE_CHECKING:
    from gureum.services.elbv2.plane import LbRt
    from gureum.services.elbv2.proxy import Exchange
    from gureum.services.elbv2.runtime import Runtime

log = logging.getLogger("gureum.elbv2")
SHIP_PERIOD = 300.0
MAX_KEPT = 50_000


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


def object_key(prefix: str, lb: LbRt, end: float) -> str:
    t = datetime.fromtimestamp(end, UTC)
    account, region = lb.scope.account, lb.scope.region
    _, name, lb_id = lb.arn.split(":loadbalancer/", 1)[1].split("/")
    fname = (
        f"{account}_elasticloadbalancing_{region}_app.{name}.{lb_id}_{t:%Y%m%dT%H%MZ}_{lb.ip}_"
        f"{secrets.token_hex(4)}.log.gz"
    )
    path = f"AWSLogs/{account}/elasticloadbalancing/{region}/{t:%Y/%m/%d}/{fname}"
    return f"{prefix.strip('/')}/{path}" if prefix.strip("/") else path


async def ship(rt: Runtime) -> None:
    """Write every balancer's kept access-log lines to its bucket."""
    from gureum.services.s3 import public as s3

    for lb in list(rt.lbs.values()):
        bucket = lb.attrs.get("access_logs.s3.bucket", "")
        if lb.attrs.get("access_logs.s3.enabled") != "true" or not bucket or not lb.access_log:
            continue
        lines = list(lb.access_log)
        lb.access_log.clear()
        data = gzip.compress(("\n".join(lines) + "\n").encode())
        key = object_key(lb.attrs.get("access_logs.s3.prefix", ""), lb, rt.clock.now())
        try:
            await asyncio.to_thread(s3.put_object_bytes, rt.app, bucket, key, data, content_type="application/x-gzip")
        except ServiceError as exc:
            log.warning("access logs of %s to s3://%s failed: %s", lb.name, bucket, exc.message)
