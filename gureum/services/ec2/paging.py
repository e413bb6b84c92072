"""``MaxResults`` / ``NextToken`` paging for EC2's Describe operations.

The token is opaque to the client: URL-safe base64 of the sort key of the
last item handed out, so a page boundary stays right while items are added
or removed elsewhere in the list.  Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from gureum.services.ec2 import errors

T = TypeVar("T")


def encode(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": key}).encode()).decode()


def decode(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        return str(data["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise errors.invalid(f"Invalid token ({token})") from exc


def page(
    items: Sequence[T],
    key: Callable[[T], str],
    max_results: int | None,
    token: str | None,
) -> tuple[list[T], str | None]:
    """One page of ``items`` (already sorted by ``key``) and the next token, if any."""
    rest = list(items)
    if token:
        after = decode(token)
        rest = [i for i in rest if key(i) > after]
    if max_results is None or len(rest) <= max_results:
        return rest, None
    chosen = rest[:max_results]
    return chosen, encode(key(chosen[-1]))
