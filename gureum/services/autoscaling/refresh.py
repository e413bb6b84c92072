"""The effectful step of an instance refresh, called by the group controller.

:func:`step` finds the group's active refresh (kind :data:`names.REFRESH`),
asks :func:`refresh_core.decide` what to do, and does it on the group
document in memory: takes the chosen instances out (``Terminating``, with
AWS's "taken out of service in response to an instance refresh" activity)
and launches one replacement for each in the same zone, from the refresh's
configuration ("launched in response to an instance refresh").  Because the
replacement is launched at once, :func:`group_reconcile.decide` sees the
capacity whole and launches nothing itself.  On success a
``DesiredConfiguration`` becomes the group's launch template.

A refresh record keeps its private progress (``_track``, ``_target``,
``_launch``) next to what DescribeInstanceRefreshes shows; the step returns
a :class:`Stepped` whose :meth:`~Stepped.save` the controller calls in the
same transaction as the group's save, so a crash never separates the two.
Everything else is derived from the members, so a restart picks up where
the last saved step left off.

The group's active refresh is found through a pointer (kind
:data:`names.REFRESH_ACTIVE`, keyed by the group's name) written with the
refresh by StartInstanceRefresh and deleted in the save that ends it, so a
reconcile of a group without a refresh costs one point read, not a listing —
and none while the pointer was not written since (:mod:`journal`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope, Store
from gureum.services.autoscaling import (
    activities,
    journal,
    member_ops,
    names,
    records,
    refresh_core,
)
from gureum.services.autoscaling.fleet import Fleet
from gureum.services.autoscaling.lifecycle import LAUNCH_STATES
from gureum.services.autoscaling.refresh_core import Action, Preferences, Track, Unit
from gureum.services.autoscaling.termination import Config

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]
KEEP = 50
HOLDING_PROCESSES = ("InstanceRefresh", "Launch", "Terminate")


def refresh_key(group: str, start: float, refresh_id: str) -> str:
    return f"{group}/{int(start * 1000):015d}/{refresh_id}"


def listing(store: Store, scope: Scope, group: str) -> list[tuple[str, Doc]]:
    """The group's refreshes, newest first."""
    found = store.list(names.REFRESH, scope, prefix=f"{group}/")
    return sorted(found, key=lambda kv: kv[0], reverse=True)


def active(store: Store, scope: Scope, group: str) -> tuple[str, Doc] | None:
    """The group's active refresh (key and record), or None."""
    key = journal.cached(store, names.REFRESH_ACTIVE, scope, group, lambda: _pointer(store, scope, group))
    if key is None:
        return None
    doc = store.get(names.REFRESH, scope, key)
    return None if doc is None or doc["Status"] not in refresh_core.ACTIVE else (key, doc)


def _pointer(store: Store, scope: Scope, group: str) -> str | None:
    pointer = store.get(names.REFRESH_ACTIVE, scope, group)
    return None if pointer is None else str(pointer["key"])


def begin(store: Store, scope: Scope, group: str, key: str, doc: Doc) -> None:
    """Record a new refresh as the group's active one (one transaction)."""
    with store.transaction():
        store.put(names.REFRESH, scope, key, doc)
        store.put(names.REFRESH_ACTIVE, scope, group, {"key": key})
        journal.wrote(store, names.REFRESH_ACTIVE, scope, group)


def _save(store: Store, scope: Scope, group: str, key: str, doc: Doc) -> None:
    store.put(names.REFRESH, scope, key, doc)
    if doc["Status"] not in refresh_core.ACTIVE:
        store.delete(names.REFRESH_ACTIVE, scope, group)
        journal.wrote(store, names.REFRESH_ACTIVE, scope, group)


def trim(store: Store, scope: Scope, group: str) -> None:
    for key, _ in listing(store, scope, group)[KEEP:]:
        store.delete(names.REFRESH, scope, key)


def prefs_of(doc: Doc) -> Preferences:
    p = doc["_prefs"]
    return Preferences(**{**p, "checkpoints": tuple(p["checkpoints"])})


def prefs_doc(prefs: Preferences) -> Doc:
    return asdict(prefs)


@dataclass
class Stepped:
    """What a step changed: seconds until it is due again, and the refresh record to save."""

    wake: float | None = None
    writes: list[Callable[[], None]] = field(default_factory=list)

    def save(self) -> None:
        for write in self.writes:
            write()


