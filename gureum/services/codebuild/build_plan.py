"""Which phase a build runs next, and its final status.  Pure: no I/O.

Phases in order (https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html)::

    SUBMITTED → QUEUED → PROVISIONING → DOWNLOAD_SOURCE → INSTALL → PRE_BUILD
      → BUILD → POST_BUILD → UPLOAD_ARTIFACTS → FINALIZING → COMPLETED

When a phase fails (``on-failure: ABORT``, the default), AWS's transitions:

=================  =====================
failed phase       next phase
=================  =====================
PROVISIONING       FINALIZING
DOWNLOAD_SOURCE    FINALIZING
INSTALL            FINALIZING
PRE_BUILD          FINALIZING
BUILD              POST_BUILD
POST_BUILD         UPLOAD_ARTIFACTS
UPLOAD_ARTIFACTS   FINALIZING
=================  =====================

so POST_BUILD still runs after a failed BUILD, and UPLOAD_ARTIFACTS is
always attempted after BUILD.  With ``on-failure: CONTINUE`` a failed
command phase goes on to the next phase in order.  A phase that timed out,
was stopped or faulted goes straight to FINALIZING.  (The ``finally`` block
of a phase runs inside that phase, whatever its commands did.)

The build's status is the worst of its phases' statuses, by
:data:`SEVERITY`: STOPPED over TIMED_OUT over FAULT over FAILED over
SUCCEEDED.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    SUBMITTED = "SUBMITTED"
    QUEUED = "QUEUED"
    PROVISIONING = "PROVISIONING"
    DOWNLOAD_SOURCE = "DOWNLOAD_SOURCE"
    INSTALL = "INSTALL"
    PRE_BUILD = "PRE_BUILD"
    BUILD = "BUILD"
    POST_BUILD = "POST_BUILD"
    UPLOAD_ARTIFACTS = "UPLOAD_ARTIFACTS"
    FINALIZING = "FINALIZING"
    COMPLETED = "COMPLETED"


class Status(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    FAULT = "FAULT"
    TIMED_OUT = "TIMED_OUT"
    IN_PROGRESS = "IN_PROGRESS"
    STOPPED = "STOPPED"


ORDER: tuple[Phase, ...] = tuple(Phase)
COMMAND_PHASES: dict[Phase, str] = {
    Phase.INSTALL: "install",
    Phase.PRE_BUILD: "pre_build",
    Phase.BUILD: "build",
    Phase.POST_BUILD: "post_build",
}
ON_FAILURE_NEXT: dict[Phase, Phase] = {
    Phase.SUBMITTED: Phase.FINALIZING,
    Phase.QUEUED: Phase.FINALIZING,
    Phase.PROVISIONING: Phase.FINALIZING,
    Phase.DOWNLOAD_SOURCE: Phase.FINALIZING,
    Phase.INSTALL: Phase.FINALIZING,
    Phase.PRE_BUILD: Phase.FINALIZING,
    Phase.BUILD: Phase.POST_BUILD,
    Phase.POST_BUILD: Phase.UPLOAD_ARTIFACTS,
    Phase.UPLOAD_ARTIFACTS: Phase.FINALIZING,
    Phase.FINALIZING: Phase.COMPLETED,
}
SEVERITY: dict[Status, int] = {
    Status.SUCCEEDED: 0,
    Status.FAILED: 1,
    Status.FAULT: 2,
    Status.TIMED_OUT: 3,
    Status.STOPPED: 4,
}


@dataclass(frozen=True, slots=True)
class Transition:
    next_phase: Phase
    reason: str


def following(phase: Phase) -> Phase:
    """The phase after ``phase`` in the normal order (COMPLETED stays)."""
    i = ORDER.index(phase)
    return ORDER[min(i + 1, len(ORDER) - 1)]


def next_phase(phase: Phase, status: Status, on_failure: str = "ABORT") -> Transition:
    """Where a build goes after ``phase`` ended with ``status``."""
    if phase is Phase.COMPLETED:
        return Transition(Phase.COMPLETED, "the build is complete")
    if status is Status.SUCCEEDED:
        return Transition(following(phase), "phase succeeded")
    if phase is Phase.FINALIZING:
        return Transition(Phase.COMPLETED, "finalizing always completes")
    if status in (Status.STOPPED, Status.TIMED_OUT, Status.FAULT):
        return Transition(Phase.FINALIZING, f"phase {status.value.lower()}")
    if phase in COMMAND_PHASES and on_failure.upper() == "CONTINUE":
        return Transition(following(phase), "phase failed; on-failure is CONTINUE")
    return Transition(ON_FAILURE_NEXT[phase], "phase failed")


def build_status(phase_statuses: Iterable[Status | str | None]) -> Status:
    """The final status of a build from the statuses its phases ended with."""
    worst = Status.SUCCEEDED
    for raw in phase_statuses:
        if raw is None or raw == Status.IN_PROGRESS:
            continue
        status = Status(raw)
        if SEVERITY[status] > SEVERITY[worst]:
            worst = status
    return worst


def succeeding(phase_statuses: Iterable[Status | str | None]) -> bool:
    """``CODEBUILD_BUILD_SUCCEEDING``: no phase so far ended badly."""
    return build_status(phase_statuses) is Status.SUCCEEDED


def remaining_plan(start: Phase) -> tuple[Phase, ...]:
    """The phases from ``start`` to COMPLETED if every one succeeds (for display and tests)."""
    return ORDER[ORDER.index(start) :]
