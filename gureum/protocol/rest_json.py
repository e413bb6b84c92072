"""restJson1 (Lambda, API Gateway, EFS…): REST routing plus a JSON body.

Rules of the protocol:

* The operation comes from method + URI template (:mod:`.rest`); an unknown
  route is 404 ``UnknownOperationException``.  URI labels, query string and
  headers are bound by :func:`.rest.bind_rest_members`.
* The body: without a ``payload`` member, a JSON object of the members that
  have no location (empty body = ``{}``).  With a structure/document payload
  member, that member's JSON alone.  With a blob or string payload member,
  the raw bytes, always present (a blob payload is the request's ``stream``
  when the gateway streams it, else ``bytes``, ``b""`` for an empty body —
  botocore sends an absent payload that way).
* JSON values follow awsJson (:mod:`.json_`): epoch-second timestamps,
  base64 blobs; a malformed body or a member of the wrong JSON type → 400
  ``SerializationException``.
* Response status: the output's ``statusCode`` member, else the operation's
  ``http.responseCode``, else 200.  A response with no body members (or
  status 204/304) has an empty body.
* Errors: header ``x-amzn-ErrorType: <code>`` (what botocore reads for the
  code), JSON body ``{"Type": "User"|"Server", "message"|"Message": …}``
  using the spelling of the modelled error shape, plus its extra members
  (header-located ones as headers).

Pure: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.errors import ProtocolError, ServiceError
from gureum.protocol import modelled_errors
from gureum.protocol.http import HttpResponse
from gureum.protocol.json_ import (
    SERIALIZATION_ERROR,
    decode_members,
    decode_value,
    dump_json,
    encode_members,
    encode_value,
    load_json_object,
)
from gureum.protocol.rest import (
    bind_rest_members,
    find_rest_operation,
    rest_output_headers,
    template_query_keys,
)
from gureum.protocol.validate import validate_input

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape

    from gureum.protocol.http import HttpRequest, ResponseMeta

content_type = "application/json"

_NO_BODY_STATUSES = frozenset((204, 304))


def find_operation(
    service: ServiceModel, request: HttpRequest
) -> tuple[OperationModel, dict[str, str]]:
    return find_rest_operation(service, request)


def parse_request(
    operation: OperationModel, request: HttpRequest, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    params = bind_rest_members(shape, request, labels, ignore_query=template_query_keys(operation))
    payload = shape.serialization.get("payload")
    if payload is not None:
        value = _payload_value(shape.members[payload], request)
        if value is not None:
            params[payload] = value
    else:
        params.update(decode_members(shape, load_json_object(request.body), "", skip_located=True))
    validate_input(shape, params)
    return params


def _payload_value(member: Shape, request: HttpRequest) -> Any:
    kind = member.type_name
    if member.serialization.get("eventstream"):  # input event streams: the raw stream, if any
        return request.stream
    if kind in ("blob", "string"):
        if request.stream is not None and kind == "blob":
            return request.stream
        if kind == "blob":
            return request.body
        try:
            return request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(
                SERIALIZATION_ERROR, "The request body is not UTF-8 text", 400
            ) from exc
    if not request.body.strip():
        return None
    if member.is_document_type:
        return load_json_object(request.body)
    return decode_value(member, load_json_object(request.body), "")


def serialize_response(
    operation: OperationModel, output: dict[str, Any], meta: ResponseMeta
) -> HttpResponse:
    shape = operation.output_shape
    status, headers, remaining = rest_output_headers(
        shape, output, int(operation.http.get("responseCode", 200))
    )
    body, ctype = _response_body(shape, remaining)
    if status in _NO_BODY_STATUSES:
        body, ctype = b"", None
    return _response(status, headers, body, ctype, meta)


def _response_body(shape: Shape | None, remaining: dict[str, Any]) -> tuple[Any, str | None]:
    if shape is None:
        return b"", None
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        value = remaining.get(payload)
        if value is None:
            return b"", None
        if member.type_name == "blob":
            data = value.encode("utf-8") if isinstance(value, str) else value
            return (
                bytes(data) if isinstance(data, (bytes, bytearray)) else data
            ), "application/octet-stream"
        if member.type_name == "string":
            data = value.encode("utf-8") if isinstance(value, str) else value
            return data, "text/plain; charset=utf-8"
        return dump_json(encode_value(member, value)), content_type
    if not any("location" not in m.serialization for m in shape.members.values()):
        return b"", None
    return dump_json(encode_members(shape, remaining, skip_located=True)), content_type


def _response(
    status: int,
    headers: list[tuple[str, str]],
    body: Any,
    ctype: str | None,
    meta: ResponseMeta,
) -> HttpResponse:
    head = [("x-amzn-RequestId", meta.request_id)]
    names = {k.lower() for k, _ in headers}
    if ctype is not None and "content-type" not in names:
        head.append(("Content-Type", ctype))
    if isinstance(body, (bytes, bytearray)) and "content-length" not in names:
        head.append(("Content-Length", str(len(body))))
    return HttpResponse(status, head + headers, body)


def serialize_error(service: ServiceModel, error: ServiceError, meta: ResponseMeta) -> HttpResponse:
    resolved = modelled_errors.resolve(service, error)
    shape = resolved.shape
    code = shape.error_code if shape is not None else error.code
    _, extra_headers, remaining = rest_output_headers(shape, error.extra)
    members = shape.members if shape is not None else {}
    key = "Message" if "Message" in members and "message" not in members else "message"
    doc: dict[str, Any] = {
        "Type": "User" if resolved.sender_fault else "Server",
        key: error.message,
    }
    for name, value in remaining.items():
        member = members.get(name)
        if member is None:
            doc[name] = value
        elif "location" not in member.serialization:
            doc[member.serialization.get("name", name)] = encode_value(member, value)
    headers = [("x-amzn-ErrorType", code)]
    if service.is_query_compatible:
        fault = "Sender" if resolved.sender_fault else "Receiver"
        headers.append(("x-amzn-query-error", f"{resolved.code};{fault}"))
    headers += extra_headers + list(error.headers.items())
    return _response(resolved.status, headers, dump_json(doc), content_type, meta)
