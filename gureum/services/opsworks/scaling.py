"""SetLoadBasedAutoScaling, DescribeLoadBasedAutoScaling, SetTimeBasedAutoScaling,
DescribeTimeBasedAutoScaling, and the scaler that acts on them.

The scaler is a controller per stack (``opsworks.scaler``, every
:data:`PERIOD` virtual seconds): it starts and stops the stack's ``timer``
instances by their schedules and, for each layer with load-based scaling
on, its ``load`` instances by autoscale.decide_load over the layer's
CloudWatch metrics (EC2 ``CPUUtilization`` of its online instances, read
from the store as CloudWatch keeps them).  It moves instances exactly as
StartInstance / StopInstance do.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.opsworks import autoscale
from gureum.services.opsworks.instances import change_status
from gureum.services.opsworks.lifecycle import Event
from gureum.services.opsworks.records import (
    INSTANCE,
    LAYER,
    SCALER_CONTROLLER,
    STACK,
    get_instance,
    get_layer,
    get_stack,
    instances_of_layer,
    of_stack,
    scoped_key,
    split_scoped_key,
)

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.opsworks.scaling")
Doc = dict[str, Any]
OPERATIONS: dict[str, Any] = {}
PERIOD = 60.0
_STARTABLE = ("stopped", "start_failed", "setup_failed")
_STOPPABLE = ("online", "requested", "pending", "booting", "running_setup", "connection_lost")


def _op(name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS[name] = fn
        return fn

    return register


def _wake(app: App, scope: Scope, stack_id: str) -> None:
    app.runner.enqueue(SCALER_CONTROLLER, scoped_key(scope, stack_id))


@_op("SetLoadBasedAutoScaling")
def set_load_based(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    layer = get_layer(ctx.store, ctx.scope, req["LayerId"])
    cfg = dict(layer.get("_lbas") or {"Enable": False})
    for member in ("Enable", "UpScaling", "DownScaling"):
        if member in req:
            cfg[member] = req[member]
    layer["_lbas"] = cfg
    ctx.store.put(LAYER, ctx.scope, layer["LayerId"], layer)
    _wake(ctx.app, ctx.scope, layer["StackId"])
    return {}


@_op("DescribeLoadBasedAutoScaling")
def describe_load_based(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    out = []
    for lid in req["LayerIds"]:
        layer = get_layer(ctx.store, ctx.scope, lid)
        cfg = layer.get("_lbas") or {}
        out.append({"LayerId": lid, "Enable": bool(cfg.get("Enable")),
                    "UpScaling": autoscale.thresholds(cfg.get("UpScaling"), autoscale.UP_DEFAULTS),
                    "DownScaling": autoscale.thresholds(cfg.get("DownScaling"), autoscale.DOWN_DEFAULTS)})
    return {"LoadBasedAutoScalingConfigurations": out}


@_op("SetTimeBasedAutoScaling")
def set_time_based(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    inst = get_instance(ctx.store, ctx.scope, req["InstanceId"])
    inst["_schedule"] = req.get("AutoScalingSchedule") or {}
    inst["_gen"] = int(inst.get("_gen", 0)) + 1
    ctx.store.put(INSTANCE, ctx.scope, inst["InstanceId"], inst)
    _wake(ctx.app, ctx.scope, inst["StackId"])
    return {}


@_op("DescribeTimeBasedAutoScaling")
def describe_time_based(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    out = []
    for iid in req["InstanceIds"]:
        inst = get_instance(ctx.store, ctx.scope, iid)
        out.append({"InstanceId": iid, "AutoScalingSchedule": inst.get("_schedule") or {}})
    return {"TimeBasedAutoScalingConfigurations": out}


# -- the scaler ------------------------------------------------------------------------------------


def _keys(app: App) -> list[str]:
    out = []
    for scope in app.store.list_scopes(STACK):
        for sid, _ in app.store.list(STACK, scope):
            layers = of_stack(app.store, LAYER, scope, sid)
            timers = any(i.get("AutoScalingType") == "timer" for i in of_stack(app.store, INSTANCE, scope, sid))
            if timers or any((lay.get("_lbas") or {}).get("Enable") for lay in layers):
                out.append(scoped_key(scope, sid))
    return out


def _timers(app: App, scope: Scope, stack_id: str) -> None:
    now = app.clock.now()
    for inst in of_stack(app.store, INSTANCE, scope, stack_id):
        if inst.get("AutoScalingType") != "timer":
            continue
        want = autoscale.scheduled_on(inst.get("_schedule"), now)
        if want and inst["Status"] in _STARTABLE:
            change_status(app, scope, inst, Event.START, "time-based scaling: scheduled on")
        elif not want and inst["Status"] in _STOPPABLE:
            change_status(app, scope, inst, Event.STOP, "time-based scaling: scheduled off")


def _cpu(app: App, scope: Scope, stack: Doc, members: list[Doc], now: float, minutes: int) -> list[tuple[float, float]]:
    from gureum.services.cloudwatch.metrics import canonical, read_samples

    rscope = Scope(scope.account, stack.get("Region") or scope.region)
    series = []
    for inst in members:
        if inst["Status"] != "online" or not inst.get("Ec2InstanceId"):
            continue
        samples = read_samples(app.store, rscope, "AWS/EC2", "CPUUtilization",
                               canonical({"InstanceId": inst["Ec2InstanceId"]}), now - minutes * 60, now + 1)
        series.append([(s.ts, s.total / s.count) for s in samples if s.count])
    return autoscale.layer_average(series)


def _alarm_states(app: App, scope: Scope, names: list[str]) -> list[bool]:
    from gureum.services.cloudwatch.alarms import alarm

    return [bool((alarm(app, scope, n) or {}).get("StateValue") == "ALARM") for n in names]


def _load(app: App, scope: Scope, stack: Doc, layer: Doc) -> None:
    cfg = layer.get("_lbas") or {}
    if not cfg.get("Enable"):
        return
    now = app.clock.now()
    members = instances_of_layer(app.store, scope, layer["LayerId"])
    load = [i for i in members if i.get("AutoScalingType") == "load"]
    window = max(int((cfg.get("UpScaling") or {}).get("ThresholdsWaitTime") or 5),
                 int((cfg.get("DownScaling") or {}).get("ThresholdsWaitTime") or 10)) + 1
    decision = autoscale.decide_load(
        cfg, _cpu(app, scope, stack, members, now, window), now, layer.get("_lastScale"),
        stopped=sum(i["Status"] in _STARTABLE for i in load), online=sum(i["Status"] == "online" for i in load),
        alarms_up=_alarm_states(app, scope, list((cfg.get("UpScaling") or {}).get("Alarms") or [])),
        alarms_down=_alarm_states(app, scope, list((cfg.get("DownScaling") or {}).get("Alarms") or [])))
    if not (decision.start or decision.stop):
        return
    log.info("opsworks: layer %s load-based scaling: %s", layer["Shortname"], decision.reason)
    if decision.start:
        for inst in [i for i in load if i["Status"] in _STARTABLE][:decision.start]:
            change_status(app, scope, inst, Event.START, "load-based scaling: " + decision.reason)
    else:
        for inst in [i for i in load if i["Status"] == "online"][-decision.stop:]:
            change_status(app, scope, inst, Event.STOP, "load-based scaling: " + decision.reason)
    layer["_lastScale"] = now
    app.store.put(LAYER, scope, layer["LayerId"], layer)


def register(app: App) -> None:
    async def reconcile(skey: str) -> Requeue | None:
        scope, sid = split_scoped_key(skey)
        try:
            stack = get_stack(app.store, scope, sid)
        except ServiceError:  # the stack is gone: nothing to scale
            return None
        _timers(app, scope, sid)
        for layer in of_stack(app.store, LAYER, scope, sid):
            _load(app, scope, stack, layer)
        return None

    app.runner.register(SCALER_CONTROLLER, reconcile, list_keys=lambda: _keys(app), period=PERIOD)
