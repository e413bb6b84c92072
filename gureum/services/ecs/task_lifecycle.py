"""The ECS task lifecycle as a table, and the pure step function.

No I/O here: :func:`decide_task_step` looks at the recorded task
(:class:`TaskState`), what the runtime shows of its containers
(:class:`ContainerObserved`) and ``now``, and returns a :class:`TaskPlan`:
the actions to take next, each with its reason.  The task controller applies
the plan through the runtime driver and records the result; running the same
step twice is harmless because every action is keyed by container name.

Theory of operation (``lastStatus``, as in the ECS developer guide "Task
lifecycle")::

    PROVISIONING ─▶ PENDING ─▶ ACTIVATING ─▶ RUNNING
          │            │            │            │  desiredStatus=STOPPED
          └────────────┴──────┐     └─────┬──────┘
                              ▼           ▼
                          STOPPING ◀─ DEACTIVATING
                              │
                              ▼
                       DEPROVISIONING ─▶ STOPPED

* PROVISIONING: network first (an awsvpc/Fargate task gets its private IP).
* PENDING: containers start as their ``dependsOn`` conditions allow
  (START: the dependency has started; COMPLETE: it has exited; SUCCESS: it
  exited 0; HEALTHY: its health check passed).  A condition that can no longer
  hold (SUCCESS after a non-zero exit, HEALTHY after the dependency stopped or
  went UNHEALTHY, the dependency's ``startTimeout`` passed) blocks the
  container for good: an essential one fails the task with TaskFailedToStart.
  A container that cannot be created (no such image: CannotPullContainerError)
  or started (no such command: CannotStartContainerError) fails the task too.
* ACTIVATING → RUNNING once every container has started (or finished) and,
  for a task of a service with ``loadBalancers``, its targets are registered
  (``lb`` "wanted" → RegisterTargets).
* RUNNING → DEACTIVATING when it must stop; a registered task deregisters
  (DeregisterTargets) and stays DEACTIVATING while its target group drains
  it (``lb`` "draining": in-flight requests finish), then STOPPING: no
  container gets SIGTERM while the balancer may still send it a request.
* Any essential container exiting stops the task: stopCode
  EssentialContainerExited, "Essential container in task exited".
* Stopping sends SIGTERM in reverse dependency order (a container is stopped
  only after the containers that depend on it), then SIGKILL once its
  ``stopTimeout`` (default 30 s) has passed.
* DEPROVISIONING releases the address and removes the containers; STOPPED is
  final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TaskStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    PENDING = "PENDING"
    ACTIVATING = "ACTIVATING"
    RUNNING = "RUNNING"
    DEACTIVATING = "DEACTIVATING"
    STOPPING = "STOPPING"
    DEPROVISIONING = "DEPROVISIONING"
    STOPPED = "STOPPED"


class StopCode(StrEnum):
    TASK_FAILED_TO_START = "TaskFailedToStart"
    ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
    USER_INITIATED = "UserInitiated"
    SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"
    SPOT_INTERRUPTION = "SpotInterruption"
    TERMINATION_NOTICE = "TerminationNotice"


class ContainerState(StrEnum):
    ABSENT = "ABSENT"  # not created yet (or removed)
    CREATED = "CREATED"  # created, not started
    RUNNING = "RUNNING"
    EXITED = "EXITED"
    FAILED = "FAILED"  # could not be created or started; ``error`` says why


class Condition(StrEnum):
    START = "START"
    COMPLETE = "COMPLETE"
    SUCCESS = "SUCCESS"
    HEALTHY = "HEALTHY"


ESSENTIAL_EXITED_REASON = "Essential container in task exited"
DEFAULT_STOP_TIMEOUT = 30.0

# The forward path: status → (next status, what must be true to move on).
FORWARD: dict[TaskStatus, tuple[TaskStatus, str]] = {
    TaskStatus.PROVISIONING: (TaskStatus.PENDING, "network provisioned"),
    TaskStatus.PENDING: (TaskStatus.ACTIVATING, "every container started"),
    TaskStatus.ACTIVATING: (TaskStatus.RUNNING, "post-start work done"),
    TaskStatus.RUNNING: (TaskStatus.DEACTIVATING, "desiredStatus is STOPPED"),
    TaskStatus.DEACTIVATING: (TaskStatus.STOPPING, "pre-stop work done"),
    TaskStatus.STOPPING: (TaskStatus.DEPROVISIONING, "no container running"),
    TaskStatus.DEPROVISIONING: (TaskStatus.STOPPED, "network released"),
}
# Where a task goes when it must stop, from each status before RUNNING.
STOP_ENTRY: dict[TaskStatus, TaskStatus] = {
    TaskStatus.PROVISIONING: TaskStatus.STOPPING,
    TaskStatus.PENDING: TaskStatus.STOPPING,
    TaskStatus.ACTIVATING: TaskStatus.DEACTIVATING,
    TaskStatus.RUNNING: TaskStatus.DEACTIVATING,
}
ORDER = list(TaskStatus)


def status_rank(status: str) -> int:
    """Position in the lifecycle: lastStatus never moves backwards."""
    return ORDER.index(TaskStatus(status))


# -- inputs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    name: str
    essential: bool = True
    depends_on: tuple[tuple[str, Condition], ...] = ()
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    start_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class ContainerObserved:
    name: str
    state: ContainerState = ContainerState.ABSENT
    exit_code: int | None = None
    health: str = "UNKNOWN"  # HEALTHY | UNHEALTHY | UNKNOWN
    started_at: float | None = None
    error: str | None = None  # for FAILED: "CannotPullContainerError: …"
    stop_signalled_at: float | None = None  # when we sent SIGTERM
    blocked: str | None = None  # recorded: can never start, and why


@dataclass(frozen=True, slots=True)
class TaskState:
    last_status: TaskStatus
    desired_status: str  # RUNNING | STOPPED
    containers: tuple[ContainerSpec, ...]
    pending_since: float
    needs_network: bool = False
    network_ready: bool = False
    stop_code: str | None = None
    # Load balancer targets: none | wanted (to register) | registered | draining | drained
    lb: str = "none"


# -- outputs -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvisionNetwork:
    reason: str


@dataclass(frozen=True, slots=True)
class StartContainer:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class StopContainer:
    """SIGTERM now; the driver may kill after ``timeout`` seconds."""

    name: str
    timeout: float
    reason: str


@dataclass(frozen=True, slots=True)
class KillContainer:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class BlockContainer:
    """Record that a container will never start (its dependency cannot be met)."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class RequestStop:
    """desiredStatus → STOPPED with this stopCode and stoppedReason."""

    stop_code: StopCode
    reason: str


