"""The group controller: makes each Auto Scaling group's instances real.

One reconcile of ``account|region|group`` (synchronous — every call it makes
returns at once — so no handler can change the group half-way):

1. run the scheduled actions that are due (:mod:`scheduled_api`), then let
   the thrashing guard (:mod:`flap_guard`) note a change of the desired
   capacity since the last reconcile;
2. move every member along its lifecycle and hooks (:mod:`member_steps`),
   then check its health (EC2 state; target health with ``ELB``);
3. move the group's instance refresh along (:mod:`refresh`: old instances
   out, replacements in, in batches), then ask
   :func:`group_reconcile.decide` what to launch and take out, and do it
   (:mod:`member_ops`), each launch and termination a scaling activity whose
   cause is the group's last desired-capacity change plus what was done
   (the lifecycle hooks are read only when a member may step);
4. note when a simple-scaling cooldown may start (the group has settled);
5. publish the enabled group metrics (AWS/AutoScaling) once a minute;
6. save (the group, its refresh and the reconcile's scaling activities —
   held until then, :class:`activities.Batch` — in one transaction), and come back when
   something is due (members in flight — a pending one when the fleet says
   its instance boots, if it can tell —, a hook timeout, a scheduled action,
   the next metrics minute, the refresh's next batch or checkpoint).

A reconcile runs outside any store transaction (the runner calls it so):
what it reads and keeps (:mod:`journal`) is committed, and its writes
before the save are committed when they return.

A group being force-deleted has every member taken out without hooks and
disappears (with its policies, their alarms, hooks and scheduled actions)
once the last one is gone.  The controller is woken by handlers, by EC2
instance state changes (a killed instance stops → unhealthy → replaced), and
by a resync every :data:`RESYNC` seconds.  A launch EC2 refuses is a Failed
activity, retried with a growing back-off.
"""

from __future__ import annotations

import logging
import math
import random
import weakref
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.autoscaling import (
    activities,
    flap_guard,
    group_reconcile,
    journal,
    lifecycle,
    member_ops,
    member_steps,
    names,
    policy_exec,
    records,
    refresh,
    scheduled_api,
)
from gureum.services.autoscaling.fleet import Fleet, fleet_for
from gureum.services.autoscaling.group_reconcile import Why
from gureum.services.autoscaling.lifecycle import LState

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.autoscaling")

Doc = dict[str, Any]
RESYNC = 10.0
BACKOFF = (10.0, 300.0)
EC2_STATE_TOPIC = "ec2.instance.state"
RESET_TOPIC = "gureum.reset"  # App.reset: the store was emptied


def forget_group(app: App, scope: Scope, name: str) -> None:
    """Delete a group and everything that hangs on it (its activities stay, as on AWS)."""
    from gureum.services.autoscaling.policies_api import drop_group_policies

    drop_group_policies(app, scope, name)
    for kind in (names.HOOK, names.SCHEDULED, names.REFRESH):
        for key, _ in app.store.list(kind, scope, prefix=f"{name}/"):
            app.store.delete(kind, scope, key)
    app.store.delete(names.REFRESH_ACTIVE, scope, name)
    for kind in (names.HOOK, names.SCHEDULED, names.REFRESH_ACTIVE):
        journal.wrote(app.store, kind, scope, name)
    records.delete_group(app.store, scope, name)


def _spec(app: App, scope: Scope, group: Doc, configs: bool) -> group_reconcile.GroupSpec:
    return group_reconcile.GroupSpec(
        desired=int(group["DesiredCapacity"]), max_size=int(group["MaxSize"]),
        zones=tuple(group.get("AvailabilityZones") or ()),
        suspended=frozenset(p["ProcessName"] for p in group.get("SuspendedProcesses") or []),
        termination_policies=tuple(group.get("TerminationPolicies") or ("Default",)),
        current=records.current_config(app.store, scope, group) if configs else None)


def _members(app: App, scope: Scope, group: Doc, configs: bool) -> list[group_reconcile.Member]:
    return [group_reconcile.Member(
        m["InstanceId"], m["AvailabilityZone"], m["LifecycleState"], m["HealthStatus"] == "Healthy",
        bool(m.get("ProtectedFromScaleIn")), float(m.get("_launchedAt") or 0.0),
        records.member_config(app.store, scope, m) if configs else None, m.get("_launchedFor") or Why.CAPACITY.value,
    ) for m in records.members(group)]


def _plan(app: App, scope: Scope, group: Doc, now: float, rng: random.Random) -> group_reconcile.Plan:
    """:func:`group_reconcile.decide` on the group; the launch configurations (store reads) are
    looked up only when members may have to be chosen for termination (more active than desired)."""
    active = sum(1 for m in records.members(group) if m["LifecycleState"] in lifecycle.ACTIVE_STATES)
    configs = active > int(group["DesiredCapacity"])
    return group_reconcile.decide(_spec(app, scope, group, configs), _members(app, scope, group, configs), now, rng)


