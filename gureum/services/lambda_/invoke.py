"""Running one invocation: resolve, take a warm worker, run, log, measure.

Used by the Invoke handler and by other services (:mod:`.public`).

* ``RequestResponse`` — waits for the result: status 200 with the function's
  JSON, or its error document and ``FunctionError: Unhandled``.  Past the
  pool's concurrency: ``TooManyRequestsException`` (and a ``Throttles``
  datapoint).
* ``Event`` — checks the request, answers 202 at once and runs the function
  in the background (waiting for a free worker rather than throttling, as
  AWS's event queue does).  Not retried on error, and not kept across a
  server restart (AWS retries twice and keeps its queue for six hours).
* ``DryRun`` — checks the function exists and the request is valid: 204.

Payload limits are AWS's: 6 MB each way for a synchronous call, 1 MB for an
event.  The event must be JSON (an empty payload is ``{}``).

Code is unpacked on demand if the controller has not done it yet, so a
function can be invoked straight after ``CreateFunction`` (AWS would answer
409 while it is ``Pending``; Gureum's packages are checked at upload, so
there is nothing to wait for).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.ids import access_key_id, request_id
from gureum.core.store import Scope
from gureum.services.lambda_ import telemetry
from gureum.services.lambda_.names import conflict, log_group_name
from gureum.services.lambda_.pool import PoolKey, Throttled
from gureum.services.lambda_.records import Target, resolve, sha_hex
from gureum.services.lambda_.state import state
from gureum.services.lambda_.worker import BOOTSTRAP, Line, Outcome, Worker, WorkerSpec

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.lambda")

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD = 1024 * 1024
MAX_RESPONSE = 6 * 1024 * 1024
MIN_INIT_TIMEOUT = 10.0  # AWS gives the init phase 10 s


@dataclass(frozen=True, slots=True)
class Invocation:
    status: int
    payload: bytes = b""
    function_error: str | None = None
    lines: tuple[Line, ...] = ()
    executed_version: str | None = None


def event_text(payload: bytes, invocation_type: str) -> str:
    limit = MAX_EVENT_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
    if len(payload) > limit:
        raise ServiceError(
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            413,
            sender_fault=True,
        )
    text = payload.decode("utf-8", errors="replace").strip() or "{}"
    try:
        json.loads(text)
    except ValueError as exc:
        raise ServiceError(
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {exc}",
            400,
            sender_fault=True,
        ) from None
    return text


async def invoke(
    app: App,
    scope: Scope,
    name: str,
    qualifier: str | None,
    payload: bytes,
    invocation_type: str = "RequestResponse",
    client_context: dict[str, Any] | None = None,
) -> Invocation:
    target = resolve(app.store, scope, name, qualifier)
    if target.config.get("State") == "Failed":
        raise conflict(
            "The operation cannot be performed at this time. The function is currently in the following state: Failed"
        )
    text = event_text(payload, invocation_type)
    if invocation_type == "DryRun":
        return Invocation(204)
    rid = request_id()
    if invocation_type == "Event":
        app.spawn(_background(app, scope, target, text, rid, client_context))
        return Invocation(202)
    try:
        outcome, lines = await run(app, scope, target, text, rid, wait=False, client_context=client_context)
    except Throttled:
        dims = telemetry.dimension_sets(name, qualifier, target.version)
        telemetry.publish(app.store, scope, dims, app.clock.now(), throttled=True)
        raise ServiceError(
            "TooManyRequestsException", "Rate Exceeded.", 429, sender_fault=True,
            extra={"Reason": "ConcurrentInvocationLimitExceeded"},
        ) from None
    return _answer(outcome, lines, target.version)


def _answer(outcome: Outcome, lines: list[Line], version: str) -> Invocation:
    if outcome.ok:
        body = (outcome.payload or "null").encode("utf-8")
        if len(body) <= MAX_RESPONSE:
            return Invocation(200, body, None, tuple(lines), version)
        error: dict[str, Any] = {
            "errorMessage": f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
    else:
        error = outcome.error or {"errorMessage": "Unknown error", "errorType": "Runtime.Unknown"}
    return Invocation(200, json.dumps(error).encode("utf-8"), "Unhandled", tuple(lines), version)


async def _background(
    app: App, scope: Scope, target: Target, text: str, rid: str, client_context: dict[str, Any] | None
) -> None:
    try:
        await run(app, scope, target, text, rid, wait=True, client_context=client_context)
    except Exception:
        log.exception("asynchronous invocation %s of %s failed", rid, target.config["FunctionArn"])


async def run(
    app: App, scope: Scope, target: Target, text: str, rid: str, *, wait: bool,
    client_context: dict[str, Any] | None = None,
) -> tuple[Outcome, list[Line]]:
    """One invocation on a warm (or new) worker; logs and metrics written before returning."""
    st = state(app)
    cfg = target.config
    name = cfg["FunctionName"]
    task_root = await asyncio.to_thread(st.code.ensure_unpacked, scope, name, sha_hex(cfg))
    pool = st.pools.pool(PoolKey(scope.account, scope.region, name, target.version), _revision(cfg))
    timeout = float(cfg["Timeout"])

    async def make() -> Worker:
        stream = telemetry.stream_name(app.clock.now(), target.version)
        worker = Worker(WorkerSpec(worker_env(app, scope, cfg, target.version, task_root, stream), task_root, stream), app.clock)
        await worker.start(max(MIN_INIT_TIMEOUT, timeout))
        return worker

    worker, cold = await pool.acquire(make, wait=wait)
    start_ms = _ms(app)
    message = {
        "type": "invoke", "id": rid, "event": text, "remaining_ms": int(timeout * 1000),
        "scale": getattr(app.clock, "time_scale", 1.0), "arn": target.invoked_arn,
        "client_context": client_context,
    }
    outcome: Outcome | None = None
    try:
        outcome = await worker.invoke(message, timeout)
    finally:
        if outcome is None:  # cancelled or failed half-way: its socket may hold a stale answer
            worker.kill()
        pool.release(worker, app.clock.monotonic())
    coldstart = telemetry.ColdStart(worker.init_ms or 0.0, worker.init_lines, cfg["Runtime"]) if cold else None
    lines = telemetry.invocation_lines(rid, target.version, outcome, cfg["MemorySize"], start_ms, _ms(app), coldstart)
    _record(app, scope, target, worker, outcome, lines)
    return outcome, lines


def _record(app: App, scope: Scope, target: Target, worker: Worker, outcome: Outcome, lines: list[Line]) -> None:
    cfg = target.config
    group = (cfg.get("LoggingConfig") or {}).get("LogGroup") or log_group_name(cfg["FunctionName"])
    try:
        telemetry.write_logs(app.store, scope, group, worker.spec.log_stream, lines, _ms(app), create=not worker.stream_ready)
        worker.stream_ready = True
    except ServiceError:
        # The group or stream was deleted while the worker lived: make them again.
        telemetry.write_logs(app.store, scope, group, worker.spec.log_stream, lines, _ms(app), create=True)
    dims = telemetry.dimension_sets(cfg["FunctionName"], target.qualifier, target.version)
    telemetry.publish(app.store, scope, dims, app.clock.now(), duration_ms=outcome.duration_ms, error=not outcome.ok)


def worker_env(app: App, scope: Scope, cfg: dict[str, Any], version: str, task_root: Any, stream: str) -> dict[str, str]:
    """The function's environment: defaults, then its own variables, then Lambda's reserved ones."""
    group = (cfg.get("LoggingConfig") or {}).get("LogGroup") or log_group_name(cfg["FunctionName"])
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_ENDPOINT_URL": app.settings.endpoint,
        # The host's ~/.aws must not leak into a function.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    env.update(((cfg.get("Environment") or {}).get("Variables")) or {})
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": cfg["FunctionName"],
            "AWS_LAMBDA_FUNCTION_VERSION": version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg["MemorySize"]),
            "AWS_LAMBDA_LOG_GROUP_NAME": group,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{cfg['Runtime']}",
            "AWS_REGION": scope.region,
            "AWS_DEFAULT_REGION": scope.region,
            "AWS_ACCESS_KEY_ID": access_key_id(scope.account),
            "AWS_SECRET_ACCESS_KEY": "gureum-lambda-secret",
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
            "_HANDLER": cfg["Handler"],
        }
    )
    return env


def _revision(cfg: dict[str, Any]) -> str:
    return f"{cfg.get('RevisionId')}:{cfg.get('CodeSha256')}"


def _ms(app: App) -> int:
    return int(app.clock.now() * 1000)
