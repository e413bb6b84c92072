"""The load balancer's HTTP/1.1 front end: connections, routing, local answers.

For every connection a listener accepts (plain or TLS) :meth:`Proxy.serve`
reads requests one after the other (keep-alive; pipelined requests wait
their turn), routes each by the listener's rules and runs the chosen action:

* ``fixed-response`` and ``redirect`` are answered here;
* ``forward`` picks a target group (weighted, with group stickiness) and a
  target (:meth:`GroupRt.pick`), then :mod:`forward` carries the exchange.

Answers ALB gives itself (``Server: awselb/2.0``): 400 for a malformed
request (then the connection closes), 503 when a group has no target to
send to, 502 when a target resets or answers garbage, 504 when it stays
silent past the idle timeout, 460 (logged only: the client is gone) when
the client closes before the answer.  Nothing a client or a target sends can
end the listener: every connection's failures stay in its own task.

Each request leaves an access-log entry in ALB's format, logged to
``gureum.elbv2.access`` — at INFO when the balancer answered itself (4xx/5xx
of its own, 460), else at DEBUG — and, while the balancer's
``access_logs.s3.enabled`` is on, kept for shipping to S3 (``access_log``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gureum.services.elbv2 import balancing, bodies, rules_match
from gureum.services.elbv2.access_log import format_entry
from gureum.services.elbv2.conn import Closed, Conn, IdleTimeout, TooLong
from gureum.services.elbv2.forward import forward
from gureum.services.elbv2.http1 import (
    NO_BODY,
    Framing,
    Malformed,
    RequestHead,
    error_page,
    head_keep_alive,
    parse_request_head,
    reason_for,
    render_response,
    request_framing,
)
from gureum.services.elbv2.plane import LbRt, ListenerRt
from gureum.services.elbv2.redirects import location

if TYPE_CHECKING:
    from gureum.services.elbv2.runtime import Runtime

log = logging.getLogger("gureum.elbv2")
access = logging.getLogger("gureum.elbv2.access")

SERVER = "awselb/2.0"
MAX_HEAD = 64 * 1024


@dataclass(slots=True)
class Exchange:
    """One request on its way through the balancer, and what the log says of it."""

    lb: LbRt
    listener: ListenerRt
    conn: Conn
    head: RequestHead
    framing: Framing
    started: float  # clock.monotonic()
    received_at: float  # clock.now()
    keep: bool
    host: str = ""
    path: str = "/"
    query: str = ""
    status: int = 0
    target_status: int | None = None
    target: str = "-"
    group_arn: str = "-"
    actions: str = "-"
    rule_priority: str = "-"
    error_reason: str = "-"
    redirect_url: str = "-"
    trace: str = ""
    target_time: float = -1.0
    received: int = 0
    sent: int = 0
    body_done: bool = False
    cookies: dict[str, str] = field(default_factory=dict)


class Proxy:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.clock = runtime.clock
        self._date = (0, "")

    # -- connections ---------------------------------------------------------------

    def factory(self, lb: LbRt, listener: ListenerRt) -> Any:
        def made(conn: Conn) -> None:
            self.rt.spawn(self.serve(lb, listener, conn))

        return lambda: Conn(self.clock, on_made=made)

    async def serve(self, lb: LbRt, listener: ListenerRt, conn: Conn) -> None:
        lb.counters.active_connections += 1
        lb.counters.new_connections += 1
        conn.start_watch(self.rt.spawn, lambda: lb.idle_timeout)
        try:
            while await self.one(lb, listener, conn):
                pass
        except Exception:  # a bug here must not end the listener
            log.exception("connection from %s:%s to %s failed", *conn.peer, lb.name)
            conn.abort()
        finally:
            lb.counters.active_connections -= 1
            conn.close()

    async def one(self, lb: LbRt, listener: ListenerRt, conn: Conn) -> bool:
        """Serve one request; whether the connection stays open for another."""
        try:
            raw = await conn.read_until(b"\r\n\r\n", MAX_HEAD)
        except (Closed, IdleTimeout):
            return False
        except TooLong:
            return await self.bare(lb, listener, conn, 400, "RequestHeaderTooLarge")
        raw = raw.lstrip(b"\r\n")
        if not raw:
            return True  # stray blank lines between requests
        try:
            head = parse_request_head(raw)
            framing = request_framing(head)
        except Malformed as exc:
            return await self.bare(lb, listener, conn, 400, f"Malformed:{exc}")
        ex = Exchange(
            lb, listener, conn, head, framing, self.clock.monotonic(), self.clock.now(),
            head_keep_alive(head), received=len(raw),
        )  # fmt: skip
        if not self._locate(ex):
            return await self.local(ex, 400, error_page(400), "text/html", close=True, reason="BadRequest")
        return await self.route(ex)

    def _locate(self, ex: Exchange) -> bool:
        """Host, path and query of the request; False when it cannot be read."""
        target = ex.head.target
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            ex.host, ex.path, ex.query = parts.netloc, parts.path or "/", parts.query
        elif target.startswith("/") or target == "*":
            path, _, query = target.partition("?")
            ex.path, ex.query = path, query
            ex.host = ex.head.get("host") or ""
            if not ex.host and ex.head.version == "HTTP/1.1":
                return False
        else:
            return False
        if ex.host.startswith("["):
            ex.host = ex.host[: ex.host.find("]") + 1]
        else:
            ex.host = ex.host.rsplit(":", 1)[0]
        return True

    # -- routing ------------------------------------------------------------------------

    async def route(self, ex: Exchange) -> bool:
        rules = ex.listener.rules
        rule = rules[-1]
        if len(rules) > 1:
            headers: dict[str, list[str]] = {}
            for k, v in ex.head.headers:
                headers.setdefault(k.lower(), []).append(v)
            view = rules_match.RequestView(
                ex.head.method, ex.host, ex.path, ex.query, headers, ex.conn.peer[0]
            )
            rule = rules_match.select(rules, view) or rule
        ex.rule_priority = "0" if rule.is_default else str(rule.priority)
        action = rule.actions[-1]
        kind = action["Type"]
        ex.actions = kind
        if kind == "fixed-response":
            return await self.fixed(ex, action)
        if kind == "redirect":
            return await self.redirect(ex, action)
        return await forward(self, ex, action, rule)

    async def fixed(self, ex: Exchange, action: dict[str, Any]) -> bool:
        cfg = action["FixedResponseConfig"]
        body = (cfg.get("MessageBody") or "").encode()
        ctype = cfg.get("ContentType") or "text/plain; charset=utf-8"
        return await self.local(ex, int(cfg["StatusCode"]), body, ctype, reason="-")

    async def redirect(self, ex: Exchange, action: dict[str, Any]) -> bool:
        url = location(action["RedirectConfig"], ex.listener.protocol, ex.listener.port, ex.host, ex.path, ex.query)
        ex.redirect_url = url
        status = 301 if action["RedirectConfig"]["StatusCode"] == "HTTP_301" else 302
        return await self.local(ex, status, b"", "text/html", extra=[("Location", url)], reason="-")

    # -- answers of our own --------------------------------------------------------------

    def date(self) -> str:
        now = int(self.clock.now())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]

    async def local(
        self,
        ex: Exchange,
        status: int,
        body: bytes,
        ctype: str,
        *,
        extra: list[tuple[str, str]] | None = None,
        close: bool = False,
        reason: str = "-",
    ) -> bool:
        """Answer ``status`` ourselves (after reading away the request body)."""
        conn = ex.conn
        if not close and not ex.body_done and ex.framing is not NO_BODY:
            try:
                ex.received += await bodies.copy(conn, None, ex.framing)
                ex.body_done = True
            except Exception:
                close = True
        keep = ex.keep and not close
        headers = [("Server", SERVER), ("Date", self.date()), ("Content-Type", ctype)]
        headers.append(("Content-Length", str(len(body))))
        headers.extend(extra or [])
        headers.append(("Connection", "keep-alive" if keep else "close"))
        data = render_response(status, reason_for(status), headers)
        if ex.head.method != "HEAD":
            data += body
        ex.status = status
        ex.error_reason = reason
        try:
            conn.write(data)
            await conn.drain()
            ex.sent += len(data)
        except Closed:
            keep = False
        self.done(ex, elb=status >= 400)
        return keep

    async def bare(self, lb: LbRt, listener: ListenerRt, conn: Conn, status: int, reason: str) -> bool:
        """A 400 for a request too broken to be an Exchange; the connection closes."""
        head = RequestHead("-", "-", "HTTP/1.1", [])
        ex = Exchange(lb, listener, conn, head, NO_BODY, self.clock.monotonic(), self.clock.now(), False)
        await self.local(ex, status, error_page(status), "text/html", close=True, reason=reason)
        return False

    # -- the log --------------------------------------------------------------------

    def done(self, ex: Exchange, *, elb: bool) -> None:
        lb = ex.lb
        lb.counters.requests += 1
        if elb:
            lb.counters.elb_status(ex.status)
        elif ex.target_status is not None:
            lb.counters.target_status(ex.target_status)
        if ex.target_time >= 0:
            lb.counters.response_time_sum += ex.target_time
            lb.counters.response_time_count += 1
        level = logging.INFO if elb and ex.status >= 400 else logging.DEBUG
        logged = access.isEnabledFor(level)
        keep = lb.attrs.get("access_logs.s3.enabled") == "true"
        if logged or keep:  # formatting costs: only when someone reads it
            entry = self.access_entry(ex)
            if keep:
                lb.access_log.append(entry)
            if logged:
                access.log(level, "%s", entry)

    def access_entry(self, ex: Exchange) -> str:
        return format_entry(ex, self.clock.monotonic(), self.clock.now())

    def trace_id(self, incoming: list[str]) -> str:
        root = f"1-{int(self.clock.now()):08x}-{os.urandom(12).hex()}"
        for value in incoming:
            if "Root=" in value:
                return f"Self={root};{value}"
        return f"Root={root}"

    def cookies(self, ex: Exchange) -> dict[str, str]:
        if not ex.cookies:
            ex.cookies = balancing.parse_cookies(ex.head.get_all("cookie"))
        return ex.cookies
