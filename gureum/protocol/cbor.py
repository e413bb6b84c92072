"""Smithy RPC v2 CBOR: ``POST /service/<ServiceName>/operation/<Operation>``.

What botocore (and the other SDKs) speak to CloudWatch today.  Rules of the
protocol:

* The path names the operation; ``<ServiceName>`` is the model's
  ``targetPrefix`` (the Smithy service shape's name).  Anything else → 404
  ``UnknownOperationException``.
* The body is one CBOR map of the input members (model names); an empty body
  is an empty input.  Unknown keys, ``null`` and ``undefined`` are ignored.
* Timestamps are CBOR tag 1 (epoch seconds, integer or float); an untagged
  number is accepted too.  Blobs are byte strings.
* Undecodable CBOR, trailing bytes, a body that is not a map, or a member of
  the wrong CBOR type → 400 ``SerializationException``.
* Responses carry ``smithy-protocol: rpc-v2-cbor``, ``Content-Type:
  application/cbor`` and ``x-amzn-RequestId``; the body is always a map when
  the operation has an output shape (botocore reads it as one).
* Errors are maps ``{"__type": <shape name>, "message": …}`` plus the
  modelled error's members, built by :func:`.json_.error_parts`; botocore
  takes the code from ``__type`` (after any ``#``) or, for query-compatible
  services such as CloudWatch, from the ``x-amzn-query-error`` header.

Pure: no I/O.  Encoding and decoding by ``cbor2``.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING, Any

import cbor2

from gureum.core.errors import ProtocolError, ServiceError
from gureum.protocol.http import HttpResponse
from gureum.protocol.json_ import SERIALIZATION_ERROR, _mismatch, error_parts
from gureum.protocol.validate import validate_input
from gureum.protocol.wire_values import to_datetime

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape

    from gureum.protocol.http import HttpRequest, ResponseMeta

content_type = "application/cbor"

UNKNOWN_OPERATION = "UnknownOperationException"

_INTEGERS = frozenset(("integer", "long", "byte", "short", "biginteger"))
_FLOATS = frozenset(("float", "double", "bigdecimal"))
_KINDS = {
    dict: "a map",
    list: "an array",
    str: "a text string",
    bytes: "a byte string",
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    datetime: "a timestamp",
}


# -- the contract -------------------------------------------------------------------------


def find_operation(service: ServiceModel, request: HttpRequest) -> OperationModel:
    parts = request.path.split("/")
    # ['', 'service', <name>, 'operation', <op>]
    ok = len(parts) == 5 and parts[0] == "" and parts[1] == "service" and parts[3] == "operation"
    expected = service.metadata.get("targetPrefix")
    if not ok or (expected and parts[2] != expected) or parts[4] not in service.operation_names:
        raise ProtocolError(UNKNOWN_OPERATION, f"Unknown operation path {request.path!r}", 404)
    return service.operation_model(parts[4])


def parse_request(
    operation: OperationModel, request: HttpRequest, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    doc = load_cbor_map(request.body)
    shape = operation.input_shape
    params = decode_value(shape, doc, "") if shape is not None else {}
    validate_input(shape, params)
    return params


def serialize_response(
    operation: OperationModel, output: dict[str, Any], meta: ResponseMeta
) -> HttpResponse:
    shape = operation.output_shape
    body = cbor2.dumps(encode_value(shape, output)) if shape is not None else b""
    return _response(200, body, [], meta)


def serialize_error(service: ServiceModel, error: ServiceError, meta: ResponseMeta) -> HttpResponse:
    status, headers, doc = error_parts(service, error, encode_value)
    return _response(status, cbor2.dumps(doc), headers, meta)


def _response(
    status: int, body: bytes, headers: list[tuple[str, str]], meta: ResponseMeta
) -> HttpResponse:
    head = [
        ("x-amzn-RequestId", meta.request_id),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
    ]
    return HttpResponse(status, head + headers, body)


# -- bytes ------------------------------------------------------------------------------------


def load_cbor_map(body: bytes) -> dict[Any, Any]:
    """The request body as a CBOR map (empty → ``{}``), or a SerializationException."""
    if not body:
        return {}
    stream = io.BytesIO(body)
    try:
        doc = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError) as exc:
        raise ProtocolError(
            SERIALIZATION_ERROR, f"Malformed CBOR request body: {exc}", 400
        ) from exc
    if stream.tell() != len(body):
        raise ProtocolError(SERIALIZATION_ERROR, "Trailing bytes after the CBOR request body", 400)
    if not isinstance(doc, dict):
        raise ProtocolError(SERIALIZATION_ERROR, "The request body must be a CBOR map", 400)
    return doc


# -- CBOR → values ---------------------------------------------------------------------


def _absent(value: Any) -> bool:
    return value is None or value is cbor2.undefined


def decode_value(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        _expect(isinstance(value, dict), value, "a map", path)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            raw = value.get(member.serialization.get("name", name))
            if not _absent(raw):
                out[name] = decode_value(member, raw, f"{path}.{name}" if path else name)
        return out
    if kind == "list":
        _expect(isinstance(value, list), value, "an array", path)
        return [
            decode_value(shape.member, v, f"{path}.{i + 1}.member")
            for i, v in enumerate(value)
            if not _absent(v)
        ]
    if kind == "map":
        _expect(isinstance(value, dict), value, "a map", path)
        return {
            decode_value(shape.key, k, f"{path}.key"): decode_value(shape.value, v, f"{path}.{k}")
            for k, v in value.items()
            if not _absent(v)
        }
    return _decode_scalar(shape, value, path)


def _decode_scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        _expect(isinstance(value, str), value, "a text string", path)
        return value
    if kind == "boolean":
        _expect(isinstance(value, bool), value, "a boolean", path)
        return value
    if kind in _INTEGERS:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        _expect(number and isinstance(value, int), value, "an integer", path)
        return value
    if kind in _FLOATS:
        _expect(number, value, "a number", path)
        return float(value)
    if kind == "timestamp":
        if isinstance(value, datetime):
            return to_datetime(value)
        _expect(number, value, "a timestamp (tag 1)", path)
        try:
            return to_datetime(value)
        except (OverflowError, OSError, ValueError) as exc:
            raise _mismatch(f"Invalid timestamp {value!r}", path) from exc
    if kind == "blob":
        _expect(isinstance(value, (bytes, bytearray)), value, "a byte string", path)
        return bytes(value)
    return value


def _expect(ok: bool, value: Any, wanted: str, path: str) -> None:
    if not ok:
        found = next((w for t, w in _KINDS.items() if type(value) is t), type(value).__name__)
        raise _mismatch(f"Expected {wanted}, found {found}", path)


# -- values → CBOR ---------------------------------------------------------------------


def encode_value(shape: Shape, value: Any) -> Any:
    """A cbor2-ready value of ``shape``: timestamps as tag 1, blobs as bytes."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type or not isinstance(value, dict):
            return value
        members = shape.members
        out: dict[str, Any] = {}
        for name, v in value.items():
            member = members.get(name)
            if v is None or member is None or member.serialization.get("eventstream"):
                continue
            out[member.serialization.get("name", name)] = encode_value(member, v)
        return out
    if kind == "list":
        return [encode_value(shape.member, v) for v in value if v is not None]
    if kind == "map":
        return {str(k): encode_value(shape.value, v) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        when = to_datetime(value)
        millis = round(when.timestamp() * 1000)
        return cbor2.CBORTag(1, millis // 1000 if millis % 1000 == 0 else millis / 1000)
    if kind == "blob":
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if kind in _FLOATS:
        return float(value)
    if kind in _INTEGERS:
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "string":
        return value if type(value) is str else str(value)
    return value
