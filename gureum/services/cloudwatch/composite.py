"""Composite alarm rules: parse ``AlarmRule`` and decide the composite's state.  Pure.

The rule language of PutCompositeAlarm (CloudWatch API reference):

* ``ALARM(x)``, ``OK(x)``, ``INSUFFICIENT_DATA(x)`` — true while alarm ``x``
  (a name, double-quoted when it holds spaces or parentheses, or an alarm
  ARN) is in that state;
* ``TRUE``, ``FALSE``; ``NOT``, ``AND``, ``OR`` (that precedence, tightest
  first) and parentheses; at most 10,240 characters.

A composite alarm is ALARM while its rule is true and OK otherwise; it is
INSUFFICIENT_DATA only between its creation and its first evaluation.  Its
StateReason names the child whose change decided it and StateReasonData
lists the children that make the rule true (``triggeringAlarms``), as
CloudWatch writes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from gureum.core.errors import ValidationError

MAX_RULE = 10_240
STATE_FUNCTIONS = ("ALARM", "OK", "INSUFFICIENT_DATA")
_TOKEN = re.compile(r'\s*(?:(?P<q>"(?:[^"\\]|\\.)*")|(?P<p>[()])|(?P<w>[^\s()"]+))')


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code="ValidationError")


@dataclass(frozen=True, slots=True)
class Check:
    state: str  # ALARM | OK | INSUFFICIENT_DATA
    alarm: str  # as written (name or ARN)


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class Not:
    arg: Rule


@dataclass(frozen=True, slots=True)
class Both:
    op: str  # AND | OR
    left: Rule
    right: Rule


Rule = Check | Const | Not | Both


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _invalid(f"Error in alarm rule: unexpected text at position {pos + 1}: {text[pos:pos + 20]}")
        out.append(m.group("q") or m.group("p") or m.group("w"))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise _invalid("Error in alarm rule: the rule ends too early")
        self.i += 1
        return tok

    def expect(self, want: str) -> None:
        got = self.take()
        if got != want:
            raise _invalid(f"Error in alarm rule: expected '{want}' but found '{got}'")

    def rule(self, level: int = 0) -> Rule:
        if level == 2:
            return self.negation()
        op = ("OR", "AND")[level]
        left = self.rule(level + 1)
        while self.peek() == op:
            self.take()
            left = Both(op, left, self.rule(level + 1))
        return left

    def negation(self) -> Rule:
        if self.peek() == "NOT":
            self.take()
            return Not(self.negation())
        return self.atom()

    def atom(self) -> Rule:
        tok = self.take()
        if tok == "(":
            inner = self.rule()
            self.expect(")")
            return inner
        if tok in ("TRUE", "FALSE"):
            return Const(tok == "TRUE")
        if tok in STATE_FUNCTIONS:
            self.expect("(")
            name = self.take()
            if name in ("(", ")"):
                raise _invalid(f"Error in alarm rule: {tok}() needs an alarm name or ARN")
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"')
            self.expect(")")
            return Check(tok, name)
        raise _invalid(f"Error in alarm rule: unexpected '{tok}'")


def parse_rule(text: str) -> Rule:
    if not text or not text.strip():
        raise _invalid("The AlarmRule must not be empty.")
    if len(text) > MAX_RULE:
        raise _invalid(f"The AlarmRule must not be longer than {MAX_RULE} characters.")
    p = _Parser(text)
    rule = p.rule()
    if p.peek() is not None:
        raise _invalid(f"Error in alarm rule: unexpected '{p.peek()}'")
    return rule


def alarm_name(ref: str) -> str:
    """``arn:aws:cloudwatch:…:alarm:NAME`` → ``NAME``; a plain name as is."""
    parts = ref.split(":", 6)
    if len(parts) == 7 and parts[0] == "arn" and parts[2] == "cloudwatch" and parts[5] == "alarm":
        return parts[6]
    return ref


def children(rule: Rule) -> list[str]:
    """Names of the alarms a rule watches, in order of first mention."""
    out: list[str] = []

    def walk(r: Rule) -> None:
        if isinstance(r, Check):
            name = alarm_name(r.alarm)
            if name not in out:
                out.append(name)
        elif isinstance(r, Not):
            walk(r.arg)
        elif isinstance(r, Both):
            walk(r.left)
            walk(r.right)

    walk(rule)
    return out


def holds(rule: Rule, states: Mapping[str, str]) -> bool:
    """Whether the rule is true given each child's state (by name)."""
    if isinstance(rule, Const):
        return rule.value
    if isinstance(rule, Check):
        return states.get(alarm_name(rule.alarm)) == rule.state
    if isinstance(rule, Not):
        return not holds(rule.arg, states)
    if rule.op == "AND":
        return holds(rule.left, states) and holds(rule.right, states)
    return holds(rule.left, states) or holds(rule.right, states)


def matching(rule: Rule, states: Mapping[str, str]) -> list[str]:
    """Children whose current state is the one the rule asks about (the "triggering" alarms)."""
    found: list[str] = []

    def walk(r: Rule) -> None:
        if isinstance(r, Check):
            name = alarm_name(r.alarm)
            if states.get(name) == r.state and name not in found:
                found.append(name)
        elif isinstance(r, Not):
            walk(r.arg)
        elif isinstance(r, Both):
            walk(r.left)
            walk(r.right)

    walk(rule)
    return found


@dataclass(frozen=True, slots=True)
class ChildState:
    arn: str
    state: str
    timestamp: str  # ISO with millis, "+0000"
    spoken: str  # "Friday 23 October, 2020 13:36:40 UTC"


def decide(rule: Rule, children_now: Mapping[str, ChildState]) -> tuple[str, str, str]:
    """(state, StateReason, StateReasonData) of a composite alarm."""
    states = {name: c.state for name, c in children_now.items()}
    fired = holds(rule, states)
    state = "ALARM" if fired else "OK"
    triggering = [children_now[n] for n in matching(rule, states) if n in children_now]
    if triggering:
        latest = max(triggering, key=lambda c: c.timestamp)
        reason = f"{latest.arn} transitioned to {latest.state} at {latest.spoken}"
    elif children_now:
        latest = max(children_now.values(), key=lambda c: c.timestamp)
        reason = f"{latest.arn} transitioned to {latest.state} at {latest.spoken}"
    else:
        reason = f"The alarm rule evaluated to {'TRUE' if fired else 'FALSE'}"
    data = {
        "triggeringAlarms": [
            {"arn": c.arn, "state": {"value": c.state, "timestamp": c.timestamp}} for c in triggering
        ]
    }
    return state, reason, json.dumps(data, separators=(",", ":"))
