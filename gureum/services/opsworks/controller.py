"""The instance controller: the agent's other half, inside Gureum.

One reconcile of ``account|region|<instance id>``:

1. observe — the EC2 instance (``ec2.public.describe``), its container
   (driver ``inspect``: its start time is the *boot id*, its pid the init the
   agent watches) and, when the agent was started in this boot, its
   heartbeat (an exec that reads ``$A/run/heartbeat``; a new count means the
   agent is alive: ``_hbAt = now``);
2. decide — :func:`lifecycle.decide` on those :class:`~lifecycle.Facts`
   (with :func:`healing.decide_heal` for a silent agent);
3. act — launch/start/stop/reboot/terminate the EC2 instance through
   ``ec2.public``, install the agent, queue Setup or Shutdown, drive the
   command queue (command_runner.py), record an auto-healing;
4. write — the new status (an event of the table), and on entering or
   leaving ``online``: Configure on the stack's online instances and the
   layers' load balancers in step (elb.py).

API handlers bump ``_gen`` whenever they change an instance's status; a
reconcile that finds ``_gen`` changed under it keeps only its observations
and looks again, so it never undoes an intent.  EC2 state changes (bus
``ec2.instance.state``) wake the instance at once; a resync every
:data:`RESYNC` seconds catches the rest, which is also how a restarted Gureum
picks everything up (commands in flight are polled, not run again).

The heal timeout is the stack's ``CustomJson`` ``{"gureum": {"heal_timeout":
seconds}}``, else ``GUREUM_OPSWORKS_HEAL_TIMEOUT``, else 300 s — virtual
seconds, so ``--time-scale 30`` heals after 10 real seconds — but never less
than 3 real seconds (the agent heartbeats every real second).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.base import DriverError
from gureum.services.opsworks import command_runner, commands, elb, events, healing
from gureum.services.opsworks.agent.session import AgentSession, AgentUnreachable
from gureum.services.opsworks.lifecycle import Action, Cmd, Ec2, Facts, Status, decide, transition
from gureum.services.opsworks.records import (
    AGENT_VERSION,
    COMMAND,
    EC2_INDEX,
    INSTANCE,
    SERVICE_ERROR,
    get_stack,
    iso,
    json_object,
    layers_of,
    new_id,
    scoped_key,
    split_scoped_key,
)

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.opsworks")
Doc = dict[str, Any]
RESYNC = 60.0  # a safety net: every instance requeues itself
HEARTBEAT_CHECK_REAL = 2.0  # real seconds at least between heartbeat reads of an online instance
BOOT_TIMEOUT = 600.0
IDLE = (Status.STOPPED, Status.SETUP_FAILED, Status.START_FAILED, Status.TERMINATED)
# What the controller owns: kept even when a handler changed the status meanwhile.
_OWN = ("Ec2InstanceId", "PrivateIp", "PrivateDns", "PublicIp", "PublicDns", "AvailabilityZone", "SubnetId",
        "Architecture", "_agentBoot", "_hbAt", "_hbN", "_hbBoot", "_cookbooks", "ReportedAgentVersion")


def time_scale(app: App) -> float:
    return float(getattr(app.clock, "time_scale", 1.0))


def heal_timeout(app: App, stack: Doc) -> float:
    custom = json_object(stack.get("CustomJson")).get("gureum") or {}
    value = custom.get("heal_timeout") if isinstance(custom, dict) else None
    if value is None:
        value = os.environ.get("GUREUM_OPSWORKS_HEAL_TIMEOUT") or healing.DEFAULT_HEAL_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = healing.DEFAULT_HEAL_TIMEOUT
    return max(seconds, 3.0 * time_scale(app))


def ec2_scope(scope: Scope, stack: Doc) -> Scope:
    return Scope(scope.account, stack.get("Region") or scope.region)


class InstanceController:
    def __init__(self, app: App) -> None:
        self.app = app

    def keys(self) -> list[str]:
        out = []
        for scope in self.app.store.list_scopes(INSTANCE):
            for key, doc in self.app.store.list(INSTANCE, scope):
                if Status(doc["Status"]) not in IDLE or doc.get("_healing"):
                    out.append(scoped_key(scope, key))
        return out

    def on_ec2_state(self, _topic: str, payload: dict[str, Any]) -> None:
        scope, eid = payload.get("scope"), payload.get("instanceId")
        if not isinstance(scope, Scope) or not eid:
            return
        for s in self.app.store.list_scopes(EC2_INDEX):
            if s.account == scope.account:
                ref = self.app.store.get(EC2_INDEX, s, eid)
                if ref is not None:
                    self.app.runner.enqueue("opsworks.instance", scoped_key(s, ref["InstanceId"]))

    # -- observing ---------------------------------------------------------------------------

    async def _observe(self, escope: Scope, doc: Doc) -> tuple[Ec2, str | None, AgentSession | None]:
        from gureum.services.ec2.public import container_of, describe

        eid = doc.get("Ec2InstanceId")
        if not eid:
            return Ec2.NONE, None, None
        try:
            inst = describe(self.app, escope, [eid])[0]
        except ServiceError:
            return Ec2.MISSING, None, None
        doc.update(PrivateIp=inst.get("PrivateIpAddress"), PrivateDns=inst.get("PrivateDnsName"),
                   PublicIp=inst.get("PrivateIpAddress"), AvailabilityZone=(inst.get("Placement") or {})
                   .get("AvailabilityZone"), SubnetId=inst.get("SubnetId"))
        state = Ec2(inst["State"]["Name"])
        cid = container_of(self.app, escope, eid) if state is Ec2.RUNNING else None
        if cid is None:
            return state, None, None
        driver = await self.app.get_runtime()
        try:
            st = await driver.inspect(cid)
        except DriverError:
            return state, None, None
        if not st.running:
            return state, None, None
        init_pid = int(st.pid or 1) if driver.name == "process" else 1
        return state, f"{float(st.started_at or 0):.3f}", AgentSession(driver, cid, init_pid)

    async def _heartbeat(self, doc: Doc, boot: str | None, session: AgentSession | None) -> None:
        now = self.app.clock.now()
        for key in ("_hbAt", "_statusAt"):  # a restarted --time-scale clock starts again from the wall clock
            if float(doc.get(key) or 0) > now:
                doc[key] = now
        if session is None or boot is None or doc.get("_agentBoot") != boot:
            return
        try:
            beat = await session.heartbeat()
        except AgentUnreachable:
            return
        if beat is not None and beat[0] == boot and (doc.get("_hbBoot") != boot or beat[1] != doc.get("_hbN")):
            doc.update(_hbAt=self.app.clock.now(), _hbN=beat[1], _hbBoot=boot, ReportedAgentVersion=AGENT_VERSION)

    def _cmd_state(self, scope: Scope, command_id: str | None) -> Cmd:
        cmd = self.app.store.get(COMMAND, scope, command_id) if command_id else None
        if cmd is None:
            return Cmd.NONE
        if cmd["Status"] == "pending":
            return Cmd.RUNNING if cmd.get("AcknowledgedAt") else Cmd.PENDING
        return Cmd.SUCCEEDED if cmd["Status"] == "successful" else Cmd.FAILED

    def _facts(self, scope: Scope, doc: Doc, stack: Doc, layers: list[Doc], ec2: Ec2, boot: str | None) -> Facts:
        now = self.app.clock.now()
        status = Status(doc["Status"])
        fresh = boot is not None and boot != doc.get("_rebootFrom")
        installed = boot is not None and doc.get("_agentBoot") == boot and (status is not Status.REBOOTING or fresh)
        up = installed and doc.get("_hbBoot") == boot
        view = healing.HealView(status.value, healing.auto_healing(lay.get("EnableAutoHealing") for lay in layers))
        heal = healing.decide_heal(view, doc.get("_hbAt"), now, heal_timeout(self.app, stack))
        return Facts(status=status, ec2=ec2, in_status_for=now - float(doc.get("_statusAt") or now),
                     agent_installed=installed, agent_up=up, setup=self._cmd_state(scope, doc.get("_setupId")),
                     shutdown=self._cmd_state(scope, doc.get("_shutdownId")),
                     reboot_sent=bool(doc.get("_rebootFrom")), healing=bool(doc.get("_healing")), heal=heal,
                     boot_timeout=BOOT_TIMEOUT)

    # -- reconcile -------------------------------------------------------------------------------

    async def reconcile(self, skey: str) -> Requeue | None:
        scope, iid = split_scoped_key(skey)
        doc = self.app.store.get(INSTANCE, scope, iid)
        if doc is None:
            return None
        try:
            stack = get_stack(self.app.store, scope, doc["StackId"])
        except ServiceError:
            return None
        gen = doc.get("_gen", 0)
        layers = layers_of(self.app.store, scope, doc)
        escope = ec2_scope(scope, stack)
        ec2, boot, session = await self._observe(escope, doc)
        await self._heartbeat(doc, boot, session)
        step = decide(self._facts(scope, doc, stack, layers, ec2, boot))
        busy = await self._act(step.action, scope, escope, doc, stack, layers, boot, session)
        before = doc["Status"]
        if step.event is not None:
            doc["Status"] = transition(Status(before), step.event).value
            if doc["Status"] != before:
                enter(self.app, scope, doc, step.reason)
        if not self._write(scope, doc, gen):
            return Requeue(0.0)
        if doc["Status"] != before:
            log.info("opsworks: instance %s %s → %s (%s)", iid, before, doc["Status"], step.reason)
            after_change(self.app, scope, doc, before)
            return Requeue(0.0)
        command_runner.sweep(self.app, scope, doc)
        return self._next(doc, busy, stack)

    def _next(self, doc: Doc, busy: bool, stack: Doc) -> Requeue | None:
        status = Status(doc["Status"])
        quick = 0.3 * time_scale(self.app)  # polling costs real work: poll on real time
        if status in IDLE and not doc.get("_healing"):
            return None
        if busy or status not in (Status.ONLINE, Status.CONNECTION_LOST):
            return Requeue(quick)
        # An exec costs the instance real CPU (docker's runc runs in its cgroup), which its
        # CPUUtilization shows: read the heartbeat every heal timeout / 10, at most every 2 real s.
        every = min(30.0, heal_timeout(self.app, stack) / 10)
        return Requeue(max(every, HEARTBEAT_CHECK_REAL * time_scale(self.app)))

    def _write(self, scope: Scope, doc: Doc, gen: int) -> bool:
        with self.app.store.transaction():
            current = self.app.store.get(INSTANCE, scope, doc["InstanceId"])
            if current is None:
                return False
            if current.get("_gen", 0) != gen:
                current.update({k: doc[k] for k in _OWN if k in doc})
                self.app.store.put(INSTANCE, scope, doc["InstanceId"], current)
                return False
            self.app.store.put(INSTANCE, scope, doc["InstanceId"], doc)
        return True

    # -- acting ------------------------------------------------------------------------------------

    async def _act(self, action: Action, scope: Scope, escope: Scope, doc: Doc, stack: Doc, layers: list[Doc],
                   boot: str | None, session: AgentSession | None) -> bool:
        from gureum.services.ec2 import public as ec2

        eid = doc.get("Ec2InstanceId")
        try:
            if action is Action.LAUNCH_EC2:
                self._launch(scope, escope, doc, stack, layers)
            elif action is Action.INSTALL_AGENT and session is not None and boot is not None:
                await session.install(boot)
                doc["_agentBoot"] = boot
            elif action is Action.QUEUE_SETUP:
                cmd = commands.new_command(self.app, scope, doc, "setup", boot=True)
                commands.put(self.app, scope, [cmd])
                doc["_setupId"] = cmd["CommandId"]
            elif action is Action.QUEUE_SHUTDOWN:
                waited = self.app.clock.now() - float(doc.get("_statusAt") or 0)
                if (events.drain_first(layers) and waited < events.shutdown_timeout(layers)
                        and elb.draining(self.app, scope, doc)):
                    return True  # DelayUntilElbConnectionsDrained: the load balancer drains it first
                cmd = commands.new_command(self.app, scope, doc, "shutdown", timeout=events.shutdown_timeout(layers))
                commands.put(self.app, scope, [cmd])
                doc["_shutdownId"] = cmd["CommandId"]
            elif action is Action.RUN_COMMANDS:
                return await command_runner.drive(self.app, scope, doc, stack, session)
            elif action is Action.STOP_EC2 and eid:
                ec2.stop(self.app, escope, [eid])
            elif action is Action.REBOOT_EC2 and eid:
                ec2.reboot(self.app, escope, [eid])
                doc["_rebootFrom"] = boot or "?"
            elif action is Action.TERMINATE_EC2 and eid:
                ec2.terminate(self.app, escope, [eid])
            elif action is Action.NOTE_HEAL:
                self._note_heal(scope, doc, stack)
            elif action is Action.RESTART:
                doc["_healing"] = False
        except AgentUnreachable as exc:
            log.info("opsworks: %s on %s: %s", action.value, doc["InstanceId"], exc)
        except ServiceError as exc:
            log.warning("opsworks: %s on %s failed: %s", action.value, doc["InstanceId"], exc)
            if action is Action.LAUNCH_EC2:
                doc["_failReason"] = f"EC2 refused the instance: {exc.code}: {exc.message}"
        return False

    def _launch(self, scope: Scope, escope: Scope, doc: Doc, stack: Doc, layers: list[Doc]) -> None:
        from gureum.services.ec2 import public as ec2

        eid = doc.get("Ec2InstanceId")
        if eid:
            try:
                state = ec2.describe(self.app, escope, [eid])[0]["State"]["Name"]
            except ServiceError:
                state = "terminated"
            if state not in ("terminated", "shutting-down"):
                ec2.start(self.app, escope, [eid])
                return
        spec = {
            "ImageId": doc.get("AmiId") or ec2.BUILTIN_AMI,
            "InstanceType": doc["InstanceType"], "MinCount": 1, "MaxCount": 1,
            "Monitoring": {"Enabled": True},  # OpsWorks' agent reported every minute; load-based scaling reads it
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": f"{stack['Name']} - {doc.get('Hostname')}"},
                {"Key": "opsworks:stack", "Value": stack["Name"]},
                {"Key": "opsworks:instance", "Value": doc.get("Hostname") or doc["InstanceId"]},
                *[{"Key": f"opsworks:layer:{lay['Shortname']}", "Value": lay["Name"]} for lay in layers]]}],
        }
        if doc.get("SubnetId") or stack.get("DefaultSubnetId"):
            spec["SubnetId"] = doc.get("SubnetId") or stack.get("DefaultSubnetId")
        [new] = ec2.run_instances(self.app, escope, spec)
        doc["Ec2InstanceId"] = new
        self.app.store.put(EC2_INDEX, scope, new, {"InstanceId": doc["InstanceId"]})

    def _note_heal(self, scope: Scope, doc: Doc, stack: Doc) -> None:
        silent = self.app.clock.now() - float(doc.get("_hbAt") or 0)
        doc["_healing"] = True
        doc["_heals"] = int(doc.get("_heals", 0)) + 1
        doc["LastServiceErrorId"] = record_error(
            self.app, scope, doc, "auto_healing",
            f"The agent of instance {doc.get('Hostname')} has not reported for {int(silent)} s "
            f"(heal timeout {int(heal_timeout(self.app, stack))} s): auto-healing stops and starts it")


def record_error(app: App, scope: Scope, doc: Doc, kind: str, message: str) -> str:
    """A ServiceError entry (DescribeServiceErrors) about an instance; its id."""
    eid = new_id()
    app.store.put(SERVICE_ERROR, scope, eid, {
        "ServiceErrorId": eid, "StackId": doc["StackId"], "InstanceId": doc["InstanceId"], "Type": kind,
        "Message": message, "CreatedAt": iso(app.clock.now()), "_created": app.clock.now()})
    return eid


def enter(app: App, scope: Scope, doc: Doc, reason: str) -> None:
    """Fields of a status just entered (handlers and controller); the caller writes ``doc``."""
    now, status = app.clock.now(), Status(doc["Status"])
    doc["_statusAt"] = now
    if status is Status.REQUESTED:
        for key in ("_setupId", "_shutdownId", "_rebootFrom", "_failReason"):
            doc.pop(key, None)
    elif status is Status.STOPPING:
        doc.pop("_shutdownId", None)
    elif status is Status.REBOOTING:
        doc.pop("_rebootFrom", None)
    elif status is Status.ONLINE:
        doc["_onlineAt"] = now
        doc.pop("_rebootFrom", None)
    elif status is Status.SETUP_FAILED:
        doc["LastServiceErrorId"] = record_error(
            app, scope, doc, "setup_failed",
            f"Setup failed on {doc.get('Hostname')}: command {doc.get('_setupId')} (DescribeCommands has its log)")
    elif status is Status.START_FAILED:
        doc["LastServiceErrorId"] = record_error(app, scope, doc, "start_failed", doc.get("_failReason") or reason)


def after_change(app: App, scope: Scope, doc: Doc, before: str) -> None:
    """What follows a status change once written: Configure, load balancers, the command queue."""
    status = doc["Status"]
    if status == Status.TERMINATED.value:
        forget(app, scope, doc)
        return
    if Status.ONLINE.value in (before, status):
        for lid in doc.get("LayerIds") or []:
            elb.sync_layer(app, scope, lid)
        commands.queue_configure(app, scope, doc["StackId"])
    command_runner.sweep(app, scope, doc)
    commands.wake(app, scope, doc["InstanceId"])


def forget(app: App, scope: Scope, doc: Doc) -> None:
    """A terminated instance leaves the store (its deployments' commands stay)."""
    with app.store.transaction():
        app.store.delete(INSTANCE, scope, doc["InstanceId"])
        if doc.get("Ec2InstanceId"):
            app.store.delete(EC2_INDEX, scope, doc["Ec2InstanceId"])
        for cmd in commands.of_instance(app.store, scope, doc["InstanceId"]):
            if cmd.get("DeploymentId") is None:
                app.store.delete(COMMAND, scope, cmd["CommandId"])


def register(app: App) -> InstanceController:
    from gureum.services.ec2.public import STATE_TOPIC

    ctl = InstanceController(app)
    app.runner.register("opsworks.instance", ctl.reconcile, list_keys=ctl.keys, period=RESYNC)
    app.bus.subscribe(STATE_TOPIC, ctl.on_ec2_state)
    return ctl
