"""REST binding shared by rest-json and rest-xml: routes, URI labels, query, headers.

What lives here (and nothing about bodies — JSON and XML payloads are the
protocol modules' business):

* :func:`find_rest_operation` — which operation a request calls, from its
  method, raw path and query string, matched against every operation's
  ``requestUri`` template.  ``{Name}`` matches one non-empty path segment,
  ``{Name+}`` (greedy) one or more characters including ``/``.  Literal query
  parts of a template (``/{Bucket}?uploads``, ``?list-type=2``) must be
  present in the request.  A trailing ``/`` on the path is ignored.
* :func:`bind_rest_members` — the input members located in the URI, query
  string, headers and header maps (``x-amz-meta-*``), converted to their
  types.
* :func:`rest_output_headers` — the reverse for responses: status code,
  headers, and the members left for the body.

Choosing among several templates that match (S3 has many on one path), the
most specific wins, compared in this order:

1. more literal characters in the path template (``/functions/{F}/policy``
   beats ``/functions/{F}/{Q}``);
2. more literal query parts (``GET /{Bucket}?list-type=2`` beats ``GET /{Bucket}``);
3. more of the operation's *required* query-string and header members present
   (``PUT /{Bucket}/{Key+}`` with ``partNumber`` and ``uploadId`` is
   UploadPart, with ``x-amz-copy-source`` too UploadPartCopy, with only the
   copy source CopyObject, with none PutObject);
4. fewer required query/header members missing;
5. not deprecated (GetBucketLifecycleConfiguration over GetBucketLifecycle);
6. first in the model.

Wire formats of scalars (rules of AWS's REST protocols): in headers
timestamps default to RFC 822 and lists are comma separated; in the query
string and URI timestamps default to ISO 8601 and lists are repeated keys;
the ``timestampFormat`` trait overrides both; ``jsonvalue`` headers carry
base64 of compact JSON.  Timestamps are read in any of the three formats.

Pure: no I/O.  Routes are compiled once per service model and cached.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from gureum.core.errors import ProtocolError
from gureum.protocol.wire_values import BadValue, format_timestamp, read_scalar, scalar_text

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape

    from gureum.protocol.http import HttpRequest

UNKNOWN_OPERATION = "UnknownOperationException"
SERIALIZATION_ERROR = "SerializationException"

_LABEL_RE = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True)
class Route:
    operation: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]  # regex group i+1 → label name (without the "+")
    literal_chars: int
    query_literals: tuple[tuple[str, str | None], ...]
    required: tuple[tuple[str, str], ...]  # ("querystring"|"header", wire name)
    deprecated: bool
    order: int


# -- routing ----------------------------------------------------------------------------


def compile_route(operation: OperationModel, order: int = 0) -> Route:
    """The matcher of one operation's ``requestUri`` template."""
    uri = operation.http.get("requestUri", "/")
    path, _, query = uri.partition("?")
    path = path.rstrip("/") or ""
    parts: list[str] = []
    labels: list[str] = []
    literal = 0
    pos = 0
    for m in _LABEL_RE.finditer(path):
        text = path[pos : m.start()]
        parts.append(re.escape(text))
        literal += len(text)
        name = m.group(1)
        if name.endswith("+"):
            labels.append(name[:-1])
            parts.append("(.+)")
        else:
            labels.append(name)
            parts.append("([^/]+)")
        pos = m.end()
    tail = path[pos:]
    parts.append(re.escape(tail))
    literal += len(tail)
    pattern = re.compile("".join(parts) + "/?")
    query_literals = tuple(
        (k, v if "=" in piece else None)
        for piece in query.split("&")
        if piece
        for k, v in [piece.split("=", 1) if "=" in piece else (piece, "")]
    )
    return Route(
        operation=operation.name,
        pattern=pattern,
        labels=tuple(labels),
        literal_chars=literal,
        query_literals=query_literals,
        required=_required_locations(operation.input_shape),
        deprecated=bool(operation.deprecated),
        order=order,
    )


def _required_locations(shape: Shape | None) -> tuple[tuple[str, str], ...]:
    if shape is None:
        return ()
    out = []
    for name in shape.required_members:
        member = shape.members[name]
        loc = member.serialization.get("location")
        if loc in ("querystring", "header") and member.type_name != "map":
            wire = member.serialization.get("name", name)
            out.append((loc, wire.lower() if loc == "header" else wire))
    return tuple(out)


