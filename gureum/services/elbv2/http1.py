"""HTTP/1.1 message heads for the load balancer: parse, check, rewrite.

Pure: bytes in, values out (no sockets).  The proxy reads a head up to the
blank line and hands it here; body framing is decided here too, so the proxy
only moves bytes.

Rules (RFC 9112, and what ALB does with them):

* A request line is ``METHOD SP target SP HTTP/1.x``; header lines are
  ``name: value`` with a token name and no whitespace before the colon; no
  obsolete line folding.  Anything else is malformed → 400.
* ``Transfer-Encoding`` must end in ``chunked`` (else 400); a request with
  both it and ``Content-Length`` is refused (request smuggling); several
  different ``Content-Length`` values → 400.
* Responses: a status line ``HTTP/1.x NNN reason``, else the target answered
  garbage → 502.  1xx, 204 and 304 responses and answers to HEAD have no body;
  a response with neither length nor chunking ends when the target closes.
* Hop-by-hop headers (``Connection`` and what it names, ``Keep-Alive``,
  ``Proxy-Connection``, ``TE``, ``Upgrade`` unless upgrading) are not
  forwarded; ``Transfer-Encoding`` is, because chunked bodies pass through
  with their framing intact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024
_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_VALID_HEADER_NAME = re.compile(r"^[-A-Za-z0-9]+$")  # ALB's drop_invalid_header_fields rule
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}
# Header values may not hold control characters other than tab.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

Headers = list[tuple[str, str]]


class Malformed(ValueError):
    """The message head cannot be read (400 for a request, 502 for a response)."""


Index = dict[str, list[str]]


@dataclass(slots=True)
class RequestHead:
    method: str
    target: str
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: Headers
    index: Index = field(default_factory=dict)  # lower-case name → values

    def get(self, name: str) -> str | None:
        """The first value of a header (``name`` in lower case)."""
        values = self.index.get(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        return self.index.get(name) or []

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""


@dataclass(slots=True)
class ResponseHead:
    version: str
    status: int
    reason: str
    headers: Headers
    index: Index = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.index.get(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        return self.index.get(name) or []


@dataclass(frozen=True, slots=True)
class Framing:
    """How a body ends: ``length`` bytes, ``chunked``, at ``close``, or ``none``."""

    kind: str
    length: int = 0


NO_BODY = Framing("none")


def get(headers: Headers, name: str) -> str | None:
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def get_all(headers: Headers, name: str) -> list[str]:
    name = name.lower()
    return [v for k, v in headers if k.lower() == name]


def _header_lines(lines: list[bytes]) -> tuple[Headers, Index]:
    headers: Headers = []
    index: Index = {}
    for line in lines:
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            raise Malformed("obsolete line folding")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise Malformed("bad header line")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise Malformed("control character in a header value")
        key, text = name.decode("latin-1"), value.decode("latin-1")
        headers.append((key, text))
        low = key.lower()
        if low in index:
            index[low].append(text)
        else:
            index[low] = [text]
    return headers, index


def parse_request_head(data: bytes) -> RequestHead:
    """``data`` ends with the blank line (``\\r\\n\\r\\n``)."""
    lines = data.split(b"\r\n")
    try:
        method, target, version = lines[0].split(b" ")
    except ValueError:
        raise Malformed("bad request line") from None
    if not _TOKEN.match(method) or not target or version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise Malformed("bad request line")
    if _BAD_VALUE.search(target) or b" " in target:
        raise Malformed("bad request target")
    headers, index = _header_lines(lines[1:])
    return RequestHead(method.decode("latin-1"), target.decode("latin-1"), version.decode(), headers, index)


def parse_response_head(data: bytes) -> ResponseHead:
    lines = data.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise Malformed("bad status line")
    if len(parts[1]) != 3 or not parts[1].isdigit():
        raise Malformed("bad status code")
    reason = parts[2].decode("latin-1") if len(parts) == 3 else ""
    headers, index = _header_lines(lines[1:])
    return ResponseHead(parts[0].decode(), int(parts[1]), reason, headers, index)


def _length(values: list[str]) -> int:
    distinct = {v.strip() for v in values for v in v.split(",")}
    if len(distinct) != 1:
        raise Malformed("conflicting Content-Length")
    value = distinct.pop()
    if not value.isdigit() or len(value) > 18:
        raise Malformed("bad Content-Length")
    return int(value)


def _chunked(values: list[str]) -> bool:
    codings = [c.strip().lower() for v in values for c in v.split(",") if c.strip()]
    if not codings:
        return False
    if codings[-1] != "chunked":
        raise Malformed("unsupported Transfer-Encoding")
    return True


def request_framing(head: RequestHead) -> Framing:
    te = head.get_all("transfer-encoding")
    cl = head.get_all("content-length")
    if te:
        if cl or head.version == "HTTP/1.0":
            raise Malformed("Transfer-Encoding with Content-Length or on HTTP/1.0")
        if _chunked(te):
            return Framing("chunked")
    if cl:
        n = _length(cl)
        return Framing("length", n) if n else NO_BODY
    return NO_BODY


def response_framing(method: str, head: ResponseHead) -> Framing:
    if method == "HEAD" or head.status < 200 or head.status in (204, 304):
        return NO_BODY
    te = head.get_all("transfer-encoding")
    if te:
        return Framing("chunked") if _chunked(te) else Framing("close")
    cl = head.get_all("content-length")
    if cl:
        return Framing("length", _length(cl))
    return Framing("close")


def connection_tokens(headers: Headers) -> set[str]:
    return _tokens(get_all(headers, "connection"))


def _tokens(values: list[str]) -> set[str]:
    return {t.strip().lower() for v in values for t in v.split(",")}


def keep_alive(version: str, headers: Headers) -> bool:
    return _keep(version, connection_tokens(headers))


def _keep(version: str, tokens: set[str]) -> bool:
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def head_keep_alive(head: RequestHead | ResponseHead) -> bool:
    values = head.index.get("connection")
    if not values:
        return head.version != "HTTP/1.0"
    return _keep(head.version, _tokens(values))


def head_without_hop_by_hop(head: RequestHead | ResponseHead, keep_upgrade: bool = False) -> Headers:
    """The head's headers to forward (a copy; fast when there is nothing to drop)."""
    if not any(name in _HOP for name in head.index):
        return list(head.headers)
    return strip_hop_by_hop(head.headers, keep_upgrade)


