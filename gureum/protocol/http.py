"""Plain HTTP values exchanged between the gateway and the protocol layer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl


class Headers:
    """Case-insensitive, order-keeping, multi-valued header list."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(k.lower(), v) for k, v in items]

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for k, v in self._items:
            if k == name:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def add(self, name: str, value: str) -> None:
        self._items.append((name.lower(), value))

    def set(self, name: str, value: str) -> None:
        name = name.lower()
        self._items = [(k, v) for k, v in self._items if k != name]
        self._items.append((name, value))

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class BodyStream(Protocol):
    """A request body read on demand (S3 uploads): never held whole in memory."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def read(self, n: int = -1) -> bytes: ...


@dataclass
class HttpRequest:
    method: str
    path: str  # percent-decoded? no: raw path as sent, without the query string
    query_string: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    # Set instead of ``body`` when the operation streams its input payload.
    stream: BodyStream | None = None

    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    @property
    def host(self) -> str:
        return self.headers.get("host", "") or ""


@dataclass
class HttpResponse:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    # bytes, or an async iterator of chunks for streamed payloads (S3 GetObject)
    body: bytes | AsyncIterator[bytes] = b""


@dataclass(frozen=True)
class ResponseMeta:
    """What every response carries regardless of the operation."""

    request_id: str
    extra: dict[str, Any] = field(default_factory=dict)
