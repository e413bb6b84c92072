"""Glue between botocore's client side (the oracle) and Gureum's protocol modules.

``botocore_request`` turns what botocore's serializer produced into the
``HttpRequest`` the gateway would hand a protocol module; ``botocore_parse``
reads an ``HttpResponse`` the way a boto3 client would.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from gureum.protocol.http import Headers, HttpRequest, HttpResponse


def serialize(protocol: str, operation: Any, params: dict[str, Any]) -> dict[str, Any]:
    serializer = create_serializer(protocol, include_validation=False)
    return serializer.serialize_to_request(params, operation)


def botocore_request(serialized: dict[str, Any]) -> HttpRequest:
    body = serialized.get("body") or b""
    if isinstance(body, dict):
        body = urlencode(body).encode("utf-8")
    elif isinstance(body, str):
        body = body.encode("utf-8")
    query = serialized.get("query_string") or ""
    if isinstance(query, dict):
        query = percent_encode_sequence(query)
    headers = Headers((k, str(v)) for k, v in (serialized.get("headers") or {}).items())
    return HttpRequest(
        method=serialized.get("method", "POST"),
        path=serialized.get("url_path", "/"),
        query_string=query,
        headers=headers,
        body=body,
    )


def botocore_parse(protocol: str, response: HttpResponse, shape: Any) -> dict[str, Any]:
    assert isinstance(response.body, (bytes, bytearray)), "streamed bodies are read by the caller"
    headers = HeadersDict()
    for k, v in response.headers:
        headers[k] = v
    parsed = create_parser(protocol).parse(
        {"status_code": response.status, "headers": headers, "body": bytes(response.body)}, shape
    )
    return dict(parsed)
