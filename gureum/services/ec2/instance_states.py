"""The instance state machine, as tables and pure functions.  No I/O.

States and codes (EC2 ``InstanceState``): 0 pending, 16 running,
32 shutting-down, 48 terminated, 64 stopping, 80 stopped.

Two kinds of transition:

* **API transitions** happen in the handler, at once, as on AWS:
  StopInstances running → stopping; StartInstances stopped → pending;
  TerminateInstances anything → shutting-down.  :func:`api_transition`
  says where a state goes, stays, or that the call is refused
  (``IncorrectInstanceState``).  The state itself is the intent: pending
  wants a running container, stopping and stopped a stopped one,
  shutting-down and terminated none.
* **Controller transitions** follow the container: :func:`decide` looks at
  the state and what the runtime shows (:class:`Box`) and returns a
  :class:`Plan` — actions on the container and maybe a new state with its
  reason.  pending → running once the container runs; stopping → stopped
  once it has exited; shutting-down → terminated once it is removed.  A
  container that exits on its own makes a running instance ``stopped``
  (or ``terminated`` with InstanceInitiatedShutdownBehavior=terminate),
  with ``Client.InstanceInitiatedShutdown`` when it ended cleanly (exit 0
  or SIGTERM) and ``Server.InternalError`` otherwise; a container removed
  behind Gureum's back terminates the instance with ``Server.InternalError``.

Status checks (DescribeInstanceStatus): a running instance reports
``initializing`` for :data:`STATUS_INIT_SECONDS` after it (re)booted, then
``ok``; other states ``not-applicable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SHUTTING_DOWN = "shutting-down"
    TERMINATED = "terminated"
    STOPPING = "stopping"
    STOPPED = "stopped"


CODES: dict[State, int] = {
    State.PENDING: 0,
    State.RUNNING: 16,
    State.SHUTTING_DOWN: 32,
    State.TERMINATED: 48,
    State.STOPPING: 64,
    State.STOPPED: 80,
}

STATUS_INIT_SECONDS = 5.0


def wire_state(state: State | str) -> dict[str, Any]:
    s = State(state)
    return {"Code": CODES[s], "Name": s.value}


class Reason(StrEnum):
    """StateReason codes, AWS's own strings."""

    PENDING = "pending"
    USER_SHUTDOWN = "Client.UserInitiatedShutdown"
    INSTANCE_SHUTDOWN = "Client.InstanceInitiatedShutdown"
    INTERNAL_ERROR = "Server.InternalError"


_REASON_TEXT = {
    Reason.PENDING: "pending",
    Reason.USER_SHUTDOWN: "Client.UserInitiatedShutdown: User initiated shutdown",
    Reason.INSTANCE_SHUTDOWN: "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
    Reason.INTERNAL_ERROR: "Server.InternalError: Internal error",
}


def reason_dict(reason: Reason, detail: str = "") -> dict[str, str]:
    message = _REASON_TEXT[reason]
    if reason is Reason.INTERNAL_ERROR and detail:
        message = f"Server.InternalError: {detail}"
    return {"Code": reason.value, "Message": message}


# -- API transitions ---------------------------------------------------------------------


class Verb(StrEnum):
    STOP = "stopped"
    START = "started"
    TERMINATE = "terminated"
    REBOOT = "rebooted"


class Refused(Exception):
    """The call is not allowed in this state (``IncorrectInstanceState``)."""


# (verb, from state) → to state; a state missing from a verb's row refuses it.
API_TRANSITIONS: dict[Verb, dict[State, State]] = {
    Verb.STOP: {
        State.RUNNING: State.STOPPING,
        State.STOPPING: State.STOPPING,
        State.STOPPED: State.STOPPED,
    },
    Verb.START: {
        State.STOPPED: State.PENDING,
        State.PENDING: State.PENDING,
        State.RUNNING: State.RUNNING,
    },
    Verb.TERMINATE: {
        State.PENDING: State.SHUTTING_DOWN,
        State.RUNNING: State.SHUTTING_DOWN,
        State.STOPPING: State.SHUTTING_DOWN,
        State.STOPPED: State.SHUTTING_DOWN,
        State.SHUTTING_DOWN: State.SHUTTING_DOWN,
        State.TERMINATED: State.TERMINATED,
    },
    Verb.REBOOT: {
        State.PENDING: State.PENDING,
        State.RUNNING: State.RUNNING,
    },
}


