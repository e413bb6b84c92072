"""Groups, their members and their children in the store, and how the API shows them.

A group document holds what DescribeAutoScalingGroups shows plus private
members (``_`` prefix, never shown):

* ``_instances`` — instance id → member record (``InstanceId``,
  ``AvailabilityZone``, ``LifecycleState``, ``HealthStatus``,
  ``ProtectedFromScaleIn``, ``InstanceType``, ``LaunchTemplate`` or
  ``LaunchConfigurationName``, and private ``_launchedAt``,
  ``_inServiceAt``, ``_launchedFor``, ``_activity``, ``_actions``…);
* ``_cause`` — the sentence that explains the last change of the desired
  capacity, until the controller acts on it;
* ``_cooldown`` — ``{"seconds", "settledAt"}`` after a simple policy;
* ``_deleting`` — DeleteAutoScalingGroup with ForceDelete is under way.

:func:`save_group` writes the store's text of the document made by
:mod:`group_text` (members encoded once per value), and nothing when the
document is exactly what this
process last read or wrote for that group (a reconcile that changed
nothing): each read and write keeps a ``marshal`` snapshot (version 2: no
shared references, so equal bytes mean an equal document of the same
types and order, hence the same stored JSON).  A group deleted from the
store must go through :func:`delete_group`, which drops the snapshot.

A snapshot taken from the store (a read: JSON's types only) also serves
the next reads of the group until it is written: every write of a group
goes through this module, so the store holds exactly that document.  A
written document's snapshot serves reads too once the write is committed
and the document holds JSON's types only (:func:`json_typed`: no tuple,
every key a str — what the store gives back is then equal in types and
order; on a save, "no tuple" is told exactly by as many ``(`` in the
snapshot as in the JSON text, which has one per ``(`` of a string): at once for a write outside any transaction (the store says none
is open: ``in_transaction``), and for one inside a transaction when its
writer says the transaction committed (:func:`committed`, with the token
:func:`save_group` returned); a write whose transaction rolls back is
never trusted (the next read goes to the store).
:func:`forget` drops every snapshot of a store (the store was reset), and
the answers :mod:`journal` keeps about the groups' children.
"""

from __future__ import annotations

import marshal
import weakref
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope, Store
from gureum.services.autoscaling import group_text, journal, lifecycle, names, termination

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]

SHOWN_MEMBER_KEYS = ("InstanceId", "InstanceType", "AvailabilityZone", "LifecycleState", "HealthStatus",
                     "LaunchConfigurationName", "LaunchTemplate", "ProtectedFromScaleIn")


# (account, region, group) -> (marshal snapshot, whether it may serve reads: True; None: a JSON-typed
# write that awaits the commit of its transaction; False: no)
Snapshots = dict[tuple[str, str, str], tuple[bytes, bool | None]]
_SNAPSHOTS: weakref.WeakKeyDictionary[Any, Snapshots] = weakref.WeakKeyDictionary()


def _snapshots(store: Store) -> Snapshots:
    snaps = _SNAPSHOTS.get(store)
    if snaps is None:
        snaps = _SNAPSHOTS[store] = {}
    return snaps


def forget(store: Store) -> None:
    """Drop every snapshot of ``store`` (after a reset: it holds other documents now)."""
    _SNAPSHOTS.pop(store, None)
    journal.forget(store)


def get_group(store: Store, scope: Scope, name: str) -> Doc | None:
    key = (scope.account, scope.region, name)
    snaps = _snapshots(store)
    known = snaps.get(key)
    if known is not None and known[1]:
        cached: Doc = marshal.loads(known[0])
        return cached
    doc = store.get(names.GROUP, scope, name)
    if doc is None:
        snaps.pop(key, None)
    else:
        snaps[key] = (marshal.dumps(doc, 2), True)
    return doc


def read_token(store: Store, scope: Scope, name: str) -> object | None:
    """What stands for the group's document as the store holds it (last read, or written and
    committed — a snapshot that serves reads): the same object until the group is read from the store
    again, written or forgotten; None when no such snapshot is kept.
    (A caller may keep a document it decoded under the token and use it while the token holds.)"""
    known = _snapshots(store).get((scope.account, scope.region, name))
    return known[0] if known is not None and known[1] else None


def require_group(store: Store, scope: Scope, name: str) -> Doc:
    doc = get_group(store, scope, name)
    if doc is None:
        raise names.group_not_found(name)
    return doc


def save_group(store: Store, scope: Scope, doc: Doc) -> bytes | None:
    """Write a group, unless the store already holds exactly this document.  Returns the token for
    :func:`committed` when the write is inside a transaction (else None)."""
    key = (scope.account, scope.region, doc["AutoScalingGroupName"])
    snaps = _snapshots(store)
    # The store's text of doc (its parts remembered), whether its keys are str, its marshal snapshot.
    text, keys_str, data = group_text.encode(doc)
    known = snaps.get(key)
    if known is not None and known[0] == data:
        return None
    store.put_encoded(names.GROUP, scope, doc["AutoScalingGroupName"], text)
    # (json_typed, exactly: each "(" of a string is one in the text and one in the snapshot; a tuple
    # or a number's byte adds one to the snapshot only)
    if not (keys_str and data.count(b"(") == text.count("(")):
        snaps[key] = (data, False)
        return None
    if _committed(store):
        snaps[key] = (data, True)
        return None
    snaps[key] = (data, None)
    return data


