"""Service documents: deployments, events and the counts DescribeServices
shows (computed from the tasks when asked, so never stale).

Event wording follows what ECS writes into ``services[].events``::

    (service web) has started 2 tasks: (task 1a2b…) (task 3c4d…).
    (service web) has stopped 1 running tasks: (task 1a2b…).
    (service web) has reached a steady state.
    (service web) (deployment ecs-svc/123…) deployment completed.

ECS keeps the newest 100 events; so do we.
"""

from __future__ import annotations

import uuid
from typing import Any

from gureum.services.ecs import names

Doc = dict[str, Any]

MAX_EVENTS = 100
PENDING_STATUSES = ("PROVISIONING", "PENDING", "ACTIVATING")


def new_deployment(service: Doc, task_definition: str, now: float, reason: str | None = None) -> Doc:
    dep_id = names.new_deployment_id()
    d: Doc = {
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.get("desiredCount", 0),
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.get("launchType", "EC2"),
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": reason or f"ECS deployment {dep_id} in progress.",
    }
    if service.get("capacityProviderStrategy"):
        d["capacityProviderStrategy"] = service["capacityProviderStrategy"]
        d.pop("launchType", None)
    if service.get("platformVersion"):
        d["platformVersion"] = service["platformVersion"]
    if service.get("networkConfiguration"):
        d["networkConfiguration"] = service["networkConfiguration"]
    return d


def start_deployment(service: Doc, task_definition: str, now: float, reason: str | None = None) -> Doc:
    """Make a new PRIMARY deployment; the previous primary becomes ACTIVE."""
    for d in service.get("deployments") or []:
        if d["status"] == "PRIMARY":
            d["status"] = "ACTIVE"
            d["updatedAt"] = now
    dep = new_deployment(service, task_definition, now, reason)
    service["deployments"] = [dep, *(service.get("deployments") or [])]
    service["taskDefinition"] = task_definition
    return dep


def add_event(service: Doc, message: str, now: float) -> None:
    events = service.setdefault("events", [])
    events.insert(0, {"id": str(uuid.uuid4()), "createdAt": now, "message": message})
    del events[MAX_EVENTS:]


def started_event(name: str, task_ids: list[str]) -> str:
    tasks = " ".join(f"(task {t})" for t in task_ids)
    return f"(service {name}) has started {len(task_ids)} tasks: {tasks}."


def stopped_event(name: str, task_ids: list[str]) -> str:
    tasks = " ".join(f"(task {t})" for t in task_ids)
    return f"(service {name}) has stopped {len(task_ids)} running tasks: {tasks}."


def steady_event(name: str) -> str:
    return f"(service {name}) has reached a steady state."


def with_counts(service: Doc, tasks: list[Doc]) -> Doc:
    """The service as DescribeServices shows it, counts from its tasks."""
    out = {k: v for k, v in service.items() if not k.startswith("_")}
    live = [t for t in tasks if t.get("lastStatus") != "STOPPED"]
    out["runningCount"] = sum(1 for t in live if t.get("lastStatus") == "RUNNING")
    out["pendingCount"] = sum(1 for t in live if t.get("lastStatus") in PENDING_STATUSES)
    deps = []
    for d in service.get("deployments") or []:
        mine = [t for t in live if t.get("_deploymentId") == d["id"]]
        dd = dict(d)
        dd["runningCount"] = sum(1 for t in mine if t.get("lastStatus") == "RUNNING")
        dd["pendingCount"] = sum(1 for t in mine if t.get("lastStatus") in PENDING_STATUSES)
        if d["status"] == "PRIMARY":
            dd["desiredCount"] = service.get("desiredCount", 0)
        else:
            dd["desiredCount"] = sum(1 for t in mine if t.get("desiredStatus") == "RUNNING")
        deps.append(dd)
    out["deployments"] = deps
    return out
