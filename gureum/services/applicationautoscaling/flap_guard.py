"""The thrashing guard of scalable targets (beyond AWS), around the shared pure
:mod:`gureum.services.autoscaling.flapping`.

:func:`activities.scale_to` — the one way a target's capacity changes — calls
:func:`note_change` after each successful change.  The changes of the window
live in ``applicationautoscaling.flap`` documents (key: the target key,
``{"changes", "warnedAt"}``).  Each change publishes ``ScalingFlapCount``
(namespace ``Gureum/AutoScaling``, dimension ``ResourceId``); past the
threshold (defaults 4 in 3600 s; ``GUREUM_FLAP_THRESHOLD`` /
``GUREUM_FLAP_WINDOW``) a Successful activity whose Description starts
``Thrashing detected:`` and whose Cause names the policy settings to blame,
and a ``gureum status`` warning while it lasts (:func:`health_warnings`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.applicationautoscaling import names
from gureum.services.autoscaling import cooldown, flapping
from gureum.services.autoscaling.flap_guard import METRIC, NAMESPACE, alarm_facts, direction_of
from gureum.services.autoscaling.flapping import Change, PolicyFacts

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]
FLAP = "applicationautoscaling.flap"
Record = Callable[[str, str], object]  # (description, cause) → a Successful activity (its result unused)


def policy_facts(policy: Doc) -> PolicyFacts:
    if policy["PolicyType"] == "TargetTrackingScaling":
        return PolicyFacts(policy["PolicyName"], "both")
    cfg = policy.get("StepScalingPolicyConfiguration") or {}
    steps = [int(s["ScalingAdjustment"]) for s in cfg.get("StepAdjustments") or []]
    seconds = cfg.get("Cooldown")
    return PolicyFacts(policy["PolicyName"], direction_of(steps, cfg.get("AdjustmentType") == "ExactCapacity"),
                       cooldown.AAS_DEFAULT_COOLDOWN if seconds is None else int(seconds))


def diagnose(app: App, scope: Scope, tkey: str, history: list[Change]) -> list[str]:
    policies = [d for _, d in app.store.list(names.POLICY, scope, prefix=tkey + names.SEP)]
    alarms = alarm_facts(app, scope, policies)
    return flapping.diagnose_flapping([policy_facts(p) for p in policies], alarms, history)


def note_change(app: App, scope: Scope, target: Doc, before: int, after: int, record: Record) -> None:
    if before == after:
        return
    now = app.clock.now()
    tkey = names.target_key(target["ServiceNamespace"], target["ScalableDimension"], target["ResourceId"])
    state = app.store.get(FLAP, scope, tkey) or {}
    settings = flapping.settings_from(os.environ)
    kept, flaps, warn = flapping.observe(flapping.from_doc(state.get("changes")), state.get("warnedAt"),
                                         Change(now, before, after), settings)
    state["changes"] = flapping.to_doc(kept)
    from gureum.services.cloudwatch.metrics import publish

    publish(app.store, scope, NAMESPACE, METRIC, float(flaps), dimensions={"ResourceId": target["ResourceId"]},
            unit="Count", timestamp=now)
    if warn:
        state["warnedAt"] = now
        record(flapping.description(flaps, settings),
               flapping.cause(flaps, settings, diagnose(app, scope, tkey, list(kept))))
    app.store.put(FLAP, scope, tkey, state)


def health_warnings(app: App) -> list[str]:
    now = app.clock.now()
    settings = flapping.settings_from(os.environ)
    out = []
    for scope in app.store.list_scopes(FLAP):
        for tkey, state in app.store.list(FLAP, scope):
            if app.store.get(names.TARGET, scope, tkey) is None:
                continue
            flaps = flapping.count_flaps(flapping.from_doc(state.get("changes")), now, settings.window)
            if flaps > settings.threshold:
                resource = names.split_target_key(tkey)[2]
                out.append(f"scalable target {resource} ({scope.account}/{scope.region}) is thrashing: {flaps} "
                           f"direction changes within {settings.window} s (more than {settings.threshold}); "
                           "see DescribeScalingActivities")
    return out
