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

import io
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.response import StreamingBody
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
    protocol: str,
    response: HttpResponse,
    shape: Any,
    keep_metadata: bool = False,
    streaming: bool = False,
) -> dict[str, Any]:
    """``streaming``: the operation has a streaming output (blob payload), so a
    real client hands the parser a ``StreamingBody``, as done here."""
    headers = wire_headers(response)
    body = response.body
    assert isinstance(body, bytes), "streamed bodies are not parsed here"
    wire_body: Any = body
    if streaming and response.status < 300:
        wire_body = StreamingBody(io.BytesIO(body), len(body))
    parsed = create_parser(protocol).parse(
        {"status_code": response.status, "headers": headers, "body": wire_body}, shape
    )
    if not keep_metadata:
        parsed.pop("ResponseMetadata", None)
    return parsed


def wire_headers(response: HttpResponse) -> HeadersDict:
    """Response headers as a client's HTTP library hands them to botocore (case-insensitive)."""
    headers = HeadersDict()
    for k, v in response.headers:
        headers[k] = f"{headers[k]},{v}" if k in headers else str(v)
    return headers


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
    if isinstance(value, StreamingBody):
        value = value.read()
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


def routable_operations(service_model: Any) -> list[str]:
    """REST operations a request can name unambiguously.

    Operations sharing method, URI template and required query/header members
    (ListBuckets and ListDirectoryBuckets; a deprecated twin) cannot be told
    apart on the wire; of each such group only the one routing picks is kept.
    """
    seen: dict[tuple[Any, ...], str] = {}
    for name in service_model.operation_names:
        op = service_model.operation_model(name)
        shape = op.input_shape
        required: tuple[Any, ...] = ()
        if shape is not None:
            required = tuple(
                sorted(
                    (m.serialization.get("location"), m.serialization.get("name", n))
                    for n, m in shape.members.items()
                    if n in shape.required_members
                    and m.serialization.get("location") in ("header", "querystring")
                )
            )
        sig = (op.http.get("method"), op.http.get("requestUri"), required)
        if sig not in seen or (
            service_model.operation_model(seen[sig]).deprecated and not op.deprecated
        ):
            seen[sig] = name
    return sorted(seen.values())
