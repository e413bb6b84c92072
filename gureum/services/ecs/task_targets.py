"""A service task's load balancer targets: the task controller's I/O for
RegisterTargets / DeregisterTargets (see :mod:`task_lifecycle`).

Rules:

* only tasks of services run by the ECS (rolling) deployment controller are
  registered here; task sets (CODE_DEPLOY) register in their own controller;
* the load balancers are the service's ``loadBalancers`` when the task
  reaches ACTIVATING; each becomes one target: an awsvpc task's private IP
  and the ``containerPort`` (``ip`` target groups), a bridge/host task's
  container instance (its EC2 instance id) and the host port bound to the
  container port (``instance`` target groups);
* what was registered is recorded on the task (``_targets``), so stopping it
  deregisters exactly that, and the task is drained when none of its targets
  is ``draining`` any more (the target group's deregistration delay passed,
  or the group is gone);
* failures (a group deleted meanwhile) are logged and skipped: a task never
  fails because of its balancer.

The task controller owns the task document, so these functions change the
``doc`` they are given and the controller saves it.  The service controller
reads target health through :func:`with_target_health` (its scheduler
counts a registered task healthy when the group says so).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.ecs import errors, names
from gureum.services.ecs.records import service_key
from gureum.services.ecs.service_reconcile import TaskView

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecs.targets")

Doc = dict[str, Any]


def check_load_balancers(ctx: RequestContext, taskdef: Doc, lbs: list[Doc]) -> None:
    """CreateService's checks of ``loadBalancers`` (InvalidParameterException, ECS's wording)."""
    from gureum.services.elbv2 import public as elbv2

    containers = {c["name"]: c for c in taskdef["containerDefinitions"]}
    mode = taskdef.get("networkMode") or "bridge"
    for lb in lbs:
        arn, name, port = lb.get("targetGroupArn"), lb.get("containerName"), lb.get("containerPort")
        if not arn:
            raise errors.invalid("Gureum supports target groups (targetGroupArn) only, not Classic Load Balancers (loadBalancerName).")
        c = containers.get(str(name))
        if c is None:
            raise errors.invalid(f"The container {name} does not exist in the task definition.")
        if not any(int(p.get("containerPort") or 0) == int(port or 0) for p in c.get("portMappings") or []):
            raise errors.invalid(f"The container {name} did not have a container port {port} defined.")
        tg = elbv2.target_group(ctx.app, ctx.scope, arn)
        if tg is None:
            raise errors.invalid(f"The target group with targetGroupArn {arn} does not exist.")
        if not tg.get("LoadBalancerArns"):
            raise errors.invalid(f"The target group with targetGroupArn {arn} does not have an associated load balancer.")
        kind = tg.get("TargetType") or "instance"
        if (kind == "ip") != (mode == "awsvpc") or kind not in ("ip", "instance"):
            raise errors.invalid(
                f"The provided target group {arn} has target type {kind}, which is incompatible with the "
                f"{mode} network mode specified in the task definition."
            )


def service_load_balancers(app: App, scope: Scope, task: Doc) -> list[Doc]:
    """The ``loadBalancers`` of the ECS-controlled service the task belongs to."""
    if not task.get("_service"):
        return []
    svc = app.store.get(names.SERVICE, scope, service_key(task["_cluster"], task["_service"]))
    if svc is None or (svc.get("deploymentController") or {}).get("type", "ECS") != "ECS":
        return []
    return list(svc.get("loadBalancers") or [])


def lb_phase(app: App, scope: Scope, task: Doc) -> str:
    """none | wanted | registered | draining | drained, for :class:`TaskState.lb`."""
    if task["lastStatus"] == "ACTIVATING" and not task.get("_lbChecked"):
        return "wanted" if service_load_balancers(app, scope, task) else "none"
    targets = task.get("_targets") or []
    if not targets:
        return "none"
    if not task.get("_deregistered"):
        return "registered"
    return "draining" if any(_draining(app, scope, t) for t in targets) else "drained"


def target_for(task: Doc, lb: Doc, target_type: str, ec2_instance: str | None) -> dict[str, Any] | None:
    """The RegisterTargets entry for ``task`` behind ``lb`` (pure), or None."""
    port = int(lb.get("containerPort") or 0)
    if task.get("_networkMode") == "awsvpc":
        return {"Id": task["_ip"], "Port": port} if task.get("_ip") and target_type == "ip" else None
    if target_type != "instance" or not ec2_instance:
        return None
    container: Doc = next((c for c in task.get("containers") or [] if c.get("name") == lb.get("containerName")), {})
    bindings = container.get("networkBindings") or []
    binding = next((b for b in bindings if int(b.get("containerPort") or 0) == port), None)
    return None if binding is None else {"Id": ec2_instance, "Port": int(binding["hostPort"])}


def register(app: App, scope: Scope, task: Doc) -> None:
    from gureum.services.elbv2 import public as elbv2

    done = []
    for lb in service_load_balancers(app, scope, task):
        arn = lb.get("targetGroupArn") or ""
        try:
            tg = elbv2.target_group(app, scope, arn)
            target = None if tg is None else target_for(task, lb, tg.get("TargetType", "ip"), _ec2_instance(app, scope, task))
            if target is None:
                log.warning("task %s: no target for %s", task["_id"], arn)
                continue
            elbv2.register_targets(app, scope, arn, [target])
        except ServiceError as exc:
            log.warning("task %s: registering with %s failed: %s", task["_id"], arn, exc.message)
            continue
        done.append({"targetGroupArn": arn, "containerPort": int(lb.get("containerPort") or 0), **target})
    task["_lbChecked"] = True
    task["_targets"] = done


def deregister(app: App, scope: Scope, task: Doc) -> None:
    from gureum.services.elbv2 import public as elbv2

    for t in task.get("_targets") or []:
        try:
            elbv2.deregister_targets(app, scope, t["targetGroupArn"], [{"Id": t["Id"], "Port": t["Port"]}])
        except ServiceError as exc:
            log.info("task %s: deregistering from %s: %s", task["_id"], t["targetGroupArn"], exc.message)
    task["_deregistered"] = True


def target_health(app: App, scope: Scope, target: Doc) -> dict[str, Any] | None:
    """The target's TargetHealth ({State, Reason, Description}), None if the group is gone."""
    from gureum.services.elbv2 import public as elbv2

    try:
        found = elbv2.target_health(app, scope, target["targetGroupArn"], [{"Id": target["Id"], "Port": target["Port"]}])
    except ServiceError:
        return None
    return dict(found[0].get("TargetHealth") or {}) if found else None