def _units(store: Store, scope: Scope, group: Doc, target: Config | None) -> list[Unit]:
    return [Unit(m["InstanceId"], m["LifecycleState"], m["HealthStatus"] == "Healthy",
                 float(m.get("_launchedAt") or 0.0), m.get("_inServiceAt"),
                 target is not None and target.same(records.member_config(store, scope, m)),
                 bool(m.get("ProtectedFromScaleIn"))) for m in records.members(group)]


def _held(group: Doc) -> str:
    suspended = {p["ProcessName"] for p in group.get("SuspendedProcesses") or []}
    held = [p for p in HOLDING_PROCESSES if p in suspended]
    return f"Waiting: the {', '.join(held)} process(es) of the group are suspended." if held else ""


def _finish(doc: Doc, status: str, reason: str, now: float) -> None:
    doc.update(Status=status, StatusReason=reason, EndTime=now)


def _show_progress(doc: Doc, prog: refresh_core.Progress) -> None:
    done = {"PercentageComplete": prog.percent, "InstancesToUpdate": prog.to_update}
    doc.update(done)
    doc["ProgressDetails"] = {"LivePoolProgress": dict(done)}


def _adopt_configuration(group: Doc, doc: Doc) -> None:
    """A successful refresh's DesiredConfiguration becomes the group's launch template."""
    wanted = (doc.get("DesiredConfiguration") or {}).get("LaunchTemplate")
    launch = doc.get("_launch")
    if not wanted or not launch:
        return
    shown = {"LaunchTemplateId": launch["LaunchTemplateId"], "LaunchTemplateName": launch["LaunchTemplateName"],
             "Version": str(wanted.get("Version") or "$Default")}
    if group.get("MixedInstancesPolicy"):
        group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"] = shown
    else:
        group.pop("LaunchConfigurationName", None)
        group["LaunchTemplate"] = shown
    group["_template"] = {"LaunchTemplateId": launch["LaunchTemplateId"], "Version": int(launch["Version"])}


def _replace(app: App, scope: Scope, fleet: Fleet, group: Doc, doc: Doc, ids: tuple[str, ...],
             now: float) -> str | None:
    """Take ``ids`` out and launch one replacement each; the reason it failed, if it did."""
    launch = doc.get("_launch")
    template = None if not launch else {"LaunchTemplateId": launch["LaunchTemplateId"],
                                        "Version": str(launch["Version"])}
    for iid in ids:
        rec = group["_instances"][iid]
        member_ops.take_out(app, scope, group, rec, activities.refresh_take_out_sentence(iid, now), now)
        try:
            member_ops.launch_one(app, scope, fleet, group, rec["AvailabilityZone"],
                                  activities.refresh_launch_sentence(now), "refresh", now, template)
        except member_ops.LaunchRefused as exc:
            return f"An instance could not be launched: {exc.message}"
    return None


def step(app: App, scope: Scope, fleet: Fleet, group: Doc, now: float) -> Stepped:
    """Move the group's active instance refresh along (changes ``group`` in memory)."""
    store, name = app.store, group["AutoScalingGroupName"]
    found = active(store, scope, name)
    if found is None:
        return Stepped()
    key, doc = found
    out = Stepped(writes=[lambda: _save(store, scope, name, key, doc)])
    members = records.members(group)
    if doc["Status"] == refresh_core.CANCELLING:
        if any(m["LifecycleState"] in LAUNCH_STATES for m in members):
            out.wake = 1.0
        else:
            _finish(doc, refresh_core.CANCELLED, "The instance refresh was cancelled by a user request.", now)
        return out
    if group.get("_deleting"):
        _finish(doc, refresh_core.CANCELLED, "The Auto Scaling group is being deleted.", now)
        return out
    prefs = prefs_of(doc)
    target = Config(*doc["_target"]) if doc.get("_target") else None
    track = Track(**doc["_track"])
    decision = refresh_core.decide(_units(store, scope, group, target), int(group["DesiredCapacity"]), prefs,
                                   track, now, _held(group))
    doc["Status"] = refresh_core.IN_PROGRESS
    doc["_track"] = asdict(decision.track)
    doc["StatusReason"] = decision.reason
    _show_progress(doc, decision.progress)
    if decision.action is Action.SUCCEED:
        _adopt_configuration(group, doc)
        _finish(doc, refresh_core.SUCCESSFUL, decision.reason or "The instance refresh completed successfully.",
                now)
        if decision.progress.to_update == 0:
            _show_progress(doc, refresh_core.Progress(decision.progress.total, 0))
        return out
    if decision.action is Action.REPLACE:
        failed = _replace(app, scope, fleet, group, doc, decision.replace, now)
        if failed:
            _finish(doc, refresh_core.FAILED, failed, now)
            return out
    out.wake = decision.wake
    return out

