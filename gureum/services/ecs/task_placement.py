"""Placing EC2-launch-type tasks on a cluster's container instances: the
adapter between the store and the pure :mod:`placement` core.

Without registered container instances a cluster runs its tasks on this
machine (``None`` placements).  With some, each task goes to the instance the
strategies rank first; tasks that fit nowhere become ``failures`` with the
reason ECS gives (``RESOURCE:MEMORY`` …) for the closest instance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.ecs import errors, names
from gureum.services.ecs.placement import (
    Constraint,
    ExpressionError,
    InstanceView,
    Strategy,
    TaskNeed,
    place_tasks,
)
from gureum.services.ecs.records import Doc, cluster_tasks

if TYPE_CHECKING:
    from gureum.core.store import Store


def task_need(taskdef: Doc, group: str) -> TaskNeed:
    defs = taskdef["containerDefinitions"]
    cpu = int(taskdef.get("cpu") or sum(int(c.get("cpu") or 0) for c in defs))
    memory = int(
        taskdef.get("memory") or sum(int(c.get("memory") or c.get("memoryReservation") or 0) for c in defs)
    )
    ports = frozenset(
        int(p["hostPort"])
        for c in defs
        for p in c.get("portMappings") or []
        if p.get("hostPort") and (taskdef.get("networkMode") or "bridge") in ("bridge", "host")
    )
    return TaskNeed(cpu=cpu, memory=memory, host_ports=ports, group=group)


def task_reservation(task: Doc) -> tuple[int, int]:
    """(CPU units, MiB) a placed task holds on its instance."""
    defs = task.get("_containerDefs") or []
    cpu = int(task.get("cpu") or sum(int(c.get("cpu") or 0) for c in defs))
    mem = int(task.get("memory") or sum(int(c.get("memory") or c.get("memoryReservation") or 0) for c in defs))
    return cpu, mem


def instance_views(store: Store, scope: Scope, cluster: str) -> list[InstanceView]:
    docs = [d for _, d in store.list(names.INSTANCE, scope, prefix=cluster + "/") if d.get("status") == "ACTIVE"]
    if not docs:
        return []
    tasks = [t for t in cluster_tasks(store, scope, cluster) if t.get("lastStatus") != "STOPPED"]
    views = []
    for d in docs:
        mine = [t for t in tasks if t.get("containerInstanceArn") == d["containerInstanceArn"]]
        cpu = _resource(d, "CPU") - sum(task_reservation(t)[0] for t in mine)
        mem = _resource(d, "MEMORY") - sum(task_reservation(t)[1] for t in mine)
        ports = frozenset(p for t in mine for p in t.get("_hostPorts") or [])
        views.append(
            InstanceView(
                id=d["containerInstanceArn"],
                ec2_instance_id=d.get("ec2InstanceId", ""),
                attributes=tuple((a["name"], a.get("value", "")) for a in d.get("attributes") or []),
                remaining_cpu=cpu,
                remaining_memory=mem,
                used_ports=ports,
                groups=tuple(t.get("group", "") for t in mine),
                connected=bool(d.get("agentConnected", True)),
            )
        )
    return views


def _resource(doc: Doc, name: str) -> int:
    for r in doc.get("registeredResources") or []:
        if r.get("name") == name:
            return int(r.get("integerValue") or 0)
    return 0


def place_on_instances(
    store: Store,
    scope: Scope,
    cluster: Doc,
    taskdef: Doc,
    group: str,
    count: int,
    strategies: list[dict[str, Any]],
    constraints: list[dict[str, Any]],
    seed: int = 0,
) -> tuple[list[str | None], list[Doc]]:
    """Container instance ARNs for ``count`` tasks (None: run here) and the failures."""
    views = instance_views(store, scope, cluster["clusterName"])
    if not views:
        return [None] * count, []
    strats = [Strategy(s["type"], s.get("field", "")) for s in strategies]
    cons = [Constraint(c["type"], c.get("expression", "")) for c in [*(taskdef.get("placementConstraints") or []), *constraints]]
    try:
        result = place_tasks(views, task_need(taskdef, group), count, strats, cons, seed=seed)
    except ExpressionError as exc:
        raise errors.invalid(str(exc)) from exc
    placed: list[str | None] = list(result.instance_ids)
    failures = [{"arn": arn, "reason": reason} for arn, reason in result.rejections]
    return placed, failures
