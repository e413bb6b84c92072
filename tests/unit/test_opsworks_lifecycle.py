"""The OpsWorks instance status machine and the controller's decisions, as tables."""

from __future__ import annotations

import pytest

from gureum.services.opsworks.healing import Heal
from gureum.services.opsworks.lifecycle import (
    TRANSITIONS,
    Action,
    Cmd,
    Ec2,
    Event,
    Facts,
    Refused,
    Status,
    api_transition,
    decide,
    transition,
)

S, E, A = Status, Event, Action


@pytest.mark.parametrize(("status", "event", "to"), [
    (S.STOPPED, E.START, S.REQUESTED),
    (S.SETUP_FAILED, E.START, S.REQUESTED),
    (S.ONLINE, E.STOP, S.STOPPING),
    (S.BOOTING, E.STOP, S.STOPPING),
    (S.CONNECTION_LOST, E.STOP, S.STOPPING),
    (S.STOPPED, E.DELETE, S.TERMINATING),
    (S.ONLINE, E.REBOOT, S.REBOOTING),
])
def test_api_transitions(status: Status, event: Event, to: Status) -> None:
    assert api_transition(status, event) is to


@pytest.mark.parametrize(("status", "event"), [
    (S.ONLINE, E.START), (S.BOOTING, E.START), (S.REQUESTED, E.START),
    (S.STOPPED, E.STOP), (S.STOPPING, E.STOP),
])
def test_api_calls_already_on_their_way_are_no_ops(status: Status, event: Event) -> None:
    assert api_transition(status, event) is None


@pytest.mark.parametrize(("status", "event"), [
    (S.ONLINE, E.DELETE), (S.STOPPING, E.START), (S.STOPPED, E.REBOOT), (S.BOOTING, E.REBOOT),
    (S.TERMINATING, E.STOP), (S.TERMINATED, E.START),
])
def test_api_calls_refused(status: Status, event: Event) -> None:
    with pytest.raises(Refused):
        api_transition(status, event)


def test_the_start_path_and_the_heal_path_are_in_the_table() -> None:
    path = [(S.STOPPED, E.START), (S.REQUESTED, E.EC2_REQUESTED), (S.PENDING, E.EC2_RUNNING),
            (S.BOOTING, E.AGENT_UP), (S.RUNNING_SETUP, E.SETUP_SUCCEEDED), (S.ONLINE, E.HEARTBEAT_LOST),
            (S.CONNECTION_LOST, E.HEAL), (S.STOPPING, E.EC2_STOPPED), (S.STOPPED, E.START)]
    status = S.STOPPED
    seen = [status]
    for expected_from, event in path:
        assert status is expected_from
        status = transition(status, event)
        seen.append(status)
    assert [s.value for s in seen] == ["stopped", "requested", "pending", "booting", "running_setup", "online",
                                       "connection_lost", "stopping", "stopped", "requested"]


def test_every_status_but_terminated_has_a_way_out() -> None:
    sources = {s for s, _ in TRANSITIONS}
    assert set(Status) - sources == {S.TERMINATED}


