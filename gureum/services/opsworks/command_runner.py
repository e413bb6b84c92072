"""Running an instance's queued commands through its agent, one at a time.

Each call of :func:`drive` takes one step for one instance:

1. a command the agent runs already is polled: finished → its exit code
   and log are recorded (``successful`` for 0, else ``failed``); past its
   timeout → its session is killed and it fails; ``lost`` (its session died
   unrecorded, e.g. the instance rebooted) → it fails;
2. else the oldest queued command that may run in the instance's status
   (events.may_run) is prepared on Gureum's side and launched: it is marked
   acknowledged (``AcknowledgedAt``) *before* the launch, and a launch of an
   acknowledged command is idempotent in the instance, so a restarted
   Gureum never runs a command twice.

:func:`sweep` (every reconcile) ends commands that will never run or
finish: queued ones of an instance that left online are ``skipped``; one the
agent had taken fails when its instance stopped or lost its agent.

Finished commands' logs also go to CloudWatch Logs, group
``/aws/opsworks/<StackId>``, stream ``<hostname>/<CommandId>``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.opsworks import commands, events
from gureum.services.opsworks.agent.session import AgentSession, AgentUnreachable
from gureum.services.opsworks.bundle import PrepareError
from gureum.services.opsworks.prepare import prepare
from gureum.services.opsworks.records import COMMAND, INSTANCE, iso

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.opsworks.commands")
Doc = dict[str, Any]
_TAKEN_ALIVE = ("online", "running_setup", "stopping", "rebooting")


def _chef_line(now: float, level: str, text: str) -> str:
    return f"[{iso(now)}] {level}: {text}\n"


def sweep(app: App, scope: Scope, inst: Doc) -> None:
    status = inst["Status"]
    for cmd in commands.of_instance(app.store, scope, inst["InstanceId"]):
        if commands.is_done(cmd):
            continue
        if not cmd.get("AcknowledgedAt"):
            if events.never_runs(cmd["Type"], status):
                commands.complete(app, scope, cmd, "skipped")
        elif status not in _TAKEN_ALIVE:
            text = _chef_line(app.clock.now(), "ERROR", f"the instance became {status} while the command ran")
            commands.complete(app, scope, cmd, "failed", log=text)


async def drive(app: App, scope: Scope, inst: Doc, stack: Doc, session: AgentSession | None) -> bool:
    """One step; True when a command is running or was just started/ended (look again soon)."""
    queue = [c for c in commands.of_instance(app.store, scope, inst["InstanceId"]) if not commands.is_done(c)]
    running = [c for c in queue if c.get("AcknowledgedAt")]
    if running:
        if session is not None:
            await _poll(app, scope, running[0], inst, session)
        return True
    for cmd in queue:
        if events.may_run(cmd["Type"], inst["Status"], bool(cmd.get("_boot"))):
            if session is not None:
                await _start(app, scope, cmd, inst, stack, session)
            return True
    return False


async def _start(app: App, scope: Scope, cmd: Doc, inst: Doc, stack: Doc, session: AgentSession) -> None:
    now = app.clock.now()
    try:
        prepared = prepare(app, scope, cmd, inst, stack, session.kind)
    except PrepareError as exc:
        text = _chef_line(now, "INFO", f"Processing command {cmd['Type']} {cmd['CommandId']}") + str(exc) + "\n"
        _ship(app, scope, stack, inst, cmd, text)
        commands.complete(app, scope, cmd, "failed", exit_code=1, log=text)
        return
    cmd.update(AcknowledgedAt=iso(now), _acked=now)
    app.store.put(COMMAND, scope, cmd["CommandId"], cmd)
    try:
        await session.launch(cmd["CommandId"], prepared.data)
    except AgentUnreachable as exc:
        log.info("opsworks: launching %s on %s failed: %s", cmd["CommandId"], inst["InstanceId"], exc)
        cmd.pop("AcknowledgedAt", None)
        cmd.pop("_acked", None)
        app.store.put(COMMAND, scope, cmd["CommandId"], cmd)
        return
    if prepared.cookbooks_digest != inst.get("_cookbooks"):
        with app.store.transaction():
            fresh = app.store.get(INSTANCE, scope, inst["InstanceId"])
            if fresh is not None:
                fresh["_cookbooks"] = prepared.cookbooks_digest
                app.store.put(INSTANCE, scope, inst["InstanceId"], fresh)
        inst["_cookbooks"] = prepared.cookbooks_digest


async def _poll(app: App, scope: Scope, cmd: Doc, inst: Doc, session: AgentSession) -> None:
    try:
        state = await session.poll(cmd["CommandId"])
    except AgentUnreachable:
        return  # the agent is silent: healing or the sweep ends it
    now = app.clock.now()
    stack = {"StackId": inst["StackId"]}
    if state == "running":
        if now - float(cmd.get("_acked") or now) <= float(cmd["_timeout"]):
            return
        await session.kill(cmd["CommandId"])
        text = await _read_log(session, cmd)
        text += _chef_line(now, "ERROR", f"the command timed out after {int(cmd['_timeout'])} seconds and was killed")
        _ship(app, scope, stack, inst, cmd, text)
        commands.complete(app, scope, cmd, "failed", exit_code=124, log=text)
        return
    text = await _read_log(session, cmd)
    if state == "lost":
        text += _chef_line(now, "ERROR", "the agent lost the command (did the instance reboot?)")
        _ship(app, scope, stack, inst, cmd, text)
        commands.complete(app, scope, cmd, "failed", log=text)
        return
    code = int(state)
    _ship(app, scope, stack, inst, cmd, text)
    commands.complete(app, scope, cmd, "successful" if code == 0 else "failed", exit_code=code, log=text)


async def _read_log(session: AgentSession, cmd: Doc) -> str:
    try:
        return await session.read_log(cmd["CommandId"])
    except AgentUnreachable:
        return ""


def _ship(app: App, scope: Scope, stack: Doc, inst: Doc, cmd: Doc, text: str) -> None:
    """The command's log into CloudWatch Logs (best effort: a failure here fails nothing)."""
    try:
        from gureum.services.logs.events import append_events, ensure_stream

        now_ms = int(app.clock.now() * 1000)
        group = f"/aws/opsworks/{stack['StackId']}"
        stream = f"{inst.get('Hostname') or inst['InstanceId']}/{cmd['CommandId']}"
        lines = [line for line in text.splitlines() if line.strip()][:10_000]
        ensure_stream(app.store, scope, group, stream, now_ms)
        append_events(app.store, scope, group, stream, [(now_ms, line[:200_000]) for line in lines], now_ms)
    except Exception:  # noqa: BLE001 - logs are a copy; the command's own log is in the store
        log.debug("shipping the log of %s to CloudWatch Logs failed", cmd["CommandId"], exc_info=True)
