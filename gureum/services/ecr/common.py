"""Small helpers shared by the ECR handlers: lookups, views, paging, errors."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.ecr import records

T = TypeVar("T")


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


def not_found(ctx: RequestContext, name: str) -> ServiceError:
    return ServiceError(
        "RepositoryNotFoundException",
        f"The repository with name '{name}' does not exist in the registry with id '{ctx.account}'",
    )


def require_repo(ctx: RequestContext, name: str) -> dict[str, Any]:
    doc = records.get_repo(ctx.store, ctx.scope, name)
    if doc is None:
        raise not_found(ctx, name)
    return doc


def repository_view(ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
    """A stored repository as AWS shows it (the URI follows the server's port)."""
    out = {
        "repositoryArn": doc["repositoryArn"],
        "registryId": doc["registryId"],
        "repositoryName": doc["repositoryName"],
        "repositoryUri": records.repository_uri(ctx.app.settings.port, doc["repositoryName"]),
        "createdAt": doc["createdAt"],
        "imageTagMutability": doc.get("imageTagMutability", "MUTABLE"),
        "imageScanningConfiguration": doc.get("imageScanningConfiguration") or {"scanOnPush": False},
        "encryptionConfiguration": doc.get("encryptionConfiguration") or {"encryptionType": "AES256"},
    }
    if doc.get("imageTagMutabilityExclusionFilters"):
        out["imageTagMutabilityExclusionFilters"] = doc["imageTagMutabilityExclusionFilters"]
    return out


def page(items: list[T], max_results: int | None, token: str | None, default: int = 100) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token of the next (an opaque offset)."""
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'") from exc
        if start < 0:
            raise invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'")
    size = max_results or default
    chunk = items[start : start + size]
    more = start + size < len(items)
    return chunk, base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None
