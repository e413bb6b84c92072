"""Lambda functions as targets: the ALB event in, the function's answer out.

A target group of type ``lambda`` holds one target, a function ARN.  For a
request forwarded to it the balancer reads the whole request body (at most
1 MB, else 413), invokes the function synchronously through
``lambda_/public.invoke`` with ALB's event, and turns the result into the
HTTP answer.  Health checks of lambda groups are off unless enabled (AWS's
default); the target then shows ``unavailable`` / ``Target.HealthCheckDisabled``
and still takes requests.  With checks enabled, each check invokes the
function with a ``GET <HealthCheckPath>`` event (``user-agent:
ELB-HealthChecker/2.0``) and matches its ``statusCode`` against the matcher;
a raised error or an unusable answer is ``Target.FailedHealthChecks``.

The event (AWS's "Lambda functions as targets" format)::

    {"requestContext": {"elb": {"targetGroupArn": ...}}, "httpMethod": "GET",
     "path": "/x", "queryStringParameters": {"a": "1"}, "headers": {...},
     "body": "...", "isBase64Encoded": false}

Rules:

* Header names are lower-cased; with ``lambda.multi_value_headers.enabled``
  the event has ``multiValueHeaders`` / ``multiValueQueryStringParameters``
  (every value, in order) instead, else the last value of a repeated name
  wins.  Query values are passed as sent (not URL-decoded).
* The forwarding headers (``x-forwarded-for/proto/port``,
  ``x-amzn-trace-id``) are in the event as a target would get them.
* The body is text when it is UTF-8 of a textual content type and carries no
  ``Content-Encoding``; otherwise base64 with ``isBase64Encoded: true``.
* The answer: ``statusCode`` (required), ``statusDescription`` (``"200 OK"``;
  its text is the reason phrase), ``headers`` or — with multi-value headers
  on — ``multiValueHeaders``, ``body`` (base64-decoded when
  ``isBase64Encoded``).  Hop-by-hop and length headers of the function are
  dropped; the balancer frames the body itself.
* Failures (access-log reasons as ALB's): the function raised →
  502 ``LambdaUnhandled``; an answer that is not such an object →
  502 ``LambdaInvalidResponse``; an answer over 1 MB → 502
  ``LambdaResponseTooLarge``; function missing → 502 ``LambdaResourceNotFound``;
  throttled → 503 ``LambdaThrottling``; no target → 503.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.services.elbv2.conn import ClientGone, Closed, IdleTimeout, TooLong
from gureum.services.elbv2.health import CheckResult, Reason, State, code_matches
from gureum.services.elbv2.http1 import (
    NO_BODY,
    Framing,
    Headers,
    Malformed,
    error_page,
    parse_chunk_size,
    parse_request_head,
    reason_for,
    render_response,
)

if TYPE_CHECKING:
    from gureum.services.elbv2.conn import Conn
    from gureum.services.elbv2.plane import GroupRt, TargetRt
    from gureum.services.elbv2.proxy import Exchange, Proxy

MAX_BODY = 1024 * 1024
_TEXT_TYPES = (
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
)
_DROP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
}


class BadAnswer(Exception):
    """The function's result cannot be turned into an HTTP response."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLarge(Exception):
    """The request body is over :data:`MAX_BODY`."""


# -- pure ----------------------------------------------------------------------------


def _textual(headers: dict[str, list[str]]) -> bool:
    if headers.get("content-encoding"):
        return False
    ctype = (headers.get("content-type") or [""])[-1].split(";")[0].strip().lower()
    return not ctype or ctype.startswith("text/") or ctype in _TEXT_TYPES or ctype.endswith("+json")