@functools.cache
def routes(service: ServiceModel) -> dict[str, tuple[Route, ...]]:
    """Every operation's route, by HTTP method."""
    by_method: dict[str, list[Route]] = {}
    for i, name in enumerate(service.operation_names):
        op = service.operation_model(name)
        method = op.http.get("method", "POST").upper()
        by_method.setdefault(method, []).append(compile_route(op, i))
    return {m: tuple(rs) for m, rs in by_method.items()}


def find_rest_operation(
    service: ServiceModel,
    request: HttpRequest,
    not_found_code: str = UNKNOWN_OPERATION,
) -> tuple[OperationModel, dict[str, str]]:
    """The operation a REST request calls and its URI labels, percent-decoded."""
    path = request.path or "/"
    query: dict[str, list[str]] = {}
    for k, v in parse_qsl(request.query_string, keep_blank_values=True):
        query.setdefault(k, []).append(v)
    best: tuple[tuple[int, ...], Route, re.Match[str]] | None = None
    for route in routes(service).get(request.method.upper(), ()):
        m = route.pattern.fullmatch(path)
        if m is None or not _query_literals_present(route, query):
            continue
        present = sum(
            1
            for loc, wire in route.required
            if (wire in query if loc == "querystring" else wire in request.headers)
        )
        score = (
            route.literal_chars,
            len(route.query_literals),
            present,
            present - len(route.required),
            0 if route.deprecated else 1,
            -route.order,
        )
        if best is None or score > best[0]:
            best = (score, route, m)
    if best is None:
        raise ProtocolError(
            not_found_code,
            f"No operation of {service.service_name} matches {request.method} {path}",
            404,
        )
    _, route, m = best
    labels = {name: unquote(m.group(i + 1)) for i, name in enumerate(route.labels)}
    return service.operation_model(route.operation), labels


def template_query_keys(operation: OperationModel) -> tuple[str, ...]:
    """Query keys written in the operation's ``requestUri`` (``?mode=import`` → ``mode``)."""
    query = operation.http.get("requestUri", "").partition("?")[2]
    return tuple(piece.split("=", 1)[0] for piece in query.split("&") if piece)


def _query_literals_present(route: Route, query: dict[str, list[str]]) -> bool:
    for key, value in route.query_literals:
        if key not in query:
            return False
        if value is not None and value not in query[key]:
            return False
    return True


# -- request binding ------------------------------------------------------------------------


def bind_rest_members(
    shape: Shape | None,
    request: HttpRequest,
    labels: dict[str, str] | None,
    error_code: str = SERIALIZATION_ERROR,
    *,
    ignore_query: Iterable[str] = (),
) -> dict[str, Any]:
    """The input members bound to URI labels, query string and headers.

    ``ignore_query``: query keys that belong to the route, not to a member
    (the literal parts of the template, :func:`template_query_keys`), kept
    out of a query-string map member.
    """
    if shape is None:
        return {}
    labels = labels or {}
    query: dict[str, list[str]] = {}
    for k, v in parse_qsl(request.query_string, keep_blank_values=True):
        query.setdefault(k, []).append(v)
    out: dict[str, Any] = {}
    claimed = {
        m.serialization.get("name", n)
        for n, m in shape.members.items()
        if m.serialization.get("location") == "querystring" and m.type_name != "map"
    }
    claimed.update(ignore_query)
    for name, member in shape.members.items():
        loc = member.serialization.get("location")
        if loc is None:
            continue
        wire = member.serialization.get("name", name)
        try:
            value = _bind_one(member, loc, wire, labels, query, request, claimed)
        except BadValue as exc:
            raise ProtocolError(error_code, f"{exc} for '{wire}'", 400) from exc
        if value is not None:
            out[name] = value
    return out


