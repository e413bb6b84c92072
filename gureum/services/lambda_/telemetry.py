"""What an invocation leaves behind: CloudWatch Logs lines and AWS/Lambda metrics.

Log lines (AWS's text format, https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html)::

    INIT_START Runtime Version: …            (cold starts only)
    START RequestId: <id> Version: $LATEST
    …the function's own output, one event per line…
    <time> <id> Task timed out after 3.00 seconds        (timeouts only)
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t

They go to group ``/aws/lambda/<name>`` (or the function's
``LoggingConfig.LogGroup``), one stream per worker, named
``YYYY/MM/DD/[<version>]<32 hex>`` as AWS names a sandbox's stream.  The
``Tail`` a caller may ask for is the last 4 KB of one invocation's lines.

Metrics, namespace ``AWS/Lambda``, dimension ``FunctionName`` (plus
``Resource`` = ``name:qualifier`` and ``ExecutedVersion`` for qualified
invocations, as AWS adds them): ``Invocations``, ``Errors``, ``Duration``
(ms), ``Throttles``.

The formatting functions are pure; :func:`write_logs` and :func:`publish`
write through the Logs and CloudWatch services' public functions.
"""

from __future__ import annotations

import base64
import math
import platform
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gureum.core.store import Scope, Store

if TYPE_CHECKING:
    from gureum.services.lambda_.worker import Line, Outcome

TAIL_BYTES = 4096
NAMESPACE = "AWS/Lambda"


@dataclass(frozen=True, slots=True)
class ColdStart:
    init_ms: float
    lines: list[tuple[int, str]]
    runtime: str


def stream_name(now: float, version: str) -> str:
    day = datetime.fromtimestamp(now, UTC).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{uuid.uuid4().hex}"


def iso_ms(epoch_ms: int) -> str:
    dt = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def report_line(rid: str, outcome: Outcome, memory: int, cold: ColdStart | None) -> str:
    line = (
        f"REPORT RequestId: {rid}\tDuration: {outcome.duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(outcome.duration_ms))} ms\t"
        f"Memory Size: {memory} MB\tMax Memory Used: {outcome.maxrss_mb} MB\t"
    )
    if cold is not None:
        line += f"Init Duration: {cold.init_ms:.2f} ms\t"
    if outcome.timed_out:
        line += "Status: timeout"
    return line


def invocation_lines(
    rid: str, version: str, outcome: Outcome, memory: int, start_ms: int, end_ms: int, cold: ColdStart | None
) -> list[Line]:
    lines: list[Line] = []
    if cold is not None:
        runtime = f"{cold.runtime.replace('python', 'python:')}.gureum (host Python {platform.python_version()})"
        lines.append((cold.lines[0][0] if cold.lines else start_ms, f"INIT_START Runtime Version: {runtime}"))
        lines += cold.lines
    lines.append((start_ms, f"START RequestId: {rid} Version: {version}"))
    lines += outcome.lines
    if outcome.timed_out:
        lines.append((end_ms, f"{iso_ms(end_ms)} {rid} Task timed out after {outcome.duration_ms / 1000:.2f} seconds"))
    lines.append((end_ms, f"END RequestId: {rid}"))
    lines.append((end_ms, report_line(rid, outcome, memory, cold)))
    return lines


def tail(lines: list[Line]) -> str:
    """The last 4 KB of the lines' text (cut on a character boundary)."""
    text = "".join(message + "\n" for _, message in lines).encode("utf-8")
    return text[-TAIL_BYTES:].decode("utf-8", errors="ignore")


def tail_b64(lines: list[Line]) -> str:
    return base64.b64encode(tail(lines).encode("utf-8")).decode()


def write_logs(store: Store, scope: Scope, group: str, stream: str, lines: list[Line], now_ms: int, create: bool) -> None:
    from gureum.services.logs.events import append_events, ensure_stream

    if create:
        ensure_stream(store, scope, group, stream, now_ms)
    events = sorted(lines, key=lambda e: e[0])  # stable: same-ms lines keep their order
    append_events(store, scope, group, stream, events, now_ms)


def publish(
    store: Store,
    scope: Scope,
    dimension_sets: list[dict[str, str]],
    now: float,
    *,
    duration_ms: float | None = None,
    error: bool = False,
    throttled: bool = False,
) -> None:
    from gureum.services.cloudwatch.metrics import publish as put

    for dims in dimension_sets:
        if throttled:
            put(store, scope, NAMESPACE, "Throttles", 1, dimensions=dims, unit="Count", timestamp=now)
            continue
        put(store, scope, NAMESPACE, "Invocations", 1, dimensions=dims, unit="Count", timestamp=now)
        put(store, scope, NAMESPACE, "Errors", 1 if error else 0, dimensions=dims, unit="Count", timestamp=now)
        if duration_ms is not None:
            put(store, scope, NAMESPACE, "Duration", duration_ms, dimensions=dims, unit="Milliseconds", timestamp=now)


def dimension_sets(name: str, qualifier: str | None, executed: str) -> list[dict[str, str]]:
    sets = [{"FunctionName": name}]
    if qualifier:
        sets.append({"FunctionName": name, "Resource": f"{name}:{qualifier}"})
        sets.append({"FunctionName": name, "Resource": f"{name}:{qualifier}", "ExecutedVersion": executed})
    return sets
