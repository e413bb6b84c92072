"""An OpsWorks instance's status machine, as tables.  Pure: no I/O.

Statuses are OpsWorks' own strings.  The start path is

    stopped ─StartInstance→ requested → pending → booting → running_setup → online
                                          │          │            └→ setup_failed
                                          └──────────┴→ start_failed

and the stop path ``… → stopping → stopped``; DeleteInstance of a stopped
instance goes ``terminating → terminated``.  An online instance whose agent
has been silent longer than the heal timeout becomes ``connection_lost``; with
auto-healing the controller stops and starts that same instance
(``connection_lost → stopping → stopped → requested → … → online``).

:data:`TRANSITIONS` is the whole machine: ``(status, event) → status``.
API calls are events (:func:`api_transition`), and so is what the
controller observes: :func:`decide` turns the observed :class:`Facts` of one
instance into the next :class:`Step` — an action to take (launch the EC2
instance, install the agent, queue the Setup command…) and the event to
apply once the action is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gureum.services.opsworks.healing import Heal


class Status(StrEnum):
    REQUESTED = "requested"
    PENDING = "pending"
    BOOTING = "booting"
    RUNNING_SETUP = "running_setup"
    ONLINE = "online"
    SETUP_FAILED = "setup_failed"
    START_FAILED = "start_failed"
    CONNECTION_LOST = "connection_lost"
    REBOOTING = "rebooting"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


class Event(StrEnum):
    # API calls
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    DELETE = "delete"
    # what the controller observes
    EC2_REQUESTED = "ec2_requested"
    EC2_RUNNING = "ec2_running"
    EC2_FAILED = "ec2_failed"
    AGENT_UP = "agent_up"
    BOOT_TIMEOUT = "boot_timeout"
    SETUP_SUCCEEDED = "setup_succeeded"
    SETUP_FAILED = "setup_failed"
    HEARTBEAT_LOST = "heartbeat_lost"
    HEAL = "heal"
    REBOOTED = "rebooted"
    EC2_STOPPED = "ec2_stopped"
    EC2_TERMINATED = "ec2_terminated"


S, E = Status, Event

# Statuses in which the EC2 instance exists or is being brought up.
_UP = (S.REQUESTED, S.PENDING, S.BOOTING, S.RUNNING_SETUP, S.ONLINE, S.SETUP_FAILED, S.START_FAILED,
       S.CONNECTION_LOST, S.REBOOTING)

TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (S.STOPPED, E.START): S.REQUESTED,
    (S.START_FAILED, E.START): S.REQUESTED,
    (S.SETUP_FAILED, E.START): S.REQUESTED,
    (S.CONNECTION_LOST, E.START): S.REQUESTED,
    **{(s, E.STOP): S.STOPPING for s in _UP},
    (S.STOPPED, E.DELETE): S.TERMINATING,
    (S.ONLINE, E.REBOOT): S.REBOOTING,
    (S.REQUESTED, E.EC2_REQUESTED): S.PENDING,
    (S.PENDING, E.EC2_RUNNING): S.BOOTING,
    (S.PENDING, E.EC2_FAILED): S.START_FAILED,
    (S.BOOTING, E.AGENT_UP): S.RUNNING_SETUP,
    (S.BOOTING, E.BOOT_TIMEOUT): S.START_FAILED,
    (S.BOOTING, E.EC2_FAILED): S.START_FAILED,
    (S.RUNNING_SETUP, E.SETUP_SUCCEEDED): S.ONLINE,
    (S.RUNNING_SETUP, E.SETUP_FAILED): S.SETUP_FAILED,
    (S.RUNNING_SETUP, E.HEARTBEAT_LOST): S.CONNECTION_LOST,
    (S.ONLINE, E.HEARTBEAT_LOST): S.CONNECTION_LOST,
    (S.CONNECTION_LOST, E.AGENT_UP): S.ONLINE,
    (S.CONNECTION_LOST, E.HEAL): S.STOPPING,
    (S.REBOOTING, E.REBOOTED): S.ONLINE,
    (S.REBOOTING, E.BOOT_TIMEOUT): S.START_FAILED,
    (S.STOPPING, E.EC2_STOPPED): S.STOPPED,
    (S.TERMINATING, E.EC2_TERMINATED): S.TERMINATED,
}

# API calls that change nothing in these statuses (already on the way there).
API_NO_OPS: dict[Event, tuple[Status, ...]] = {
    E.START: (S.REQUESTED, S.PENDING, S.BOOTING, S.RUNNING_SETUP, S.ONLINE, S.REBOOTING),
    E.STOP: (S.STOPPING, S.STOPPED),
}

# Statuses counted as "online" for topology, Configure and load balancers.
ONLINE_STATUSES = (S.ONLINE,)


class Refused(Exception):
    """The event is not allowed in this status."""


def transition(status: Status, event: Event) -> Status:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise Refused(f"{event.value} is not allowed when the instance is {status.value}") from None


def api_transition(status: Status, event: Event) -> Status | None:
    """The status an API call moves to; None when it is a no-op; Refused when not allowed."""
    if status in API_NO_OPS.get(event, ()):
        return None
    return transition(status, event)


# -- the controller's decisions ----------------------------------------------------------


class Ec2(StrEnum):
    """What the controller saw of the EC2 instance (EC2's state names, + none and missing)."""

    NONE = "none"  # never launched
    PENDING = "pending"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    SHUTTING_DOWN = "shutting-down"
    TERMINATED = "terminated"
    MISSING = "missing"  # the record is gone


class Cmd(StrEnum):
    """Where one command (Setup of this boot, Shutdown of this stop) is."""

    NONE = "none"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "successful"
    FAILED = "failed"


class Action(StrEnum):
    WAIT = "wait"  # nothing to do now; look again later
    LAUNCH_EC2 = "launch_ec2"  # RunInstances, or StartInstances of the stopped one
    INSTALL_AGENT = "install_agent"
    QUEUE_SETUP = "queue_setup"
    RUN_COMMANDS = "run_commands"
    QUEUE_SHUTDOWN = "queue_shutdown"
    STOP_EC2 = "stop_ec2"
    REBOOT_EC2 = "reboot_ec2"
    TERMINATE_EC2 = "terminate_ec2"
    NOTE_HEAL = "note_heal"  # record the auto-healing (service error) then heal
    RESTART = "restart"  # a healed instance, stopped: start it again


@dataclass(frozen=True, slots=True)
class Facts:
    status: Status
    ec2: Ec2
    in_status_for: float  # seconds since the status was entered
    agent_installed: bool = False  # the agent was started in the EC2 instance's current boot
    agent_up: bool = False  # and it has heartbeated since
    setup: Cmd = Cmd.NONE
    shutdown: Cmd = Cmd.NONE
    reboot_sent: bool = False
    healing: bool = False  # stopping/stopped because of auto-healing
    heal: Heal = Heal.NONE
    boot_timeout: float = 600.0


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    event: Event | None = None
    reason: str = ""


_GONE = (Ec2.STOPPED, Ec2.TERMINATED, Ec2.MISSING, Ec2.SHUTTING_DOWN, Ec2.NONE)


def decide(f: Facts) -> Step:
    """The next step for one instance; its event (if any) applies after the action."""
    rule = _RULES.get(f.status)
    return rule(f) if rule is not None else Step(Action.WAIT, reason="nothing to do")


def _requested(f: Facts) -> Step:
    if f.ec2 in (Ec2.PENDING, Ec2.RUNNING):
        return Step(Action.WAIT, E.EC2_REQUESTED, "the EC2 instance is up already")
    if f.ec2 in (Ec2.STOPPING, Ec2.SHUTTING_DOWN):
        return Step(Action.WAIT, reason="waiting for the EC2 instance to stop before starting it")
    return Step(Action.LAUNCH_EC2, E.EC2_REQUESTED, "launch or start the EC2 instance")


def _pending(f: Facts) -> Step:
    if f.ec2 is Ec2.RUNNING:
        return Step(Action.WAIT, E.EC2_RUNNING, "the EC2 instance runs")
    if f.ec2 in _GONE:
        return Step(Action.WAIT, E.EC2_FAILED, f"the EC2 instance is {f.ec2.value}")
    return Step(Action.WAIT, reason="the EC2 instance is starting")


def _booting(f: Facts) -> Step:
    if f.ec2 in _GONE:
        return Step(Action.WAIT, E.EC2_FAILED, f"the EC2 instance is {f.ec2.value}")
    if f.agent_up:
        return Step(Action.QUEUE_SETUP, E.AGENT_UP, "the agent reported: run Setup")
    if f.in_status_for > f.boot_timeout:
        return Step(Action.WAIT, E.BOOT_TIMEOUT, "the agent did not report in time")
    if f.ec2 is Ec2.RUNNING and not f.agent_installed:
        return Step(Action.INSTALL_AGENT, reason="start the agent in this boot")
    return Step(Action.WAIT, reason="waiting for the agent's first heartbeat")


def _running_setup(f: Facts) -> Step:
    if f.setup is Cmd.SUCCEEDED:
        return Step(Action.WAIT, E.SETUP_SUCCEEDED, "Setup succeeded")
    if f.setup is Cmd.FAILED:
        return Step(Action.WAIT, E.SETUP_FAILED, "Setup failed")
    if f.heal is Heal.HEAL or f.heal is Heal.LOST:
        return Step(Action.WAIT, E.HEARTBEAT_LOST, "the agent stopped reporting during Setup")
    if f.setup is Cmd.NONE:
        return Step(Action.QUEUE_SETUP, reason="Setup was not queued")
    return Step(Action.RUN_COMMANDS, reason="Setup runs")


def _online(f: Facts) -> Step:
    if f.heal in (Heal.HEAL, Heal.LOST):
        return Step(Action.WAIT, E.HEARTBEAT_LOST, "the agent stopped reporting")
    return Step(Action.RUN_COMMANDS)


def _connection_lost(f: Facts) -> Step:
    if f.heal is Heal.HEAL:
        return Step(Action.NOTE_HEAL, E.HEAL, "auto-healing: stop and start the instance")
    if f.heal is Heal.RECOVERED:
        return Step(Action.WAIT, E.AGENT_UP, "the agent reports again")
    return Step(Action.WAIT, reason="the agent is silent and auto-healing is off")


def _rebooting(f: Facts) -> Step:
    if not f.reboot_sent:
        return Step(Action.REBOOT_EC2, reason="reboot the EC2 instance")
    if f.agent_up:
        return Step(Action.WAIT, E.REBOOTED, "the agent reported after the reboot")
    if f.in_status_for > f.boot_timeout:
        return Step(Action.WAIT, E.BOOT_TIMEOUT, "the agent did not report after the reboot")
    if f.ec2 is Ec2.RUNNING and not f.agent_installed:
        return Step(Action.INSTALL_AGENT, reason="start the agent after the reboot")
    return Step(Action.WAIT, reason="waiting for the reboot")


def _stopping(f: Facts) -> Step:
    if f.ec2 in _GONE:
        return Step(Action.WAIT, E.EC2_STOPPED, "the EC2 instance is stopped")
    if f.ec2 in (Ec2.STOPPING, Ec2.PENDING):
        return Step(Action.WAIT, reason=f"the EC2 instance is {f.ec2.value}")
    if f.shutdown is Cmd.NONE and f.agent_up and not f.healing:
        return Step(Action.QUEUE_SHUTDOWN, reason="run the Shutdown recipes first")
    if f.shutdown in (Cmd.PENDING, Cmd.RUNNING) and f.agent_up:
        return Step(Action.RUN_COMMANDS, reason="Shutdown runs")
    return Step(Action.STOP_EC2, reason="stop the EC2 instance")


def _stopped(f: Facts) -> Step:
    if f.healing:
        return Step(Action.RESTART, E.START, "auto-healing: start the stopped instance again")
    return Step(Action.WAIT)


def _terminating(f: Facts) -> Step:
    if f.ec2 in (Ec2.TERMINATED, Ec2.MISSING, Ec2.NONE):
        return Step(Action.WAIT, E.EC2_TERMINATED, "the EC2 instance is terminated")
    if f.ec2 is Ec2.SHUTTING_DOWN:
        return Step(Action.WAIT, reason="the EC2 instance is shutting down")
    return Step(Action.TERMINATE_EC2, reason="terminate the EC2 instance")


_RULES = {
    S.REQUESTED: _requested,
    S.PENDING: _pending,
    S.BOOTING: _booting,
    S.RUNNING_SETUP: _running_setup,
    S.ONLINE: _online,
    S.CONNECTION_LOST: _connection_lost,
    S.REBOOTING: _rebooting,
    S.STOPPING: _stopping,
    S.STOPPED: _stopped,
    S.TERMINATING: _terminating,
}