def _bind_one(
    member: Shape,
    loc: str,
    wire: str,
    labels: dict[str, str],
    query: dict[str, list[str]],
    request: HttpRequest,
    claimed: set[str],
) -> Any:
    if loc == "uri":
        text = labels.get(wire)
        return None if text is None else read_text(member, text, "uri")
    if loc == "querystring":
        if member.type_name == "map":
            return _query_map(member, query, claimed)
        values = query.get(wire)
        if values is None:
            return None
        if member.type_name == "list":
            return [read_text(member.member, v, "querystring") for v in values]
        return read_text(member, values[0], "querystring")
    if loc == "header":
        if member.type_name == "list":
            texts = request.headers.get_all(wire)
            if not texts:
                return None
            items = split_header_list(",".join(texts))
            return [read_text(member.member, v, "header") for v in items]
        text = request.headers.get(wire)
        return None if text is None else read_text(member, text, "header")
    if loc == "headers":
        prefix = wire.lower()
        found = {
            k[len(prefix) :]: v
            for k, v in request.headers.items()
            if k.startswith(prefix) and len(k) > len(prefix)
        }
        return found or None
    return None


def _query_map(
    member: Shape, query: dict[str, list[str]], claimed: set[str]
) -> dict[str, Any] | None:
    as_list = member.value.type_name == "list"
    found = {k: (vs if as_list else vs[0]) for k, vs in query.items() if k not in claimed}
    return found or None


def read_text(shape: Shape, text: str, where: str) -> Any:
    """A scalar member's value from its text in a header, query string or URI."""
    if shape.type_name == "string" and where == "header" and shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
        except (binascii.Error, ValueError) as exc:
            raise BadValue(text, "base64-encoded JSON value") from exc
    return read_scalar(shape, text)


def split_header_list(text: str) -> list[str]:
    """Items of a comma-separated header, honouring double-quoted items (RFC 7230).

    An empty header is one empty item, as botocore reads it.
    """
    items: list[str] = []
    buf: list[str] = []
    quoted = False
    escaped = False
    was_quoted = False
    for ch in text:
        if escaped:
            buf.append(ch)
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
            was_quoted = True
        elif ch == "," and not quoted:
            items.append("".join(buf) if was_quoted else "".join(buf).strip())
            buf, was_quoted = [], False
        elif not quoted and not buf and ch in " \t":
            continue
        else:
            buf.append(ch)
    items.append("".join(buf) if was_quoted else "".join(buf).strip())
    return items


# -- response headers -----------------------------------------------------------------------


def rest_output_headers(
    shape: Shape | None, output: dict[str, Any], status: int = 200
) -> tuple[int, list[tuple[str, str]], dict[str, Any]]:
    """(status, headers, members left for the body) of an output or error shape.

    ``status`` is the default (the operation's ``http.responseCode``); a
    ``statusCode`` member overrides it.  Members not in the shape are left in
    the remainder for the body serializer to drop.
    """
    headers: list[tuple[str, str]] = []
    remaining: dict[str, Any] = {}
    members = shape.members if shape is not None else {}
    for name, value in output.items():
        if value is None:
            continue
        member = members.get(name)
        loc = member.serialization.get("location") if member is not None else None
        if member is None or loc is None:
            remaining[name] = value
            continue
        wire = member.serialization.get("name", name)
        if loc == "statusCode":
            status = int(value)
        elif loc == "header":
            if member.type_name == "list":
                if value:
                    headers.append((wire, ",".join(_list_item(member.member, v) for v in value)))
            else:
                headers.append((wire, header_text(member, value)))
        elif loc == "headers":
            headers.extend((wire + str(k), str(v)) for k, v in value.items())
        else:  # uri / querystring members have no place in a response
            continue
    return status, headers, remaining


def header_text(shape: Shape, value: Any) -> str:
    """A scalar member's value as header text."""
    if shape.type_name == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat") or "rfc822")
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        doc = json.dumps(value, separators=(",", ":"))
        return base64.b64encode(doc.encode("utf-8")).decode("ascii")
    return scalar_text(shape, value)


def _list_item(shape: Shape, value: Any) -> str:
    text = header_text(shape, value)
    if shape.type_name == "string" and ("," in text or '"' in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def query_text(shape: Shape, value: Any) -> str:
    """A scalar member's value as query-string or URI text (ISO 8601 timestamps)."""
    if shape.type_name == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat") or "iso8601")
    return scalar_text(shape, value)
