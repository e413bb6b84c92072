"""STS: who am I."""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext, ServiceApi

api = ServiceApi("sts")


@api.operation("GetCallerIdentity")
def get_caller_identity(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return {
        "UserId": "AKIAIOSFODNN7EXAMPLE",
        "Account": ctx.account,
        "Arn": f"arn:aws:iam::{ctx.account}:root",
    }
