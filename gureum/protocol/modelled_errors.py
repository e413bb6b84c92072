"""What a service model says about an error code: wire code, HTTP status, fault.

A handler may raise a ``ServiceError`` by the error shape's name
(``NoSuchEntityException``) or by its wire code (``NoSuchEntity``): query
services declare ``error.code`` in the shape's metadata when the two differ,
and the wire always carries the code.  Both spellings find the same entry.

Status of an error response: the error's own ``status`` if set, else the
shape's ``error.httpStatusCode``, else 400.  Fault: the error's own
``sender_fault`` if set, else the shape's ``error.senderFault``, else
"sender" below 500.  Pure; the per-service table is built once.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from gureum.core.errors import ServiceError


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: str  # as sent on the wire
    status: int | None
    sender_fault: bool | None
    shape: Any  # botocore StructureShape


@dataclass(frozen=True, slots=True)
class ResolvedError:
    code: str
    status: int
    sender_fault: bool
    shape: Any | None


_tables: weakref.WeakKeyDictionary[Any, dict[str, ErrorInfo]] = weakref.WeakKeyDictionary()


def _table(service: Any) -> dict[str, ErrorInfo]:
    table = _tables.get(service)
    if table is None:
        table = {}
        for shape in service.error_shapes:
            meta = shape.metadata.get("error") or {}
            info = ErrorInfo(
                code=str(meta.get("code", shape.name)),
                status=meta.get("httpStatusCode"),
                sender_fault=meta.get("senderFault"),
                shape=shape,
            )
            table.setdefault(info.code, info)
            table[shape.name] = info
        _tables[service] = table
    return table


def lookup(service: Any, code: str) -> ErrorInfo | None:
    """The modelled error for ``code`` (shape name or wire code), if any."""
    return _table(service).get(code)


def resolve(service: Any, error: ServiceError) -> ResolvedError:
    """Wire code, status and fault of ``error`` as the service would send it."""
    info = lookup(service, error.code)
    status = error.status or (info.status if info else None) or 400
    fault = error.sender_fault
    if fault is None and info is not None:
        fault = info.sender_fault
    if fault is None:
        fault = status < 500
    return ResolvedError(
        code=info.code if info else error.code,
        status=int(status),
        sender_fault=bool(fault),
        shape=info.shape if info else None,
    )
