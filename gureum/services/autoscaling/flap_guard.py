"""The thrashing guard of Auto Scaling groups (beyond AWS): the adapter around :mod:`flapping`.

The group controller calls :func:`observe_group` at the start of every
reconcile: a desired capacity different from the one it saw last is a
:class:`flapping.Change` (whatever made it — a policy, a scheduled action,
a user).  The changes of the window live on the group (``_flap``:
``{"last", "changes", "warnedAt"}``).  On every change the flap count is
published as ``ScalingFlapCount`` (namespace :data:`NAMESPACE`, dimension
``AutoScalingGroupName``); past the threshold (:mod:`flapping` for the
defaults, the ``GUREUM_FLAP_*`` environment variables and the
``gureum:flap-*`` group tags) a Successful scaling activity is recorded::

    Description: Thrashing detected: 5 scale-out/scale-in direction changes within 3600 s (threshold 4).
    Cause:       The desired capacity changed direction 5 times within 3600 s (more than 4): scale-in
                 threshold 55 is within 10% of scale-out threshold 60 (alarms lo and hi on CPU).

and, while the count stays past the threshold, ``gureum status`` shows a
warning line (:func:`health_warnings`, registered on ``app.health_warnings``).

:func:`alarm_facts` is shared with Application Auto Scaling.  It reads the
alarms of a scope whole once and then keeps what it needs of them (actions,
metric, comparison, threshold, period, evaluation periods, datapoints to
alarm) up to date from the alarms CloudWatch says were written since
(``public.alarms_written_since``), reading them whole again when it cannot
tell (a reset, too many writes ago).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.autoscaling import activities, cooldown, flapping, names
from gureum.services.autoscaling.flapping import AlarmFacts, Change, FlapSettings, PolicyFacts

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]
NAMESPACE = "Gureum/AutoScaling"
METRIC = "ScalingFlapCount"


_SETTINGS: dict[tuple[str | None, ...], FlapSettings] = {}


def settings_of(group: Doc) -> FlapSettings:
    """The group's flap settings (memoised on the raw tag and environment values they come from)."""
    tags = {t["Key"]: str(t.get("Value") or "") for t in group.get("Tags") or []
            if t["Key"] in (flapping.TAG_THRESHOLD, flapping.TAG_WINDOW)}
    env = {k: os.environ[k] for k in (flapping.ENV_THRESHOLD, flapping.ENV_WINDOW) if k in os.environ}
    raw = (tags.get(flapping.TAG_THRESHOLD), tags.get(flapping.TAG_WINDOW),
           env.get(flapping.ENV_THRESHOLD), env.get(flapping.ENV_WINDOW))
    found = _SETTINGS.get(raw)
    if found is None:
        if len(_SETTINGS) > 256:
            _SETTINGS.clear()
        found = _SETTINGS[raw] = flapping.settings_from(env, tags)
    return found


def direction_of(adjustments: list[int], exact: bool) -> str:
    if exact or not adjustments:
        return "both"
    if all(a > 0 for a in adjustments):
        return "out"
    if all(a < 0 for a in adjustments):
        return "in"
    return "both"


_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
_FACT_KEYS = ("AlarmName", "Namespace", "MetricName", "ComparisonOperator", "Threshold", "Period",
              "EvaluationPeriods", "DatapointsToAlarm")


@dataclass(slots=True)
class _Alarms:
    """What :func:`alarm_facts` reads of a scope's alarms that have actions, as of ``mark``."""

    mark: tuple[int, int]  # CloudWatch's mark of the alarm writes seen
    by_name: dict[str, tuple[frozenset[str], Doc]]  # alarm name → (the ARNs it calls, its fact keys)


_ALARMS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], _Alarms]] = weakref.WeakKeyDictionary()


def _slim(alarm: Doc) -> tuple[frozenset[str], Doc] | None:
    called = frozenset(arn for k in _ACTIONS for arn in alarm.get(k) or [])
    return (called, {k: alarm.get(k) for k in _FACT_KEYS}) if called else None


def _alarms(app: App, scope: Scope) -> dict[str, tuple[frozenset[str], Doc]]:
    """The scope's alarms with actions: read whole once, then kept up to date from the alarms
    CloudWatch says were written since (read whole again when it cannot tell)."""
    from gureum.services.cloudwatch import public as cloudwatch

    per_scope = _ALARMS.get(app.store)
    if per_scope is None:
        per_scope = _ALARMS[app.store] = {}
    known = per_scope.get((scope.account, scope.region))
    mark, written = cloudwatch.alarms_written_since(app, None if known is None else known.mark)
    if known is None or written is None:  # (the mark is taken before the read: later writes are seen next time)
        slim = ((a["AlarmName"], _slim(a)) for a in cloudwatch.alarms(app, scope))
        known = per_scope[(scope.account, scope.region)] = _Alarms(mark, {n: s for n, s in slim if s})
        return known.by_name
    for (account, region, name), alarm in written.items():
        if (account, region) != (scope.account, scope.region):
            continue
        found = None if alarm is None else _slim(alarm)
        if found is None:
            known.by_name.pop(name, None)
        else:
            known.by_name[name] = found
    known.mark = mark
    return known.by_name


