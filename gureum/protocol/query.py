"""The AWS query protocol: STS, IAM, ELBv2, Auto Scaling, CloudFormation, CloudWatch…

Request: ``Action`` and ``Version`` plus the input as flat form parameters,
in a ``application/x-www-form-urlencoded`` body (or the query string of a
GET; both are read, the body wins).  Keys encode the shape:

    Name=v                      structure member (its ``locationName`` if any)
    Outer.Inner=v               nested structure
    Names.member.1=v            list (``member`` or the list member's
                                ``locationName``); ``Names=`` is an empty list
    Name.1=v                    flattened list (named by the item's
                                ``locationName`` when it has one)
    Attrs.entry.1.key=k / .value=v   map (``key``/``value`` renamed by
                                their ``locationName``; no ``entry`` when flattened)

Scalars are read by :mod:`gureum.protocol.wire_values` (``true``/``false``,
ISO 8601, base64).  The EC2 dialect (:mod:`gureum.protocol.ec2`) shares this
decoder with ``ec2=True``: lists are ``Name.N`` and names come from
``queryName`` or the capitalised ``locationName``.

Response::

    <OpResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <OpResult>…members…</OpResult>        (the output's ``resultWrapper``)
      <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
    </OpResponse>

Errors: ``<ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/>
…</Error><RequestId/></ErrorResponse>`` with the modelled wire code and status.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from gureum.core.errors import ProtocolError, ServiceError, ValidationError
from gureum.protocol import modelled_errors
from gureum.protocol.http import HttpRequest, HttpResponse, ResponseMeta
from gureum.protocol.validate import validate_input
from gureum.protocol.wire_values import BadValue, read_scalar
from gureum.protocol.xml_ import escape_text, write_element, write_members

content_type = "text/xml"

_MISSING: Any = object()


# -- request -------------------------------------------------------------------------


def form_params(request: HttpRequest) -> dict[str, str]:
    """The request's parameters: query string, then the form body over it."""
    params: dict[str, str] = {}
    for source in (request.query_string, request.body):
        if not source:
            continue
        try:
            text = source if isinstance(source, str) else source.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(
                "MalformedQueryString", f"The request parameters could not be decoded: {exc}", 400
            ) from exc
        params.update(pairs)
    return params


def find_operation(service: Any, request: HttpRequest) -> Any:
    """The operation named by ``Action``."""
    action = form_params(request).get("Action")
    if not action:
        raise ProtocolError("MissingAction", "The request must contain the parameter Action.", 400)
    if action not in service.operation_names:
        raise ProtocolError(
            "InvalidAction", f"The action {action} is not valid for this web service.", 400
        )
    return service.operation_model(action)


