"""Deployment and lifecycle-event statuses: the tables.  Pure.

A deployment moves along this table (AWS-FACTS §10.4); anything else is a
bug the controller refuses::

    Created ──► InProgress ──► Succeeded
       │            │  ▲  ├──► Ready ──► InProgress   (waiting for ContinueDeployment)
       │            │  │  └──► Baking ──► Succeeded  (blue/green: original kept a while)
       └────────────┴──┴──────────────► Failed | Stopped

Each deployment target (an instance, an ECS service) has the lifecycle
events of its platform, each Pending → InProgress → Succeeded | Failed, or
Skipped.  A target's status follows from its events, and the deployment's
``deploymentOverview`` counts its targets by status.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CREATED, QUEUED, IN_PROGRESS, BAKING, READY = "Created", "Queued", "InProgress", "Baking", "Ready"
SUCCEEDED, FAILED, STOPPED = "Succeeded", "Failed", "Stopped"
TERMINAL = frozenset({SUCCEEDED, FAILED, STOPPED})
ACTIVE = frozenset({CREATED, QUEUED, IN_PROGRESS, BAKING, READY})

PENDING, SKIPPED = "Pending", "Skipped"

TRANSITIONS: dict[str, frozenset[str]] = {
    CREATED: frozenset({IN_PROGRESS, FAILED, STOPPED}),
    QUEUED: frozenset({IN_PROGRESS, FAILED, STOPPED}),
    IN_PROGRESS: frozenset({READY, BAKING, SUCCEEDED, FAILED, STOPPED}),
    READY: frozenset({IN_PROGRESS, FAILED, STOPPED}),
    BAKING: frozenset({SUCCEEDED, FAILED, STOPPED}),
}

SERVER_EVENTS = (
    "ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart",
    "ValidateService",
)  # fmt: skip
BLOCK_EVENTS = ("BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic")
ALLOW_EVENTS = ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
ECS_EVENTS = (
    "BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic",
    "AllowTraffic", "AfterAllowTraffic",
)  # fmt: skip
# The events CodeDeploy itself carries out; the others run hooks (scripts or Lambda functions).
ECS_ACTIONS = frozenset({"Install", "AllowTestTraffic", "AllowTraffic"})
SERVER_ACTIONS = frozenset({"DownloadBundle", "Install", "BlockTraffic", "AllowTraffic"})


def can_move(current: str, new: str) -> bool:
    return new == current or new in TRANSITIONS.get(current, frozenset())


def server_events(with_traffic_control: bool) -> tuple[str, ...]:
    if with_traffic_control:
        return BLOCK_EVENTS + SERVER_EVENTS + ALLOW_EVENTS
    return SERVER_EVENTS


def new_events(names: Iterable[str]) -> list[dict[str, Any]]:
    return [{"lifecycleEventName": n, "status": PENDING} for n in names]


def target_status(events: list[dict[str, Any]]) -> str:
    """A target's status from its lifecycle events."""
    statuses = [e.get("status", PENDING) for e in events]
    if any(s == FAILED for s in statuses):
        return FAILED
    if statuses and all(s in (SUCCEEDED, SKIPPED) for s in statuses):
        return SKIPPED if all(s == SKIPPED for s in statuses) else SUCCEEDED
    if all(s == PENDING for s in statuses):
        return PENDING
    return IN_PROGRESS


def overview(statuses: Iterable[str]) -> dict[str, int]:
    """``deploymentOverview``: targets counted by status."""
    out = {PENDING: 0, IN_PROGRESS: 0, SUCCEEDED: 0, FAILED: 0, SKIPPED: 0, READY: 0}
    for s in statuses:
        key = s if s in out else PENDING
        out[key] += 1
    return out
