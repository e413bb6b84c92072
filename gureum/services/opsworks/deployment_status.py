"""A deployment's status from its commands' statuses.  Pure.

OpsWorks: a Deployment is ``running`` until every one of its commands (one
per instance) is done, then ``failed`` if any command failed, else
``successful``.  Commands that did not run because their instance was not
online (``skipped``) or that a later command of the same kind replaced
(``superseded``) do not fail a deployment.  A command's status is one of
``pending`` (queued or running: OpsWorks shows no separate running status;
``AcknowledgedAt`` tells that the agent took it), ``successful``, ``failed``,
``skipped``, ``superseded``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RUNNING, SUCCESSFUL, FAILED = "running", "successful", "failed"
DONE_STATUSES = ("successful", "failed", "skipped", "superseded")


@dataclass(frozen=True, slots=True)
class CommandView:
    status: str
    created_at: float
    completed_at: float | None = None


@dataclass(frozen=True, slots=True)
class DeploymentStatus:
    status: str
    completed_at: float | None = None


def aggregate(commands: Sequence[CommandView], created_at: float) -> DeploymentStatus:
    """The status of a deployment created at ``created_at`` with these commands."""
    if any(c.status not in DONE_STATUSES for c in commands):
        return DeploymentStatus(RUNNING)
    status = FAILED if any(c.status == FAILED for c in commands) else SUCCESSFUL
    ends = [c.completed_at for c in commands if c.completed_at is not None]
    return DeploymentStatus(status, max(ends) if ends else created_at)


def duration(created_at: float, completed_at: float | None) -> int | None:
    """Deployment.Duration: whole seconds from creation to completion."""
    if completed_at is None:
        return None
    return max(0, int(round(completed_at - created_at)))