def parse_request(
    operation: Any, request: HttpRequest, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    params = decode_params(operation.input_shape, form_params(request))
    validate_input(operation.input_shape, params)
    return params


def decode_params(shape: Any, params: dict[str, str], *, ec2: bool = False) -> dict[str, Any]:
    """The input dict of ``shape`` encoded in flat ``params`` (``Action``/``Version`` ignored)."""
    if shape is None:
        return {}
    root = _Node()
    for key, value in params.items():
        node = root
        for part in key.split("."):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node()
            node = child
        node.value = value
    result = _decode(shape, root, "", ec2)
    return {} if result is _MISSING else result


class _Node:
    __slots__ = ("value", "children")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _decode(shape: Any, node: _Node, path: str, ec2: bool) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _decode_structure(shape, node, path, ec2)
    if kind == "list":
        return _decode_list(shape, node, path, ec2)
    if kind == "map":
        return _decode_map(shape, node, path, ec2)
    if node.value is None:
        return _MISSING
    try:
        return read_scalar(shape, node.value)
    except BadValue as exc:
        raise ValidationError(
            f"1 validation error detected: Value '{exc.text}' at '{path}' failed to satisfy "
            f"constraint: Member must be a valid {exc.expected}"
        ) from exc


def _decode_structure(shape: Any, node: _Node, path: str, ec2: bool) -> Any:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        key = _param_name(member, name, ec2)
        child = node.children.get(key)
        if child is None:
            continue
        value = _decode(member, child, f"{path}.{key}" if path else key, ec2)
        if value is not _MISSING:
            out[name] = value
    return out


def _param_name(member: Any, name: str, ec2: bool) -> str:
    ser = member.serialization
    if ec2:
        if "queryName" in ser:
            return str(ser["queryName"])
        location = ser.get("name")
        return str(location[0].upper() + location[1:]) if location else name
    if member.type_name == "list" and ser.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name:
            return str(item_name)
    return str(ser.get("name", name))


def _numbered(node: _Node) -> list[tuple[str, _Node]]:
    items = [(k, child) for k, child in node.children.items() if k.isdigit()]
    items.sort(key=lambda kv: int(kv[0]))
    return items


def _decode_list(shape: Any, node: _Node, path: str, ec2: bool) -> Any:
    items_node = node
    if not ec2 and not shape.serialization.get("flattened"):
        item_key = shape.member.serialization.get("name", "member")
        items_node = node.children.get(item_key) or _Node()
        path = f"{path}.{item_key}"
    if not items_node.children and node.value is None:
        return _MISSING
    out = []
    for index, child in _numbered(items_node):
        value = _decode(shape.member, child, f"{path}.{index}", ec2)
        if value is not _MISSING:
            out.append(value)
    return out


def _decode_map(shape: Any, node: _Node, path: str, ec2: bool) -> Any:
    entries = node
    if not shape.serialization.get("flattened"):
        entries = node.children.get("entry") or _Node()
        path = f"{path}.entry"
    if not entries.children and node.value is None:
        return _MISSING
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out: dict[Any, Any] = {}
    for index, entry in _numbered(entries):
        key_node = entry.children.get(key_name)
        if key_node is None:
            continue
        key = _decode(shape.key, key_node, f"{path}.{index}.{key_name}", ec2)
        value_node = entry.children.get(value_name)
        value = _MISSING
        if value_node is not None:
            value = _decode(shape.value, value_node, f"{path}.{index}.{value_name}", ec2)
        if key is not _MISSING:
            out[key] = None if value is _MISSING else value
    return out


# -- response ------------------------------------------------------------------------


def namespace(service: Any) -> str:
    """The XML namespace of the service's documents."""
    ns = service.metadata.get("xmlNamespace")
    if ns:
        return str(ns)
    prefix = service.metadata.get("endpointPrefix") or service.service_name
    return f"https://{prefix}.amazonaws.com/doc/{service.api_version}/"


def serialize_response(operation: Any, output: dict[str, Any], meta: ResponseMeta) -> HttpResponse:
    name = operation.name
    shape = operation.output_shape
    out = [f'<{name}Response xmlns="{namespace(operation.service_model)}">']
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper")
        if wrapper:
            out.append(f"<{wrapper}>")
            write_members(out, shape, output)
            out.append(f"</{wrapper}>")
        else:
            write_members(out, shape, output)
    out.append(
        f"<ResponseMetadata><RequestId>{escape_text(meta.request_id)}</RequestId></ResponseMetadata>"
    )
    out.append(f"</{name}Response>")
    return HttpResponse(200, _headers(meta), "".join(out).encode("utf-8"))


def serialize_error(service: Any, error: ServiceError, meta: ResponseMeta) -> HttpResponse:
    resolved = modelled_errors.resolve(service, error)
    out = [
        f'<ErrorResponse xmlns="{namespace(service)}"><Error>',
        f"<Type>{'Sender' if resolved.sender_fault else 'Receiver'}</Type>",
        f"<Code>{escape_text(resolved.code)}</Code>",
        f"<Message>{escape_text(error.message)}</Message>",
    ]
    write_extra(out, resolved.shape, error.extra)
    out.append(f"</Error><RequestId>{escape_text(meta.request_id)}</RequestId></ErrorResponse>")
    headers = _headers(meta) + [(k.lower(), v) for k, v in error.headers.items()]
    return HttpResponse(resolved.status, headers, "".join(out).encode("utf-8"))


_RESERVED = frozenset(("Code", "Message", "message", "Type", "RequestId"))


def write_extra(out: list[str], shape: Any | None, extra: dict[str, Any]) -> None:
    """Extra members of an error: by the modelled shape where it has them, else as text."""
    members = shape.members if shape is not None else {}
    for key, value in extra.items():
        if key in _RESERVED or value is None:
            continue
        member = members.get(key)
        if member is not None:
            write_element(out, str(member.serialization.get("name", key)), member, value)
        else:
            out.append(f"<{key}>{escape_text(str(value))}</{key}>")


def _headers(meta: ResponseMeta) -> list[tuple[str, str]]:
    return [("content-type", content_type), ("x-amzn-requestid", meta.request_id)]
