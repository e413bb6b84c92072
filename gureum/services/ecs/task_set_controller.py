"""The service controller's pass for services run by task sets
(``deploymentController`` CODE_DEPLOY): :mod:`service_controller` hands such a
service to :func:`reconcile_task_sets`.

One pass, synchronous like the rolling one (no awaits, so it never
interleaves with a handler's write to the same service):

* each task set keeps ``computedDesiredCount`` tasks (its scale of the
  service's desired count; 0 when DRAINING or the service is being deleted):
  missing ones are placed and written PROVISIONING for the task controller,
  extra ones stopped — the ones not yet RUNNING first, then the newest;
* a task that reaches RUNNING is registered with its task set's target group
  (awsvpc: its private IP and the container port; bridge/host: the host
  binding, or the container instance's EC2 instance for ``instance``
  target groups); a task to stop is deregistered first and stopped once the
  target group has drained it (it is gone from DescribeTargetHealth), as
  ECS does; a task that stopped on its own is deregistered.  Registrations
  live in their own ``ecs.tasklb`` records (keyed like the task), because
  the task controller rewrites task documents after its awaits;
* counts and ``stabilityStatus`` (STEADY_STATE when the running count is
  the computed desired count and nothing is pending) are written on the set;
  a DRAINING set without tasks left is removed; a DRAINING service without
  tasks becomes INACTIVE.

The decision itself is :func:`decide_task_set` (pure).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.ecs import names
from gureum.services.ecs.records import (
    TASK_CONTROLLER,
    find_taskdef,
    scoped_key,
    service_tasks,
    task_key,
)
from gureum.services.ecs.service_records import add_event, started_event, stopped_event
from gureum.services.ecs.task_placement import place_on_instances
from gureum.services.ecs.task_records import Launch, build_task
from gureum.services.ecs.task_sets import computed_count

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecs.tasksets")

Doc = dict[str, Any]
DRAIN_POLL = 2.0
MAX_DRAIN = 3600.0  # a task waits at most this long for its target group to drain it
LB_STATE = "ecs.tasklb"  # per task: its target registrations (kept apart: the task controller rewrites tasks)
PENDING = ("PROVISIONING", "PENDING", "ACTIVATING")


@dataclass(frozen=True, slots=True)
class SetTask:
    id: str
    last_status: str
    created_at: float
    stopping: bool  # deregistered, waiting for the drain before the stop


@dataclass(frozen=True, slots=True)
class SetPlan:
    start: int = 0
    stop: tuple[str, ...] = ()


def decide_task_set(want: int, tasks: list[SetTask]) -> SetPlan:
    """How many tasks to start and which to stop so ``want`` stay (pure)."""
    live = [t for t in tasks if not t.stopping]
    if len(live) < want:
        return SetPlan(start=want - len(live))
    extra = len(live) - want
    if extra <= 0:
        return SetPlan()
    order = sorted(live, key=lambda t: (t.last_status == "RUNNING", -t.created_at))
    return SetPlan(stop=tuple(t.id for t in order[:extra]))


def reconcile_task_sets(app: App, scope: Scope, key: str, svc: Doc) -> Requeue | None:
    now = app.clock.now()
    store = app.store
    tasks = service_tasks(store, scope, svc["_cluster"], svc["serviceName"])
    draining_service = svc.get("status") == "DRAINING"
    requeue: float | None = None
    kept = []
    with store.transaction():
        for ts in svc.get("taskSets") or []:
            mine = [t for t in tasks if t.get("_taskSet") == ts["id"]]
            wait = _reconcile_set(app, scope, svc, ts, mine, draining_service, now)
            if wait is not None:
                requeue = wait if requeue is None else min(requeue, wait)
            if ts["status"] == "DRAINING" and not any(_active(t) for t in mine):
                continue
            kept.append(ts)
        svc["taskSets"] = kept
        orphans = [t for t in tasks if t.get("_taskSet") not in {s["id"] for s in kept} and _active(t)]
        for t in orphans:  # tasks of a set already gone (a crash between writes)
            _stop(app, scope, t, "Task set deleted", now)
        if draining_service and not any(_active(t) for t in tasks):
            svc["status"] = "INACTIVE"
        store.put(names.SERVICE, scope, key, svc)
    return Requeue(requeue) if requeue is not None else None


def _active(t: Doc) -> bool:
    return t.get("desiredStatus") == "RUNNING" and t.get("lastStatus") != "STOPPED"


def _reconcile_set(app: App, scope: Scope, svc: Doc, ts: Doc, mine: list[Doc], draining: bool, now: float) -> float | None:
    want = 0 if draining or ts["status"] == "DRAINING" else computed_count(int(svc.get("desiredCount") or 0), ts["scale"])
    ts["computedDesiredCount"] = want
    wait = None
    lbs = {t["_id"]: _lb_state(app, scope, t) for t in mine}
    for t in mine:
        lb = lbs[t["_id"]]
        if t.get("lastStatus") == "STOPPED":
            if lb.get("registered"):
                _deregister(app, scope, t, lb)
            if lb:
                app.store.delete(LB_STATE, scope, task_key(t["_cluster"], t["_id"]))
                lbs[t["_id"]] = {}
        elif _active(t) and t.get("lastStatus") == "RUNNING" and not lb.get("registered") and not lb.get("stopAfter"):
            _register(app, scope, ts, t, lb)
        if _active(t) and lb.get("stopAfter"):
            if _drained(app, scope, lb) or now >= float(lb["stopAfter"]):
                _stop(app, scope, t, f"Scaling activity initiated by (deployment {ts['id']})", now)
            else:
                wait = DRAIN_POLL
    views = [SetTask(t["_id"], t["lastStatus"], float(t["createdAt"]), bool(lbs[t["_id"]].get("stopAfter")))
             for t in mine if _active(t)]  # fmt: skip
    plan = decide_task_set(want, views)
    by_id = {t["_id"]: t for t in mine}
    stopped = []
    for tid in plan.stop:
        t, lb = by_id[tid], lbs[tid]
        if lb.get("registered"):
            _deregister(app, scope, t, lb, drain_until=now + MAX_DRAIN)
            wait = DRAIN_POLL
        else:
            _stop(app, scope, t, f"Scaling activity initiated by (deployment {ts['id']})", now)
        if t.get("lastStatus") == "RUNNING":
            stopped.append(tid)
    if stopped:
        add_event(svc, stopped_event(svc["serviceName"], stopped), now)
    if plan.start:
        started = _start(app, scope, svc, ts, plan.start, now)
        if started:
            add_event(svc, started_event(svc["serviceName"], started), now)
    live = [t for t in mine if _active(t)]
    leaving = {tid for tid, lb in lbs.items() if lb.get("stopAfter")} | set(plan.stop)
    _counts(ts, live, leaving, want, now)
    return wait


def _counts(ts: Doc, live: list[Doc], leaving: set[str], want: int, now: float) -> None:
    running = sum(1 for t in live if t.get("lastStatus") == "RUNNING" and t["_id"] not in leaving)
    pending = sum(1 for t in live if t.get("lastStatus") in PENDING)
    ts["runningCount"], ts["pendingCount"] = running, pending
    stable = "STEADY_STATE" if running == want and pending == 0 and len(live) == want else "STABILIZING"
    if ts.get("stabilityStatus") != stable:
        ts["stabilityStatus"], ts["stabilityStatusAt"] = stable, now


def _stop(app: App, scope: Scope, t: Doc, reason: str, now: float) -> None:
    t.update(desiredStatus="STOPPED", stopCode="ServiceSchedulerInitiated", stoppedReason=reason, stoppingAt=now)
    key = task_key(t["_cluster"], t["_id"])
    app.store.put(names.TASK, scope, key, t)
    app.runner.enqueue(TASK_CONTROLLER, scoped_key(scope, key))


def _start(app: App, scope: Scope, svc: Doc, ts: Doc, count: int, now: float) -> list[str]:
    store = app.store
    cluster = store.get(names.CLUSTER, scope, svc["_cluster"])
    taskdef = find_taskdef(store, scope, ts["taskDefinition"])
    if cluster is None or taskdef is None:
        log.warning("task set %s of %s cannot start tasks: cluster or task definition missing", ts["id"], svc["serviceName"])
        return []
    group = f"service:{svc['serviceName']}"
    placed, _ = place_on_instances(store, scope, cluster, taskdef, group, count,
                                   svc.get("placementStrategy") or [], svc.get("placementConstraints") or [], seed=int(now))
    ids = []
    for instance in placed:
        provider = (ts.get("capacityProviderStrategy") or [{}])[0].get("capacityProvider")
        launch = Launch(
            launch_type=ts.get("launchType") or ("FARGATE" if provider in ("FARGATE", "FARGATE_SPOT") else "EC2"),
            capacity_provider=provider,
            network_configuration=ts.get("networkConfiguration") or None,
            tags=tuple(svc.get("tags") or []) if svc.get("propagateTags") == "SERVICE" else (),
            started_by=ts["id"], group=group, service=svc["serviceName"], deployment_id=ts["id"],
            container_instance_arn=instance, enable_execute_command=bool(svc.get("enableExecuteCommand")),
        )  # fmt: skip
        doc = build_task(region=scope.region, account=scope.account, cluster=cluster, taskdef=taskdef, launch=launch, now=now)
        doc["_taskSet"] = ts["id"]
        key = task_key(cluster["clusterName"], doc["_id"])
        store.put(names.TASK, scope, key, doc)
        app.runner.enqueue(TASK_CONTROLLER, scoped_key(scope, key))
        ids.append(doc["_id"])
    return ids


# -- load balancer targets ------------------------------------------------------------------------


def lb_target(task: Doc, lb: Doc, target_type: str, ec2_instance: str | None) -> dict[str, Any] | None:
    """The RegisterTargets entry for ``task`` behind ``lb`` (pure), or None when it has no such port."""
    port = int(lb.get("containerPort") or 0)
    if task.get("_ip"):
        return {"Id": task["_ip"], "Port": port}
    container = next((c for c in task.get("containers") or [] if c.get("name") == lb.get("containerName")), None)
    binding = next((b for b in (container or {}).get("networkBindings") or [] if int(b.get("containerPort") or 0) == port), None)
    if binding is None:
        return None
    if target_type == "instance":
        return {"Id": ec2_instance, "Port": int(binding["hostPort"])} if ec2_instance else None
    return {"Id": binding.get("bindIP") or "127.0.0.1", "Port": int(binding["hostPort"])}


def _lb_state(app: App, scope: Scope, t: Doc) -> Doc:
    return app.store.get(LB_STATE, scope, task_key(t["_cluster"], t["_id"])) or {}


def _register(app: App, scope: Scope, ts: Doc, t: Doc, lb_state: Doc) -> None:
    from gureum.services.elbv2 import public as elbv2

    done = []
    for lb in ts.get("loadBalancers") or []:
        arn = lb.get("targetGroupArn")
        tg = elbv2.target_group(app, scope, arn) if arn else None
        if tg is None:
            continue
        target = lb_target(t, lb, tg.get("TargetType", "ip"), _ec2_instance(app, scope, t))
        if target is None:
            continue
        try:
            elbv2.register_targets(app, scope, arn, [target])
        except ServiceError as exc:
            log.warning("task %s: registering with %s failed: %s", t["_id"], arn, exc.message)
            continue
        done.append({"targetGroupArn": arn, **target})
    if done:
        lb_state["registered"] = done
        app.store.put(LB_STATE, scope, task_key(t["_cluster"], t["_id"]), lb_state)


def _deregister(app: App, scope: Scope, t: Doc, lb_state: Doc, drain_until: float | None = None) -> None:
    from gureum.services.elbv2 import public as elbv2

    regs = lb_state.pop("registered", None) or []
    for reg in regs:
        try:
            elbv2.deregister_targets(app, scope, reg["targetGroupArn"], [{"Id": reg["Id"], "Port": reg["Port"]}])
        except ServiceError:
            pass  # the group is gone: nothing to drain
    if drain_until is not None:
        lb_state.update(draining=regs, stopAfter=drain_until)
    app.store.put(LB_STATE, scope, task_key(t["_cluster"], t["_id"]), lb_state)


def _drained(app: App, scope: Scope, lb_state: Doc) -> bool:
    from gureum.services.elbv2 import public as elbv2

    for reg in lb_state.get("draining") or []:
        try:
            health = elbv2.target_health(app, scope, reg["targetGroupArn"], [{"Id": reg["Id"], "Port": reg["Port"]}])
        except ServiceError:
            continue
        if any(h.get("TargetHealth", {}).get("State") == "draining" for h in health):
            return False
    return True


def _ec2_instance(app: App, scope: Scope, t: Doc) -> str | None:
    arn = t.get("containerInstanceArn")
    if not arn:
        return None
    doc = app.store.get(names.INSTANCE, scope, f"{t['_cluster']}/{arn.rsplit('/', 1)[-1]}")
    return None if doc is None else doc.get("ec2InstanceId")
