"""Moving each member along its lifecycle, and its health.

For every member of a group the controller calls :func:`advance_member`: it
asks the fleet for the instance's EC2 state (an InService or Standby member
without hook actions stops there: no step can move it), settles the lifecycle hook
actions (timeouts, hooks deleted meanwhile), and steps through
:func:`lifecycle.advance` until the member has to wait, applying each
step's :class:`~lifecycle.Effect` (start hook actions, register with the
target groups, terminate the EC2 instance, close activities).
:func:`check_health` then marks members Unhealthy: EC2 says the instance is
stopped, terminated or gone; or, with ``HealthCheckType=ELB`` after the
grace period, a target group says it is unhealthy.

Both change the group document in memory; the controller saves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.ids import uuid4
from gureum.core.store import Scope
from gureum.services.autoscaling import activities, elb_link, lifecycle
from gureum.services.autoscaling.fleet import Fleet
from gureum.services.autoscaling.lifecycle import Effect, Hook, LState

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]
MAX_STEPS = 6
HOOK_TOPIC = "autoscaling.lifecycle_action"
_TERMINATING = frozenset({Effect.TERMINATE_EC2, Effect.ABANDONED, Effect.LAUNCH_FAILED})
SETTLED = frozenset({LState.IN_SERVICE, LState.STANDBY})


def needs_hooks(group: Doc) -> bool:
    """Whether a member may step (or settle hook actions) now: only then are the group's hooks read."""
    return any(rec["LifecycleState"] not in SETTLED or rec.get("_actions")
               for rec in (group.get("_instances") or {}).values())


def _settle_actions(rec: Doc, hooks: dict[str, Hook], now: float) -> str | None:
    actions = rec.get("_actions") or {}
    if not actions:
        return None
    for name, act in list(actions.items()):
        if act["result"] is None and name not in hooks:
            actions[name] = {**act, "result": lifecycle.CONTINUE}  # the hook was deleted: go on
    rec["_actions"] = lifecycle.expire(actions, hooks, now)
    return lifecycle.outcome(rec["_actions"])


def _start_hooks(app: App, scope: Scope, group: Doc, rec: Doc, hooks: dict[str, Hook], transition: str,
                 now: float) -> None:
    chosen = [h for h in hooks.values() if h.transition == transition]
    rec["_actions"] = lifecycle.start_actions(chosen, transition, now, (uuid4() for _ in chosen))
    key = rec.get("_activity" if transition == lifecycle.LAUNCHING else "_termActivity")
    activities.update(app.store, scope, key, now, status=activities.MID_LIFECYCLE, progress=40)
    for name, act in rec["_actions"].items():
        app.bus.publish(HOOK_TOPIC, {
            "account": scope.account, "region": scope.region, "AutoScalingGroupName": group["AutoScalingGroupName"],
            "LifecycleHookName": name, "LifecycleActionToken": act["token"], "EC2InstanceId": rec["InstanceId"],
            "LifecycleTransition": transition, "Time": now,
        })


def _abandon_message(rec: Doc) -> str:
    actions = rec.get("_actions") or {}
    act = next((a for a in actions.values() if a.get("result") == lifecycle.ABANDON), None) or {}
    why = "Heartbeat Timeout" if act.get("timedOut") else "Lifecycle Action Completed with ABANDON Result"
    return (f"Instance failed to complete user's Lifecycle Action: Lifecycle Action with token {act.get('token', '')} "
            f"was abandoned: {why}")


