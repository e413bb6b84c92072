"""Store access shared by the ECS handlers and controllers.

Documents keep AWS's wire fields (camelCase) as ECS describes them, plus
private fields whose names start with ``_`` (the cluster name, the resolved
container definitions of a task, controller bookkeeping).  :func:`public`
drops the private ones on the way out.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.ecs import errors, names

if TYPE_CHECKING:
    from gureum.core.store import Store
    from gureum.services.api import RequestContext

Doc = dict[str, Any]

TASK_CONTROLLER = "ecs.task"
SERVICE_CONTROLLER = "ecs.service"


def public(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


# -- clusters -------------------------------------------------------------------------


def find_cluster(store: Store, scope: Scope, ref: str | None) -> Doc | None:
    name = names.cluster_name(ref)
    if not name:
        return None
    doc = store.get(names.CLUSTER, scope, name)
    if doc is None or doc.get("status") != "ACTIVE":
        return None
    return doc


def get_cluster(ctx: RequestContext, ref: str | None) -> Doc:
    doc = find_cluster(ctx.store, ctx.scope, ref)
    if doc is None:
        raise errors.cluster_not_found()
    return doc


# -- task definitions ---------------------------------------------------------------------


def latest_revision(store: Store, scope: Scope, family: str, status: str | None = "ACTIVE") -> Doc | None:
    rows = store.list(names.TASKDEF, scope, prefix=family + ":")
    docs = [d for _, d in rows if status is None or d.get("status") == status]
    return docs[-1] if docs else None


def find_taskdef(store: Store, scope: Scope, ref: str) -> Doc | None:
    family, revision = names.split_taskdef(ref)
    if not family:
        return None
    if revision is None:
        return latest_revision(store, scope, family)
    return store.get(names.TASKDEF, scope, names.taskdef_key(family, revision))


def get_taskdef(ctx: RequestContext, ref: str, *, for_launch: bool = True) -> Doc:
    """The task definition ``ref`` names; for a launch it must be ACTIVE."""
    doc = find_taskdef(ctx.store, ctx.scope, ref)
    if doc is None:
        raise errors.taskdef_not_found()
    if for_launch and doc.get("status") != "ACTIVE":
        raise errors.client("TaskDefinition is inactive")
    return doc


# -- tasks and services ---------------------------------------------------------------------


def task_key(cluster: str, task_id: str) -> str:
    return f"{cluster}/{task_id}"


def service_key(cluster: str, name: str) -> str:
    return f"{cluster}/{name}"


def cluster_tasks(store: Store, scope: Scope, cluster: str) -> list[Doc]:
    return [d for _, d in store.list(names.TASK, scope, prefix=cluster + "/")]


def cluster_services(store: Store, scope: Scope, cluster: str) -> list[Doc]:
    return [d for _, d in store.list(names.SERVICE, scope, prefix=cluster + "/")]


def service_tasks(store: Store, scope: Scope, cluster: str, service: str) -> list[Doc]:
    return [t for t in cluster_tasks(store, scope, cluster) if t.get("_service") == service]


def enqueue(ctx: RequestContext, controller: str, key: str) -> None:
    """Wake a controller for ``key`` (the scope travels in the key)."""
    ctx.app.runner.enqueue(controller, scoped_key(ctx.scope, key))


def scoped_key(scope: Scope, key: str) -> str:
    return f"{scope.account}|{scope.region}|{key}"


def split_scoped_key(value: str) -> tuple[Scope, str]:
    account, region, key = value.split("|", 2)
    return Scope(account, region), key


# -- paging and tags --------------------------------------------------------------------------


def paginate(items: list[Any], max_results: int | None, token: str | None, default: int = 100) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()).decode())["i"])
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.invalid("Invalid nextToken") from exc
    size = max_results or default
    page = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.urlsafe_b64encode(json.dumps({"i": start + size}).encode()).decode()
    return page, nxt


def check_tags(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    out = list(tags or [])
    if len(out) > 50:
        raise errors.invalid("Too many tags: a resource can have at most 50 tags.")
    for t in out:
        if not t.get("key"):
            raise errors.invalid("Tag keys must not be empty.")
    return out
