"""Health checks: one loop per registered target of a group in use.

Each check opens its own connection to the target's address on the health
check port (``traffic-port`` = the target's port), sends
``GET <path> HTTP/1.1`` with ``User-Agent: ELB-HealthChecker/2.0`` and reads
the status line; the connection is closed after every check, as ALB does.

* no answer within ``HealthCheckTimeoutSeconds`` → ``Target.Timeout``
* refused, reset, or not HTTP → ``Target.FailedHealthChecks``
* a status the matcher does not accept → ``Target.ResponseCodeMismatch``

The result goes through :meth:`Runtime.set_health` (the pure state machine
in :mod:`health`).  A new target is checked at once, then every
``HealthCheckIntervalSeconds`` of clock time; the loop ends when the target
leaves the group, starts draining, or its group stops being used.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING

from gureum.core.clock import Clock
from gureum.services.elbv2.conn import Closed, Conn, TooLong, race
from gureum.services.elbv2.health import CheckResult, Event, Reason, State, code_matches
from gureum.services.elbv2.http1 import Malformed, parse_response_head

if TYPE_CHECKING:
    from gureum.services.elbv2.plane import GroupRt, TargetRt
    from gureum.services.elbv2.runtime import Runtime

USER_AGENT = "ELB-HealthChecker/2.0"
CHECKED_STATES = (State.INITIAL, State.HEALTHY, State.UNHEALTHY)


async def _status(clock: Clock, host: str, port: int, path: str, tls: ssl.SSLContext | None) -> int:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(lambda: Conn(clock), host, port, ssl=tls)
    try:
        conn.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
                "Accept: */*\r\nConnection: close\r\n\r\n"
            ).encode("latin-1")
        )
        raw = await conn.read_until(b"\r\n\r\n", 64 * 1024)
        return parse_response_head(raw).status
    finally:
        conn.close()


async def probe(
    clock: Clock, host: str, port: int, path: str, timeout: float, matcher: str, tls: ssl.SSLContext | None
) -> CheckResult:
    try:
        code = await race(clock, _status(clock, host, port, path, tls), timeout)
    except TimeoutError:
        return CheckResult(False, Reason.TIMEOUT)
    except (OSError, Closed, TooLong, Malformed, ssl.SSLError):
        return CheckResult(False, Reason.FAILED_HEALTH_CHECKS)
    if code_matches(matcher, code):
        return CheckResult(True, code=code)
    return CheckResult(False, Reason.RESPONSE_CODE_MISMATCH, code)


async def check_once(rt: Runtime, group: GroupRt, target: TargetRt) -> CheckResult:
    doc = group.doc
    if doc.get("TargetType") == "lambda":
        from gureum.services.elbv2.lambda_target import health_check

        return await health_check(rt, group, target)
    if target.address is None:
        return CheckResult(False, Reason.FAILED_HEALTH_CHECKS)
    port_setting = str(doc.get("HealthCheckPort") or "traffic-port")
    port = target.port if port_setting == "traffic-port" else int(port_setting)
    secure = doc.get("HealthCheckProtocol") == "HTTPS"
    matcher = str((doc.get("Matcher") or {}).get("HttpCode") or "200")
    return await probe(
        rt.clock,
        target.address,
        port,
        str(doc.get("HealthCheckPath") or "/"),
        float(doc.get("HealthCheckTimeoutSeconds", 5)),
        matcher,
        rt.client_tls() if secure else None,
    )


async def run(rt: Runtime, arn: str, key: str) -> None:
    """Check one target until it no longer should be."""
    me = asyncio.current_task()
    while True:
        group = rt.groups.get(arn)
        target = group.targets.get(key) if group is not None else None
        if group is None or target is None or target.checker is not me or target.state not in CHECKED_STATES:
            return
        result = await check_once(rt, group, target)
        group = rt.groups.get(arn)
        target = group.targets.get(key) if group is not None else None
        if group is None or target is None or target.checker is not me or target.state not in CHECKED_STATES:
            return
        rt.set_health(group, target, Event.PASS if result.ok else Event.FAIL, result)
        await rt.clock.sleep(float(group.doc.get("HealthCheckIntervalSeconds", 30)))