@dataclass(frozen=True, slots=True)
class SetStatus:
    status: TaskStatus
    reason: str


@dataclass(frozen=True, slots=True)
class ReleaseNetwork:
    reason: str


@dataclass(frozen=True, slots=True)
class RemoveContainers:
    reason: str


@dataclass(frozen=True, slots=True)
class RegisterTargets:
    reason: str


@dataclass(frozen=True, slots=True)
class DeregisterTargets:
    reason: str


Action = (
    ProvisionNetwork
    | StartContainer
    | StopContainer
    | KillContainer
    | BlockContainer
    | RequestStop
    | SetStatus
    | ReleaseNetwork
    | RemoveContainers
    | RegisterTargets
    | DeregisterTargets
)
DRAIN_POLL = 1.0  # seconds between looks at a draining target


@dataclass(frozen=True, slots=True)
class TaskPlan:
    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def moves(self) -> bool:
        """Whether applying the plan changes the task's status (worth another step)."""
        return any(isinstance(a, SetStatus | RequestStop) for a in self.actions)


# -- the step ------------------------------------------------------------------------


def decide_task_step(task: TaskState, observed: dict[str, ContainerObserved], now: float) -> TaskPlan:
    """The next actions for one task, each with its reason."""
    status = task.last_status
    if status == TaskStatus.STOPPED:
        return TaskPlan()
    obs = {c.name: observed.get(c.name, ContainerObserved(c.name)) for c in task.containers}
    if task.desired_status != "STOPPED":
        failure = _failure(task, obs)
        if failure is not None:
            return TaskPlan((failure,))
        return _step_up(task, obs, now)
    return _step_down(task, obs, now)


