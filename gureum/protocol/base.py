"""The contract every wire protocol module fulfils, and the lookup by name.

A protocol module (``json_``, ``query``, ``ec2``, ``rest_json``, ``rest_xml``,
``cbor``) defines module-level functions:

``find_operation(service: ServiceModel, request: HttpRequest) -> OperationModel``
    (REST protocols: ``-> tuple[OperationModel, dict[str, str]]`` with the
    URI labels matched, percent-decoded.)
    Which operation the request calls, from cheap clues only (X-Amz-Target,
    the ``Action`` parameter, the CBOR path, or method + URI template for
    REST).  Raises ``ProtocolError("UnknownOperationException", …, 404)`` or
    the protocol's own "InvalidAction" when nothing matches.  For REST
    protocols the body is not read to decide.

``parse_request(operation: OperationModel, request: HttpRequest, labels: dict | None) -> dict``
    The input dict: model member names → Python values (str, int, float,
    bool, bytes for blobs, tz-aware ``datetime`` for timestamps, lists,
    dicts; the request's ``stream`` object for a streaming payload member).
    Runs :func:`gureum.protocol.validate.validate_input` before returning.
    ``labels`` are the URI labels already matched by ``find_operation``.

``serialize_response(operation: OperationModel, output: dict, meta: ResponseMeta) -> HttpResponse``
    ``output`` uses model member names; timestamps may be ``datetime`` or
    epoch seconds (int/float); blobs ``bytes``; a streaming payload member may
    be ``bytes`` or an async iterator of ``bytes``.  Members missing from
    ``output`` are omitted.  Adds the request id header the protocol uses.

``serialize_error(service: ServiceModel, error: ServiceError, meta: ResponseMeta) -> HttpResponse``
    The protocol's error document.  Status: ``error.status`` if set, else the
    modelled error shape's ``httpStatusCode``, else 400.

``content_type: str`` – the protocol's default response content type.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = {
    "json": "gureum.protocol.json_",
    "query": "gureum.protocol.query",
    "ec2": "gureum.protocol.ec2",
    "rest-json": "gureum.protocol.rest_json",
    "rest-xml": "gureum.protocol.rest_xml",
    "smithy-rpc-v2-cbor": "gureum.protocol.cbor",
}

_cache: dict[str, ModuleType] = {}


def get_protocol(name: str) -> ModuleType:
    mod = _cache.get(name)
    if mod is None:
        mod = importlib.import_module(_MODULES[name])
        _cache[name] = mod
    return mod


def supported() -> tuple[str, ...]:
    return tuple(_MODULES)
