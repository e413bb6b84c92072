"""An instance's way through its group: lifecycle states and lifecycle hooks.  Pure.

States (``LifecycleState``)::

    Pending ──(EC2 running)──▶ Pending:Wait ──CONTINUE──▶ Pending:Proceed ──▶ InService
       │        no launch hook ────────────────────────────────────────────────▲
       │                         └──ABANDON──▶ Terminating:Proceed
    InService ──(scale-in, unhealthy, user)──▶ Terminating ──▶ Terminating:Wait ──▶ Terminating:Proceed
                                                   └── no terminate hook ─────────────▲
    Terminating:Proceed ──(EC2 terminated)──▶ Terminated (the instance leaves the group)

Lifecycle hooks (EC2 Auto Scaling user guide, "Amazon EC2 Auto Scaling
lifecycle hooks"): a hook on ``autoscaling:EC2_INSTANCE_LAUNCHING`` or
``autoscaling:EC2_INSTANCE_TERMINATING`` holds the instance in the ``:Wait``
state until ``CompleteLifecycleAction`` or until its heartbeat timeout
(default 3600 s, 30–7200) passes, when its ``DefaultResult`` (default
ABANDON) applies.  ``RecordLifecycleActionHeartbeat`` restarts the timeout,
but never past the global timeout: min(48 h, 100 × heartbeat timeout).
With several hooks the instance waits for all of them; one ABANDON
abandons.  On launch ABANDON terminates the instance; on termination both
results let it terminate.

An instance's pending hook actions are a dict ``hook name → action`` with
``token``, ``deadline``, ``globalDeadline`` and ``result`` (None while
waiting) — the shape stored on the instance record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
TRANSITIONS = (LAUNCHING, TERMINATING)
DEFAULT_HEARTBEAT = 3600
MIN_HEARTBEAT, MAX_HEARTBEAT = 30, 7200
GLOBAL_CAP = 172_800
CONTINUE, ABANDON = "CONTINUE", "ABANDON"
DEFAULT_RESULT = ABANDON

Actions = dict[str, dict[str, Any]]


class LState(StrEnum):
    PENDING = "Pending"
    PENDING_WAIT = "Pending:Wait"
    PENDING_PROCEED = "Pending:Proceed"
    IN_SERVICE = "InService"
    TERMINATING = "Terminating"
    TERMINATING_WAIT = "Terminating:Wait"
    TERMINATING_PROCEED = "Terminating:Proceed"
    TERMINATED = "Terminated"
    STANDBY = "Standby"


LAUNCH_STATES = frozenset({LState.PENDING, LState.PENDING_WAIT, LState.PENDING_PROCEED})
ACTIVE_STATES = LAUNCH_STATES | {LState.IN_SERVICE}
LEAVING_STATES = frozenset({LState.TERMINATING, LState.TERMINATING_WAIT, LState.TERMINATING_PROCEED})


class Effect(StrEnum):
    """What the controller must do for a step."""

    NONE = "none"
    START_LAUNCH_HOOKS = "start-launch-hooks"
    ENTER_SERVICE = "enter-service"  # register in target groups, start warm-up
    START_TERMINATE_HOOKS = "start-terminate-hooks"
    TERMINATE_EC2 = "terminate-ec2"
    ABANDONED = "abandoned"  # a launch hook said ABANDON: terminate, launch activity cancelled
    FORGET = "forget"  # the instance has left the group
    LAUNCH_FAILED = "launch-failed"


@dataclass(frozen=True, slots=True)
class Hook:
    name: str
    transition: str
    heartbeat: int = DEFAULT_HEARTBEAT
    default_result: str = DEFAULT_RESULT


def global_timeout(heartbeat: int) -> int:
    return min(GLOBAL_CAP, 100 * int(heartbeat))


def start_actions(hooks: Iterable[Hook], transition: str, now: float, tokens: Iterable[str]) -> Actions:
    """One pending action per hook of ``transition`` (empty: no hook holds the instance)."""
    out: Actions = {}
    for hook, token in zip((h for h in hooks if h.transition == transition), tokens, strict=False):
        out[hook.name] = {"token": token, "deadline": now + hook.heartbeat,
                          "globalDeadline": now + global_timeout(hook.heartbeat), "result": None}
    return out


def heartbeat(actions: Actions, name: str, heartbeat_seconds: int, now: float) -> Actions:
    act = dict(actions[name])
    act["deadline"] = min(now + heartbeat_seconds, float(act["globalDeadline"]))
    return {**actions, name: act}


def complete(actions: Actions, name: str, result: str) -> Actions:
    return {**actions, name: {**actions[name], "result": result}}


def expire(actions: Actions, hooks: Mapping[str, Hook], now: float) -> Actions:
    """Apply each hook's default result where its timeout has passed (a deleted hook continues)."""
    out = dict(actions)
    for name, act in actions.items():
        if act["result"] is None and now >= min(float(act["deadline"]), float(act["globalDeadline"])):
            hook = hooks.get(name)
            out[name] = {**act, "result": hook.default_result if hook else CONTINUE, "timedOut": True}
    return out