def f(status: Status, ec2: Ec2 = Ec2.RUNNING, **kw: object) -> Facts:
    return Facts(status=status, ec2=ec2, in_status_for=kw.pop("for_", 1.0), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("facts", "action", "event"), [
    # requested: launch (or start) the EC2 instance, unless it is up already
    (f(S.REQUESTED, Ec2.NONE), A.LAUNCH_EC2, E.EC2_REQUESTED),
    (f(S.REQUESTED, Ec2.STOPPED), A.LAUNCH_EC2, E.EC2_REQUESTED),
    (f(S.REQUESTED, Ec2.TERMINATED), A.LAUNCH_EC2, E.EC2_REQUESTED),
    (f(S.REQUESTED, Ec2.RUNNING), A.WAIT, E.EC2_REQUESTED),
    (f(S.REQUESTED, Ec2.STOPPING), A.WAIT, None),
    # pending: wait for EC2
    (f(S.PENDING, Ec2.PENDING), A.WAIT, None),
    (f(S.PENDING, Ec2.RUNNING), A.WAIT, E.EC2_RUNNING),
    (f(S.PENDING, Ec2.NONE), A.WAIT, E.EC2_FAILED),
    (f(S.PENDING, Ec2.TERMINATED), A.WAIT, E.EC2_FAILED),
    # booting: install the agent, wait for its first heartbeat, then Setup
    (f(S.BOOTING), A.INSTALL_AGENT, None),
    (f(S.BOOTING, agent_installed=True), A.WAIT, None),
    (f(S.BOOTING, agent_installed=True, agent_up=True), A.QUEUE_SETUP, E.AGENT_UP),
    (f(S.BOOTING, agent_installed=True, for_=601.0), A.WAIT, E.BOOT_TIMEOUT),
    (f(S.BOOTING, Ec2.STOPPED), A.WAIT, E.EC2_FAILED),
    # running_setup
    (f(S.RUNNING_SETUP, setup=Cmd.RUNNING), A.RUN_COMMANDS, None),
    (f(S.RUNNING_SETUP, setup=Cmd.PENDING), A.RUN_COMMANDS, None),
    (f(S.RUNNING_SETUP, setup=Cmd.NONE), A.QUEUE_SETUP, None),
    (f(S.RUNNING_SETUP, setup=Cmd.SUCCEEDED), A.WAIT, E.SETUP_SUCCEEDED),
    (f(S.RUNNING_SETUP, setup=Cmd.FAILED), A.WAIT, E.SETUP_FAILED),
    (f(S.RUNNING_SETUP, setup=Cmd.RUNNING, heal=Heal.HEAL), A.WAIT, E.HEARTBEAT_LOST),
    # online: run commands; a silent agent loses the connection
    (f(S.ONLINE), A.RUN_COMMANDS, None),
    (f(S.ONLINE, heal=Heal.HEAL), A.WAIT, E.HEARTBEAT_LOST),
    (f(S.ONLINE, heal=Heal.LOST), A.WAIT, E.HEARTBEAT_LOST),
    # connection_lost: heal, recover, or stay lost
    (f(S.CONNECTION_LOST, heal=Heal.HEAL), A.NOTE_HEAL, E.HEAL),
    (f(S.CONNECTION_LOST, heal=Heal.RECOVERED), A.WAIT, E.AGENT_UP),
    (f(S.CONNECTION_LOST, heal=Heal.NONE), A.WAIT, None),
    # stopping: Shutdown first when the agent is there (not when healing), then stop EC2
    (f(S.STOPPING, agent_up=True), A.QUEUE_SHUTDOWN, None),
    (f(S.STOPPING, agent_up=True, shutdown=Cmd.RUNNING), A.RUN_COMMANDS, None),
    (f(S.STOPPING, agent_up=True, shutdown=Cmd.SUCCEEDED), A.STOP_EC2, None),
    (f(S.STOPPING, agent_up=True, shutdown=Cmd.FAILED), A.STOP_EC2, None),
    (f(S.STOPPING, agent_up=True, healing=True), A.STOP_EC2, None),
    (f(S.STOPPING, agent_up=False), A.STOP_EC2, None),
    (f(S.STOPPING, Ec2.STOPPING), A.WAIT, None),
    (f(S.STOPPING, Ec2.STOPPED), A.WAIT, E.EC2_STOPPED),
    (f(S.STOPPING, Ec2.NONE), A.WAIT, E.EC2_STOPPED),
    # stopped: a healed instance starts again
    (f(S.STOPPED, Ec2.STOPPED), A.WAIT, None),
    (f(S.STOPPED, Ec2.STOPPED, healing=True), A.RESTART, E.START),
    # rebooting
    (f(S.REBOOTING), A.REBOOT_EC2, None),
    (f(S.REBOOTING, reboot_sent=True), A.INSTALL_AGENT, None),
    (f(S.REBOOTING, Ec2.PENDING, reboot_sent=True), A.WAIT, None),
    (f(S.REBOOTING, reboot_sent=True, agent_installed=True, agent_up=True), A.WAIT, E.REBOOTED),
    # terminating
    (f(S.TERMINATING, Ec2.STOPPED), A.TERMINATE_EC2, None),
    (f(S.TERMINATING, Ec2.SHUTTING_DOWN), A.WAIT, None),
    (f(S.TERMINATING, Ec2.TERMINATED), A.WAIT, E.EC2_TERMINATED),
    (f(S.TERMINATING, Ec2.MISSING), A.WAIT, E.EC2_TERMINATED),
    # idle statuses
    (f(S.SETUP_FAILED), A.WAIT, None),
    (f(S.START_FAILED, Ec2.NONE), A.WAIT, None),
])
def test_decide(facts: Facts, action: Action, event: Event | None) -> None:
    step = decide(facts)
    assert (step.action, step.event) == (action, event)
    if step.event is not None:
        transition(facts.status, step.event)  # every event decide gives is allowed by the table
