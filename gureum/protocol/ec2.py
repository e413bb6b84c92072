"""The EC2 dialect of the query protocol.

Requests are query requests (``Action``, ``Version``, form parameters) with
two differences, both handled by :func:`gureum.protocol.query.decode_params`
with ``ec2=True``: a list is ``Name.1``, ``Name.2`` … (no ``.member``), and a
member's name is its ``queryName``, else its ``locationName`` capitalised,
else the member name.

Responses carry the members at the top level, no result wrapper::

    <?xml version="1.0" encoding="UTF-8"?>
    <DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
      <requestId>…</requestId>
      <reservationSet><item>…</item></reservationSet>
    </DescribeInstancesResponse>

(lists are ``<item>`` elements: the models name them so).  An operation
without an output answers ``<return>true</return>`` as EC2 does.

Errors::

    <Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>
    <RequestID>…</RequestID></Response>

Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.protocol import modelled_errors, query
from gureum.protocol.http import HttpRequest, HttpResponse, ResponseMeta
from gureum.protocol.validate import validate_input
from gureum.protocol.xml_ import XML_DECLARATION, escape_text, write_members

content_type = "text/xml;charset=UTF-8"

find_operation = query.find_operation


def parse_request(
    operation: Any, request: HttpRequest, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    params = query.decode_params(operation.input_shape, query.form_params(request), ec2=True)
    validate_input(operation.input_shape, params)
    return params


def namespace(service: Any) -> str:
    ns = query.namespace(service)
    return ns if ns.endswith("/") else ns + "/"


def serialize_response(operation: Any, output: dict[str, Any], meta: ResponseMeta) -> HttpResponse:
    name = operation.name
    shape = operation.output_shape
    out = [
        XML_DECLARATION,
        f'\n<{name}Response xmlns="{namespace(operation.service_model)}">',
        f"<requestId>{escape_text(meta.request_id)}</requestId>",
    ]
    if shape is not None:
        write_members(out, shape, output)
    else:
        out.append("<return>true</return>")
    out.append(f"</{name}Response>")
    return HttpResponse(200, _headers(meta), "".join(out).encode("utf-8"))


def serialize_error(service: Any, error: ServiceError, meta: ResponseMeta) -> HttpResponse:
    resolved = modelled_errors.resolve(service, error)
    out = [
        XML_DECLARATION,
        "\n<Response><Errors><Error>",
        f"<Code>{escape_text(resolved.code)}</Code>",
        f"<Message>{escape_text(error.message)}</Message>",
    ]
    query.write_extra(out, resolved.shape, error.extra)
    out.append(f"</Error></Errors><RequestID>{escape_text(meta.request_id)}</RequestID></Response>")
    headers = _headers(meta) + [(k.lower(), v) for k, v in error.headers.items()]
    return HttpResponse(resolved.status, headers, "".join(out).encode("utf-8"))


def _headers(meta: ResponseMeta) -> list[tuple[str, str]]:
    return [("content-type", content_type), ("x-amzn-requestid", meta.request_id)]
