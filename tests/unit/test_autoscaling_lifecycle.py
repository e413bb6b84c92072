"""Lifecycle states and hooks (lifecycle), cooldowns and warm-up (cooldown), schedules (schedule)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from gureum.services.autoscaling import cooldown, lifecycle, schedule
from gureum.services.autoscaling.cooldown import Cooldowns, Direction
from gureum.services.autoscaling.lifecycle import (
    ABANDON,
    CONTINUE,
    LAUNCHING,
    TERMINATING,
    Effect,
    Hook,
    LState,
)

HOOKS = {LAUNCHING: True, TERMINATING: True}
NONE: dict[str, bool] = {}


@pytest.mark.parametrize(("state", "ec2", "hooks", "outcome", "to", "effect"), [
    ("Pending", "pending", NONE, None, "Pending", Effect.NONE),
    ("Pending", "running", NONE, None, "InService", Effect.ENTER_SERVICE),
    ("Pending", "running", HOOKS, None, "Pending:Wait", Effect.START_LAUNCH_HOOKS),
    ("Pending", "stopped", NONE, None, "Terminating:Proceed", Effect.LAUNCH_FAILED),
    ("Pending:Wait", "running", HOOKS, None, "Pending:Wait", Effect.NONE),
    ("Pending:Wait", "running", HOOKS, CONTINUE, "Pending:Proceed", Effect.NONE),
    ("Pending:Wait", "running", HOOKS, ABANDON, "Terminating:Proceed", Effect.ABANDONED),
    ("Pending:Wait", "missing", HOOKS, None, "Terminating:Proceed", Effect.LAUNCH_FAILED),
    ("Pending:Proceed", "running", HOOKS, None, "InService", Effect.ENTER_SERVICE),
    ("InService", "stopped", NONE, None, "InService", Effect.NONE),  # health is not the lifecycle's business
    ("Terminating", "running", NONE, None, "Terminating:Proceed", Effect.TERMINATE_EC2),
    ("Terminating", "running", HOOKS, None, "Terminating:Wait", Effect.START_TERMINATE_HOOKS),
    ("Terminating", "missing", HOOKS, None, "Terminating:Proceed", Effect.TERMINATE_EC2),
    ("Terminating:Wait", "running", HOOKS, None, "Terminating:Wait", Effect.NONE),
    ("Terminating:Wait", "running", HOOKS, ABANDON, "Terminating:Proceed", Effect.TERMINATE_EC2),  # both go on
    ("Terminating:Wait", "running", HOOKS, CONTINUE, "Terminating:Proceed", Effect.TERMINATE_EC2),
    ("Terminating:Proceed", "shutting-down", NONE, None, "Terminating:Proceed", Effect.NONE),
    ("Terminating:Proceed", "running", NONE, None, "Terminating:Proceed", Effect.TERMINATE_EC2),
    ("Terminating:Proceed", "terminated", NONE, None, "Terminated", Effect.FORGET),
])
def test_lifecycle_table(state: str, ec2: str, hooks: dict[str, bool], outcome: str | None, to: str,
                         effect: Effect) -> None:
    assert lifecycle.advance(state, ec2, hooks, outcome) == (LState(to), effect)


def test_hook_timeout_applies_the_default_result_and_heartbeats_extend_it() -> None:
    hooks = {"h": Hook("h", LAUNCHING, heartbeat=60, default_result=ABANDON)}
    acts = lifecycle.start_actions(hooks.values(), LAUNCHING, 1000.0, iter(["tok"]))
    assert acts["h"]["deadline"] == 1060 and acts["h"]["globalDeadline"] == 1000 + 6000
    assert lifecycle.outcome(lifecycle.expire(acts, hooks, 1059)) is None
    acts = lifecycle.heartbeat(acts, "h", 60, 1050)
    assert lifecycle.outcome(lifecycle.expire(acts, hooks, 1100)) is None
    assert lifecycle.outcome(lifecycle.expire(acts, hooks, 1110)) == ABANDON
    assert lifecycle.next_deadline(acts) == 1110


def test_heartbeats_never_pass_the_global_timeout() -> None:
    hooks = {"h": Hook("h", LAUNCHING, heartbeat=3600, default_result=CONTINUE)}
    acts = lifecycle.start_actions(hooks.values(), LAUNCHING, 0.0, iter(["t"]))
    assert acts["h"]["globalDeadline"] == lifecycle.GLOBAL_CAP  # min(48 h, 100 × 3600 s)
    acts = lifecycle.heartbeat(acts, "h", 3600, lifecycle.GLOBAL_CAP - 10)
    assert acts["h"]["deadline"] == lifecycle.GLOBAL_CAP
    assert lifecycle.outcome(lifecycle.expire(acts, hooks, lifecycle.GLOBAL_CAP)) == CONTINUE


def test_every_hook_must_answer_and_one_abandon_abandons() -> None:
    hooks = [Hook("a", LAUNCHING), Hook("b", LAUNCHING), Hook("c", TERMINATING)]
    acts = lifecycle.start_actions(hooks, LAUNCHING, 0.0, iter(["1", "2"]))
    assert set(acts) == {"a", "b"} and lifecycle.find_by_token(acts, "2") == "b"
    acts = lifecycle.complete(acts, "a", CONTINUE)
    assert lifecycle.outcome(acts) is None
    assert lifecycle.outcome(lifecycle.complete(acts, "b", ABANDON)) == ABANDON
    assert lifecycle.outcome(lifecycle.complete(acts, "b", CONTINUE)) == CONTINUE


# -- cooldown and warm-up --------------------------------------------------------------------------


def test_simple_cooldown_waits_for_the_activity_then_the_cooldown() -> None:
    assert cooldown.simple_wait(None, 300, True, 0) == math.inf
    assert cooldown.simple_wait(100.0, 300, False, 399) == 1
    assert cooldown.simple_wait(100.0, 300, False, 400) is None
    assert cooldown.simple_wait(None, 300, False, 0) is None


@pytest.mark.parametrize(("group", "policy", "default", "wanted"), [
    (None, None, None, 300), (None, None, 120, 120), (None, 60, 120, 60), (30, 60, 120, 30), (0, 60, 120, 0),
    (-1, 45, 120, 45),  # DefaultInstanceWarmup -1 unsets it
])
def test_warmup_precedence(group: int | None, policy: int | None, default: int | None, wanted: int) -> None:
    assert cooldown.warmup_seconds(group, policy, default) == wanted


def test_application_auto_scaling_cooldowns() -> None:
    state = Cooldowns()
    assert cooldown.gate(state, Direction.IN, 4, 0).allowed
    state = cooldown.after_scaling(state, Direction.OUT, before=2, seconds=300, now=100)
    again = cooldown.gate(state, Direction.OUT, 3, 200)
    assert again.allowed and again.base == 2  # what the first scale-out added counts as there
    assert not cooldown.gate(state, Direction.IN, 3, 200).allowed  # no scale-in in a scale-out cooldown
    escalated = cooldown.after_scaling(state, Direction.OUT, before=3, seconds=300, now=200)
    assert escalated.out_until == 400 and escalated.out_base == 2  # one batch per cooldown
    later = cooldown.gate(escalated, Direction.OUT, 5, 401)
    assert later.base == 5
    shrunk = cooldown.after_scaling(escalated, Direction.IN, before=5, seconds=600, now=500)
    assert not cooldown.gate(shrunk, Direction.IN, 4, 1000).allowed
    out = cooldown.after_scaling(shrunk, Direction.OUT, before=4, seconds=300, now=600)
    assert cooldown.gate(out, Direction.OUT, 5, 600).allowed and out.in_until == -math.inf  # ends the scale-in cooldown
    assert Cooldowns.from_doc(out.to_doc()) == out


# -- schedules -------------------------------------------------------------------------------------

JAN1 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()  # a Thursday


def at(ts: float | None) -> str:
    assert ts is not None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M %a")


@pytest.mark.parametrize(("expr", "tz", "wanted"), [
    ("0 9 * * 1-5", None, "2026-01-01 09:00 Thu"),
    ("30 8 * * SUN", None, "2026-01-04 08:30 Sun"),
    ("*/15 * * * *", None, "2026-01-01 00:15 Thu"),
    ("0 0 1 FEB *", None, "2026-02-01 00:00 Sun"),
    ("0 9 * * *", "Asia/Seoul", "2026-01-02 00:00 Fri"),  # 09:00 KST; Jan 1 09:00 KST is the start itself
    ("0 12 13 * 5", None, "2026-01-02 12:00 Fri"),  # either day field may match
])
def test_unix_recurrence(expr: str, tz: str | None, wanted: str) -> None:
    assert at(schedule.next_recurrence(expr, JAN1, tz)) == wanted


@pytest.mark.parametrize(("expr", "wanted"), [
    ("cron(30 8 ? * MON *)", "2026-01-05 08:30 Mon"),
    ("cron(0 10 ? * 1 *)", "2026-01-04 10:00 Sun"),  # AWS: day-of-week 1 is Sunday
    ("cron(0 0 15 * ? 2027)", "2027-01-15 00:00 Fri"),
    ("rate(5 minutes)", "2026-01-01 00:05 Thu"),
    ("at(2026-03-01T12:00:00)", "2026-03-01 12:00 Sun"),
])
def test_application_auto_scaling_schedules(expr: str, wanted: str) -> None:
    assert at(schedule.next_time(expr, JAN1, start=JAN1)) == wanted


@pytest.mark.parametrize("expr", ["cron(0 10 * * * *)", "cron(61 * ? * * *)", "rate(five minutes)", "every day",
                                  "at(2026-13-01T00:00:00)"])
def test_bad_schedules_are_refused(expr: str) -> None:
    with pytest.raises(schedule.ScheduleError):
        schedule.check_expression(expr)


def test_an_at_schedule_fires_once() -> None:
    assert schedule.next_time("at(2026-01-01T00:00:00)", JAN1, start=JAN1) is None