def api_transition(verb: Verb, state: State | str) -> State:
    to = API_TRANSITIONS[verb].get(State(state))
    if to is None:
        raise Refused(verb.value)
    return to


# -- controller decisions ----------------------------------------------------------------


class Box(StrEnum):
    """What the runtime shows of the instance's container."""

    NONE = "none"  # none was ever made (no id recorded)
    MISSING = "missing"  # one was made and is gone
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"


class Action(StrEnum):
    CREATE = "create"
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    REMOVE = "remove"
    RELEASE_ADDRESS = "release-address"


@dataclass(frozen=True, slots=True)
class Observed:
    box: Box
    exit_code: int | None = None
    launch_error: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...] = ()
    state: State | None = None
    reason: Reason | None = None
    detail: str = ""

    @property
    def empty(self) -> bool:
        return not self.actions and self.state is None


NOTHING = Plan()
_CLEAN_EXITS = (0, 143)  # exit 0, or SIGTERM (128 + 15): a shutdown, not a crash


def _terminated(reason: Reason | None = None, detail: str = "") -> Plan:
    return Plan((Action.RELEASE_ADDRESS,), State.TERMINATED, reason, detail)


def _exited_on_its_own(obs: Observed, terminate: bool) -> Plan:
    clean = obs.exit_code in _CLEAN_EXITS
    reason = Reason.INSTANCE_SHUTDOWN if clean else Reason.INTERNAL_ERROR
    detail = "" if clean else f"Internal error (the instance's init exited with code {obs.exit_code})"
    return Plan((), State.SHUTTING_DOWN if terminate else State.STOPPED, reason, detail)


def decide(state: State | str, obs: Observed, *, reboot_pending: bool = False,
           terminate_on_shutdown: bool = False) -> Plan:
    """The next step for an instance in ``state`` whose container looks like ``obs``."""
    s, box = State(state), obs.box
    if s is State.TERMINATED:
        return Plan((Action.REMOVE,)) if box in (Box.CREATED, Box.RUNNING, Box.EXITED) else NOTHING
    if s is State.SHUTTING_DOWN:
        if box is Box.RUNNING:
            return Plan((Action.STOP, Action.REMOVE))
        if box in (Box.CREATED, Box.EXITED):
            return Plan((Action.REMOVE,))
        return _terminated()
    if box is Box.MISSING:
        detail = "Internal error on launch" if s is State.PENDING else "Internal error (the instance's container is gone)"
        return _terminated(Reason.INTERNAL_ERROR, detail)
    if s is State.PENDING:
        if obs.launch_error:
            return Plan((), State.SHUTTING_DOWN, Reason.INTERNAL_ERROR, f"Internal error on launch ({obs.launch_error})")
        if box is Box.NONE:
            return Plan((Action.CREATE, Action.START))
        if box in (Box.CREATED, Box.EXITED):
            return Plan((Action.START,))
        return Plan((), State.RUNNING)
    if s is State.RUNNING:
        if box is Box.RUNNING:
            return Plan((Action.RESTART,)) if reboot_pending else NOTHING
        if box is Box.CREATED:
            return Plan((Action.START,))
        if box is Box.EXITED:
            return _exited_on_its_own(obs, terminate_on_shutdown)
        return _terminated(Reason.INTERNAL_ERROR, "Internal error (the instance's container is gone)")
    if s is State.STOPPING:
        return Plan((Action.STOP,)) if box is Box.RUNNING else Plan((), State.STOPPED)
    # STOPPED: nothing runs; a container started behind Gureum's back is stopped again.
    return Plan((Action.STOP,)) if box is Box.RUNNING else NOTHING


# -- status checks ------------------------------------------------------------------------


def status_checks(state: State | str, booted_at: float | None, now: float,
                  init_seconds: float = STATUS_INIT_SECONDS) -> tuple[dict[str, Any], dict[str, Any]]:
    """(InstanceStatus, SystemStatus) as DescribeInstanceStatus answers them."""
    if State(state) is not State.RUNNING:
        summary: dict[str, Any] = {"Status": "not-applicable"}
        return summary, dict(summary)
    ready = booted_at is not None and now - booted_at >= init_seconds
    status, detail = ("ok", "passed") if ready else ("initializing", "initializing")
    summary = {"Status": status, "Details": [{"Name": "reachability", "Status": detail}]}
    return summary, {"Status": status, "Details": [{"Name": "reachability", "Status": detail}]}