def _query(query: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in query.split("&") if query else []:
        if part:
            k, _, v = part.partition("=")
            out.setdefault(k, []).append(v)
    return out


def build_event(
    tg_arn: str, method: str, path: str, query: str, headers: Headers, body: bytes, multi: bool
) -> dict[str, Any]:
    """ALB's event for one request (``headers`` as forwarded to a target)."""
    index: dict[str, list[str]] = {}
    for k, v in headers:
        index.setdefault(k.lower(), []).append(v)
    params = _query(query)
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": tg_arn}},
        "httpMethod": method,
        "path": path,
    }
    if multi:
        event["multiValueQueryStringParameters"] = params
        event["multiValueHeaders"] = index
    else:
        event["queryStringParameters"] = {k: v[-1] for k, v in params.items()}
        event["headers"] = {k: v[-1] for k, v in index.items()}
    text: str | None = None
    if _textual(index):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
    event["isBase64Encoded"] = text is None
    return event


def _reason(result: dict[str, Any], status: int) -> str:
    desc = result.get("statusDescription")
    if isinstance(desc, str) and " " in desc.strip():
        return desc.strip().split(" ", 1)[1]
    return reason_for(status)


def _headers(result: dict[str, Any], multi: bool) -> Headers:
    out: Headers = []
    multi_value = result.get("multiValueHeaders")
    if multi and isinstance(multi_value, dict):
        for k, values in multi_value.items():
            for v in values if isinstance(values, list) else [values]:
                out.append((str(k), str(v)))
    elif isinstance(result.get("headers"), dict):
        out = [(str(k), str(v)) for k, v in result["headers"].items()]
    elif result.get("headers") is not None:
        raise BadAnswer("LambdaInvalidResponse")
    return [(k, v) for k, v in out if k.lower() not in _DROP and "\n" not in v and "\r" not in v]


def map_response(payload: bytes, multi: bool) -> tuple[int, str, Headers, bytes]:
    """Status, reason, headers and body of a function's answer (:class:`BadAnswer` if unusable)."""
    if len(payload) > MAX_BODY:
        raise BadAnswer("LambdaResponseTooLarge")
    try:
        result = json.loads(payload)
        status = int(result["statusCode"])
    except (ValueError, TypeError, KeyError):
        raise BadAnswer("LambdaInvalidResponse") from None
    if not 100 <= status <= 599 or not isinstance(result, dict):
        raise BadAnswer("LambdaInvalidResponse")
    raw = result.get("body")
    body: bytes
    if raw is None:
        body = b""
    elif not isinstance(raw, str):
        raise BadAnswer("LambdaInvalidResponse")
    elif result.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadAnswer("LambdaInvalidResponse") from None
    else:
        body = raw.encode("utf-8")
    return status, _reason(result, status), _headers(result, multi), body


# -- the exchange ------------------------------------------------------------------------


async def _read_chunked(conn: Conn) -> bytes:
    body = bytearray()
    while True:
        line = await conn.read_until(b"\r\n", 4096)
        size = parse_chunk_size(line[:-2])
        if size == 0:
            while await conn.read_until(b"\r\n", 16 * 1024) != b"\r\n":
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise TooLarge()
        body += await conn.read_exactly(size)
        if await conn.read_exactly(2) != b"\r\n":
            raise Malformed("chunk not followed by CRLF")


async def read_body(conn: Conn, framing: Framing) -> bytes:
    if framing is NO_BODY or framing.kind == "none":
        return b""
    if framing.kind == "length":
        if framing.length > MAX_BODY:
            raise TooLarge()
        return await conn.read_exactly(framing.length)
    return await _read_chunked(conn)


def _target(group: GroupRt) -> TargetRt | None:
    for t in group.targets.values():
        if t.state is not State.DRAINING and t.state is not State.UNUSED:
            return t
    return None