class GroupController:
    def __init__(self, app: App) -> None:
        self.app = app
        self.rng = random.Random()

    def keys(self) -> list[str]:
        store = self.app.store
        return [names.scoped_key(scope, name) for scope in store.list_scopes(names.GROUP)
                for name, _ in store.list(names.GROUP, scope)]

    def on_instance_state(self, _topic: str, payload: dict[str, Any]) -> None:
        scope, iid = payload.get("scope"), payload.get("instanceId")
        if not isinstance(scope, Scope) or not iid:
            return
        for group in records.all_groups(self.app.store, scope):
            if iid in (group.get("_instances") or {}):
                self.app.runner.enqueue(names.CONTROLLER, names.scoped_key(scope, group["AutoScalingGroupName"]))
                return

    async def reconcile(self, key: str) -> Requeue | None:
        return self.reconcile_now(key)

    def reconcile_now(self, key: str) -> Requeue | None:
        scope, name = names.split_key(key)
        group = records.get_group(self.app.store, scope, name)
        if group is None:
            return None
        with activities.batch(self.app.store) as held:
            return self._reconcile(scope, name, group, held)

    def _reconcile(self, scope: Scope, name: str, group: Doc, held: activities.Batch) -> Requeue | None:
        now = self.app.clock.now()
        fleet = fleet_for(self.app)
        waits: list[float | None] = []
        if not group.get("_deleting"):
            if self._has_scheduled(scope, name):
                due = scheduled_api.run_due(self.app, scope, group, now)
                waits.append(None if due is None else due - now)
            flap_guard.observe_group(self.app, scope, group, now)
        hooks = self._hooks(scope, group) if member_steps.needs_hooks(group) else None
        ec2 = {rec["InstanceId"]: member_steps.advance_member(self.app, scope, fleet, group, rec, hooks or {}, now)
               for rec in records.members(group)}
        member_steps.check_health(self.app, scope, group, ec2, now)
        stepped = refresh.step(self.app, scope, fleet, group, now)
        waits.append(stepped.wake)
        waits.append(self._act(scope, fleet, group, now))
        for rec in records.members(group):  # take the members just taken out as far as they go
            if rec["LifecycleState"] == LState.TERMINATING:
                if hooks is None:
                    hooks = self._hooks(scope, group)
                member_steps.advance_member(self.app, scope, fleet, group, rec, hooks, now)
        if group.get("_deleting") and not records.members(group):
            forget_group(self.app, scope, name)
            return None
        self._settle_cooldown(group, now)
        waits.append(self._publish_metrics(scope, group, now))
        waits.append(member_steps.next_wake(group, now, fleet, scope))
        with self.app.store.transaction():
            held.flush()
            written = records.save_group(self.app.store, scope, group)
            stepped.save()
        records.committed(self.app.store, scope, name, written)
        soon = [w for w in waits if w is not None]
        return Requeue(max(0.05, min(soon))) if soon else None

    def _hooks(self, scope: Scope, group: Doc) -> dict[str, lifecycle.Hook]:
        store, name = self.app.store, group["AutoScalingGroupName"]
        hooks = journal.cached(store, names.HOOK, scope, name, lambda: tuple(records.hooks(store, scope, name)))
        return {h.name: h for h in hooks}

    def _has_scheduled(self, scope: Scope, name: str) -> bool:
        store = self.app.store
        return journal.cached(store, names.SCHEDULED, scope, name,
                              lambda: store.count(names.SCHEDULED, scope, f"{name}/") > 0)

    # -- acting on the plan -----------------------------------------------------------------------

    def _act(self, scope: Scope, fleet: Fleet, group: Doc, now: float) -> float | None:
        if group.get("_deleting"):  # ForceDelete: no lifecycle hooks, outstanding actions dropped
            for rec in records.members(group):
                if rec["LifecycleState"] in lifecycle.ACTIVE_STATES:
                    member_ops.take_out(self.app, scope, group, rec, activities.delete_sentence(now), now)
                if rec["LifecycleState"] in (LState.TERMINATING, LState.TERMINATING_WAIT):
                    rec.update(LifecycleState=LState.TERMINATING_PROCEED.value, _actions={})
                    fleet.terminate(scope, rec["InstanceId"])
            return None
        plan = _plan(self.app, scope, group, now, self.rng)
        cause = group.pop("_cause", None) or ""
        instances = group["_instances"]
        sick = {r.instance_id for r in plan.removals if r.why is Why.UNHEALTHY}
        before = sum(1 for m in records.active_members(group) if m["InstanceId"] not in sick)
        for removal in plan.removals:
            rec = instances[removal.instance_id]
            if removal.why is Why.UNHEALTHY:
                text = activities.unhealthy_sentence(rec["InstanceId"], rec.get("_healthSource") or "EC2", now)
            else:
                text = activities.join(cause, activities.shrink_sentence(before, int(group["DesiredCapacity"]),
                                                                         rec["InstanceId"], now))
            member_ops.take_out(self.app, scope, group, rec, text, now)
        return self._launch(scope, fleet, group, plan.launches, cause, now)

    def _launch(self, scope: Scope, fleet: Fleet, group: Doc, launches: tuple[group_reconcile.Launch, ...],
                cause: str, now: float) -> float | None:
        if not launches:
            return None
        backoff = group.get("_launchBackoff") or {}
        until = float(backoff.get("until") or 0)
        if until > now:
            return until - now
        before = len(records.active_members(group))
        desired = int(group["DesiredCapacity"])
        for launch in launches:
            rebalance = launch.why is Why.REBALANCE
            text = activities.join("" if rebalance else cause,
                                   activities.launch_sentence(before, desired, now, rebalance))
            try:
                member_ops.launch_one(self.app, scope, fleet, group, launch.zone, text, launch.why.value, now)
            except member_ops.LaunchRefused as exc:
                tries = int(backoff.get("tries") or 0) + 1
                delay = float(min(BACKOFF[1], BACKOFF[0] * 2 ** (tries - 1)))
                group["_launchBackoff"] = {"until": now + delay, "tries": tries}
                log.info("group %s: launch refused (%s); retry in %.0fs", group["AutoScalingGroupName"],
                         exc.message, delay)
                return delay
        group.pop("_launchBackoff", None)
        return None

    # -- bookkeeping ------------------------------------------------------------------------------

    def _settle_cooldown(self, group: Doc, now: float) -> None:
        state = group.get("_cooldown")
        if not state or state.get("settledAt") is not None:
            return
        members = records.members(group)
        if all(m["LifecycleState"] == LState.IN_SERVICE for m in members) \
                and len(members) == int(group["DesiredCapacity"]):
            state["settledAt"] = now

    def _publish_metrics(self, scope: Scope, group: Doc, now: float) -> float | None:
        enabled = [m["Metric"] for m in group.get("EnabledMetrics") or []]
        if not enabled:
            return None
        minute = math.floor(now / 60) * 60
        if float(group.get("_metricsAt") or 0) < minute:
            from gureum.services.cloudwatch.metrics import publish

            values = group_metrics(group)
            dims = {"AutoScalingGroupName": group["AutoScalingGroupName"]}
            for metric in enabled:
                publish(self.app.store, scope, "AWS/AutoScaling", metric, float(values[metric]), dimensions=dims,
                        timestamp=now)
            group["_metricsAt"] = minute
        return minute + 60 + 1 - now