def strip_hop_by_hop(headers: Headers, keep_upgrade: bool = False) -> Headers:
    named = connection_tokens(headers)
    out: Headers = []
    for k, v in headers:
        low = k.lower()
        if low in _HOP or low in named:
            if keep_upgrade and low in ("upgrade", "connection"):
                out.append((k, v))
            continue
        out.append((k, v))
    return out


def drop_invalid_names(headers: Headers) -> Headers:
    return [(k, v) for k, v in headers if _VALID_HEADER_NAME.match(k)]


def render_request(method: str, target: str, headers: Headers) -> bytes:
    lines = [f"{method} {target} HTTP/1.1"]
    lines.extend(f"{k}: {v}" for k, v in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def render_response(status: int, reason: str, headers: Headers, version: str = "HTTP/1.1") -> bytes:
    lines = [f"{version} {status} {reason}"]
    lines.extend(f"{k}: {v}" for k, v in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_chunk_size(line: bytes) -> int:
    """The size of a chunk from its size line (extensions ignored)."""
    size = line.split(b";", 1)[0].strip()
    if not size or len(size) > 16:
        raise Malformed("bad chunk size")
    try:
        return int(size, 16)
    except ValueError:
        raise Malformed("bad chunk size") from None


REASONS = {
    200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request", 403: "Forbidden",
    404: "Not Found", 408: "Request Timeout", 413: "Payload Too Large", 414: "URI Too Long",
    431: "Request Header Fields Too Large", 460: "Client Closed Request", 463: "Too Many IPs",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Temporarily Unavailable", 504: "Gateway Time-out", 505: "HTTP Version Not Supported",
}


def reason_for(status: int) -> str:
    return REASONS.get(status, "Unknown")


def error_page(status: int) -> bytes:
    """The HTML body of an answer the balancer gives itself, as ALB's."""
    title = f"{status} {reason_for(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()
