"""awsJson 1.0 / 1.1: ``POST /`` with ``X-Amz-Target: <targetPrefix>.<Operation>``.

Rules of the protocol (what AWS's JSON services send and accept):

* The body is one JSON object; an empty body is ``{}``.  Member names are the
  model's (or their ``jsonName``/``locationName``); unknown names and ``null``
  values are ignored.
* Timestamps are epoch seconds as numbers unless the member's
  ``timestampFormat`` says otherwise; on input ISO 8601/RFC 822 strings and
  numeric strings are accepted too, as AWS does.  Blobs are base64 strings.
  Floats may be the strings ``NaN``, ``Infinity``, ``-Infinity``.
* Undecodable bytes, a body that is not an object, or a member of the wrong
  JSON type → 400 ``SerializationException``.  An unknown target → 400
  ``UnknownOperationException``.
* Errors: ``{"__type": <shape name>, "message": …}`` plus the modelled
  error's extra members, header ``x-amzn-ErrorType``; query-compatible
  services (``awsQueryCompatible``: CloudWatch, SQS) also send
  ``x-amzn-query-error: <query code>;Sender|Receiver`` so clients see the
  old query error code.
* Every response carries ``x-amzn-RequestId``; the content type is
  ``application/x-amz-json-<jsonVersion>``.

The JSON value walkers (:func:`decode_value`, :func:`encode_value`) and
:func:`error_parts` are shared with rest-json and CBOR.  Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ProtocolError, ServiceError
from gureum.protocol import modelled_errors
from gureum.protocol.http import HttpResponse
from gureum.protocol.validate import validate_input
from gureum.protocol.wire_values import BadValue, format_timestamp, parse_timestamp, to_datetime

if TYPE_CHECKING:
    from collections.abc import Callable

    from botocore.model import OperationModel, ServiceModel, Shape

    from gureum.protocol.http import HttpRequest, ResponseMeta

content_type = "application/x-amz-json-1.1"

SERIALIZATION_ERROR = "SerializationException"
UNKNOWN_OPERATION = "UnknownOperationException"

_INTEGERS = frozenset(("integer", "long", "byte", "short", "biginteger"))
_FLOATS = frozenset(("float", "double", "bigdecimal"))
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_TYPE_WORDS = {
    "string": "a String",
    "boolean": "a Boolean",
    "timestamp": "a Date",
    "blob": "a ByteBuffer",
    "integer": "an Integer",
    "long": "a Long",
    "float": "a Float",
    "double": "a Double",
}


# -- the contract -------------------------------------------------------------------------


def find_operation(service: ServiceModel, request: HttpRequest) -> OperationModel:
    target = request.headers.get("x-amz-target") or ""
    prefix, _, name = target.rpartition(".")
    expected = service.metadata.get("targetPrefix")
    if not name or (expected and prefix != expected) or name not in service.operation_names:
        raise ProtocolError(UNKNOWN_OPERATION, f"Unknown operation {target!r}", 400)
    return service.operation_model(name)


def parse_request(
    operation: OperationModel, request: HttpRequest, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    doc = load_json_object(request.body)
    shape = operation.input_shape
    params = decode_value(shape, doc, "") if shape is not None else {}
    validate_input(shape, params)
    return params


def serialize_response(
    operation: OperationModel, output: dict[str, Any], meta: ResponseMeta
) -> HttpResponse:
    shape = operation.output_shape
    doc = encode_value(shape, output) if shape is not None else {}
    return _response(operation.service_model, 200, dump_json(doc), [], meta)


def serialize_error(service: ServiceModel, error: ServiceError, meta: ResponseMeta) -> HttpResponse:
    status, headers, doc = error_parts(service, error, encode_value)
    return _response(service, status, dump_json(doc), headers, meta)


def _response(
    service: ServiceModel,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]],
    meta: ResponseMeta,
) -> HttpResponse:
    version = service.metadata.get("jsonVersion", "1.1")
    head = [
        ("x-amzn-RequestId", meta.request_id),
        ("Content-Type", f"application/x-amz-json-{version}"),
        ("Content-Length", str(len(body))),
    ]
    return HttpResponse(status, head + headers, body)


# -- bytes ------------------------------------------------------------------------------------


def load_json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (empty → ``{}``), or a SerializationException."""
    if not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(
            SERIALIZATION_ERROR, f"Malformed JSON request body: {exc}", 400
        ) from exc
    if not isinstance(doc, dict):
        raise ProtocolError(SERIALIZATION_ERROR, "The request body must be a JSON object", 400)
    return doc


