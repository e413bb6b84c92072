"""StartInstanceRefresh, DescribeInstanceRefreshes, CancelInstanceRefresh.

Rules (EC2 Auto Scaling API reference):

* one active (Pending, InProgress, Cancelling) refresh per group; another
  StartInstanceRefresh is refused with ``InstanceRefreshInProgress``;
* ``Strategy`` is ``Rolling`` (the default); ``ReplaceRootVolume`` and
  ``AutoRollback`` are not supported by Gureum and refused;
* preferences are checked by :func:`refresh_core.preferences`
  (ValidationError); ``DesiredConfiguration.LaunchTemplate`` must name an
  existing template version — it is resolved now, so ``$Latest`` means the
  latest version at the start;
* without a desired configuration the refresh rolls to what the group
  launches from now (its template version resolved now, or its launch
  configuration);
* CancelInstanceRefresh moves the active refresh to Cancelling (the
  controller makes it Cancelled once no launch is in flight);
  ``ActiveInstanceRefreshNotFound`` when there is none.

The handler writes the refresh record (acknowledged = stored, so a
``kill -9`` after the answer loses nothing) and wakes the group controller,
which does the work (:mod:`refresh`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.ids import uuid4
from gureum.services.api import RequestContext
from gureum.services.autoscaling import member_ops, names, records, refresh, refresh_core
from gureum.services.autoscaling.fleet import fleet_for
from gureum.services.autoscaling.refresh_core import PreferenceError, Track

Doc = dict[str, Any]
SHOWN = ("InstanceRefreshId", "AutoScalingGroupName", "Status", "StatusReason", "StartTime", "EndTime",
         "PercentageComplete", "InstancesToUpdate", "ProgressDetails", "Preferences", "DesiredConfiguration",
         "Strategy")


def _default_warmup(group: Doc) -> int:
    warm = group.get("DefaultInstanceWarmup")
    return int(warm) if warm is not None else int(group.get("HealthCheckGracePeriod") or 0)


def _target(ctx: RequestContext, group: Doc, desired: Doc | None) -> tuple[list[Any] | None, Doc | None]:
    """(the configuration to roll to as [kind, name, age], the template version to launch or None)."""
    fleet = fleet_for(ctx.app)
    if desired and desired.get("MixedInstancesPolicy"):
        raise names.invalid("A MixedInstancesPolicy in the DesiredConfiguration is not supported by Gureum.")
    spec = (desired or {}).get("LaunchTemplate") or member_ops.group_template(group)
    if spec is None:
        current = records.current_config(ctx.store, ctx.scope, group)
        return (None if current is None else [current.kind, current.name, current.age]), None
    if spec.get("LaunchTemplateId") and spec.get("LaunchTemplateName"):
        raise names.invalid("Valid requests must contain either launchTemplateId or LaunchTemplateName.")
    try:
        ref = fleet.resolve_template(ctx.scope, spec)
    except ServiceError as exc:
        raise names.invalid(f"You must use a valid fully-formed launch template. {exc.message}") from None
    launch = {"LaunchTemplateId": ref.template_id, "LaunchTemplateName": ref.name, "Version": ref.version}
    return ["lt", ref.template_id, float(ref.version)], launch


def start_instance_refresh(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["AutoScalingGroupName"]
    group = records.require_group(ctx.store, ctx.scope, name)
    if group.get("_deleting"):
        raise names.activity_in_progress(f"The group {name} is being deleted.")
    if refresh.active(ctx.store, ctx.scope, name) is not None:
        raise names.refresh_in_progress("An Instance Refresh is already in progress and blocks the execution of "
                                        "this Instance Refresh.")
    strategy = req.get("Strategy") or "Rolling"
    if strategy != "Rolling":
        raise names.invalid(f"The {strategy} strategy is not supported by Gureum; use Rolling.")
    try:
        prefs = refresh_core.preferences(req.get("Preferences"), _default_warmup(group))
    except PreferenceError as exc:
        raise names.invalid(str(exc)) from None
    desired = req.get("DesiredConfiguration") or None
    target, launch = _target(ctx, group, desired)
    now, rid = ctx.clock.now(), uuid4()
    doc: Doc = {
        "InstanceRefreshId": rid, "AutoScalingGroupName": name, "Status": refresh_core.PENDING,
        "StatusReason": "", "StartTime": now, "PercentageComplete": 0, "InstancesToUpdate": 0,
        "ProgressDetails": {"LivePoolProgress": {"PercentageComplete": 0, "InstancesToUpdate": 0}},
        "Preferences": prefs.shown(), "Strategy": strategy,
        "_prefs": refresh.prefs_doc(prefs), "_track": asdict(Track(now)), "_target": target, "_launch": launch,
    }
    if desired:
        doc["DesiredConfiguration"] = desired
    refresh.begin(ctx.store, ctx.scope, name, refresh.refresh_key(name, now, rid), doc)
    refresh.trim(ctx.store, ctx.scope, name)
    records.enqueue(ctx.app, ctx.scope, name)
    return {"InstanceRefreshId": rid}


def _view(doc: Doc) -> Doc:
    return {k: doc[k] for k in SHOWN if doc.get(k) not in (None, "")}


def describe_instance_refreshes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["AutoScalingGroupName"]
    records.require_group(ctx.store, ctx.scope, name)
    wanted = set(req.get("InstanceRefreshIds") or [])
    docs = [d for _, d in refresh.listing(ctx.store, ctx.scope, name) if not wanted or d["InstanceRefreshId"] in wanted]
    items, token = names.page(docs, lambda d: d["InstanceRefreshId"], req.get("MaxRecords"), req.get("NextToken"))
    out: dict[str, Any] = {"InstanceRefreshes": [_view(d) for d in items]}
    if token:
        out["NextToken"] = token
    return out


def cancel_instance_refresh(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["AutoScalingGroupName"]
    records.require_group(ctx.store, ctx.scope, name)
    found = refresh.active(ctx.store, ctx.scope, name)
    if found is None or found[1]["Status"] == refresh_core.CANCELLING:
        raise names.no_active_refresh(f"No in progress or pending Instance Refresh found for Auto Scaling group "
                                      f"{name}")
    key, doc = found
    doc.update(Status=refresh_core.CANCELLING, StatusReason="Cancelling the instance refresh at a user request.")
    ctx.store.put(names.REFRESH, ctx.scope, key, doc)
    records.enqueue(ctx.app, ctx.scope, name)
    return {"InstanceRefreshId": doc["InstanceRefreshId"]}


OPERATIONS = {
    "StartInstanceRefresh": start_instance_refresh,
    "DescribeInstanceRefreshes": describe_instance_refreshes,
    "CancelInstanceRefresh": cancel_instance_refresh,
}