async def forward_lambda(p: Proxy, ex: Exchange, group: GroupRt, cookies: list[str]) -> bool:
    """Carry one request to the group's function; whether the connection stays open."""
    from gureum.services.elbv2.forward import upstream_head

    target = _target(group)
    if target is None:
        group.counters.elb_status(503)
        return await p.local(ex, 503, error_page(503), "text/html", reason="NoHealthyTargets")
    ex.target = "-"
    try:
        body = await read_body(ex.conn, ex.framing)
        ex.received += len(body)
        ex.body_done = True
    except TooLarge:
        group.counters.elb_status(413)
        return await p.local(
            ex, 413, error_page(413), "text/html", close=True, reason="LambdaBadRequest"
        )
    except (Malformed, TooLong):
        return await p.local(
            ex, 400, error_page(400), "text/html", close=True, reason="MalformedRequestBody"
        )
    except (Closed, IdleTimeout, ClientGone):
        ex.status, ex.error_reason = 460, "ClientClosed"
        group.counters.elb_status(460)
        p.done(ex, elb=True)
        return False
    head = parse_request_head(upstream_head(p, ex, False))
    multi = (group.doc.get("_attributes") or {}).get("lambda.multi_value_headers.enabled") == "true"
    event = build_event(group.arn, ex.head.method, ex.path, ex.query, head.headers, body, multi)
    target.outstanding += 1
    group.counters.requests += 1
    sent_at = p.clock.monotonic()
    try:
        return await _invoke(p, ex, group, target.target_id, event, multi, cookies, sent_at)
    finally:
        target.outstanding -= 1


async def _invoke(
    p: Proxy, ex: Exchange, group: GroupRt, arn: str, event: dict[str, Any], multi: bool,
    cookies: list[str], sent_at: float,
) -> bool:  # fmt: skip
    from gureum.services.lambda_ import public as lambda_public

    try:
        _, payload, function_error, _ = await lambda_public.invoke(
            p.rt.app, group.scope, arn, json.dumps(event).encode()
        )
        if function_error:
            raise BadAnswer("LambdaUnhandled")
        status, reason, headers, body = map_response(payload, multi)
    except ServiceError as exc:
        code = 503 if exc.code == "TooManyRequestsException" else 502
        why = (
            "LambdaThrottling"
            if code == 503
            else ("LambdaResourceNotFound" if "NotFound" in exc.code else "LambdaServiceException")
        )
        group.counters.elb_status(code)
        return await p.local(ex, code, error_page(code), "text/html", reason=why)
    except BadAnswer as bad:
        group.counters.elb_status(502)
        return await p.local(ex, 502, error_page(502), "text/html", reason=bad.reason)
    ex.target_time = p.clock.monotonic() - sent_at
    ex.target_status = status
    group.counters.target_status(status)
    headers = [*headers, ("Content-Length", str(len(body))), *(("Set-Cookie", c) for c in cookies)]
    keep = ex.keep
    headers.append(("Connection", "keep-alive" if keep else "close"))
    data = render_response(status, reason, headers)
    if ex.head.method != "HEAD":
        data += body
    ex.status = status
    try:
        ex.conn.write(data)
        await ex.conn.drain()
        ex.sent += len(data)
    except Closed:
        keep = False
    p.done(ex, elb=False)
    return keep


# -- health checks (only when HealthCheckEnabled) ---------------------------------------------


async def health_check(rt: Any, group: GroupRt, target: TargetRt) -> CheckResult:
    """Invoke the function with a ``GET <HealthCheckPath>`` event; match its statusCode."""
    from gureum.services.elbv2.conn import race
    from gureum.services.lambda_ import public as lambda_public

    doc = group.doc
    path = str(doc.get("HealthCheckPath") or "/")
    headers = [("user-agent", "ELB-HealthChecker/2.0")]
    multi = (doc.get("_attributes") or {}).get("lambda.multi_value_headers.enabled") == "true"
    event = build_event(group.arn, "GET", path, "", headers, b"", multi)
    timeout = float(doc.get("HealthCheckTimeoutSeconds", 30))
    try:
        _, payload, function_error, _ = await race(
            rt.clock,
            lambda_public.invoke(rt.app, group.scope, target.target_id, json.dumps(event).encode()),
            timeout,
        )
        if function_error:
            return CheckResult(False, Reason.FAILED_HEALTH_CHECKS)
        status = map_response(payload, multi)[0]
    except TimeoutError:
        return CheckResult(False, Reason.TIMEOUT)
    except (ServiceError, BadAnswer):
        return CheckResult(False, Reason.FAILED_HEALTH_CHECKS)
    if code_matches(str((doc.get("Matcher") or {}).get("HttpCode") or "200"), status):
        return CheckResult(True, code=status)
    return CheckResult(False, Reason.RESPONSE_CODE_MISMATCH, status)
