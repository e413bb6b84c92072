"""What one lifecycle event step answers, and how events are written.  Pure.

A controller runs a target's lifecycle events in order; the code behind
each event (a hook, an install, a traffic shift) answers a :class:`Step`:
done (the event Succeeded), skipped, wait (look again after ``after``
seconds) or failed (with the deployment's error code, the event's
diagnostics and a message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gureum.services.codedeploy import lifecycle_status as ls

Doc = dict[str, Any]
LOG_TAIL = 2048


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # done | skip | wait | fail
    after: float = 0.0
    code: str = ""  # the deployment's ErrorCode when failed
    message: str = ""
    error_code: str = ""  # the event's LifecycleErrorCode when failed
    log_tail: str = ""
    script: str = ""


DONE = Step("done")
SKIP = Step("skip")


def wait(after: float) -> Step:
    return Step("wait", after=max(0.05, after))


def fail(code: str, message: str, error_code: str = "UnknownError", log_tail: str = "", script: str = "") -> Step:
    return Step("fail", code=code, message=message, error_code=error_code, log_tail=log_tail, script=script)


def current(events: list[Doc]) -> Doc | None:
    """The first event not finished yet."""
    for e in events:
        if e.get("status") in (ls.PENDING, ls.IN_PROGRESS):
            return e
    return None


def begin(event: Doc, now: float) -> None:
    if event.get("status") == ls.PENDING:
        event["status"] = ls.IN_PROGRESS
        event["startTime"] = now


def finish(event: Doc, step: Step, now: float) -> None:
    """Record a done/skip/fail step on ``event``."""
    event.setdefault("startTime", now)
    event["endTime"] = now
    if step.kind == "done":
        event["status"] = ls.SUCCEEDED
        event["diagnostics"] = {"errorCode": "Success", "scriptName": step.script, "message": step.message or "Succeeded",
                                "logTail": step.log_tail[-LOG_TAIL:]}  # fmt: skip
    elif step.kind == "skip":
        event["status"] = ls.SKIPPED
    else:
        event["status"] = ls.FAILED
        event["diagnostics"] = {
            "errorCode": step.error_code or "UnknownError",
            "scriptName": step.script,
            "message": step.message,
            "logTail": step.log_tail[-LOG_TAIL:],
        }


def skip_rest(events: list[Doc], now: float) -> None:
    """A finished deployment leaves no event pending: the rest are Skipped."""
    for e in events:
        if e.get("status") == ls.PENDING:
            e["status"] = ls.SKIPPED
        elif e.get("status") == ls.IN_PROGRESS:
            e["status"] = ls.FAILED
            e["endTime"] = now
            e.setdefault("diagnostics", {"errorCode": "UnknownError", "scriptName": "", "message": "The deployment ended before this event finished.", "logTail": ""})
