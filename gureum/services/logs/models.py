"""CloudWatch Logs records in the store, their keys, ARNs and lookups.

Store layout (all per account+region scope):

* ``logs.group``  – key: log group name; doc: the group's settings
  (``creationTime`` ms, ``retentionInDays``, ``logGroupClass``, ``tags``,
  ``storedBytes``…).
* ``logs.stream`` – key: ``"<group>:<stream>"`` (a group name never holds
  ``:``, so the prefix ``"<group>:"`` lists exactly that group's streams);
  doc: stream times and counters.
* ``logs.events`` – one series per stream under the same key; record time
  ``ts`` is the event timestamp in epoch *seconds* (ms / 1000) and the doc is
  ``{"t": timestamp ms, "m": message, "i": ingestion time ms}``.

Names follow AWS's patterns: groups ``[.\\-_/#A-Za-z0-9]+``, streams
``[^:*]*``.  Messages of refusals are AWS's own words where known.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.ids import arn
from gureum.core.store import Scope, Store

GROUP = "logs.group"
STREAM = "logs.stream"
EVENTS = "logs.events"

_GROUP_NAME_RE = re.compile(r"[.\-_/#A-Za-z0-9]+")
_STREAM_NAME_RE = re.compile(r"[^:*]*")


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message, 400, sender_fault=True)


def group_not_found() -> ServiceError:
    return ServiceError(
        "ResourceNotFoundException", "The specified log group does not exist.", 400, sender_fault=True
    )


def stream_not_found() -> ServiceError:
    return ServiceError(
        "ResourceNotFoundException", "The specified log stream does not exist.", 400, sender_fault=True
    )


def check_group_name(name: str, member: str = "logGroupName") -> None:
    if not _GROUP_NAME_RE.fullmatch(name):
        raise invalid(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )


def check_stream_name(name: str, member: str = "logStreamName") -> None:
    if not _STREAM_NAME_RE.fullmatch(name):
        raise invalid(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [^:*]*"
        )


def stream_key(group: str, stream: str) -> str:
    return f"{group}:{stream}"


def group_arn(scope: Scope, group: str) -> str:
    """The ARN without the trailing ``:*`` (``logGroupArn``, tagging)."""
    return arn("logs", f"log-group:{group}", account=scope.account, region=scope.region)


def stream_arn(scope: Scope, group: str, stream: str) -> str:
    return arn("logs", f"log-group:{group}:log-stream:{stream}", account=scope.account, region=scope.region)


def group_name_from_arn(value: str) -> str | None:
    """``arn:aws:logs:r:a:log-group:NAME[:*]`` → NAME; None if not a log group ARN."""
    parts = value.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[2] == "logs" and parts[5] == "log-group":
        return parts[6]
    return None


def group_from_request(req: dict[str, Any], *, required: bool = True) -> str:
    """The group a request names, by ``logGroupName`` or ``logGroupIdentifier`` (name or ARN)."""
    name = req.get("logGroupName")
    ident = req.get("logGroupIdentifier")
    if name and ident:
        raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if ident:
        return group_name_from_arn(ident) or ident
    if not name:
        if required:
            raise invalid("Should provide either name or ARN of the log group.")
        return ""
    return str(name)


def get_group(store: Store, scope: Scope, name: str) -> dict[str, Any]:
    doc = store.get(GROUP, scope, name)
    if doc is None:
        raise group_not_found()
    return doc


def get_stream(store: Store, scope: Scope, group: str, stream: str) -> dict[str, Any]:
    doc = store.get(STREAM, scope, stream_key(group, stream))
    if doc is None:
        raise stream_not_found()
    return doc


def ms(seconds: float) -> int:
    """Epoch seconds (the clock) → epoch milliseconds (the Logs API)."""
    return int(seconds * 1000)


# -- opaque pagination tokens ------------------------------------------------------


def encode_token(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> Any:
    try:
        pad = "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(token + pad))
    except (ValueError, TypeError) as exc:
        raise invalid("The specified nextToken is invalid.") from exc