def committed(store: Store, scope: Scope, name: str, token: bytes | None) -> None:
    """The transaction of the write :func:`save_group` returned ``token`` for ended without an error
    (called after the block): its snapshot serves reads if no transaction is open now (it was the
    outermost one, so it committed) and no other write of the group came since."""
    if token is None or not _committed(store):
        return
    key = (scope.account, scope.region, name)
    snaps = _snapshots(store)
    known = snaps.get(key)
    if known is not None and known[0] is token and known[1] is None:
        snaps[key] = (token, True)


def _committed(store: Store) -> bool:
    """Whether a write that returned is committed: the store says no transaction is open (a store
    that cannot tell: never)."""
    return getattr(store, "in_transaction", True) is False


def json_typed(doc: Doc, data: bytes) -> bool:
    """Whether ``doc`` (``data``: its marshal snapshot) holds JSON's types only, so that the store
    gives back an equal document of the same types in the same order: no tuple (marshal writes every
    tuple with a ``(`` byte; one inside a string or number only makes this say no), every dict key
    a str (``str.join`` refuses any other).  (Sets, bytes and other types the encoder refuses
    never get this far.)"""
    return b"(" not in data and group_text.keys_typed(doc)


def delete_group(store: Store, scope: Scope, name: str) -> bool:
    _snapshots(store).pop((scope.account, scope.region, name), None)
    return store.delete(names.GROUP, scope, name)


def all_groups(store: Store, scope: Scope) -> list[Doc]:
    docs = [d for _, d in store.list(names.GROUP, scope)]
    snaps = _snapshots(store)
    for d in docs:
        snaps[(scope.account, scope.region, d["AutoScalingGroupName"])] = (marshal.dumps(d, 2), True)
    return docs


def members(doc: Doc) -> list[Doc]:
    return list((doc.get("_instances") or {}).values())


def active_members(doc: Doc) -> list[Doc]:
    return [m for m in members(doc) if m["LifecycleState"] in lifecycle.ACTIVE_STATES]


def enqueue(app: App, scope: Scope, name: str) -> None:
    if names.CONTROLLER not in app.runner.controllers:
        app.service_api("autoscaling")
    app.runner.enqueue(names.CONTROLLER, names.scoped_key(scope, name))


# -- children ------------------------------------------------------------------------------------


def children(store: Store, kind: str, scope: Scope, group: str) -> list[Doc]:
    return [d for _, d in store.list(kind, scope, prefix=f"{group}/")]


def hooks(store: Store, scope: Scope, group: str) -> list[lifecycle.Hook]:
    return [lifecycle.Hook(d["LifecycleHookName"], d["LifecycleTransition"], int(d["HeartbeatTimeout"]),
                           d["DefaultResult"]) for d in children(store, names.HOOK, scope, group)]


def current_config(store: Store, scope: Scope, group: Doc) -> termination.Config | None:
    """What new instances of the group are launched from (for the termination policies)."""
    lt = group.get("_template")
    if lt:
        return termination.Config("lt", lt["LaunchTemplateId"], float(lt["Version"]))
    lc_name = group.get("LaunchConfigurationName")
    if lc_name:
        lc = store.get(names.LAUNCH_CONFIG, scope, lc_name)
        return termination.Config("lc", lc_name, float(lc["CreatedTime"]) if lc else 0.0)
    return None


def member_config(store: Store, scope: Scope, rec: Doc) -> termination.Config | None:
    lt = rec.get("LaunchTemplate")
    if lt:
        return termination.Config("lt", lt["LaunchTemplateId"], float(lt["Version"]))
    lc_name = rec.get("LaunchConfigurationName")
    if lc_name:
        lc = store.get(names.LAUNCH_CONFIG, scope, lc_name)
        return termination.Config("lc", lc_name, float(lc["CreatedTime"]) if lc else 0.0)
    return None


# -- views ---------------------------------------------------------------------------------------


def member_view(rec: Doc) -> Doc:
    return {k: rec[k] for k in SHOWN_MEMBER_KEYS if k in rec}


def group_view(doc: Doc) -> Doc:
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    shown = [m for m in members(doc) if m["LifecycleState"] != lifecycle.LState.TERMINATED]
    out["Instances"] = [member_view(m) for m in sorted(shown, key=lambda m: m["InstanceId"])]
    if doc.get("_deleting"):
        out["Status"] = "Delete in progress"
    out["TrafficSources"] = [{"Identifier": arn, "Type": "elbv2"} for arn in doc.get("TargetGroupARNs") or []]
    return out


def group_tags(doc: Doc) -> list[Doc]:
    return list(doc.get("Tags") or [])