def dump_json(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


# -- JSON → values ---------------------------------------------------------------------


def decode_value(shape: Shape, value: Any, path: str) -> Any:
    """The Python value of ``shape`` from decoded JSON; SerializationException on a type mismatch."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        _expect(isinstance(value, dict), value, shape, path)
        return decode_members(shape, value, path, skip_located=False)
    if kind == "list":
        _expect(isinstance(value, list), value, shape, path)
        return [
            decode_value(shape.member, v, f"{path}.{i + 1}.member")
            for i, v in enumerate(value)
            if v is not None
        ]
    if kind == "map":
        _expect(isinstance(value, dict), value, shape, path)
        return {
            k: decode_value(shape.value, v, f"{path}.{k}")
            for k, v in value.items()
            if v is not None
        }
    return decode_scalar(shape, value, path)


def decode_members(
    shape: Shape, doc: dict[str, Any], path: str, skip_located: bool
) -> dict[str, Any]:
    """The members of a structure from a JSON object (``skip_located``: body members only)."""
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        if skip_located and member.serialization.get("location"):
            continue
        wire = member.serialization.get("name", name)
        raw = doc.get(wire)
        if raw is not None:
            out[name] = decode_value(member, raw, f"{path}.{wire}" if path else wire)
    return out


def decode_scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "string":
        _expect(isinstance(value, str), value, shape, path)
        return value
    if kind == "boolean":
        _expect(isinstance(value, bool), value, shape, path)
        return value
    if kind in _INTEGERS:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        _expect(isinstance(value, int) and not isinstance(value, bool), value, shape, path)
        return value
    if kind in _FLOATS:
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        _expect(isinstance(value, (int, float)) and not isinstance(value, bool), value, shape, path)
        return float(value)
    if kind == "timestamp":
        return _decode_timestamp(shape, value, path)
    if kind == "blob":
        _expect(isinstance(value, str), value, shape, path)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _mismatch("Invalid base64 value", path) from exc
    return value


def _decode_timestamp(shape: Shape, value: Any, path: str) -> Any:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return to_datetime(value)
        if isinstance(value, str):
            return parse_timestamp(value)
    except (BadValue, OverflowError, OSError, ValueError) as exc:
        raise _mismatch(f"Invalid timestamp {value!r}", path) from exc
    _expect(False, value, shape, path)
    return None


def _token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    return "VALUE_NULL"


def _expect(ok: bool, value: Any, shape: Shape, path: str) -> None:
    if ok:
        return
    # AWS's (Coral's) own wording for the three kinds of mismatch.
    if isinstance(value, dict):
        raise _mismatch("Start of structure or map found where not expected", path)
    if isinstance(value, list):
        raise _mismatch("Start of list found where not expected", path)
    if shape.type_name in ("structure", "map"):
        raise _mismatch(f"Expected a structure or map, found {_token(value)}", path)
    if shape.type_name == "list":
        raise _mismatch(f"Expected a list, found {_token(value)}", path)
    words = _TYPE_WORDS.get(shape.type_name, f"a {shape.type_name}")
    raise _mismatch(f"{_token(value)} can not be converted to {words}", path)


def _mismatch(message: str, path: str) -> ProtocolError:
    where = f" at '{path}'" if path else ""
    return ProtocolError(SERIALIZATION_ERROR, f"{message}{where}", 400)


# -- values → JSON ---------------------------------------------------------------------


def encode_value(shape: Shape, value: Any) -> Any:
    """JSON-ready form of a value of ``shape``; members missing or ``None`` are omitted."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type or not isinstance(value, dict):
            return value
        return encode_members(shape, value, skip_located=False)
    if kind == "list":
        return [encode_value(shape.member, v) for v in value if v is not None]
    if kind == "map":
        return {str(k): encode_value(shape.value, v) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat") or "unixTimestamp"
        text = format_timestamp(value, fmt)
        return epoch_number(text) if fmt.lower() == "unixtimestamp" else text
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind in _FLOATS:
        return float_json(value)
    if kind in _INTEGERS:
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "string":
        return value if type(value) is str else str(value)
    return value


def encode_members(shape: Shape, value: dict[str, Any], skip_located: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    members = shape.members
    for name, v in value.items():
        member = members.get(name)
        if v is None or member is None or member.serialization.get("eventstream"):
            continue
        if skip_located and member.serialization.get("location"):
            continue
        out[member.serialization.get("name", name)] = encode_value(member, v)
    return out


def epoch_number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def float_json(value: Any) -> Any:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return value if isinstance(value, int) and not isinstance(value, bool) else number


# -- errors --------------------------------------------------------------------------------


def error_parts(
    service: ServiceModel, error: ServiceError, encode: Callable[[Shape, Any], Any]
) -> tuple[int, list[tuple[str, str]], dict[str, Any]]:
    """(status, headers, document) of an error for the JSON-family RPC protocols.

    ``__type`` is the modelled shape's name (what the Smithy shape id ends
    with) or the code as raised; the document also carries ``message`` under
    the spelling the shape uses and the error's extra members, encoded by
    ``encode``.
    """
    resolved = modelled_errors.resolve(service, error)
    shape = resolved.shape
    type_name = shape.name if shape is not None else error.code
    headers = [("x-amzn-ErrorType", type_name)]
    if service.is_query_compatible:
        fault = "Sender" if resolved.sender_fault else "Receiver"
        headers.append(("x-amzn-query-error", f"{resolved.code};{fault}"))
    headers.extend(error.headers.items())
    doc: dict[str, Any] = {"__type": type_name}
    members = shape.members if shape is not None else {}
    key = "Message" if "Message" in members and "message" not in members else "message"
    doc[key] = error.message
    for name, value in error.extra.items():
        member = members.get(name)
        if value is None:
            continue
        if member is None:
            doc[name] = value
        else:
            doc[member.serialization.get("name", name)] = encode(member, value)
    return resolved.status, headers, doc
