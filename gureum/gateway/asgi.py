"""The ASGI application: one port for every service.

Flow of a request:

    bytes → HttpRequest → route() → service model → protocol.find_operation
          → body (read whole, or streamed for streaming payloads)
          → protocol.parse_request → handler(ctx, input) → protocol.serialize_response

Every failure is answered in the request's own protocol: ProtocolError and
ServiceError as 4xx/5xx documents, anything unexpected as InternalFailure
(500) with the request id logged.  No traceback reaches a client.
"""

from __future__ import annotations

import inspect
import json
import logging
import zlib
from collections.abc import AsyncIterator
from typing import Any

from gureum.core.errors import (
    InternalFailure,
    NotImplementedOperation,
    ProtocolError,
    ServiceError,
    ValidationError,
)
from gureum.core.ids import request_id as new_request_id
from gureum.gateway.router import Route, protocol_for, route
from gureum.protocol.http import Headers, HttpRequest, HttpResponse, ResponseMeta
from gureum.services.api import RequestContext

log = logging.getLogger("gureum.gateway")

Scope_ = dict[str, Any]
Receive = Any
Send = Any


class RequestTooLarge(ProtocolError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            "RequestEntityTooLarge", f"Request body is larger than the limit of {limit} bytes", 413
        )


class AsgiBody:
    """The request body as an async stream over ASGI ``receive``."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._buf = bytearray()
        self._done = False

    async def _fill(self) -> bool:
        if self._done:
            return False
        msg = await self._receive()
        if msg["type"] == "http.disconnect":
            self._done = True
            raise ProtocolError("IncompleteBody", "The client closed the connection before the body ended")
        self._buf += msg.get("body", b"")
        if not msg.get("more_body", False):
            self._done = True
        return True

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            while await self._fill():
                pass
            out = bytes(self._buf)
            self._buf.clear()
            return out
        while len(self._buf) < n and await self._fill():
            pass
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def read_limited(self, limit: int) -> bytes:
        while await self._fill():
            if len(self._buf) > limit:
                raise RequestTooLarge(limit)
        if len(self._buf) > limit:
            raise RequestTooLarge(limit)
        out = bytes(self._buf)
        self._buf.clear()
        return out

    def unread(self, request: HttpRequest) -> bool:
        """Whether the request announced a body that was not read to its end."""
        if self._done:
            return False
        length = request.headers.get("content-length")
        if length is not None:
            return length.strip() not in ("", "0")
        return request.headers.get("transfer-encoding") is not None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[bytes]:
        if self._buf:
            chunk = bytes(self._buf)
            self._buf.clear()
            yield chunk
        while await self._fill():
            if self._buf:
                chunk = bytes(self._buf)
                self._buf.clear()
                yield chunk


class Gateway:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = HttpRequest(
            method=scope["method"],
            path=scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]),
        )
        body = AsgiBody(receive)
        try:
            response = await self.handle(request, body)
        except Exception:  # never a traceback to the client
            rid = new_request_id()
            log.exception("unhandled error answering %s %s (request %s)", request.method, request.path, rid)
            response = _plain_error(500, "InternalFailure", f"internal error (request {rid})", rid)
        if body.unread(request):
            # Answered before the body was read (an error, or a client waiting
            # on Expect: 100-continue that will now never send it): the rest
            # of the body would be taken for the next request, so end the
            # connection instead of keeping it alive.
            response.headers.append(("connection", "close"))
        await _send_response(send, response)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.app.start()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                try:
                    await self.app.stop()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    # -- dispatch -------------------------------------------------------------------

    async def handle(self, request: HttpRequest, body: AsgiBody) -> HttpResponse:
        path = request.path
        if path.startswith("/_gureum/") or path.startswith("/moto-api/"):
            return self._internal(request)
        if path == "/v2" or path.startswith("/v2/"):
            # The container registry (OCI distribution API) behind ECR.
            from gureum.services.ecr.registry import handle_registry

            return await handle_registry(self.app, request, body)

        limit = self.app.settings.max_body_size
        ctype = (request.headers.get("content-type") or "").lower()
        if ctype.startswith("application/x-www-form-urlencoded"):
            try:
                request.body = await _read_body(request, body, limit)
            except ProtocolError as exc:
                return _plain_error(exc.status, exc.code, exc.message, new_request_id())

        rt = route(request)
        rid = new_request_id()
        meta = ResponseMeta(rid, {"method": request.method})
        if not rt.service:
            target = request.headers.get("x-amz-target") or request.path
            return _plain_error(400, "UnknownServiceException", f"Gureum cannot tell which service {target!r} is for", rid)

        from gureum.protocol import models
        from gureum.protocol.base import get_protocol

        if rt.service not in models.available_services():
            return _plain_error(
                400, "UnknownServiceException", f"Unknown service: {rt.signing_name or rt.service!r}", rid
            )
        svc_model = models.service_model(rt.service)
        proto_name = protocol_for(
            rt, svc_model.protocol, list(svc_model.metadata.get("protocols") or []), request
        )
        proto = get_protocol(proto_name)
        if rt.bucket_from_host:
            request.path = "/" + rt.bucket_from_host + (request.path if request.path != "/" else "")
            if request.path == "/" + rt.bucket_from_host:
                request.path += "/"
                if request.path.endswith("//"):
                    request.path = request.path[:-1]
        ctx: RequestContext | None = None
        try:
            if proto_name in ("rest-json", "rest-xml"):
                op, labels = proto.find_operation(svc_model, request)
                if op.has_streaming_input:
                    request.stream = body
                else:
                    request.body = request.body or await _read_body(request, body, limit)
            else:
                if not request.body:
                    request.body = await _read_body(request, body, limit)
                op = proto.find_operation(svc_model, request)
                labels = None
            ctx = RequestContext(
                service=rt.service,
                operation=op.name,
                account=self._account(rt.access_key),
                region=rt.region,
                request_id=rid,
                app=self.app,
                request=request,
            )
            params = proto.parse_request(op, request, labels)
            api = self.app.service_api(rt.service)
            handler = api.handlers.get(op.name) if api is not None else None
            if handler is None:
                raise NotImplementedOperation(rt.service, op.name)
            result = handler(ctx, params)
            if inspect.isawaitable(result):
                result = await result
            response = proto.serialize_response(op, result or {}, meta)
            for k, v in ctx.response_headers.items():
                response.headers.append((k.lower(), v))
            if ctx.response_status is not None:
                response.status = ctx.response_status
            return response
        except ValidationError as exc:
            if exc.code == "ValidationException":
                exc.code = models.validation_error_code(svc_model)
            return self._error(proto, svc_model, exc, meta)
        except ServiceError as exc:
            return self._error(proto, svc_model, exc, meta)
        except ProtocolError as exc:
            err = ServiceError(exc.code, exc.message, exc.status, sender_fault=True)
            return self._error(proto, svc_model, err, meta)
        except Exception:
            log.exception(
                "internal error in %s.%s (request %s)", rt.service, ctx.operation if ctx else "?", rid
            )
            return self._error(proto, svc_model, InternalFailure(rid), meta)

    def _error(self, proto: Any, svc_model: Any, err: ServiceError, meta: ResponseMeta) -> HttpResponse:
        try:
            return proto.serialize_error(svc_model, err, meta)
        except Exception:
            log.exception("serializing error %s failed", err.code)
            return _plain_error(err.status or 500, err.code, err.message, meta.request_id)

    def _account(self, access_key: str) -> str:
        if len(access_key) == 12 and access_key.isdigit():
            return access_key
        # Keys made by Gureum itself carry their account: AKIA<12 digits><4 hex>.
        if len(access_key) == 20 and access_key[:4] in ("AKIA", "ASIA") and access_key[4:16].isdigit():
            return access_key[4:16]
        return self.app.settings.default_account

    # -- /_gureum/ ------------------------------------------------------------------------

    def _internal(self, request: HttpRequest) -> HttpResponse:
        path = request.path.rstrip("/")
        rid = new_request_id()
        if path == "/_gureum/health" and request.method in ("GET", "HEAD"):
            status = 200 if self.app.ready else 503
            return _json(status, self.app.health())
        if path in ("/_gureum/reset", "/moto-api/reset") and request.method == "POST":
            self.app.reset()
            return _json(200, {"status": "reset"})
        if path.startswith("/_gureum/lambda/"):
            # Lambda's Code.Location: the function's zip as stored.
            from gureum.services.lambda_.public import code_response

            found = code_response(self.app, request)
            if found is not None:
                return found
        if path.startswith("/_gureum/opsworks/"):
            # OpsWorks' DescribeCommands LogUrl: a command's log.
            from gureum.services.opsworks.logs import log_response

            found = log_response(self.app, request)
            if found is not None:
                return found
        return _plain_error(404, "NotFound", f"no such Gureum endpoint: {request.method} {request.path}", rid)


async def _read_body(request: HttpRequest, body: AsgiBody, limit: int) -> bytes:
    """The whole (non-streamed) body, gunzipped when the client compressed it.

    botocore gzips large bodies of operations with the ``requestcompression``
    trait (CloudWatch PutMetricData over 10 KB).  The decompressed size is held
    to the same limit, so a small bomb cannot blow up memory.
    """
    raw = await body.read_limited(limit)
    encodings = [e.strip().lower() for e in (request.headers.get("content-encoding") or "").split(",")]
    if "gzip" not in encodings or not raw:
        return raw
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ProtocolError("SerializationException", f"Request body is not valid gzip: {exc}") from exc
    if len(out) > limit or d.unconsumed_tail:
        raise RequestTooLarge(limit)
    if not d.eof:
        raise ProtocolError("SerializationException", "Request body is truncated gzip data")
    return out


def _json(status: int, doc: dict[str, Any]) -> HttpResponse:
    body = json.dumps(doc).encode()
    return HttpResponse(status, [("content-type", "application/json"), ("content-length", str(len(body)))], body)


def _plain_error(status: int, code: str, message: str, rid: str) -> HttpResponse:
    body = json.dumps({"__type": code, "message": message}).encode()
    return HttpResponse(
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-requestid", rid),
            ("x-amzn-errortype", code),
            ("content-length", str(len(body))),
        ],
        body,
    )


async def _send_response(send: Send, response: HttpResponse) -> None:
    headers = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers]
    body = response.body
    if isinstance(body, (bytes, bytearray)):
        if not any(k.lower() == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": bytes(body)})
        return
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        async for chunk in body:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
    await send({"type": "http.response.body", "body": b""})