def alarm_facts(app: App, scope: Scope, policies: Sequence[Doc]) -> list[AlarmFacts]:
    """The CloudWatch alarms that call each policy, as :class:`AlarmFacts` (alarms without a threshold
    left out), each policy's in alarm name order."""
    alarms = sorted(_alarms(app, scope).items())
    out = []
    for p in policies:
        for _, (called, a) in alarms:
            if p["PolicyARN"] not in called or a.get("Threshold") is None:
                continue
            metric = f"{a.get('Namespace')}/{a.get('MetricName')}" if a.get("MetricName") else "metric math"
            out.append(AlarmFacts(a["AlarmName"], p["PolicyName"], metric, a["ComparisonOperator"],
                                  float(a["Threshold"]), int(a.get("Period") or 60),
                                  int(a.get("EvaluationPeriods") or 1), a.get("DatapointsToAlarm")))
    return out


def policy_facts(group: Doc, policy: Doc) -> PolicyFacts:
    kind = policy["PolicyType"]
    exact = policy.get("AdjustmentType") == "ExactCapacity"
    if kind == "SimpleScaling":
        warm = group.get("DefaultInstanceWarmup")
        return PolicyFacts(policy["PolicyName"], direction_of([int(policy.get("ScalingAdjustment") or 0)], exact),
                           cooldown.cooldown_seconds(policy.get("Cooldown"), group.get("DefaultCooldown")),
                           None if warm is None else int(warm))
    if kind == "StepScaling":
        steps = [int(s["ScalingAdjustment"]) for s in policy.get("StepAdjustments") or []]
        return PolicyFacts(policy["PolicyName"], direction_of(steps, exact))
    return PolicyFacts(policy["PolicyName"], "both")


def diagnose(app: App, scope: Scope, group: Doc, history: list[Change]) -> list[str]:
    name = group["AutoScalingGroupName"]
    policies = [d for _, d in app.store.list(names.POLICY, scope, prefix=f"{name}/")]
    facts = [policy_facts(group, p) for p in policies]
    alarms = alarm_facts(app, scope, policies)
    return flapping.diagnose_flapping(facts, alarms, history)


def observe_group(app: App, scope: Scope, group: Doc, now: float) -> None:
    """Note a change of the desired capacity since the last look; warn when the group thrashes."""
    state = group.setdefault("_flap", {})
    desired = int(group["DesiredCapacity"])
    last = state.get("last")
    state["last"] = desired
    if last is None or int(last) == desired:
        return
    settings = settings_of(group)
    kept, flaps, warn = flapping.observe(flapping.from_doc(state.get("changes")), state.get("warnedAt"),
                                         Change(now, int(last), desired), settings)
    state["changes"] = flapping.to_doc(kept)
    from gureum.services.cloudwatch.metrics import publish

    publish(app.store, scope, NAMESPACE, METRIC, float(flaps),
            dimensions={"AutoScalingGroupName": group["AutoScalingGroupName"]}, unit="Count", timestamp=now)
    if warn:
        state["warnedAt"] = now
        hints = diagnose(app, scope, group, list(kept))
        activities.start(app.store, scope, group, flapping.description(flaps, settings),
                         flapping.cause(flaps, settings, hints), now, status=activities.SUCCESSFUL,
                         details={"FlapCount": str(flaps), "Hints": " | ".join(hints)})


def health_warnings(app: App) -> list[str]:
    """One line per group thrashing now (its flap count within the window is past the threshold)."""
    now = app.clock.now()
    out = []
    for scope in app.store.list_scopes(names.GROUP):
        for name, group in app.store.list(names.GROUP, scope):
            state = group.get("_flap") or {}
            if not state.get("changes"):
                continue
            settings = settings_of(group)
            flaps = flapping.count_flaps(flapping.from_doc(state["changes"]), now, settings.window)
            if flaps > settings.threshold:
                out.append(f"autoscaling group {name} ({scope.account}/{scope.region}) is thrashing: {flaps} "
                           f"direction changes within {settings.window} s (more than {settings.threshold}); "
                           "see DescribeScalingActivities")
    return out