def _failure(task: TaskState, obs: dict[str, ContainerObserved]) -> RequestStop | None:
    """A reason the running-or-starting task must stop, if any."""
    for spec in task.containers:
        o = obs[spec.name]
        if not spec.essential:
            continue
        if o.state == ContainerState.FAILED:
            return RequestStop(StopCode.TASK_FAILED_TO_START, o.error or "CannotStartContainerError")
        if o.blocked:
            return RequestStop(StopCode.TASK_FAILED_TO_START, o.blocked)
        if o.state == ContainerState.EXITED:
            return RequestStop(StopCode.ESSENTIAL_CONTAINER_EXITED, ESSENTIAL_EXITED_REASON)
        if o.state == ContainerState.ABSENT and o.started_at is not None:
            # It ran and is gone (removed behind our back): it exited.
            return RequestStop(StopCode.ESSENTIAL_CONTAINER_EXITED, ESSENTIAL_EXITED_REASON)
    return None


def _step_up(task: TaskState, obs: dict[str, ContainerObserved], now: float) -> TaskPlan:
    status = task.last_status
    if status == TaskStatus.PROVISIONING:
        if task.needs_network and not task.network_ready:
            return TaskPlan(
                (ProvisionNetwork("awsvpc task needs a private address"),
                 SetStatus(TaskStatus.PENDING, FORWARD[status][1]))
            )
        return TaskPlan((SetStatus(TaskStatus.PENDING, FORWARD[status][1]),))
    if status == TaskStatus.PENDING:
        return _start_containers(task, obs, now)
    if status == TaskStatus.ACTIVATING:
        if task.lb == "wanted":
            return TaskPlan((RegisterTargets("task of a load-balanced service"),
                             SetStatus(TaskStatus.RUNNING, "targets registered")))
        return TaskPlan((SetStatus(TaskStatus.RUNNING, FORWARD[status][1]),))
    return TaskPlan()  # RUNNING: nothing to do until something exits


def _start_containers(task: TaskState, obs: dict[str, ContainerObserved], now: float) -> TaskPlan:
    actions: list[Action] = []
    waits: list[float] = []
    waiting = False
    for spec in task.containers:
        o = obs[spec.name]
        if o.state != ContainerState.ABSENT or o.blocked or o.started_at is not None:
            continue
        verdict, detail = _dependencies(spec, obs, {c.name: c for c in task.containers}, task, now)
        if verdict == "ready":
            actions.append(StartContainer(spec.name, detail))
        elif verdict == "never":
            actions.append(BlockContainer(spec.name, detail))
            if spec.essential:
                actions.append(RequestStop(StopCode.TASK_FAILED_TO_START, detail))
                return TaskPlan(tuple(actions))
        else:
            waiting = True
            if detail:
                waits.append(float(detail))
    if actions:
        return TaskPlan(tuple(actions))
    if waiting:
        return TaskPlan((), requeue_after=min([1.0, *waits]))
    return TaskPlan((SetStatus(TaskStatus.ACTIVATING, FORWARD[TaskStatus.PENDING][1]),))


def _dependencies(
    spec: ContainerSpec,
    obs: dict[str, ContainerObserved],
    specs: dict[str, ContainerSpec],
    task: TaskState,
    now: float,
) -> tuple[str, str]:
    """("ready", reason) | ("never", reason) | ("wait", seconds-until-timeout or "")."""
    wait_for = ""
    for dep_name, cond in spec.depends_on:
        d = obs.get(dep_name, ContainerObserved(dep_name))
        verdict = condition_verdict(Condition(cond), d)
        if verdict == "met":
            continue
        if verdict == "never":
            return "never", (
                f"CannotStartContainerError: dependency {dep_name} of container {spec.name} "
                f"can no longer reach condition {cond}"
            )
        timeout = specs[dep_name].start_timeout if dep_name in specs else None
        if timeout is not None:
            since = d.started_at if d.started_at is not None else task.pending_since
            left = since + timeout - now
            if left <= 0:
                return "never", (
                    f"CannotStartContainerError: dependency {dep_name} of container {spec.name} "
                    f"did not reach condition {cond} within its startTimeout of {timeout:g} seconds"
                )
            wait_for = str(left)
        return "wait", wait_for
    if not spec.depends_on:
        return "ready", "no dependencies"
    conds = ", ".join(f"{n} {c}" for n, c in spec.depends_on)
    return "ready", f"dependencies met: {conds}"


