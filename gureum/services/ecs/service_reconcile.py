"""What an ECS service should do next: the pure rolling-deployment scheduler.

No I/O here.  :func:`decide_service_actions` gets the service (desired count,
deployment configuration, ``deployments[]``), its tasks and ``now``, and
returns a :class:`ServicePlan`: tasks to start (per deployment), tasks to stop
(each with the stoppedReason ECS writes), deployment state changes, a
rollback, and whether the service is in a steady state.

Rules, as the ECS docs give them (AWS-FACTS §5.3):

* ``maximumPercent`` caps tasks that are RUNNING or PENDING at
  ``floor(desired × max / 100)``; ``minimumHealthyPercent`` keeps at least
  ``ceil(desired × min / 100)`` *healthy* tasks while old ones are stopped.
* A task is healthy when RUNNING and: HEALTHY if an essential container has a
  health check; for a task of a service with ``loadBalancers``, when its
  target group reports it ``healthy`` (and its container health check, if
  any, passes); otherwise once it has been RUNNING for ``healthy_after``
  seconds (40 s on ECS when there is neither a load balancer nor a health
  check).
* The PRIMARY deployment starts tasks up to the desired count within the
  maximum; tasks of ACTIVE (older) deployments are stopped, the unhealthy
  ones first, the healthy ones only while the minimum holds.  When the primary
  has all its tasks healthy and the old deployments none, it is COMPLETED and
  the older deployments disappear.
* Tasks that fail container health checks, or that their target group
  reports ``unhealthy``, are stopped (after ``healthCheckGracePeriodSeconds``)
  and replaced; the ELB case with the event "(service S) (task T) (port P) is
  unhealthy in (target-group ARN) due to (reason R)." and stoppedReason
  "Task failed ELB health checks in (target-group ARN)".
* While a load-balanced task is RUNNING and not yet healthy (or could turn
  unhealthy) the service looks again every ``LB_POLL`` seconds: target
  health is not pushed to the scheduler.
* Deployment circuit breaker: a task of the deployment that stops on its own
  (TaskFailedToStart, EssentialContainerExited: stage 1) or is stopped for
  failing its container health checks (stage 2) is a failure; the count
  resets when a task of the deployment turns healthy (resetOnHealthyTask,
  default true).  At ``min(200, max(3, ceil(0.5 ×
  desired)))`` failures the deployment is FAILED and launches nothing more; with
  ``rollback`` a new deployment of the last COMPLETED one takes over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEFAULT_HEALTHY_AFTER = 40.0
CB_FAILED_REASON = "ECS deployment circuit breaker: tasks failed to start."
FAILURE_STOP_CODES = frozenset({"TaskFailedToStart", "EssentialContainerExited"})
HEALTH_STOP_REASON = "Task failed container health checks"
ELB_STOP_PREFIX = "Task failed ELB health checks in "
LB_POLL = 1.0


@dataclass(frozen=True, slots=True)
class DeploymentState:
    id: str
    status: str  # PRIMARY | ACTIVE
    task_definition: str
    rollout_state: str = "IN_PROGRESS"  # IN_PROGRESS | COMPLETED | FAILED
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class TaskView:
    id: str
    deployment_id: str
    last_status: str
    desired_status: str = "RUNNING"
    health: str = "UNKNOWN"
    has_health_check: bool = False
    created_at: float = 0.0
    started_at: float | None = None  # reached RUNNING
    healthy_at: float | None = None  # first counted healthy
    stopped_at: float | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    load_balanced: bool = False  # registered with a target group: its health decides
    lb_health: str = ""  # TargetHealth.State of its (first) target
    lb_target_group: str = ""
    lb_port: int = 0
    lb_reason: str = ""  # TargetHealth.Description when unhealthy

    @property
    def active(self) -> bool:
        return self.desired_status == "RUNNING" and self.last_status != "STOPPED"


@dataclass(frozen=True, slots=True)
class ServiceState:
    name: str
    desired_count: int
    deployments: tuple[DeploymentState, ...]
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    circuit_breaker: bool = False
    rollback: bool = False
    grace_period: float = 0.0
    healthy_after: float = DEFAULT_HEALTHY_AFTER
    draining: bool = False


@dataclass(frozen=True, slots=True)
class StartTasks:
    deployment_id: str
    count: int
    reason: str


@dataclass(frozen=True, slots=True)
class StopTask:
    task_id: str
    reason: str  # the task's stoppedReason
    event: str = ""  # an extra service event, if any


@dataclass(frozen=True, slots=True)
class DeploymentChange:
    deployment_id: str
    rollout_state: str | None = None
    rollout_reason: str | None = None
    remove: bool = False
    failed_tasks: int | None = None


@dataclass(frozen=True, slots=True)
class Rollback:
    to_deployment_id: str
    task_definition: str
    reason: str


@dataclass(frozen=True, slots=True)
class ServicePlan:
    start: tuple[StartTasks, ...] = ()
    stop: tuple[StopTask, ...] = ()
    deployments: tuple[DeploymentChange, ...] = ()
    rollback: Rollback | None = None
    steady: bool = False
    events: tuple[str, ...] = ()
    requeue_after: float | None = None
    notes: tuple[str, ...] = field(default=())


def max_tasks(desired: int, maximum_percent: int) -> int:
    return math.floor(desired * maximum_percent / 100)


def min_healthy_tasks(desired: int, minimum_healthy_percent: int) -> int:
    return math.ceil(desired * minimum_healthy_percent / 100)


def circuit_breaker_threshold(desired: int) -> int:
    return min(200, max(3, math.ceil(0.5 * desired)))


def is_healthy(t: TaskView, healthy_after: float, now: float) -> bool:
    if not t.active or t.last_status != "RUNNING":
        return False
    if t.load_balanced:
        return t.lb_health == "healthy" and (not t.has_health_check or t.health == "HEALTHY")
    if t.has_health_check:
        return t.health == "HEALTHY"
    return t.started_at is not None and now - t.started_at >= healthy_after


def deployment_failures(tasks: list[TaskView]) -> int:
    """Circuit-breaker failures of one deployment's tasks (reset by a healthy task)."""
    last_healthy = max((t.healthy_at for t in tasks if t.healthy_at is not None), default=None)
    n = 0
    for t in tasks:
        health_failed = t.stopped_reason == HEALTH_STOP_REASON or (t.stopped_reason or "").startswith(ELB_STOP_PREFIX)
        if t.stop_code not in FAILURE_STOP_CODES and not health_failed:
            continue
        when = t.stopped_at if t.stopped_at is not None else t.created_at
        if last_healthy is None or when > last_healthy:
            n += 1
    return n


