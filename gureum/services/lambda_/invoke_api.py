"""The Invoke operation: HTTP-facing wrapper of :mod:`.invoke`.

Response (rest-json, modelled): status 200/202/204 (``StatusCode``),
``X-Amz-Function-Error: Unhandled`` when the function failed,
``X-Amz-Log-Result`` (base64 of the last 4 KB of the log) with
``LogType: Tail``, ``X-Amz-Executed-Version``, and the function's JSON (or
AWS's error document) as the body.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.lambda_ import telemetry
from gureum.services.lambda_.common import api, reference
from gureum.services.lambda_.invoke import MAX_SYNC_PAYLOAD, invoke
from gureum.services.lambda_.names import invalid


def client_context(value: str | None) -> dict[str, Any] | None:
    """``X-Amz-Client-Context``: base64 of a JSON object (AWS's limit: 3583 bytes)."""
    if not value:
        return None
    try:
        doc = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        raise invalid("Client context must be a valid Base64-encoded JSON object.") from None
    if not isinstance(doc, dict):
        raise invalid("Client context must be a valid Base64-encoded JSON object.")
    return doc


async def read_payload(value: Any) -> bytes:
    """The payload: bytes, or the request's body stream read up to one byte past the limit."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes(await value.read(MAX_SYNC_PAYLOAD + 1))  # event_text() refuses what is too long


@api.operation("Invoke")
async def invoke_op(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    kind = req.get("InvocationType") or "RequestResponse"
    payload = await read_payload(req.get("Payload"))
    result = await invoke(
        ctx.app, ctx.scope, ref.name, ref.qualifier, payload, kind, client_context(req.get("ClientContext"))
    )
    out: dict[str, Any] = {"StatusCode": result.status}
    if result.status != 200:
        return out
    out["Payload"] = result.payload
    out["ExecutedVersion"] = result.executed_version
    if result.function_error:
        out["FunctionError"] = result.function_error
    if req.get("LogType") == "Tail":
        out["LogResult"] = telemetry.tail_b64(list(result.lines))
    return out
