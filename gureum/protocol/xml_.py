"""Shape-driven XML, both ways, shared by the query, ec2 and rest-xml protocols.

Writing turns a value of a botocore shape into XML text; reading turns an
``ElementTree`` element back into a value.  The rules are the models':

* An element is named by the member's ``locationName``, else the member name.
* A list wraps its items in ``<member>`` elements (or the list member's
  ``locationName``: ``item`` in EC2, ``Tag`` …) unless it is ``flattened``:
  then the items repeat at the level of the enclosing structure, each named
  by the list member's ``locationName`` when it has one (S3 ``Contents``).
* A map is ``<entry><key>…</key><value>…</value></entry>`` per pair (key and
  value renamed by their ``locationName``); flattened maps repeat the pair
  elements themselves.
* Members bound elsewhere (``location``: header, uri, querystring,
  statusCode) never appear in a body.  ``xmlAttribute`` members are
  attributes of their structure's element; ``xmlNamespace`` declares an
  ``xmlns`` (or ``xmlns:prefix``) attribute.
* Scalars follow :mod:`gureum.protocol.wire_values`.

Text that XML 1.0 cannot carry (control characters) is written as U+FFFD:
a readable document beats a broken one.  Reading refuses DTDs outright, so
no entity expansion ever happens.  Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

from gureum.protocol.wire_values import BadValue, read_scalar, scalar_text

_TEXT_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord("\r"): "&#13;"}
_ATTR_ESCAPES = {**_TEXT_ESCAPES, ord('"'): "&quot;", ord("\n"): "&#10;", ord("\t"): "&#9;"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NS_RE = re.compile(r"^\{[^}]*\}")

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


class MalformedXml(ValueError):
    """The bytes are not a well-formed XML document (or carry a DTD)."""


# -- names ---------------------------------------------------------------------------


def element_name(member: Any, name: str) -> str:
    """The tag of a structure member; flattened lists use their item's name."""
    ser = member.serialization
    if member.type_name == "list" and ser.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name:
            return str(item_name)
    return str(ser.get("name", name))


def is_body_member(member: Any) -> bool:
    return not member.serialization.get("location")


def namespace_attr(shape: Any) -> str:
    ns = shape.serialization.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, str):
        return f' xmlns="{escape_attr(ns)}"'
    prefix = ns.get("prefix")
    attr = f"xmlns:{prefix}" if prefix else "xmlns"
    return f' {attr}="{escape_attr(ns.get("uri", ""))}"'


# -- writing -------------------------------------------------------------------------


def escape_text(text: str) -> str:
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("\ufffd", text)
    return text.translate(_TEXT_ESCAPES)


def escape_attr(text: str) -> str:
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("\ufffd", text)
    return text.translate(_ATTR_ESCAPES)


def write_element(out: list[str], tag: str, shape: Any, value: Any, attrs: str = "") -> None:
    """Append ``<tag …>value</tag>`` for a value of ``shape`` to ``out``."""
    kind = shape.type_name
    if kind == "structure":
        attrs += namespace_attr(shape) + _attribute_members(shape, value)
        out.append(f"<{tag}{attrs}>")
        write_members(out, shape, value)
        out.append(f"</{tag}>")
    elif kind == "list":
        if shape.serialization.get("flattened"):
            for item in value:
                write_element(out, tag, shape.member, item, attrs)
            return
        out.append(f"<{tag}{attrs}>")
        item_tag = shape.member.serialization.get("name", "member")
        for item in value:
            write_element(out, item_tag, shape.member, item)
        out.append(f"</{tag}>")
    elif kind == "map":
        if shape.serialization.get("flattened"):
            for key, item in value.items():
                out.append(f"<{tag}{attrs}>")
                _write_pair(out, shape, key, item)
                out.append(f"</{tag}>")
            return
        out.append(f"<{tag}{attrs}>")
        for key, item in value.items():
            out.append("<entry>")
            _write_pair(out, shape, key, item)
            out.append("</entry>")
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}{attrs}>{escape_text(scalar_text(shape, value))}</{tag}>")