def outcome(actions: Actions) -> str | None:
    """CONTINUE or ABANDON once every hook answered, else None."""
    results = [a["result"] for a in actions.values()]
    if any(r is None for r in results):
        return None
    return ABANDON if ABANDON in results else CONTINUE


def next_deadline(actions: Actions) -> float | None:
    waiting = [min(float(a["deadline"]), float(a["globalDeadline"])) for a in actions.values() if a["result"] is None]
    return min(waiting) if waiting else None


def find_by_token(actions: Actions, token: str) -> str | None:
    return next((name for name, a in actions.items() if a["token"] == token), None)


# -- the way through the states ----------------------------------------------------------------

EC2_UP = frozenset({"running"})
EC2_GONE = frozenset({"terminated", "missing"})
EC2_DOWN = frozenset({"stopping", "stopped", "shutting-down", "terminated", "missing"})


def advance(state: LState | str, ec2_state: str, hooks_for: Mapping[str, bool], hook_outcome: str | None,
            ) -> tuple[LState, Effect]:
    """The next step of one instance: (new state, effect); the same state and NONE when it must wait.

    ``hooks_for[transition]`` says whether the group has hooks of that
    transition; ``hook_outcome`` is :func:`outcome` of the instance's actions.
    """
    s = LState(state)
    if s is LState.PENDING:
        if ec2_state in EC2_UP:
            if hooks_for.get(LAUNCHING):
                return LState.PENDING_WAIT, Effect.START_LAUNCH_HOOKS
            return LState.IN_SERVICE, Effect.ENTER_SERVICE
        if ec2_state in EC2_DOWN:
            return LState.TERMINATING_PROCEED, Effect.LAUNCH_FAILED
        return s, Effect.NONE
    if s is LState.PENDING_WAIT:
        if ec2_state in EC2_DOWN:
            return LState.TERMINATING_PROCEED, Effect.LAUNCH_FAILED
        if hook_outcome == CONTINUE:
            return LState.PENDING_PROCEED, Effect.NONE
        if hook_outcome == ABANDON:
            return LState.TERMINATING_PROCEED, Effect.ABANDONED
        return s, Effect.NONE
    if s is LState.PENDING_PROCEED:
        return LState.IN_SERVICE, Effect.ENTER_SERVICE
    if s is LState.TERMINATING:
        if hooks_for.get(TERMINATING) and ec2_state not in EC2_GONE:
            return LState.TERMINATING_WAIT, Effect.START_TERMINATE_HOOKS
        return LState.TERMINATING_PROCEED, Effect.TERMINATE_EC2
    if s is LState.TERMINATING_WAIT:
        if hook_outcome is not None or ec2_state in EC2_GONE:
            return LState.TERMINATING_PROCEED, Effect.TERMINATE_EC2
        return s, Effect.NONE
    if s is LState.TERMINATING_PROCEED:
        if ec2_state in EC2_GONE:
            return LState.TERMINATED, Effect.FORGET
        if ec2_state != "shutting-down":
            return s, Effect.TERMINATE_EC2  # asked before and not heard: ask again (idempotent)
        return s, Effect.NONE
    return s, Effect.NONE