def _stop_reason(deployment_id: str) -> str:
    return f"Scaling activity initiated by (deployment {deployment_id})"


def decide_service_actions(svc: ServiceState, tasks: list[TaskView], now: float) -> ServicePlan:
    """The next start/stop actions and deployment changes for one service."""
    active = [t for t in tasks if t.active]
    if svc.draining:
        return ServicePlan(stop=tuple(StopTask(t.id, "Service is being deleted") for t in active))
    primary = next((d for d in svc.deployments if d.status == "PRIMARY"), None)
    if primary is None:
        return ServicePlan()
    by_dep: dict[str, list[TaskView]] = {}
    for t in tasks:
        by_dep.setdefault(t.deployment_id, []).append(t)
    changes: list[DeploymentChange] = []
    events: list[str] = []
    rollback = None
    if svc.circuit_breaker and primary.rollout_state == "IN_PROGRESS":
        failures = deployment_failures(by_dep.get(primary.id, []))
        if failures >= circuit_breaker_threshold(svc.desired_count):
            changes.append(DeploymentChange(primary.id, "FAILED", CB_FAILED_REASON, failed_tasks=failures))
            events.append(f"(service {svc.name}) (deployment {primary.id}) deployment failed: tasks failed to start.")
            rollback = _rollback_target(svc, primary)
            primary = DeploymentState(primary.id, primary.status, primary.task_definition, "FAILED", primary.created_at)
            if rollback is not None:
                return ServicePlan(deployments=tuple(changes), rollback=rollback, events=tuple(events))
    unhealthy = _unhealthy(svc, active, now)
    new = [t for t in active if t.deployment_id == primary.id]
    old = [t for t in active if t.deployment_id != primary.id]
    starts, stops = _scale_primary(svc, primary, new, old, unhealthy, now)
    stopped = {s.task_id for s in stops}
    live = [t for t in active if t.id not in stopped]
    stops += _retire_old(svc, primary, live, [t for t in old if t.id not in stopped], now)
    plan_changes, steady, more_events = _progress(svc, primary, tasks, live, stops, now)
    requeue = _next_health_time(svc, live, now)
    return ServicePlan(
        start=starts,
        stop=tuple(stops),
        deployments=tuple(changes + plan_changes),
        steady=steady and not starts and not stops,
        events=tuple(events + more_events),
        requeue_after=requeue,
    )


def _rollback_target(svc: ServiceState, failed: DeploymentState) -> Rollback | None:
    if not svc.rollback:
        return None
    done = [d for d in svc.deployments if d.id != failed.id and d.rollout_state == "COMPLETED"]
    if not done:
        return None
    target = max(done, key=lambda d: d.created_at)
    return Rollback(
        target.id,
        target.task_definition,
        f"ECS deployment circuit breaker: rolling back to deploymentId {target.id}.",
    )


def _unhealthy(svc: ServiceState, active: list[TaskView], now: float) -> dict[str, StopTask]:
    """Tasks failing container or ELB health checks, past the grace period: how to stop each."""
    out = {}
    for t in active:
        if t.last_status != "RUNNING":
            continue
        if t.started_at is not None and now - t.started_at < svc.grace_period:
            continue
        if t.health == "UNHEALTHY" and t.has_health_check:
            out[t.id] = _health_stop(svc, t.id)
        elif t.load_balanced and t.lb_health == "unhealthy":
            out[t.id] = elb_health_stop(svc, t)
    return out


