"""The target health state machine: AWS's states and reason codes, as a table.

Pure: no I/O, no clock.  The health checker feeds events in and writes the
result out; ``DescribeTargetHealth`` shows it.

States and reasons are AWS's own strings (``TargetHealthStateEnum`` and
``TargetHealthReasonEnum`` of the elbv2 model)::

    register ──► initial (Elb.RegistrationInProgress)
    initial   ──1 pass──────────────────────────► healthy
    initial   ──fail, < unhealthy threshold────► initial (Elb.InitialHealthChecking)
    initial   ──UnhealthyThreshold fails───────► unhealthy (reason of the last failure)
    healthy   ──UnhealthyThreshold fails───────► unhealthy
    unhealthy ──HealthyThreshold passes────────► healthy
    any       ──deregister────────────────────► draining (Target.DeregistrationInProgress)
    any live  ──group not used by a listener──► unused (Target.NotInUse)
    unused    ──group used again───────────────► initial (Elb.RegistrationInProgress)
    any live  ──health checks disabled────────► unavailable (Target.HealthCheckDisabled)
    any live  ──instance stopped/terminated───► unused (Target.InvalidState)

A newly registered target needs one passing check to become healthy (the
current ALB user guide); ``HealthyThresholdCount`` governs recovery from
unhealthy and ``UnhealthyThresholdCount`` the fall.  Counters of consecutive
passes and failures reset whenever the other result comes in.

https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class State(StrEnum):
    INITIAL = "initial"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    UNUSED = "unused"
    DRAINING = "draining"
    UNAVAILABLE = "unavailable"


class Reason(StrEnum):
    NONE = ""
    REGISTRATION_IN_PROGRESS = "Elb.RegistrationInProgress"
    INITIAL_HEALTH_CHECKING = "Elb.InitialHealthChecking"
    RESPONSE_CODE_MISMATCH = "Target.ResponseCodeMismatch"
    TIMEOUT = "Target.Timeout"
    FAILED_HEALTH_CHECKS = "Target.FailedHealthChecks"
    NOT_REGISTERED = "Target.NotRegistered"
    NOT_IN_USE = "Target.NotInUse"
    INVALID_STATE = "Target.InvalidState"
    DEREGISTRATION_IN_PROGRESS = "Target.DeregistrationInProgress"
    HEALTH_CHECK_DISABLED = "Target.HealthCheckDisabled"
    INTERNAL_ERROR = "Elb.InternalError"


class Event(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    DEREGISTER = "deregister"
    NOT_IN_USE = "not-in-use"
    IN_USE = "in-use"
    CHECKS_DISABLED = "checks-disabled"
    INVALID_STATE = "invalid-state"  # the instance is stopped or terminated


DESCRIPTIONS: dict[Reason, str] = {
    Reason.REGISTRATION_IN_PROGRESS: "Target registration is in progress",
    Reason.INITIAL_HEALTH_CHECKING: "Initial health checking in progress",
    Reason.TIMEOUT: "Request timed out",
    Reason.FAILED_HEALTH_CHECKS: "Health checks failed",
    Reason.NOT_REGISTERED: "Target is not registered to the target group",
    Reason.NOT_IN_USE: "Target group is not configured to receive traffic from the load balancer",
    Reason.INVALID_STATE: "Target is in the stopped or terminated state",
    Reason.DEREGISTRATION_IN_PROGRESS: "Target deregistration is in progress",
    Reason.HEALTH_CHECK_DISABLED: "Health checks are disabled",
    Reason.INTERNAL_ERROR: "Health checks failed due to an internal error",
}


@dataclass(frozen=True, slots=True)
class Health:
    state: State = State.INITIAL
    reason: Reason = Reason.REGISTRATION_IN_PROGRESS
    description: str = DESCRIPTIONS[Reason.REGISTRATION_IN_PROGRESS]
    passes: int = 0  # consecutive passing checks
    fails: int = 0  # consecutive failing checks


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One health check: passed, or failed with a reason (and the code seen)."""

    ok: bool
    reason: Reason = Reason.NONE
    code: int | None = None

    @property
    def event(self) -> Event:
        return Event.PASS if self.ok else Event.FAIL


@dataclass(frozen=True, slots=True)
class Thresholds:
    healthy: int = 5
    unhealthy: int = 2


