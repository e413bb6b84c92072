"""Resource ids, request ids and ARNs, built in one place."""

from __future__ import annotations

import os
import secrets
import uuid

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"

_HEX = "0123456789abcdef"


def request_id() -> str:
    return str(uuid.uuid4())


def hex_id(n: int = 17) -> str:
    """Lower-case hex of length ``n`` (EC2 uses 17 after the prefix)."""
    return secrets.token_hex((n + 1) // 2)[:n]


def prefixed_id(prefix: str, n: int = 17) -> str:
    """``i-0abc…``, ``vpc-…``, ``ami-…`` style ids."""
    return f"{prefix}-{hex_id(n)}"


def uuid4() -> str:
    return str(uuid.uuid4())


def amz_id_2() -> str:
    return secrets.token_urlsafe(48)


def arn(
    service: str,
    resource: str,
    *,
    account: str = "",
    region: str = "",
    partition: str = "aws",
) -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def parse_arn(value: str) -> dict[str, str] | None:
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return {
        "partition": parts[1],
        "service": parts[2],
        "region": parts[3],
        "account": parts[4],
        "resource": parts[5],
    }


def access_key_id(account: str) -> str:
    """An access key id that carries its account, as Gureum reads keys back."""
    return "AKIA" + account + os.urandom(2).hex().upper()
