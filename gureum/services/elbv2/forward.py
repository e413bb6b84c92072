"""The forward action: pick a group and a target, carry the exchange.

Theory of operation for one request:

1. **Group.**  One group, or a weighted choice (smooth weighted round robin,
   per rule) among several; with group stickiness the ``AWSALBTG`` cookie
   keeps a client on the group it got first.
2. **Target.**  :meth:`GroupRt.pick`: stickiness cookie, else the group's
   algorithm over its candidates.  None → 503.
3. **Connect** (pooled keep-alive connection or a new one): refused → 502,
   no answer within 10 s → 504.
4. **Send** the head (with ``X-Forwarded-For/Proto/Port`` and
   ``X-Amzn-Trace-Id``), then stream the body.  ``Expect: 100-continue`` is
   answered by the balancer itself before the body is read.
5. **Wait** for the response head.  While waiting, the client connection is
   on hold (its idle watchdog paused) and tied to the target connection: a
   client that leaves makes this a 460.  Silence past the idle timeout →
   504; a reset or a close → 502 (once retried on a fresh connection when a
   reused keep-alive connection turned out stale and the request had no
   body); garbage → 502.
6. **Stream** the response to the client.  A failure mid-body cannot change
   the status any more: both connections are closed.

The target's ``outstanding`` count covers steps 3–6: it is what
least-outstanding-requests balances on and what draining waits for.
"""

from __future__ import annotations

import asyncio
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from gureum.services.elbv2 import balancing, bodies, lambda_target
from gureum.services.elbv2.bodies import WriteFailed
from gureum.services.elbv2.conn import ClientGone, Closed, Conn, IdleTimeout, TooLong
from gureum.services.elbv2.http1 import (
    NO_BODY,
    Framing,
    Malformed,
    ResponseHead,
    drop_invalid_names,
    error_page,
    head_keep_alive,
    head_without_hop_by_hop,
    parse_response_head,
    render_request,
    render_response,
    response_framing,
)
from gureum.services.elbv2.plane import GroupRt, TargetRt
from gureum.services.elbv2.upstream import ConnectFailed, ConnectTimeout

if TYPE_CHECKING:
    from gureum.services.elbv2.proxy import Exchange, Proxy
    from gureum.services.elbv2.rules_match import CompiledRule

MAX_HEAD = 64 * 1024


class Stale(Exception):
    """A reused connection was closed by the target before it answered."""


