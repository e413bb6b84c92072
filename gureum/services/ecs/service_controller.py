"""The service controller: keeps each service at its desired count and rolls
out its deployments.

One reconcile of a service key: read the service and its tasks, call
:func:`service_reconcile.decide_service_actions`, then apply the plan to the
store — new tasks (written PROVISIONING and handed to the task controller),
``desiredStatus=STOPPED`` on the tasks to stop (stopCode
ServiceSchedulerInitiated), deployment states, a rollback deployment, and
the service events ECS writes.  The whole pass is synchronous (no awaits), so
it never interleaves with a handler's write to the same service.

It wakes on the bus topic ``ecs.task.changed`` (a task of the service
changed status or health: a dead container is replaced within moments), on
the resync tick, and when a task without a health check is due to count as
healthy (the 40-second rule).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.ecs import names
from gureum.services.ecs.records import (
    SERVICE_CONTROLLER,
    TASK_CONTROLLER,
    find_taskdef,
    scoped_key,
    service_key,
    service_tasks,
    split_scoped_key,
    task_key,
)
from gureum.services.ecs.service_reconcile import (
    DEFAULT_HEALTHY_AFTER,
    DeploymentState,
    ServicePlan,
    ServiceState,
    TaskView,
    decide_service_actions,
    deployment_failures,
    is_healthy,
)
from gureum.services.ecs.service_records import (
    add_event,
    start_deployment,
    started_event,
    steady_event,
    stopped_event,
)
from gureum.services.ecs.task_placement import place_on_instances
from gureum.services.ecs.task_records import Launch, build_task
from gureum.services.ecs.task_set_controller import reconcile_task_sets
from gureum.services.ecs.task_sets import uses_task_sets
from gureum.services.ecs.task_targets import with_target_health

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecs.services")

Doc = dict[str, Any]
TOPIC = "ecs.task.changed"


def task_view(t: Doc) -> TaskView:
    return TaskView(
        id=t["_id"],
        deployment_id=t.get("_deploymentId") or "",
        last_status=t["lastStatus"],
        desired_status=t["desiredStatus"],
        health=t.get("healthStatus") or "UNKNOWN",
        has_health_check=any(c.get("healthCheck") and c.get("essential", True) for c in t["_containerDefs"]),
        created_at=float(t["createdAt"]),
        started_at=t.get("startedAt"),
        healthy_at=t.get("_healthyAt"),
        stopped_at=t.get("stoppedAt") or t.get("stoppingAt"),
        stop_code=t.get("stopCode"),
        stopped_reason=t.get("stoppedReason"),
    )


def service_state(svc: Doc, healthy_after: float) -> ServiceState:
    cfg = svc.get("deploymentConfiguration") or {}
    cb = cfg.get("deploymentCircuitBreaker") or {}
    return ServiceState(
        name=svc["serviceName"],
        desired_count=int(svc.get("desiredCount") or 0),
        deployments=tuple(
            DeploymentState(d["id"], d["status"], d["taskDefinition"], d.get("rolloutState", "IN_PROGRESS"), float(d["createdAt"]))
            for d in svc.get("deployments") or []
        ),
        minimum_healthy_percent=int(cfg.get("minimumHealthyPercent", 100)),
        maximum_percent=int(cfg.get("maximumPercent", 200)),
        circuit_breaker=bool(cb.get("enable")),
        rollback=bool(cb.get("rollback")),
        grace_period=float(svc.get("healthCheckGracePeriodSeconds") or 0),
        healthy_after=healthy_after,
        draining=svc.get("status") == "DRAINING",
    )


class ServiceController:
    def __init__(self, app: App) -> None:
        self.app = app
        self.healthy_after = float(getattr(app.settings, "ecs_healthy_after", DEFAULT_HEALTHY_AFTER))
        app.bus.subscribe(TOPIC, self._on_task_changed)

    def keys(self) -> list[str]:
        out = []
        for scope in self.app.store.list_scopes(names.SERVICE):
            for key, doc in self.app.store.list(names.SERVICE, scope):
                if doc.get("status") in ("ACTIVE", "DRAINING"):
                    out.append(scoped_key(scope, key))
        return out

    def _on_task_changed(self, topic: str, payload: dict[str, Any]) -> None:
        if payload.get("service"):
            key = service_key(payload["cluster"], payload["service"])
            self.app.runner.enqueue(SERVICE_CONTROLLER, scoped_key(payload["scope"], key))

    async def reconcile(self, skey: str) -> Requeue | None:
        return self.reconcile_now(skey)

    def reconcile_now(self, skey: str) -> Requeue | None:
        scope, key = split_scoped_key(skey)
        store = self.app.store
        svc = store.get(names.SERVICE, scope, key)
        if svc is None or svc.get("status") == "INACTIVE":
            return None
        if uses_task_sets(svc):  # CODE_DEPLOY: task sets, not deployments
            return reconcile_task_sets(self.app, scope, key, svc)
        now = self.app.clock.now()
        tasks = service_tasks(store, scope, svc["_cluster"], svc["serviceName"])
        state = service_state(svc, self.healthy_after)
        views = with_target_health(self.app, scope, tasks, [task_view(t) for t in tasks])
        self._mark_healthy(scope, tasks, views, now)
        plan = decide_service_actions(state, views, now)
        with store.transaction():
            self._apply(scope, svc, tasks, views, plan, now)
            store.put(names.SERVICE, scope, key, svc)
        return Requeue(plan.requeue_after) if plan.requeue_after is not None else None

    def _mark_healthy(self, scope: Scope, tasks: list[Doc], views: list[TaskView], now: float) -> None:
        """Record when each task first counted as healthy (circuit-breaker reset)."""
        for t, v in zip(tasks, views, strict=True):
            if t.get("_healthyAt") is None and is_healthy(v, self.healthy_after, now):
                t["_healthyAt"] = now
                self.app.store.put(names.TASK, scope, task_key(t["_cluster"], t["_id"]), t)

    def _apply(self, scope: Scope, svc: Doc, tasks: list[Doc], views: list[TaskView], plan: ServicePlan, now: float) -> None:
        for msg in plan.events:
            add_event(svc, msg, now)
        self._deployments(svc, views, plan, now)
        if plan.rollback is not None:
            start_deployment(svc, plan.rollback.task_definition, now, reason=plan.rollback.reason)
            svc["_steady"] = False
        by_id = {t["_id"]: t for t in tasks}
        stopped = []
        for stop in plan.stop:
            t = by_id.get(stop.task_id)
            if t is None or t.get("desiredStatus") == "STOPPED":
                continue
            t.update(desiredStatus="STOPPED", stopCode="ServiceSchedulerInitiated", stoppedReason=stop.reason, stoppingAt=now)
            self.app.store.put(names.TASK, scope, task_key(t["_cluster"], t["_id"]), t)
            self.app.runner.enqueue(TASK_CONTROLLER, scoped_key(scope, task_key(t["_cluster"], t["_id"])))
            if stop.event:
                add_event(svc, stop.event, now)
            if t.get("lastStatus") == "RUNNING":
                stopped.append(t["_id"])
        if stopped:
            add_event(svc, stopped_event(svc["serviceName"], stopped), now)
        for start in plan.start:
            started = self._start_tasks(scope, svc, start.deployment_id, start.count, now)
            if started:
                add_event(svc, started_event(svc["serviceName"], started), now)
        if svc.get("status") == "DRAINING" and not any(v.active for v in views):
            svc["status"] = "INACTIVE"
        if plan.steady and not svc.get("_steady"):
            add_event(svc, steady_event(svc["serviceName"]), now)
        svc["_steady"] = plan.steady

    def _deployments(self, svc: Doc, views: list[TaskView], plan: ServicePlan, now: float) -> None:
        deps = svc.get("deployments") or []
        for change in plan.deployments:
            for d in deps:
                if d["id"] != change.deployment_id:
                    continue
                if change.rollout_state:
                    d["rolloutState"] = change.rollout_state
                    d["rolloutStateReason"] = change.rollout_reason or d.get("rolloutStateReason")
                    d["updatedAt"] = now
                if change.failed_tasks is not None:
                    d["failedTasks"] = change.failed_tasks
                if change.remove:
                    d["_remove"] = True
        for d in deps:
            if d["status"] == "PRIMARY" and d.get("rolloutState") == "IN_PROGRESS":
                d["failedTasks"] = deployment_failures([v for v in views if v.deployment_id == d["id"]])
        svc["deployments"] = [d for d in deps if not d.get("_remove")]

    def _start_tasks(self, scope: Scope, svc: Doc, deployment_id: str, count: int, now: float) -> list[str]:
        store = self.app.store
        dep = next((d for d in svc.get("deployments") or [] if d["id"] == deployment_id), None)
        cluster = store.get(names.CLUSTER, scope, svc["_cluster"])
        taskdef = find_taskdef(store, scope, dep["taskDefinition"]) if dep else None
        if dep is None or cluster is None or taskdef is None:
            log.warning("service %s cannot start tasks: deployment, cluster or task definition missing", svc["serviceName"])
            return []
        group = f"service:{svc['serviceName']}"
        placed, failures = place_on_instances(
            store, scope, cluster, taskdef, group, count,
            svc.get("placementStrategy") or [], svc.get("placementConstraints") or [], seed=int(now),
        )
        if failures and len(placed) < count:
            add_event(svc, (
                f"(service {svc['serviceName']}) was unable to place a task because no container instance met all "
                f"of its requirements. The closest matching (container-instance {failures[0]['arn']}) "
                f"encountered error \"{failures[0]['reason']}\"."
            ), now)
        ids = []
        for instance in placed:
            launch = Launch(
                launch_type=svc.get("launchType") or ("FARGATE" if _fargate(svc) else "EC2"),
                capacity_provider=_provider(svc),
                network_configuration=dep.get("networkConfiguration") or svc.get("networkConfiguration"),
                tags=tuple(svc.get("tags") or []) if svc.get("propagateTags") == "SERVICE" else (),
                started_by=deployment_id,
                group=group,
                service=svc["serviceName"],
                deployment_id=deployment_id,
                container_instance_arn=instance,
                enable_execute_command=bool(svc.get("enableExecuteCommand")),
            )
            doc = build_task(region=scope.region, account=scope.account, cluster=cluster, taskdef=taskdef, launch=launch, now=now)
            key = task_key(cluster["clusterName"], doc["_id"])
            store.put(names.TASK, scope, key, doc)
            self.app.runner.enqueue(TASK_CONTROLLER, scoped_key(scope, key))
            ids.append(doc["_id"])
        return ids


def _provider(svc: Doc) -> str | None:
    strategy = svc.get("capacityProviderStrategy") or []
    if not strategy:
        return None
    return str(max(strategy, key=lambda s: (s.get("base") or 0, s.get("weight") or 0))["capacityProvider"])


def _fargate(svc: Doc) -> bool:
    return (_provider(svc) or "") in ("FARGATE", "FARGATE_SPOT")