def group_metrics(group: Doc) -> dict[str, int]:
    members = records.members(group)
    in_service = sum(m["LifecycleState"] == LState.IN_SERVICE for m in members)
    pending = sum(m["LifecycleState"] in lifecycle.LAUNCH_STATES for m in members)
    leaving = sum(m["LifecycleState"] in lifecycle.LEAVING_STATES for m in members)
    standby = sum(m["LifecycleState"] == LState.STANDBY for m in members)
    total = in_service + pending + leaving + standby
    out = {"GroupMinSize": int(group["MinSize"]), "GroupMaxSize": int(group["MaxSize"]),
           "GroupDesiredCapacity": int(group["DesiredCapacity"]), "GroupInServiceInstances": in_service,
           "GroupPendingInstances": pending, "GroupStandbyInstances": standby,
           "GroupTerminatingInstances": leaving, "GroupTotalInstances": total}
    out.update({k.replace("Instances", "Capacity"): v for k, v in list(out.items()) if k.endswith("Instances")})
    return out


_CONTROLLERS: weakref.WeakKeyDictionary[Any, GroupController] = weakref.WeakKeyDictionary()


def controller_for(app: App) -> GroupController:
    ctl = _CONTROLLERS.get(app)
    if ctl is None:
        ctl = _CONTROLLERS[app] = GroupController(app)
    return ctl


def start(app: App) -> None:
    """Register the group controller and the bus subscriptions (ServiceApi start-up hook)."""
    ctl = controller_for(app)
    app.runner.register(names.CONTROLLER, ctl.reconcile, list_keys=ctl.keys, period=RESYNC)
    app.bus.subscribe(EC2_STATE_TOPIC, ctl.on_instance_state)
    app.bus.subscribe(RESET_TOPIC, lambda _topic, _payload: records.forget(app.store))
    policy_exec.subscribe(app)
    app.health_warnings.append(lambda: flap_guard.health_warnings(app))
