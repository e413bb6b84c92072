"""Instance handlers: RunInstances, DescribeInstances, DescribeInstanceStatus,
StopInstances, StartInstances, RebootInstances, TerminateInstances.

Handlers record intent and return: RunInstances writes ``pending``
instances (private IP leased, tags stored) and wakes the instance
controller, which makes the containers; the state calls move the state as
AWS does at once (running → stopping, stopped → pending, … → shutting-down,
see :mod:`instance_states`) and the controller does the rest.  Every
intent bumps the instance's ``_gen`` so the controller never writes back a
state it decided on before the intent changed.

The launch itself (:func:`launch`) and the state change (:func:`change`)
are plain functions of the app, so other services reach them through
:mod:`gureum.services.ec2.public`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gureum.core.clock import to_datetime
from gureum.core.ids import prefixed_id
from gureum.core.store import Scope
from gureum.runtime.addresses import AddressAllocator, AddressesExhausted
from gureum.services.api import RequestContext
from gureum.services.ec2 import (
    address_probe,
    errors,
    filters,
    instance_states,
    instance_views,
    paging,
    tag_store,
)
from gureum.services.ec2.instance_runtime import PUBLISHED_PORTS
from gureum.services.ec2.instance_specs import LaunchSpec, build_spec, new_instance
from gureum.services.ec2.instance_states import (
    Reason,
    Refused,
    State,
    Verb,
    reason_dict,
    wire_state,
)
from gureum.services.ec2.names import INSTANCE, INSTANCE_CONTROLLER, STATE_TOPIC, is_id, scoped_key

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]


def _wake(app: App, scope: Scope, instance_id: str) -> None:
    if INSTANCE_CONTROLLER not in app.runner.controllers:
        app.service_api("ec2")  # registers the controllers
    app.runner.enqueue(INSTANCE_CONTROLLER, scoped_key(scope, instance_id))


def publish_state(app: App, scope: Scope, instance_id: str, state: str, previous: str) -> None:
    app.bus.publish(STATE_TOPIC, {"scope": scope, "instanceId": instance_id, "state": state, "previous": previous})


def _existing_reservation(app: App, scope: Scope, token: str | None) -> list[Doc]:
    if not token:
        return []
    return [d for _, d in app.store.list(INSTANCE, scope) if d.get("ClientToken") == token]


def launch(app: App, scope: Scope, req: dict[str, Any], requester_id: str | None = None,
           system_tags: dict[str, str] | None = None) -> list[Doc]:
    """Record the instances of one RunInstances request; their documents, pending.

    ``system_tags`` (``aws:…`` keys allowed) are what another service puts
    on the instances it launches, e.g. ``aws:autoscaling:groupName``.
    """
    spec = build_spec(app.store, scope, req, requester_id)
    if system_tags:
        spec = dataclasses.replace(spec, tags={**spec.tags, **tag_store.check(
            [{"Key": k, "Value": v} for k, v in system_tags.items()], system=True)})
    same = _existing_reservation(app, scope, spec.client_token)
    if same:
        return same  # idempotent retry (ClientToken)
    docs = _write_instances(app, scope, spec)
    for doc in docs:
        publish_state(app, scope, doc["InstanceId"], State.PENDING.value, "")
        _wake(app, scope, doc["InstanceId"])
    return docs


def _write_instances(app: App, scope: Scope, spec: LaunchSpec) -> list[Doc]:
    allocator = AddressAllocator(app.store)
    now = app.clock.now()
    reservation = prefixed_id("r")
    docs: list[Doc] = []
    with app.store.transaction():  # all or nothing: leases roll back with the instances
        for index in range(spec.max_count):
            instance_id = prefixed_id("i")
            doc = new_instance(spec, scope, instance_id, reservation, index, "0.0.0.0", now)
            try:
                ip = address_probe.lease(allocator, doc["_arn"], PUBLISHED_PORTS, now)
            except AddressesExhausted:
                if index >= spec.min_count:
                    break
                raise errors.client(
                    "InsufficientInstanceCapacity",
                    f"We currently do not have sufficient {spec.instance_type.name} capacity: "
                    f"{index} private addresses were free, MinCount is {spec.min_count}.",
                ) from None
            doc = new_instance(spec, scope, instance_id, reservation, index, ip, now)
            doc["CpuOptions"] = {"CoreCount": spec.instance_type.cores,
                                 "ThreadsPerCore": spec.instance_type.threads_per_core}
            app.store.put(INSTANCE, scope, instance_id, doc)
            tag_store.add(app.store, scope, instance_id, spec.tags)
            docs.append(doc)
    return docs


def run_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    docs = launch(ctx.app, ctx.scope, req)
    tags_of = tag_store.tags_by(ctx.store, ctx.scope, "InstanceId")
    return instance_views.reservations(docs, tags_of)[0]


# -- state changes ------------------------------------------------------------------------


def require_instances(app: App, scope: Scope, ids: Sequence[str]) -> list[Doc]:
    for instance_id in ids:
        if not is_id(instance_id, "i"):
            raise errors.malformed("InvalidInstanceID.Malformed", instance_id, "i")
    docs = {i: app.store.get(INSTANCE, scope, i) for i in ids}
    missing = [i for i, d in docs.items() if d is None]
    if missing:
        raise errors.instances_not_found(missing)
    return [d for d in docs.values() if d is not None]


def _user_initiated(now: float) -> str:
    return f"User initiated ({to_datetime(now).strftime('%Y-%m-%d %H:%M:%S')} GMT)"


def change(app: App, scope: Scope, ids: Sequence[str], verb: Verb) -> list[Doc]:
    """Apply one API transition to every instance, all or none; the state changes."""
    now = app.clock.now()
    out: list[Doc] = []
    woken: list[tuple[str, str, str]] = []
    with app.store.transaction():
        docs = require_instances(app, scope, ids)
        plans = []
        for doc in docs:
            prev = State(doc["State"]["Name"])
            try:
                to = instance_states.api_transition(verb, prev)
            except Refused:
                raise errors.incorrect_state(doc["InstanceId"], verb.value) from None
            if verb is Verb.TERMINATE and doc.get("_disableApiTermination") and prev is not State.TERMINATED:
                raise errors.client(
                    "OperationNotPermitted",
                    f"The instance '{doc['InstanceId']}' may not be terminated. Modify its 'disableApiTermination' "
                    "instance attribute and try again.",
                )
            plans.append((doc, prev, to))
        for doc, prev, to in plans:
            if verb is Verb.REBOOT and prev is State.RUNNING:
                doc["_reboot"] = int(doc.get("_reboot", 0)) + 1
                doc["_gen"] = int(doc.get("_gen", 0)) + 1
                app.store.put(INSTANCE, scope, doc["InstanceId"], doc)
                woken.append((doc["InstanceId"], to.value, prev.value))
            elif to is not prev:
                _move(doc, to, now)
                app.store.put(INSTANCE, scope, doc["InstanceId"], doc)
                woken.append((doc["InstanceId"], to.value, prev.value))
            out.append({"InstanceId": doc["InstanceId"], "CurrentState": wire_state(to),
                        "PreviousState": wire_state(prev)})
    for instance_id, state, previous in woken:
        if state != previous:
            publish_state(app, scope, instance_id, state, previous)
        _wake(app, scope, instance_id)
    return out


def _move(doc: Doc, to: State, now: float) -> None:
    doc["State"] = wire_state(to)
    doc["_gen"] = int(doc.get("_gen", 0)) + 1
    doc["_since"] = now
    if to is State.PENDING:
        doc["StateReason"] = reason_dict(Reason.PENDING)
        doc["StateTransitionReason"] = ""
    else:
        doc["StateReason"] = reason_dict(Reason.USER_SHUTDOWN)
        doc["StateTransitionReason"] = _user_initiated(now)


def _change_handler(verb: Verb, member: str) -> Any:
    def handler(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        errors.check_dry_run(req)
        changes = change(ctx.app, ctx.scope, list(req["InstanceIds"]), verb)
        return {} if member == "" else {member: changes}

    handler.__name__ = f"{verb.name.lower()}_instances"
    return handler


stop_instances = _change_handler(Verb.STOP, "StoppingInstances")
start_instances = _change_handler(Verb.START, "StartingInstances")
terminate_instances = _change_handler(Verb.TERMINATE, "TerminatingInstances")
reboot_instances = _change_handler(Verb.REBOOT, "")


# -- describing ---------------------------------------------------------------------------


def _selected(ctx: RequestContext, req: dict[str, Any], getters: Any) -> list[Doc]:
    errors.check_dry_run(req)
    ids = list(req.get("InstanceIds") or [])
    if ids and req.get("MaxResults") is not None:
        raise errors.combination("The parameter instancesSet cannot be used with the parameter maxResults")
    errors.check_max_results(req.get("MaxResults"), 5, 1000)
    docs = require_instances(ctx.app, ctx.scope, ids) if ids else [d for _, d in ctx.store.list(INSTANCE, ctx.scope)]
    tags_of = tag_store.tags_by(ctx.store, ctx.scope, "InstanceId")
    chosen = filters.apply(docs, req.get("Filters"), tag_store.TagGetters(getters, tags_of))
    chosen.sort(key=lambda d: d["InstanceId"])
    return chosen


def describe_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    chosen = _selected(ctx, req, instance_views.FILTERS)
    items, token = paging.page(chosen, lambda d: d["InstanceId"], req.get("MaxResults"), req.get("NextToken"))
    tags_of = tag_store.tags_by(ctx.store, ctx.scope, "InstanceId")
    out: dict[str, Any] = {"Reservations": instance_views.reservations(items, tags_of)}
    if token:
        out["NextToken"] = token
    return out


def _with_status(doc: Doc, now: float) -> Doc:
    inst, system = instance_states.status_checks(doc["State"]["Name"], doc.get("_bootedAt"), now)
    return {**doc, "_instanceStatus": inst, "_systemStatus": system}


_STATUS_FILTERS = {
    **instance_views.STATUS_FILTERS,
    "instance-status.status": lambda d: [d["_instanceStatus"]["Status"]],
    "instance-status.reachability": lambda d: [x["Status"] for x in d["_instanceStatus"].get("Details", [])],
    "system-status.status": lambda d: [d["_systemStatus"]["Status"]],
    "system-status.reachability": lambda d: [x["Status"] for x in d["_systemStatus"].get("Details", [])],
}


def describe_instance_status(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    now = ctx.clock.now()
    everything = dict(req, Filters=None)
    docs = [_with_status(d, now) for d in _selected(ctx, everything, instance_views.FILTERS)]
    if not req.get("IncludeAllInstances"):
        docs = [d for d in docs if d["State"]["Name"] == State.RUNNING.value]
    docs = filters.apply(docs, req.get("Filters"), _STATUS_FILTERS)
    items, token = paging.page(docs, lambda d: d["InstanceId"], req.get("MaxResults"), req.get("NextToken"))
    from gureum.services.ec2 import regions

    zone_ids = {z.name: z.zone_id for z in regions.zones(ctx.region)}
    statuses = [{
        "InstanceId": d["InstanceId"],
        "AvailabilityZone": d["Placement"]["AvailabilityZone"],
        "AvailabilityZoneId": zone_ids.get(d["Placement"]["AvailabilityZone"], ""),
        "InstanceState": d["State"],
        "InstanceStatus": d["_instanceStatus"],
        "SystemStatus": d["_systemStatus"],
        "Events": [],
    } for d in items]
    out: dict[str, Any] = {"InstanceStatuses": statuses}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS = {
    "RunInstances": run_instances,
    "DescribeInstances": describe_instances,
    "DescribeInstanceStatus": describe_instance_status,
    "StopInstances": stop_instances,
    "StartInstances": start_instances,
    "RebootInstances": reboot_instances,
    "TerminateInstances": terminate_instances,
}
