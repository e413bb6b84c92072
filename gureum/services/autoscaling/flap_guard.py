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

:func:`alarm_facts` is shared with Application Auto Scaling.  It keeps its
answer per set of policies and reads every alarm again only when CloudWatch
says an alarm written since changed what it reads (its actions, metric,
comparison, threshold, period, evaluation periods, datapoints to alarm), or
cannot tell (``public.alarms_written_since``).
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
_FACT_KEYS = ("Namespace", "MetricName", "ComparisonOperator", "Threshold", "Period", "EvaluationPeriods",
              "DatapointsToAlarm")


def _what_counts(alarm: Doc | None, arns: frozenset[str]) -> tuple[Any, ...] | None:
    """What :func:`alarm_facts` reads of an alarm calling one of ``arns`` (None: it calls none)."""
    if alarm is None:
        return None
    called = arns.intersection(arn for k in _ACTIONS for arn in alarm.get(k) or [])
    if not called:
        return None
    return (tuple(sorted(called)), *(alarm.get(k) for k in _FACT_KEYS))


@dataclass(slots=True)
class _Known:
    mark: tuple[int, int]  # cloudwatch's mark of the alarm writes seen
    counts: dict[str, tuple[Any, ...]]  # alarm name → what counts of it (the alarms calling the policies)
    facts: list[AlarmFacts]


_KNOWN: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, tuple[tuple[str, str], ...]], _Known]] = \
    weakref.WeakKeyDictionary()


def alarm_facts(app: App, scope: Scope, policies: Sequence[Doc]) -> list[AlarmFacts]:
    """The CloudWatch alarms that call each policy, as :class:`AlarmFacts` (alarms without a threshold left out).

    The answer is kept per policies and asked again (every alarm read) only when an alarm written
    since changed what counts here (:func:`_what_counts`) or CloudWatch cannot tell what was written."""
    from gureum.services.cloudwatch import public as cloudwatch

    known_of = _KNOWN.get(app.store)
    if known_of is None:
        known_of = _KNOWN[app.store] = {}
    key = (scope.account, scope.region, tuple((p["PolicyARN"], p["PolicyName"]) for p in policies))
    arns = frozenset(p["PolicyARN"] for p in policies)
    known = known_of.get(key)
    mark, written = cloudwatch.alarms_written_since(app, None if known is None else known.mark)
    if known is not None and written is not None and all(
            _what_counts(alarm, arns) == known.counts.get(name)
            for (account, region, name), alarm in written.items() if (account, region) == key[:2]):
        known.mark = mark
        return list(known.facts)
    calling = cloudwatch.alarms_calling(app, scope, [p["PolicyARN"] for p in policies])
    out, counts = [], {}
    for p in policies:
        for a in calling[p["PolicyARN"]]:
            counts[a["AlarmName"]] = _what_counts(a, arns)
            if a.get("Threshold") is None:
                continue
            metric = f"{a.get('Namespace')}/{a.get('MetricName')}" if a.get("MetricName") else "metric math"
            out.append(AlarmFacts(a["AlarmName"], p["PolicyName"], metric, a["ComparisonOperator"],
                                  float(a["Threshold"]), int(a.get("Period") or 60),
                                  int(a.get("EvaluationPeriods") or 1), a.get("DatapointsToAlarm")))
    if len(known_of) > 1024:
        known_of.clear()
    known_of[key] = _Known(mark, counts, out)
    return list(out)


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
