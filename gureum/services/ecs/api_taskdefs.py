"""ECS task definition operations: RegisterTaskDefinition,
DescribeTaskDefinition, ListTaskDefinitions, ListTaskDefinitionFamilies,
DeregisterTaskDefinition, DeleteTaskDefinitions.

Revisions count up per family and are never reused, even after a revision is
deleted (the family document keeps the last number).  Validation and the
defaults ECS fills in live in :mod:`taskdef_validation`.
"""

from __future__ import annotations

import re
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.ecs import errors, names
from gureum.services.ecs.records import Doc, check_tags, find_taskdef, paginate, public
from gureum.services.ecs.registry import Operations
from gureum.services.ecs.taskdef_validation import TaskDefinitionInvalid, normalize_task_definition

ops = Operations()

_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


@ops.operation("RegisterTaskDefinition")
def register_task_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    family = req["family"]
    if not _FAMILY.match(family):
        raise errors.client(
            "Family contains invalid characters. Up to 255 letters (uppercase and lowercase), "
            "numbers, underscores, and hyphens are allowed."
        )
    try:
        body = normalize_task_definition(req)
    except TaskDefinitionInvalid as exc:
        raise errors.client(exc.message) if exc.code == "ClientException" else errors.invalid(exc.message) from exc
    tags = check_tags(req.get("tags"))
    with ctx.store.transaction():
        fam = ctx.store.get(names.FAMILY, ctx.scope, family) or {"family": family, "latest": 0}
        revision = int(fam["latest"]) + 1
        fam["latest"] = revision
        ctx.store.put(names.FAMILY, ctx.scope, family, fam)
        doc: Doc = {
            "taskDefinitionArn": names.taskdef_arn(ctx.region, ctx.account, family, revision),
            **body,
            "family": family,
            "revision": revision,
            "status": "ACTIVE",
            "registeredAt": ctx.clock.now(),
            "registeredBy": f"arn:aws:iam::{ctx.account}:root",
            "_tags": tags,
        }
        ctx.store.put(names.TASKDEF, ctx.scope, names.taskdef_key(family, revision), doc)
    return {"taskDefinition": public(doc), "tags": tags}


@ops.operation("DescribeTaskDefinition")
def describe_task_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    doc = find_taskdef(ctx.store, ctx.scope, req["taskDefinition"])
    if doc is None:
        raise errors.client("Unable to describe task definition.")
    out: dict[str, Any] = {"taskDefinition": public(doc)}
    if "TAGS" in (req.get("include") or []):
        out["tags"] = doc.get("_tags", [])
    return out


@ops.operation("ListTaskDefinitions")
def list_task_definitions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    family = req.get("familyPrefix")
    status = req.get("status") or "ACTIVE"
    # familyPrefix is, despite its name, the full family (ECS API reference).
    rows = ctx.store.list(names.TASKDEF, ctx.scope, prefix=family + ":" if family else "")
    arns = [d["taskDefinitionArn"] for _, d in rows if d.get("status") == status]
    if req.get("sort") == "DESC":
        arns.reverse()
    page, token = paginate(arns, req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"taskDefinitionArns": page}
    if token:
        out["nextToken"] = token
    return out


@ops.operation("ListTaskDefinitionFamilies")
def list_task_definition_families(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    prefix = req.get("familyPrefix") or ""
    status = req.get("status") or "ALL"
    active: dict[str, bool] = {}
    for _, d in ctx.store.list(names.TASKDEF, ctx.scope, prefix=prefix):
        fam = d["family"]
        active[fam] = active.get(fam, False) or d.get("status") == "ACTIVE"
    families = [f for f, a in sorted(active.items()) if status == "ALL" or a == (status == "ACTIVE")]
    page, token = paginate(families, req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"families": page}
    if token:
        out["nextToken"] = token
    return out


@ops.operation("DeregisterTaskDefinition")
def deregister_task_definition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    family, revision = names.split_taskdef(req["taskDefinition"])
    if revision is None:
        raise errors.client("Unable to deregister task definition. A revision must be specified.")
    doc = ctx.store.get(names.TASKDEF, ctx.scope, names.taskdef_key(family, revision))
    if doc is None:
        raise errors.client("The specified task definition does not exist.")
    if doc.get("status") == "ACTIVE":
        doc["status"] = "INACTIVE"
        doc["deregisteredAt"] = ctx.clock.now()
        ctx.store.put(names.TASKDEF, ctx.scope, names.taskdef_key(family, revision), doc)
    return {"taskDefinition": public(doc)}


@ops.operation("DeleteTaskDefinitions")
def delete_task_definitions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    done: list[Doc] = []
    failures: list[Doc] = []
    for ref in req["taskDefinitions"]:
        family, revision = names.split_taskdef(ref)
        doc = (
            ctx.store.get(names.TASKDEF, ctx.scope, names.taskdef_key(family, revision))
            if revision is not None
            else None
        )
        arn = ref if ref.startswith("arn:") else names.arn(ctx.region, ctx.account, f"task-definition/{ref}")
        if doc is None:
            failures.append({"arn": arn, "reason": "The specified task definition does not exist."})
            continue
        if doc.get("status") == "ACTIVE":
            failures.append({
                "arn": doc["taskDefinitionArn"],
                "reason": "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
            })
            continue
        doc["status"] = "DELETE_IN_PROGRESS"
        doc.setdefault("deleteRequestedAt", ctx.clock.now())
        ctx.store.put(names.TASKDEF, ctx.scope, names.taskdef_key(family, revision or 0), doc)
        done.append(public(doc))
    return {"taskDefinitions": done, "failures": failures}