def _apply(app: App, scope: Scope, fleet: Fleet, group: Doc, rec: Doc, effect: Effect, ec2: str,
           hooks: dict[str, Hook], now: float) -> None:
    iid, store = rec["InstanceId"], app.store
    if effect is Effect.START_LAUNCH_HOOKS:
        _start_hooks(app, scope, group, rec, hooks, lifecycle.LAUNCHING, now)
    elif effect is Effect.START_TERMINATE_HOOKS:
        _start_hooks(app, scope, group, rec, hooks, lifecycle.TERMINATING, now)
    elif effect is Effect.ENTER_SERVICE:
        rec["_inServiceAt"] = now
        rec["_actions"] = {}
        elb_link.register(app, scope, group.get("TargetGroupARNs") or [], iid)
        activities.update(store, scope, rec.get("_activity"), now, status=activities.SUCCESSFUL)
    elif effect is Effect.ABANDONED:
        activities.update(store, scope, rec.get("_activity"), now, status=activities.CANCELLED,
                          message=_abandon_message(rec))
        rec["_actions"] = {}
        fleet.terminate(scope, iid)
    elif effect is Effect.LAUNCH_FAILED:
        activities.update(store, scope, rec.get("_activity"), now, status=activities.FAILED,
                          message=f"Instance {iid} is {ec2} and did not come into service.")
        rec["HealthStatus"] = "Unhealthy"
        rec["_actions"] = {}
        fleet.terminate(scope, iid)
    elif effect is Effect.TERMINATE_EC2:
        rec["_actions"] = {}
        fleet.terminate(scope, iid)
    elif effect is Effect.FORGET:
        activities.update(store, scope, rec.get("_termActivity"), now, status=activities.SUCCESSFUL)


def advance_member(app: App, scope: Scope, fleet: Fleet, group: Doc, rec: Doc, hooks: dict[str, Hook],
                   now: float) -> str:
    """Step one member as far as it can go now; the EC2 state seen."""
    ec2 = fleet.state(scope, rec["InstanceId"])
    if rec["LifecycleState"] in SETTLED and not rec.get("_actions"):
        return ec2  # lifecycle.advance keeps InService and Standby as they are: nothing to step
    hooks_for = {t: any(h.transition == t for h in hooks.values()) for t in lifecycle.TRANSITIONS}
    for _ in range(MAX_STEPS):
        current = LState(rec["LifecycleState"])
        state, effect = lifecycle.advance(current, ec2, hooks_for, _settle_actions(rec, hooks, now))
        if effect is not Effect.NONE:
            _apply(app, scope, fleet, group, rec, effect, ec2, hooks, now)
            if effect in _TERMINATING:
                ec2 = fleet.state(scope, rec["InstanceId"])  # EC2 moved it at once (shutting-down)
        if state is current:
            break
        rec["LifecycleState"] = state.value
        if state is LState.TERMINATED:
            group["_instances"].pop(rec["InstanceId"], None)
            break
    return ec2


def check_health(app: App, scope: Scope, group: Doc, ec2_states: dict[str, str], now: float) -> None:
    if any(p["ProcessName"] == "HealthCheck" for p in group.get("SuspendedProcesses") or []):
        return
    grace = int(group.get("HealthCheckGracePeriod") or 0)
    use_elb = group.get("HealthCheckType") == "ELB" and group.get("TargetGroupARNs")
    for rec in list((group.get("_instances") or {}).values()):
        if rec["LifecycleState"] != LState.IN_SERVICE or rec["HealthStatus"] != "Healthy":
            continue
        if ec2_states.get(rec["InstanceId"]) in lifecycle.EC2_DOWN:
            rec.update(HealthStatus="Unhealthy", _healthSource="EC2", _unhealthyAt=now)
        elif use_elb and now >= float(rec.get("_inServiceAt") or now) + grace:
            if elb_link.health(app, scope, group["TargetGroupARNs"], rec["InstanceId"]) == elb_link.UNHEALTHY:
                rec.update(HealthStatus="Unhealthy", _healthSource="ELB", _unhealthyAt=now)


def next_wake(group: Doc, now: float, fleet: Fleet | None = None, scope: Scope | None = None) -> float | None:
    """Seconds until a member needs looking at again (None: only on events).

    A Pending member whose instance the fleet says will be running at a known
    time is looked at then (not polled every second meanwhile).
    """
    waits: list[float] = []
    for rec in (group.get("_instances") or {}).values():
        state = rec["LifecycleState"]
        if state in (LState.PENDING_WAIT, LState.TERMINATING_WAIT):
            deadline = lifecycle.next_deadline(rec.get("_actions") or {})
            if deadline is not None:
                waits.append(max(0.0, deadline - now))
        elif state == LState.PENDING and fleet is not None and scope is not None:
            ready = fleet.ready_at(scope, rec["InstanceId"])
            waits.append(1.0 if ready is None or ready <= now else ready - now)
        elif state not in SETTLED:
            waits.append(1.0)
    return min(waits) if waits else None