def elb_health_stop(svc: ServiceState, t: TaskView) -> StopTask:
    tg = f"(target-group {t.lb_target_group})"
    return StopTask(
        t.id,
        f"{ELB_STOP_PREFIX}{tg}",
        f"(service {svc.name}) (task {t.id}) (port {t.lb_port}) is unhealthy in {tg} "
        f"due to (reason {t.lb_reason or 'Health checks failed'}).",
    )


def _health_stop(svc: ServiceState, task_id: str) -> StopTask:
    return StopTask(
        task_id,
        HEALTH_STOP_REASON,
        f"(service {svc.name}) (task {task_id}) failed container health checks.",
    )


def _scale_primary(
    svc: ServiceState,
    primary: DeploymentState,
    new: list[TaskView],
    old: list[TaskView],
    unhealthy: dict[str, StopTask],
    now: float,
) -> tuple[tuple[StartTasks, ...], list[StopTask]]:
    """Starts for the primary, scale-in stops, and stops of unhealthy tasks.

    Unhealthy tasks are replaced first when maximumPercent leaves room and
    stopped once the replacements run; without room they are stopped at once
    (they do not count as healthy, so the minimum is unaffected).
    """
    ok = [t for t in new if t.id not in unhealthy]
    want = svc.desired_count - len(ok)
    sick = [unhealthy[t.id] for t in [*new, *old] if t.id in unhealthy and t.deployment_id == primary.id]
    if want < 0:
        # Scale in: unhealthy, then never-healthy and not-yet-running tasks, then the newest.
        order = sorted(ok, key=lambda t: (is_healthy(t, svc.healthy_after, now), t.last_status == "RUNNING", -t.created_at))
        return (), sick + [StopTask(t.id, _stop_reason(primary.id)) for t in order[:-want]]
    if want == 0:
        return (), sick
    if primary.rollout_state == "FAILED":
        return (), []
    room = max_tasks(svc.desired_count, svc.maximum_percent) - len(new) - len(old)
    n = min(want, room)
    if n <= 0 and not old and not sick:
        n = want  # a maximumPercent below 100 must not starve a service with no deployment underway
    starts = (StartTasks(primary.id, n, f"{len(ok)} of {svc.desired_count} tasks of {primary.id}"),) if n > 0 else ()
    running_ok = sum(1 for t in ok if t.last_status == "RUNNING")
    if n < want or running_ok >= svc.desired_count:
        return starts, sick
    return starts, []


def _retire_old(
    svc: ServiceState, primary: DeploymentState, live: list[TaskView], old: list[TaskView], now: float
) -> list[StopTask]:
    if not old or primary.rollout_state == "FAILED":
        return []
    healthy = sum(1 for t in live if is_healthy(t, svc.healthy_after, now))
    budget = healthy - min_healthy_tasks(svc.desired_count, svc.minimum_healthy_percent)
    out: list[StopTask] = []
    for t in sorted(old, key=lambda t: (is_healthy(t, svc.healthy_after, now), t.created_at)):
        if is_healthy(t, svc.healthy_after, now):
            if budget <= 0:
                break
            budget -= 1
        out.append(StopTask(t.id, _stop_reason(t.deployment_id)))
    return out


def _progress(
    svc: ServiceState,
    primary: DeploymentState,
    tasks: list[TaskView],
    live: list[TaskView],
    stops: list[StopTask],
    now: float,
) -> tuple[list[DeploymentChange], bool, list[str]]:
    stopped = {s.task_id for s in stops}
    remaining = [t for t in live if t.id not in stopped]
    new = [t for t in remaining if t.deployment_id == primary.id]
    old_left = [t for t in tasks if t.active and t.deployment_id != primary.id]
    all_healthy = len(new) == svc.desired_count and all(is_healthy(t, svc.healthy_after, now) for t in new)
    changes: list[DeploymentChange] = []
    events: list[str] = []
    if primary.rollout_state == "FAILED":
        return changes, False, events
    if not old_left and all_healthy:
        for d in svc.deployments:
            if d.id != primary.id:
                changes.append(DeploymentChange(d.id, remove=True))
        if primary.rollout_state != "COMPLETED":
            changes.append(DeploymentChange(primary.id, "COMPLETED", "ECS deployment completed."))
            events.append(f"(service {svc.name}) (deployment {primary.id}) deployment completed.")
        return changes, True, events
    return changes, False, events


def _next_health_time(svc: ServiceState, live: list[TaskView], now: float) -> float | None:
    """When a RUNNING task without a health check will count as healthy (or, behind
    a balancer, when to look at its target health again)."""
    waits = [
        t.started_at + svc.healthy_after - now
        for t in live
        if t.last_status == "RUNNING" and not t.has_health_check and not t.load_balanced
        and t.started_at is not None and now - t.started_at < svc.healthy_after
    ]
    if any(t.load_balanced and t.last_status in ("ACTIVATING", "RUNNING") for t in live):
        waits.append(LB_POLL)
    return max(0.1, min(waits)) if waits else None