# What a result does in each state: (state to move to, which threshold the
# consecutive count must reach first).  "one" means a single event suffices;
# None in the first slot means "stay".  Events missing for a state are ignored.
_ONE = "one"
TABLE: dict[tuple[State, Event], tuple[State | None, str]] = {
    (State.INITIAL, Event.PASS): (State.HEALTHY, _ONE),
    (State.INITIAL, Event.FAIL): (State.UNHEALTHY, "unhealthy"),
    (State.HEALTHY, Event.PASS): (None, _ONE),
    (State.HEALTHY, Event.FAIL): (State.UNHEALTHY, "unhealthy"),
    (State.UNHEALTHY, Event.PASS): (State.HEALTHY, "healthy"),
    (State.UNHEALTHY, Event.FAIL): (None, _ONE),
    (State.INITIAL, Event.DEREGISTER): (State.DRAINING, _ONE),
    (State.HEALTHY, Event.DEREGISTER): (State.DRAINING, _ONE),
    (State.UNHEALTHY, Event.DEREGISTER): (State.DRAINING, _ONE),
    (State.UNUSED, Event.DEREGISTER): (State.DRAINING, _ONE),
    (State.UNAVAILABLE, Event.DEREGISTER): (State.DRAINING, _ONE),
    (State.INITIAL, Event.NOT_IN_USE): (State.UNUSED, _ONE),
    (State.HEALTHY, Event.NOT_IN_USE): (State.UNUSED, _ONE),
    (State.UNHEALTHY, Event.NOT_IN_USE): (State.UNUSED, _ONE),
    (State.UNAVAILABLE, Event.NOT_IN_USE): (State.UNUSED, _ONE),
    (State.UNUSED, Event.IN_USE): (State.INITIAL, _ONE),
    (State.UNAVAILABLE, Event.IN_USE): (State.INITIAL, _ONE),
    (State.INITIAL, Event.INVALID_STATE): (State.UNUSED, _ONE),
    (State.HEALTHY, Event.INVALID_STATE): (State.UNUSED, _ONE),
    (State.UNHEALTHY, Event.INVALID_STATE): (State.UNUSED, _ONE),
    (State.UNAVAILABLE, Event.INVALID_STATE): (State.UNUSED, _ONE),
    (State.INITIAL, Event.CHECKS_DISABLED): (State.UNAVAILABLE, _ONE),
    (State.HEALTHY, Event.CHECKS_DISABLED): (State.UNAVAILABLE, _ONE),
    (State.UNHEALTHY, Event.CHECKS_DISABLED): (State.UNAVAILABLE, _ONE),
}

# The reason a state shows when entered by an event that carries none.
_ENTRY_REASON: dict[State, Reason] = {
    State.INITIAL: Reason.REGISTRATION_IN_PROGRESS,
    State.HEALTHY: Reason.NONE,
    State.DRAINING: Reason.DEREGISTRATION_IN_PROGRESS,
    State.UNUSED: Reason.NOT_IN_USE,
    State.UNAVAILABLE: Reason.HEALTH_CHECK_DISABLED,
}


def describe(reason: Reason, code: int | None = None) -> str:
    if reason is Reason.RESPONSE_CODE_MISMATCH:
        return f"Health checks failed with these codes: [{code}]"
    return DESCRIPTIONS.get(reason, "")


def registered(checks_enabled: bool = True, in_use: bool = True) -> Health:
    """The health of a target just registered."""
    if not in_use:
        return Health(State.UNUSED, Reason.NOT_IN_USE, describe(Reason.NOT_IN_USE))
    if not checks_enabled:
        return Health(State.UNAVAILABLE, Reason.HEALTH_CHECK_DISABLED, describe(Reason.HEALTH_CHECK_DISABLED))
    return Health()


def step(h: Health, event: Event, limits: Thresholds, result: CheckResult | None = None) -> Health:
    """The health after ``event`` (with the check ``result`` for pass/fail)."""
    rule = TABLE.get((h.state, event))
    if rule is None:
        return h
    target, threshold = rule
    if event is Event.PASS:
        passes, fails, count = h.passes + 1, 0, h.passes + 1
    elif event is Event.FAIL:
        passes, fails, count = 0, h.fails + 1, h.fails + 1
    else:
        passes, fails, count = 0, 0, 1
    needed = {_ONE: 1, "healthy": limits.healthy, "unhealthy": limits.unhealthy}[threshold]
    state = target if target is not None and count >= needed else h.state
    if state is State.UNHEALTHY and result is not None and not result.ok:
        failed: Reason = result.reason if result.reason is not Reason.NONE else Reason.FAILED_HEALTH_CHECKS
        return Health(state, failed, describe(failed, result.code), passes, fails)
    if state is h.state and (state is not State.INITIAL or event not in (Event.PASS, Event.FAIL)):
        return replace(h, passes=passes, fails=fails)  # same state, same reason
    reason: Reason = Reason.INITIAL_HEALTH_CHECKING if state is State.INITIAL and result else _ENTRY_REASON[state]
    if event is Event.INVALID_STATE:
        reason = Reason.INVALID_STATE
    return Health(state, reason, describe(reason), passes, fails)


def routable(state: State) -> bool:
    """May a target in this state get new requests (before fail-open)?"""
    return state is State.HEALTHY or state is State.UNAVAILABLE


def candidates(states: dict[str, State]) -> list[str]:
    """The targets to route to: the healthy ones, or — when none is healthy —
    every unhealthy one (ALB fails open: "if a target group contains only
    unhealthy registered targets, the load balancer routes requests to all
    those targets").  Targets still in their first check are not fail-open
    candidates; draining and unused ones never are."""
    healthy = [k for k, s in states.items() if routable(s)]
    if healthy:
        return healthy
    return [k for k, s in states.items() if s is State.UNHEALTHY]


def code_matches(matcher: str, code: int) -> bool:
    """Whether an HTTP status passes a matcher like ``200``, ``200,202`` or ``200-299``."""
    for part in matcher.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            if int(lo) <= code <= int(hi or lo):
                return True
        except ValueError:
            continue
    return False