def with_target_health(app: App, scope: Scope, tasks: list[Doc], views: list[TaskView]) -> list[TaskView]:
    """``views`` with the target health of each registered, still running task."""
    by_id = {t["_id"]: t for t in tasks}
    out = []
    for v in views:
        targets = by_id[v.id].get("_targets") or []
        if not targets or not v.active or by_id[v.id].get("_deregistered"):
            out.append(v)
            continue
        first = targets[0]
        health = target_health(app, scope, first) or {}
        out.append(replace(
            v, load_balanced=True, lb_health=str(health.get("State") or "unused"),
            lb_target_group=first["targetGroupArn"], lb_port=int(first.get("containerPort") or first["Port"]),
            lb_reason=str(health.get("Description") or ""),
        ))  # fmt: skip
    return out


def _draining(app: App, scope: Scope, target: Doc) -> bool:
    health = target_health(app, scope, target)
    return health is not None and health.get("State") == "draining"


def _ec2_instance(app: App, scope: Scope, task: Doc) -> str | None:
    arn = task.get("containerInstanceArn")
    if not arn:
        return None
    doc = app.store.get(names.INSTANCE, scope, f"{task['_cluster']}/{arn.rsplit('/', 1)[-1]}")
    return None if doc is None else doc.get("ec2InstanceId")