class Fail(Exception):
    """The exchange ends with an answer of the balancer's own."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _cookie(name: str, value: str, expires: float, secure: bool, cors: bool) -> str:
    text = f"{name}={value}; Expires={formatdate(expires, usegmt=True)}; Path=/"
    if cors:
        text += "; SameSite=None; Secure"
    elif secure:
        text += "; Secure"
    return text


def _pick_group(p: Proxy, ex: Exchange, action: dict[str, Any], rule: CompiledRule) -> tuple[str | None, list[str]]:
    fc = action["ForwardConfig"]
    tuples = fc["TargetGroups"]
    if len(tuples) == 1:
        return tuples[0]["TargetGroupArn"], []
    weights = {t["TargetGroupArn"]: float(t.get("Weight", 1)) for t in tuples}
    sticky = fc.get("TargetGroupStickinessConfig") or {}
    arn = None
    if sticky.get("Enabled"):
        named = balancing.decode_cookie(p.cookies(ex).get(balancing.GROUP_COOKIE, ""))
        if named is not None and weights.get(named, 0) > 0:
            arn = named
    if arn is None:
        rr = rule.extra.setdefault("rr:" + str(id(action)), balancing.RoundRobin())
        arn = rr.pick(weights)
    cookies: list[str] = []
    if arn is not None and sticky.get("Enabled"):
        value = balancing.encode_cookie(arn)
        expires = p.clock.now() + float(sticky.get("DurationSeconds", 3600))
        secure = ex.listener.protocol == "HTTPS"
        cookies.append(_cookie(balancing.GROUP_COOKIE, value, expires, secure, False))
        cookies.append(_cookie(balancing.GROUP_COOKIE_CORS, value, expires, secure, True))
    return arn, cookies


def _target_cookies(p: Proxy, ex: Exchange, group: GroupRt, value: str | None) -> list[str]:
    if value is None:
        return []
    attrs = group.doc.get("_attributes") or {}
    secure = ex.listener.protocol == "HTTPS"
    if attrs.get("stickiness.type", "lb_cookie") == "lb_cookie":
        expires = p.clock.now() + float(attrs.get("stickiness.lb_cookie.duration_seconds", 86400))
        return [
            _cookie(balancing.LB_COOKIE, value, expires, secure, False),
            _cookie(balancing.LB_COOKIE_CORS, value, expires, secure, True),
        ]
    expires = p.clock.now() + float(attrs.get("stickiness.app_cookie.duration_seconds", 86400))
    return [_cookie(balancing.APP_COOKIE, value, expires, secure, False)]


async def forward(p: Proxy, ex: Exchange, action: dict[str, Any], rule: CompiledRule) -> bool:
    arn, cookies = _pick_group(p, ex, action, rule)
    group = p.rt.groups.get(arn or "")
    if group is None:
        return await p.local(ex, 503, error_page(503), "text/html", reason="NoTargetGroup")
    ex.group_arn = group.arn
    if group.doc.get("TargetType") == "lambda":
        return await lambda_target.forward_lambda(p, ex, group, cookies)
    target, sticky_value = group.pick(p.clock.now(), p.cookies(ex))
    if target is None or target.address is None:
        group.counters.elb_status(503)
        return await p.local(ex, 503, error_page(503), "text/html", reason="NoHealthyTargets")
    if (group.doc.get("_attributes") or {}).get("stickiness.type", "lb_cookie") == "lb_cookie":
        cookies += _target_cookies(p, ex, group, sticky_value)
    target.outstanding += 1
    group.counters.requests += 1
    try:
        return await _exchange(p, ex, group, target, cookies)
    finally:
        target.outstanding -= 1


def upstream_head(p: Proxy, ex: Exchange, upgrade: bool) -> bytes:
    lb = ex.lb
    headers = head_without_hop_by_hop(ex.head, keep_upgrade=upgrade)
    if lb.attrs.get("routing.http.drop_invalid_header_fields.enabled") == "true":
        headers = drop_invalid_names(headers)
    out: list[tuple[str, str]] = []
    xff: list[str] = []
    traces: list[str] = []
    has_host = False
    for k, v in headers:
        low = k.lower()
        if low in ("x-forwarded-proto", "x-forwarded-port"):
            continue
        if low == "x-forwarded-for":
            xff.append(v)
            continue
        if low == "x-amzn-trace-id":
            traces.append(v)
            continue
        if low == "expect" and v.lower() == "100-continue":
            continue
        if low == "host":
            has_host = True
        out.append((k, v))
    if not has_host:
        out.insert(0, ("Host", ex.host or lb.dns_name))
    mode = lb.attrs.get("routing.http.xff_header_processing.mode", "append")
    client = ex.conn.peer[0]
    if lb.attrs.get("routing.http.xff_client_port.enabled") == "true":
        client = f"{client}:{ex.conn.peer[1]}"
    if mode == "append":
        out.append(("X-Forwarded-For", ", ".join([*xff, client])))
    elif mode == "preserve" and xff:
        out.append(("X-Forwarded-For", ", ".join(xff)))
    out.append(("X-Forwarded-Proto", ex.listener.protocol.lower()))
    out.append(("X-Forwarded-Port", str(ex.listener.port)))
    ex.trace = p.trace_id(traces)
    out.append(("X-Amzn-Trace-Id", ex.trace))
    target = ex.path + ("?" + ex.query if ex.query else "")
    return render_request(ex.head.method, target, out)


async def _send(p: Proxy, ex: Exchange, up: Conn, head: bytes, reused: bool) -> ResponseHead:
    """Send the request, return the response head (Fail / Stale otherwise)."""
    has_body = ex.framing is not NO_BODY
    try:
        up.write(head)
    except Closed:
        raise (Stale() if reused and not has_body else Fail(502, "TargetConnectionError")) from None
    if has_body:
        expect = ex.head.get("expect")
        if expect and expect.lower() == "100-continue" and ex.head.version == "HTTP/1.1":
            try:
                ex.conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            except Closed:
                raise Fail(460, "ClientClosed") from None
        try:
            ex.received += await bodies.copy(ex.conn, up, ex.framing)
            ex.body_done = True
        except WriteFailed:
            raise Fail(502, "TargetConnectionError") from None
        except Malformed:
            raise Fail(400, "MalformedRequestBody") from None
        except (Closed, IdleTimeout, ClientGone):
            raise Fail(460, "ClientClosed") from None
    return await _read_head(p, ex, up, reused and not has_body)


async def _read_head(p: Proxy, ex: Exchange, up: Conn, may_retry: bool) -> ResponseHead:
    client = ex.conn
    client.hold = True
    client.on_gone = lambda: up.fail(ClientGone())
    if client.eof:
        up.fail(ClientGone())
    try:
        while True:
            raw = await up.read_until(b"\r\n\r\n", MAX_HEAD)
            resp = parse_response_head(raw)
            if not 100 <= resp.status < 200 or resp.status == 101:
                return resp
            if ex.head.version == "HTTP/1.1":  # interim answers go to HTTP/1.1 clients only
                client.write(raw)
    except Closed:
        if may_retry and up.reused and not up.buf:
            raise Stale() from None
        raise Fail(502, "TargetConnectionClosed") from None
    except IdleTimeout:
        raise Fail(504, "TargetResponseTimeout") from None
    except ClientGone:
        raise Fail(460, "ClientClosed") from None
    except (TooLong, Malformed):
        raise Fail(502, "TargetInvalidResponse") from None
    finally:
        client.hold = False
        client.on_gone = None
        client.last_active = p.clock.monotonic()


async def _exchange(
    p: Proxy, ex: Exchange, group: GroupRt, target: TargetRt, cookies: list[str]
) -> bool:
    assert target.address is not None
    addr, port, secure = target.address, target.port, group.protocol == "HTTPS"
    ex.target = f"{addr}:{port}"
    upgrade = bool(ex.head.get("upgrade"))
    head = upstream_head(p, ex, upgrade)
    pool = p.rt.pool(ex.lb)
    sent_at = p.clock.monotonic()
    for attempt in (0, 1):
        try:
            up, reused = await pool.acquire(addr, port, secure, fresh=attempt > 0)
        except ConnectFailed:
            return await _fail(p, ex, group, Fail(502, "TargetConnectionError"), None)
        except ConnectTimeout:
            return await _fail(p, ex, group, Fail(504, "TargetConnectionTimeout"), None)
        sent_at = p.clock.monotonic()
        try:
            resp = await _send(p, ex, up, head, reused)
            break
        except Stale:
            up.abort()
            continue
        except Fail as failure:
            return await _fail(p, ex, group, failure, up)
    else:
        return await _fail(p, ex, group, Fail(502, "TargetConnectionClosed"), None)
    ex.target_time = p.clock.monotonic() - sent_at
    ex.target_status = resp.status
    group.counters.target_status(resp.status)
    if resp.status == 101:
        return await _tunnel(p, ex, up, resp)
    return await _respond(p, ex, group, target, up, resp, cookies)


async def _fail(p: Proxy, ex: Exchange, group: GroupRt, failure: Fail, up: Conn | None) -> bool:
    if up is not None:
        up.abort()
    group.counters.elb_status(failure.status)
    if failure.status == 460:
        ex.status = 460
        ex.error_reason = failure.reason
        ex.conn.abort()
        p.done(ex, elb=True)
        return False
    close = not ex.body_done and ex.framing is not NO_BODY
    return await p.local(ex, failure.status, error_page(failure.status), "text/html", close=close, reason=failure.reason)


def _app_cookie_set(resp: ResponseHead, name: str) -> bool:
    prefix = name + "="
    return any(k.lower() == "set-cookie" and v.startswith(prefix) for k, v in resp.headers)


async def _respond(
    p: Proxy,
    ex: Exchange,
    group: GroupRt,
    target: TargetRt,
    up: Conn,
    resp: ResponseHead,
    cookies: list[str],
) -> bool:
    try:
        framing = response_framing(ex.head.method, resp)
    except Malformed:
        return await _fail(p, ex, group, Fail(502, "TargetInvalidResponse"), up)
    attrs = group.doc.get("_attributes") or {}
    if attrs.get("stickiness.enabled") == "true" and attrs.get("stickiness.type") == "app_cookie":
        name = attrs.get("stickiness.app_cookie.cookie_name", "")
        if name and _app_cookie_set(resp, name):
            cookies = cookies + _target_cookies(p, ex, group, balancing.encode_cookie(target.key))
    up_keep = head_keep_alive(resp) and framing.kind != "close"
    keep = ex.keep and framing.kind != "close" and (ex.body_done or ex.framing is NO_BODY)
    headers = head_without_hop_by_hop(resp)
    headers.extend(("Set-Cookie", c) for c in cookies)
    if not keep:
        headers.append(("Connection", "close"))
    elif ex.head.version == "HTTP/1.0":
        headers.append(("Connection", "keep-alive"))
    data = render_response(resp.status, resp.reason, headers)
    ex.status = resp.status
    try:
        if framing.kind == "length" and len(up.buf) >= framing.length:
            data += up.take(framing.length)  # the whole body is here: one write
            bodies.put(ex.conn, data)
            ex.sent += len(data)
        else:
            bodies.put(ex.conn, data)
            ex.sent += len(data) + await bodies.copy(up, ex.conn, framing)
        if ex.conn.write_paused:
            await bodies.flush(ex.conn)
    except WriteFailed:  # the client left while the answer streamed
        up.abort()
        p.done(ex, elb=False)
        return False
    except (Closed, IdleTimeout, ClientGone, Malformed):  # the target broke off mid-body
        up.abort()
        ex.conn.abort()
        ex.error_reason = "TargetBodyIncomplete"
        p.done(ex, elb=False)
        return False
    if up_keep and up.usable:
        p.rt.pool(ex.lb).release(target.address or "", target.port, group.protocol == "HTTPS", up)
    else:
        up.close()
    p.done(ex, elb=False)
    return keep


async def _tunnel(p: Proxy, ex: Exchange, up: Conn, resp: ResponseHead) -> bool:
    """After a 101 (WebSocket and other upgrades): bytes both ways until one side ends."""
    headers = head_without_hop_by_hop(resp, keep_upgrade=True)
    ex.status = 101
    try:
        ex.conn.write(render_response(101, resp.reason, headers))
    except Closed:
        up.abort()
        p.done(ex, elb=False)
        return False
    close = Framing("close")
    a = asyncio.ensure_future(bodies.copy(ex.conn, up, close))
    b = asyncio.ensure_future(bodies.copy(up, ex.conn, close))
    try:
        await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (a, b):
            t.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
        up.close()
    p.done(ex, elb=False)
    return False