def write_members(out: list[str], shape: Any, value: dict[str, Any]) -> None:
    """Append the body members of a structure value, in model order."""
    for name, member in shape.members.items():
        item = value.get(name)
        if item is None or not is_body_member(member) or member.serialization.get("xmlAttribute"):
            continue
        write_element(out, element_name(member, name), member, item)


def _write_pair(out: list[str], shape: Any, key: Any, item: Any) -> None:
    write_element(out, shape.key.serialization.get("name", "key"), shape.key, key)
    if item is not None:
        write_element(out, shape.value.serialization.get("name", "value"), shape.value, item)


def _attribute_members(shape: Any, value: dict[str, Any]) -> str:
    parts = []
    for name, member in shape.members.items():
        if member.serialization.get("xmlAttribute") and value.get(name) is not None:
            attr = member.serialization.get("name", name)
            parts.append(f' {attr}="{escape_attr(scalar_text(member, value[name]))}"')
    return "".join(parts)


# -- reading -------------------------------------------------------------------------


def parse_document(body: bytes) -> ElementTree.Element:
    """The root element of an XML document; :class:`MalformedXml` if it is not one."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedXml("DTDs are not accepted")
    try:
        parser = ElementTree.XMLParser(encoding="utf-8")
        parser.feed(body)
        return parser.close()
    except ElementTree.ParseError as exc:
        raise MalformedXml(str(exc)) from exc


def local_name(tag: str) -> str:
    return _NS_RE.sub("", tag)


def read_element(shape: Any, node: ElementTree.Element, path: str = "") -> Any:
    """The value of ``shape`` held by ``node`` (a flattened list/map: see :func:`read_members`)."""
    kind = shape.type_name
    if kind == "structure":
        return read_members(shape, node, path)
    if kind == "list":
        return [read_element(shape.member, item, f"{path}.{i}") for i, item in enumerate(node, 1)]
    if kind == "map":
        return dict(_read_pair(shape, entry, path) for entry in node)
    try:
        return read_scalar(shape, node.text or "")
    except BadValue as exc:
        raise BadValue(exc.text, f"{exc.expected} at '{path}'") from exc


def read_members(shape: Any, node: ElementTree.Element, path: str = "") -> dict[str, Any]:
    """The body members of a structure from its element's children and attributes."""
    children: dict[str, list[ElementTree.Element]] = {}
    for child in node:
        children.setdefault(local_name(child.tag), []).append(child)
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        ser = member.serialization
        where = f"{path}.{name}" if path else name
        if not is_body_member(member):
            continue
        if ser.get("xmlAttribute"):
            text = _attribute(node, str(ser.get("name", name)))
            if text is not None:
                out[name] = read_scalar(member, text)
            continue
        found = children.get(element_name(member, name))
        if not found:
            continue
        if member.type_name == "list" and ser.get("flattened"):
            out[name] = [
                read_element(member.member, n, f"{where}.{i}") for i, n in enumerate(found, 1)
            ]
        elif member.type_name == "map" and ser.get("flattened"):
            out[name] = dict(_read_pair(member, n, where) for n in found)
        else:
            out[name] = read_element(member, found[0], where)
    return out


def _read_pair(shape: Any, node: ElementTree.Element, path: str) -> tuple[Any, Any]:
    key_tag = shape.key.serialization.get("name", "key")
    value_tag = shape.value.serialization.get("name", "value")
    key: Any = None
    item: Any = None
    for part in node:
        tag = local_name(part.tag)
        if tag == key_tag:
            key = read_element(shape.key, part, f"{path}.key")
        elif tag == value_tag:
            item = read_element(shape.value, part, f"{path}.{key}")
    if key is None:
        raise BadValue("", f"map entry with a <{key_tag}> at '{path}'")
    return key, item


def _attribute(node: ElementTree.Element, name: str) -> str | None:
    wanted = name.split(":", 1)[-1]
    for attr, text in node.attrib.items():
        if local_name(attr) == wanted:
            return text
    return None
