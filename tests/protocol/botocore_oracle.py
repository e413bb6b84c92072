"""botocore as the oracle: its serializer makes requests, its parser reads our responses.

* :func:`client_request` — what botocore's client serializer would put on the
  wire for ``params``, as a Gureum :class:`HttpRequest` (query string encoded
  and joined the way ``botocore.awsrequest.prepare_request_dict`` does).
* :func:`client_parse` — what a botocore client makes of an
  :class:`HttpResponse` (``ResponseMetadata`` dropped unless asked for).
* :func:`normal` — a value in a form where equal wire meaning compares equal:
  timestamps as UTC epoch milliseconds, blobs and string payloads as bytes,
  ints in float members as floats; :func:`strip_empty` drops empty
  containers where the wire cannot carry them (headers, query strings).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from gureum.protocol.http import Headers, HttpRequest, HttpResponse


def client_request(protocol: str, params: dict[str, Any], operation: Any) -> HttpRequest:
    serialized = create_serializer(protocol).serialize_to_request(params, operation)
    path, _, query = serialized["url_path"].partition("?")
    qs = serialized["query_string"]
    if qs:
        encoded = percent_encode_sequence(qs) if not isinstance(qs, str) else qs
        query = f"{query}&{encoded}" if query else encoded
    body = serialized["body"]
    if isinstance(body, dict):  # query protocols: form fields
        body = percent_encode_sequence(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    elif body is None:
        body = b""
    elif not isinstance(body, bytes):
        body = body.read()
    return HttpRequest(
        method=serialized["method"],
        path=path or "/",
        query_string=query,
        headers=Headers((k, str(v)) for k, v in serialized["headers"].items()),
        body=body,
    )


def client_parse(
    protocol: str, response: HttpResponse, shape: Any, keep_metadata: bool = False
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for k, v in response.headers:
        k = k.lower()
        headers[k] = f"{headers[k]},{v}" if k in headers else v
    body = response.body
    assert isinstance(body, bytes), "streamed bodies are not parsed here"
    parsed = create_parser(protocol).parse(
        {"status_code": response.status, "headers": headers, "body": body}, shape
    )
    if not keep_metadata:
        parsed.pop("ResponseMetadata", None)
    return parsed


def normal(shape: Any, value: Any) -> Any:
    """``value`` of ``shape`` in comparable form (see module docstring)."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type or not isinstance(value, dict):
            return value
        out = {}
        for name, v in value.items():
            member = shape.members.get(name)
            if member is None:
                continue
            n = normal(member, v)
            if n is not None:
                out[name] = n
        return out
    if kind == "list":
        return [normal(shape.member, v) for v in value]
    if kind == "map":
        return {k: normal(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        when = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return round(when.timestamp() * 1000)
    if kind == "blob" or (kind == "string" and isinstance(value, bytes)):
        return value.encode() if isinstance(value, str) else bytes(value)
    if kind in ("float", "double") and isinstance(value, int):
        return float(value)
    return value


def strip_empty(value: Any) -> Any:
    """Drop empty containers recursively (wire formats cannot tell them from absent)."""
    if isinstance(value, dict):
        out = {k: strip_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [strip_empty(v) for v in value]
    return value
