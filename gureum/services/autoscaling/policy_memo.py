"""What an alarm's call on a scaling policy reads, kept decoded between calls.

A CloudWatch alarm in ALARM calls its Auto Scaling policies every period
(:mod:`policy_exec`), and most calls change nothing; each one used to read
and decode the policy and its group.  Kept here, per store:

* **policies** — the policy an ARN names and its :class:`PolicySpec` (or
  that none is named), until a policy of the store is written or deleted:
  every such write goes through ``policies_api``, which calls
  :func:`policies_changed`; a reset of the store (``SqliteStore.resets``)
  drops them too;
* **groups** — a group document as :mod:`records` last read it from the
  store, under that read's token (:func:`records.read_token`: the same
  object until the group is read again, written through records or
  forgotten).  It serves while the token holds.

Both kinds of document are shared: callers read them and never change them
(a policy run that changes the group changes a copy of its own,
``records.get_group``).  Single-threaded use (the event loop).
"""

from __future__ import annotations

import weakref
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.autoscaling import names, records
from gureum.services.autoscaling.policy_decide import PolicySpec
from gureum.services.autoscaling.scaling_math import Step

Doc = dict[str, Any]
MAX_KEPT = 4096


def spec_of(policy: Doc) -> PolicySpec:
    steps = tuple(Step(s.get("MetricIntervalLowerBound"), s.get("MetricIntervalUpperBound"), int(s["ScalingAdjustment"]))
                  for s in policy.get("StepAdjustments") or [])
    tt = policy.get("TargetTrackingConfiguration") or {}
    return PolicySpec(
        kind=policy["PolicyType"],
        adjustment_type=policy.get("AdjustmentType") or "ChangeInCapacity",
        adjustment=policy.get("ScalingAdjustment"),
        min_magnitude=policy.get("MinAdjustmentMagnitude") or policy.get("MinAdjustmentStep"),
        steps=steps,
        target=tt.get("TargetValue"),
        disable_scale_in=bool(tt.get("DisableScaleIn")),
    )


def find_policy(store: Store, scope: Scope, arn: str) -> Doc | None:
    """The policy an ARN names, read by its key: ``…:autoScalingGroupName/<group>:policyName/<name>``.

    Names may hold ``:policyName/`` themselves, so every split is tried.
    """
    _, found, path = arn.partition(":autoScalingGroupName/")
    marker = ":policyName/"
    at = path.find(marker) if found else -1
    while at >= 0:
        doc = store.get(names.POLICY, scope, names.child_key(path[:at], path[at + len(marker):]))
        if doc is not None and doc.get("PolicyARN") == arn:
            return doc
        at = path.find(marker, at + 1)
    return None


class _Known:
    """The policies of one store decoded since its last policy write: (account, region, ARN) →
    (document, spec), or None for an ARN that names no policy."""

    __slots__ = ("resets", "found")

    def __init__(self, resets: int) -> None:
        self.resets = resets
        self.found: dict[tuple[str, str, str], tuple[Doc, PolicySpec] | None] = {}


_KNOWN: weakref.WeakKeyDictionary[Any, _Known] = weakref.WeakKeyDictionary()


def policies_changed(store: Store) -> None:
    """A policy of ``store`` was written or deleted: policies are read from the store again."""
    _KNOWN.pop(store, None)


def known_policy(store: Store, scope: Scope, arn: str) -> tuple[Doc, PolicySpec] | None:
    """:func:`find_policy` and its spec, kept until a policy is written (see the module docstring).
    The document is shared: read it, never change it."""
    resets = getattr(store, "resets", 0)
    known = _KNOWN.get(store)
    if known is None or known.resets != resets:
        known = _KNOWN[store] = _Known(resets)
    key = (scope.account, scope.region, arn)
    try:
        return known.found[key]
    except KeyError:
        pass
    doc = find_policy(store, scope, arn)
    hit = None if doc is None else (doc, spec_of(doc))
    if len(known.found) >= MAX_KEPT:
        known.found.clear()
    known.found[key] = hit
    return hit


# -- groups ---------------------------------------------------------------------------------------

# (account, region, group) → (records.read_token when it was read, the document then)
_GROUPS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], tuple[object, Doc]]] = \
    weakref.WeakKeyDictionary()


def read_group(store: Store, scope: Scope, name: str) -> tuple[Doc | None, bool]:
    """The group and whether the document is the shared one (see :func:`keep_group`); a document
    that is not shared is the caller's own (``records.get_group``)."""
    kept = _GROUPS.get(store)
    if kept is not None:
        found = kept.get((scope.account, scope.region, name))
        if found is not None and found[0] is records.read_token(store, scope, name):
            return found[1], True
    return records.get_group(store, scope, name), False


def keep_group(store: Store, scope: Scope, name: str, doc: Doc) -> None:
    """Share ``doc`` — just read by ``records.get_group`` and not changed since — while the read's
    token holds."""
    token = records.read_token(store, scope, name)
    if token is None:
        return
    kept = _GROUPS.get(store)
    if kept is None:
        kept = _GROUPS[store] = {}
    elif len(kept) >= MAX_KEPT:
        kept.clear()
    kept[(scope.account, scope.region, name)] = (token, doc)
