"""Lambda (rest-json), first slice: the read paths that clients and tools
probe before any function exists.

There is no CreateFunction yet, so every function lookup answers AWS's
``ResourceNotFoundException`` (404, ``Type: User``) with AWS's message
``Function not found: arn:aws:lambda:<region>:<account>:function:<name>``.
Lookups already go through the store kind ``lambda.function`` (key: function
name) so the Lambda issue can add functions without touching these paths.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.ids import arn
from gureum.services.api import RequestContext, ServiceApi

api = ServiceApi("lambda")

FUNCTION_KIND = "lambda.function"


def function_name(ref: str) -> str:
    """The bare name from a name, a full ARN or a partial ARN (``acct:function:name``)."""
    parts = ref.split(":")
    if ref.startswith("arn:") and len(parts) >= 7:
        return parts[6]
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2]
    return parts[0] if len(parts) == 2 and parts[0] != "" else ref


def function_arn(ctx: RequestContext, name: str, qualifier: str | None = None) -> str:
    resource = f"function:{name}" + (f":{qualifier}" if qualifier else "")
    return arn("lambda", resource, account=ctx.account, region=ctx.region)


def _qualifier(ref: str, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    parts = ref.split(":")
    if ref.startswith("arn:") and len(parts) >= 8:
        return parts[7]
    if len(parts) == 2 and not ref.startswith("arn:"):
        return parts[1]
    return None


def require_function(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = str(req["FunctionName"])
    name = function_name(ref)
    doc = ctx.store.get(FUNCTION_KIND, ctx.scope, name)
    if doc is None:
        target = function_arn(ctx, name, _qualifier(ref, req.get("Qualifier")))
        raise ServiceError(
            "ResourceNotFoundException",
            f"Function not found: {target}",
            404,
            sender_fault=True,
            extra={"Type": "User"},
        )
    return doc


@api.operation("ListFunctions")
def list_functions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    # AWS returns at most 50 per page whatever MaxItems says.
    limit = min(int(req.get("MaxItems") or 50), 50)
    marker = req.get("Marker") or ""
    rows = ctx.store.list(FUNCTION_KIND, ctx.scope, start_after=marker, limit=limit + 1)
    out: dict[str, Any] = {"Functions": [doc.get("Configuration", doc) for _, doc in rows[:limit]]}
    if len(rows) > limit:
        out["NextMarker"] = rows[limit - 1][0]
    return out


@api.operation("GetFunction")
def get_function(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = require_function(ctx, req)
    return {"Configuration": doc.get("Configuration", {})}


@api.operation("GetFunctionConfiguration")
def get_function_configuration(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return dict(require_function(ctx, req).get("Configuration", {}))


@api.operation("DeleteFunction")
def delete_function(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    require_function(ctx, req)
    ctx.store.delete(FUNCTION_KIND, ctx.scope, function_name(str(req["FunctionName"])))
    return {"StatusCode": 204}  # location statusCode: the HTTP status, as AWS answers


@api.operation("Invoke")
def invoke(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    require_function(ctx, req)
    raise ServiceError(
        "ServiceException", "Invoking functions is not implemented in Gureum yet", 500, sender_fault=False
    )
