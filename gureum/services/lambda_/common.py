"""Helpers shared by the handler modules: the ServiceApi, references, packages, paging."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext, ServiceApi
from gureum.services.lambda_.code import ZipProblem
from gureum.services.lambda_.config import CodeInfo
from gureum.services.lambda_.names import FunctionRef, check_function_name, invalid
from gureum.services.lambda_.state import state

api = ServiceApi("lambda")

CONTROLLER = "lambda.function"
MAX_PAGE = 50  # AWS returns at most 50 items a page whatever MaxItems says


def reference(req: dict[str, Any]) -> FunctionRef:
    """Name and qualifier from ``FunctionName`` and ``Qualifier`` (which must agree)."""
    ref = check_function_name(str(req["FunctionName"]))
    explicit = req.get("Qualifier")
    if explicit and ref.qualifier and explicit != ref.qualifier:
        raise invalid("The derived qualifier from the function name does not match the specified qualifier.")
    return FunctionRef(ref.name, explicit or ref.qualifier)


def scope_key(ctx: RequestContext, name: str) -> str:
    return f"{ctx.account}|{ctx.region}|{name}"


def enqueue(ctx: RequestContext, name: str) -> None:
    ctx.app.runner.enqueue(CONTROLLER, scope_key(ctx, name))


async def receive_code(ctx: RequestContext, name: str, code: dict[str, Any]) -> CodeInfo:
    """Store a package given as ``ZipFile`` bytes or an S3 object; AWS's errors when it is not a zip."""
    store = state(ctx.app).code
    zip_bytes = code.get("ZipFile")
    bucket, key = code.get("S3Bucket"), code.get("S3Key")
    if code.get("ImageUri"):
        raise invalid("Gureum runs .zip deployment packages only (PackageType Zip).")
    if zip_bytes is not None and (bucket or key):
        raise invalid("Please do not provide other FunctionCode parameters when providing a ZipFile.")
    try:
        if zip_bytes is not None:
            return await asyncio.to_thread(store.store_bytes, ctx.scope, name, bytes(zip_bytes))
        if bucket and key:
            return await _from_s3(ctx, name, bucket, key, code.get("S3ObjectVersion"))
    except ZipProblem as exc:
        raise invalid(str(exc)) from None
    raise invalid("Please provide a source for function code: ZipFile, or S3Bucket and S3Key.")


async def _from_s3(ctx: RequestContext, name: str, bucket: str, key: str, version: str | None) -> CodeInfo:
    from gureum.services.s3.public import open_object

    try:
        f, _ = open_object(ctx.app, bucket, key, version)
    except ServiceError as exc:
        raise invalid(
            f"Error occurred while GetObject. S3 Error Code: {exc.code}. S3 Error Message: {exc.message}"
        ) from None
    with f:
        return await asyncio.to_thread(state(ctx.app).code.store_file, ctx.scope, name, f)


def check_revision(current: dict[str, Any], given: str | None) -> None:
    if given and given != current.get("RevisionId"):
        raise ServiceError(
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. "
            "Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            412,
            sender_fault=True,
        )


def page_size(req: dict[str, Any]) -> int:
    return min(int(req.get("MaxItems") or MAX_PAGE), MAX_PAGE)


def encode_marker(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


def decode_marker(marker: str | None) -> str:
    if not marker:
        return ""
    try:
        return base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        raise invalid(f"Invalid marker: {marker}") from None


def paged(items: list[tuple[str, Any]], req: dict[str, Any]) -> tuple[list[Any], str | None]:
    """``items`` as (sort position, value) pairs, sorted; one page after ``Marker``."""
    after = decode_marker(req.get("Marker"))
    rest = [(pos, v) for pos, v in items if pos > after]
    size = page_size(req)
    page = rest[:size]
    return [v for _, v in page], (encode_marker(page[-1][0]) if len(rest) > size else None)
