"""The EC2 instance state machine: API transitions, controller decisions, status checks."""

from __future__ import annotations

import pytest

from gureum.services.ec2.instance_states import (
    CODES,
    Action,
    Box,
    Observed,
    Plan,
    Reason,
    Refused,
    State,
    Verb,
    api_transition,
    decide,
    reason_dict,
    status_checks,
    wire_state,
)

P, R, SD, T, SG, SP = (State.PENDING, State.RUNNING, State.SHUTTING_DOWN, State.TERMINATED,
                       State.STOPPING, State.STOPPED)


def test_codes_are_aws_codes() -> None:
    assert {s.value: c for s, c in CODES.items()} == {
        "pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80,
    }
    assert wire_state("stopping") == {"Code": 64, "Name": "stopping"}


@pytest.mark.parametrize(
    ("verb", "table"),
    [
        (Verb.STOP, {P: None, R: SG, SG: SG, SP: SP, SD: None, T: None}),
        (Verb.START, {P: P, R: R, SG: None, SP: P, SD: None, T: None}),
        (Verb.TERMINATE, {P: SD, R: SD, SG: SD, SP: SD, SD: SD, T: T}),
        (Verb.REBOOT, {P: P, R: R, SG: None, SP: None, SD: None, T: None}),
    ],
)
def test_api_transitions(verb: Verb, table: dict[State, State | None]) -> None:
    for start, to in table.items():
        if to is None:
            with pytest.raises(Refused):
                api_transition(verb, start)
        else:
            assert api_transition(verb, start) is to, (verb, start)


def plan(state: State, box: Box, exit_code: int | None = None, **kw: object) -> Plan:
    return decide(state, Observed(box, exit_code, str(kw.pop("error", ""))), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "box", "actions", "to"),
    [
        # launch
        (P, Box.NONE, (Action.CREATE, Action.START), None),
        (P, Box.CREATED, (Action.START,), None),
        (P, Box.EXITED, (Action.START,), None),  # StartInstances of a stopped instance
        (P, Box.RUNNING, (), R),
        # steady
        (R, Box.RUNNING, (), None),
        (R, Box.CREATED, (Action.START,), None),
        # stop
        (SG, Box.RUNNING, (Action.STOP,), None),
        (SG, Box.EXITED, (), SP),
        (SG, Box.CREATED, (), SP),
        (SG, Box.NONE, (), SP),
        (SP, Box.EXITED, (), None),
        (SP, Box.RUNNING, (Action.STOP,), None),  # started behind Gureum's back
        # terminate
        (SD, Box.RUNNING, (Action.STOP, Action.REMOVE), None),
        (SD, Box.EXITED, (Action.REMOVE,), None),
        (SD, Box.CREATED, (Action.REMOVE,), None),
        (SD, Box.MISSING, (Action.RELEASE_ADDRESS,), T),
        (SD, Box.NONE, (Action.RELEASE_ADDRESS,), T),
        (T, Box.MISSING, (), None),
        (T, Box.EXITED, (Action.REMOVE,), None),
    ],
)
def test_decide_table(state: State, box: Box, actions: tuple[Action, ...], to: State | None) -> None:
    p = plan(state, box)
    assert p.actions == actions
    assert p.state is to


def test_shutting_down_to_terminated_keeps_the_earlier_reason() -> None:
    assert plan(SD, Box.MISSING).reason is None  # the controller keeps the reason set before


@pytest.mark.parametrize("state", [P, R, SG, SP])
def test_a_vanished_container_terminates_with_internal_error(state: State) -> None:
    p = plan(state, Box.MISSING)
    assert p.state is T
    assert p.reason is Reason.INTERNAL_ERROR
    assert Action.RELEASE_ADDRESS in p.actions


@pytest.mark.parametrize(
    ("exit_code", "reason"),
    [(0, Reason.INSTANCE_SHUTDOWN), (143, Reason.INSTANCE_SHUTDOWN), (137, Reason.INTERNAL_ERROR), (1, Reason.INTERNAL_ERROR)],
)
def test_a_container_that_exits_stops_the_instance(exit_code: int, reason: Reason) -> None:
    p = plan(R, Box.EXITED, exit_code)
    assert (p.state, p.reason, p.actions) == (SP, reason, ())
    if reason is Reason.INTERNAL_ERROR:
        assert str(exit_code) in p.detail


def test_shutdown_behaviour_terminate() -> None:
    p = plan(R, Box.EXITED, 0, terminate_on_shutdown=True)
    assert (p.state, p.reason) == (SD, Reason.INSTANCE_SHUTDOWN)


def test_reboot_restarts_only_a_running_container() -> None:
    assert plan(R, Box.RUNNING, reboot_pending=True).actions == (Action.RESTART,)
    assert plan(P, Box.NONE, reboot_pending=True).actions == (Action.CREATE, Action.START)
    assert plan(SP, Box.EXITED, reboot_pending=True).empty


def test_launch_error_shuts_the_instance_down() -> None:
    p = plan(P, Box.NONE, error="no such image")
    assert (p.state, p.reason) == (SD, Reason.INTERNAL_ERROR)
    assert "no such image" in p.detail
    assert reason_dict(p.reason, p.detail)["Message"].startswith("Server.InternalError: Internal error on launch")


def test_reason_messages() -> None:
    assert reason_dict(Reason.USER_SHUTDOWN) == {
        "Code": "Client.UserInitiatedShutdown", "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}
    assert reason_dict(Reason.PENDING) == {"Code": "pending", "Message": "pending"}


def test_status_checks() -> None:
    assert status_checks("stopped", None, 100.0) == ({"Status": "not-applicable"}, {"Status": "not-applicable"})
    inst, system = status_checks("running", 100.0, 102.0, init_seconds=5.0)
    assert inst["Status"] == system["Status"] == "initializing"
    inst, system = status_checks("running", 100.0, 105.0, init_seconds=5.0)
    assert inst == {"Status": "ok", "Details": [{"Name": "reachability", "Status": "passed"}]}
    assert system["Status"] == "ok"
