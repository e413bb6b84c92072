"""Running a scaling policy: when its CloudWatch alarm calls, or ExecutePolicy.

CloudWatch dispatches alarm actions on the bus (``cloudwatch.alarm_action``,
re-invoked every period while the alarm stays in ALARM); :func:`on_alarm_action`
picks the ones whose ARN is one of our policies.  :func:`run_policy` reads the
group, works out the capacity the policy may count on (:mod:`cooldown`) and
asks the pure :func:`policy_decide.decide`; a change of the desired capacity
is written with its cause and the group controller is woken.  Nothing else
happens here: the controller launches and terminates.

Suspending ``AlarmNotification`` makes the group ignore its alarms.

An alarm calls the same policies every period and most calls change
nothing, so :func:`on_alarm_action` takes the policy (and its spec) and the
group from :mod:`policy_memo` (kept decoded while current) and reads the
group from the store again only to change it.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope, Store
from gureum.services.autoscaling import activities, cooldown, lifecycle, names, records
from gureum.services.autoscaling.policy_decide import (
    SIMPLE,
    Capacity,
    Outcome,
    Trigger,
    decide,
)
from gureum.services.autoscaling.policy_memo import find_policy as find_policy  # re-exported
from gureum.services.autoscaling.policy_memo import keep_group, known_policy, read_group, spec_of

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.autoscaling.policies")

Doc = dict[str, Any]
ACTION_TOPIC = "cloudwatch.alarm_action"


def cooldown_block(store: Store, scope: Scope, group: Doc, now: float) -> str | None:
    """Why a simple policy (or HonorCooldown) must wait now, or None."""
    state = group.get("_cooldown")
    if not state:
        return None
    settled = state.get("settledAt")
    wait = cooldown.simple_wait(settled, int(state["seconds"]), settled is None, now)
    if wait is None:
        return None
    if math.isinf(wait):
        running = activities.in_progress(store, scope, group["AutoScalingGroupName"])
        if running:
            return f"Scaling activity {running[-1]['ActivityId']} is in progress and blocks this action"
        return "A scaling activity is in progress and blocks this action"
    return (f"The group {group['AutoScalingGroupName']} is in its cooldown period until "
            f"{names.iso(float(settled) + int(state['seconds']))}.")


_IN_SERVICE = lifecycle.LState.IN_SERVICE.value


def warm_capacity(group: Doc, warmup: int, now: float) -> int:
    """Members InService past their warm-up: what step and target tracking count as capacity."""
    warm = 0
    for m in (group.get("_instances") or {}).values():  # records.members
        if m["LifecycleState"] == _IN_SERVICE and m.get("HealthStatus") == "Healthy" \
                and not cooldown.is_warming(m.get("_inServiceAt"), warmup, now):
            warm += 1
    return warm


def capacity(store: Store, scope: Scope, group: Doc, policy: Doc, now: float, honor_cooldown: bool) -> Capacity:
    """What the policy may count on: capacity still launching or warming up is not counted when
    scaling out (the desired capacity already holds it), and blocks scaling in."""
    desired, low, high = int(group["DesiredCapacity"]), int(group["MinSize"]), int(group["MaxSize"])
    if policy["PolicyType"] == SIMPLE:
        blocked = cooldown_block(store, scope, group, now) if honor_cooldown else None
        return Capacity(desired, low, high, simple_blocked=blocked)
    warmup = cooldown.warmup_seconds(group.get("DefaultInstanceWarmup"), policy.get("EstimatedInstanceWarmup"),
                                     group.get("DefaultCooldown"))
    warm = min(desired, warm_capacity(group, warmup, now))
    coming = desired - warm
    return Capacity(desired, low, high, base_out=warm,
                    in_blocked=f"{coming} instance(s) are launching or warming up" if coming else None)


def run_policy(app: App, scope: Scope, policy: Doc, trigger: Trigger, *, who: str,
               honor_cooldown: bool = True, group: Doc | None = None) -> Outcome:
    """Apply one policy to its group now; the outcome (also when nothing changes).

    ``group``: the group document if the caller just read it (it is changed and saved here).
    """
    store = app.store
    if group is None:
        group = records.get_group(store, scope, policy["AutoScalingGroupName"])
    if group is None or group.get("_deleting"):
        return Outcome(None, "the group is gone")
    now = app.clock.now()
    outcome = decide(spec_of(policy), capacity(store, scope, group, policy, now, honor_cooldown), trigger)
    log.debug("policy %s: %s", policy["PolicyName"], outcome)
    if outcome.desired is not None:
        _apply(app, scope, policy, group, outcome.desired, who, now)
    return outcome


def _apply(app: App, scope: Scope, policy: Doc, group: Doc, desired: int, who: str, now: float) -> None:
    """The new desired capacity written with its cause; the group controller woken."""
    before = int(group["DesiredCapacity"])
    group["DesiredCapacity"] = desired
    group["_cause"] = activities.desired_cause(who, before, desired, now)
    if policy["PolicyType"] == SIMPLE:
        seconds = cooldown.cooldown_seconds(policy.get("Cooldown"), group.get("DefaultCooldown"))
        group["_cooldown"] = {"seconds": seconds, "settledAt": None}
    records.save_group(app.store, scope, group)
    records.enqueue(app, scope, group["AutoScalingGroupName"])


def on_alarm_action(app: App, payload: dict[str, Any]) -> None:
    """:func:`run_policy` for an alarm's call, from the policy and group :mod:`policy_memo` keeps
    (the group is read from the store again only to be changed)."""
    arn = str(payload.get("arn") or "")
    if ":scalingPolicy:" not in arn or ":autoScalingGroupName/" not in arn:
        return
    store = app.store
    scope = Scope(str(payload.get("account") or ""), str(payload.get("region") or ""))
    found = known_policy(store, scope, arn)
    if found is None:
        return
    policy, spec = found
    if policy.get("Enabled") is False:
        return
    name = policy["AutoScalingGroupName"]
    group, shared = read_group(store, scope, name)
    if group is None:
        return
    if any(p["ProcessName"] == "AlarmNotification" for p in group.get("SuspendedProcesses") or []):
        return
    if group.get("_deleting"):
        return  # run_policy: "the group is gone"
    state = str(payload.get("state") or "")
    trigger = Trigger(state, payload.get("value"), payload.get("threshold"))
    now = app.clock.now()
    outcome = decide(spec, capacity(store, scope, group, policy, now, True), trigger)
    log.debug("policy %s: %s", policy["PolicyName"], outcome)
    if outcome.desired is None:
        if not shared:
            keep_group(store, scope, name, group)  # read, not changed
        return
    if shared:
        group = records.get_group(store, scope, name)  # a copy of our own to change
        assert group is not None
    who = f"a monitor alarm {payload.get('alarm')} in state {state} triggered policy {policy['PolicyName']}"
    _apply(app, scope, policy, group, outcome.desired, who, now)


def subscribe(app: App) -> None:
    app.bus.subscribe(ACTION_TOPIC, lambda _topic, payload: on_alarm_action(app, payload))