def condition_verdict(cond: Condition, dep: ContainerObserved) -> str:
    """"met", "wait" or "never" for one dependsOn condition."""
    st = dep.state
    if st == ContainerState.FAILED or dep.blocked:
        return "never"
    gone = st == ContainerState.EXITED or (st == ContainerState.ABSENT and dep.started_at is not None)
    if cond == Condition.START:
        return "met" if st == ContainerState.RUNNING or gone else "wait"
    if cond == Condition.COMPLETE:
        return "met" if gone else "wait"
    if cond == Condition.SUCCESS:
        if gone:
            return "met" if dep.exit_code == 0 else "never"
        return "wait"
    # HEALTHY
    if dep.health == "HEALTHY" and st == ContainerState.RUNNING:
        return "met"
    if gone or dep.health == "UNHEALTHY":
        return "never"
    return "wait"


def _step_down(task: TaskState, obs: dict[str, ContainerObserved], now: float) -> TaskPlan:
    status = task.last_status
    entry = STOP_ENTRY.get(status)
    if entry is not None:
        return TaskPlan((SetStatus(entry, "desiredStatus is STOPPED"),))
    if status == TaskStatus.DEACTIVATING:
        if task.lb == "registered":
            return TaskPlan((DeregisterTargets("task is stopping: drain it first"),), requeue_after=DRAIN_POLL)
        if task.lb == "draining":
            return TaskPlan((), requeue_after=DRAIN_POLL, notes=("waiting for the target group to drain the task",))
        return TaskPlan((SetStatus(TaskStatus.STOPPING, FORWARD[status][1]),))
    if status == TaskStatus.STOPPING:
        return _stop_containers(task, obs, now)
    # DEPROVISIONING
    actions: list[Action] = [RemoveContainers("task stopped")]
    if task.needs_network and task.network_ready:
        actions.append(ReleaseNetwork("task stopped: release its address"))
    actions.append(SetStatus(TaskStatus.STOPPED, FORWARD[status][1]))
    return TaskPlan(tuple(actions))


def _stop_containers(task: TaskState, obs: dict[str, ContainerObserved], now: float) -> TaskPlan:
    running = {n for n, o in obs.items() if o.state in (ContainerState.RUNNING, ContainerState.CREATED)}
    if not running:
        return TaskPlan((SetStatus(TaskStatus.DEPROVISIONING, FORWARD[TaskStatus.STOPPING][1]),))
    dependents: dict[str, set[str]] = {c.name: set() for c in task.containers}
    for c in task.containers:
        for dep, _ in c.depends_on:
            dependents.setdefault(dep, set()).add(c.name)
    actions: list[Action] = []
    waits: list[float] = []
    for spec in task.containers:
        if spec.name not in running:
            continue
        o = obs[spec.name]
        if o.stop_signalled_at is None:
            if dependents.get(spec.name, set()) & running:
                continue  # stop the containers that depend on it first
            actions.append(StopContainer(spec.name, spec.stop_timeout, "task is stopping"))
            waits.append(spec.stop_timeout)
            continue
        left = o.stop_signalled_at + spec.stop_timeout - now
        if left <= 0:
            actions.append(KillContainer(spec.name, f"did not exit within stopTimeout of {spec.stop_timeout:g} seconds"))
            waits.append(1.0)
        else:
            waits.append(left)
    return TaskPlan(tuple(actions), requeue_after=min(waits) if waits else 1.0)


def task_health(specs: tuple[ContainerSpec, ...], obs: dict[str, ContainerObserved], checked: set[str]) -> str:
    """Task healthStatus from its essential containers that have a health check."""
    states = [obs[s.name].health if s.name in obs else "UNKNOWN" for s in specs if s.essential and s.name in checked]
    if not states:
        return "UNKNOWN"
    if "UNHEALTHY" in states:
        return "UNHEALTHY"
    if all(s == "HEALTHY" for s in states):
        return "HEALTHY"
    return "UNKNOWN"
