"""The deployment controller: moves every unfinished deployment along.

Registered on ``app.runner`` as ``codedeploy.deployment``; keys are
``<account>|<region>|<deployment id>``; the work list is the
``codedeploy.active`` records, resynced every :data:`RESYNC` seconds, which
is also how deployments left unfinished by a previous Gureum carry on.

A reconcile hands the deployment to its platform's controller:

* ECS — :func:`ecs_bluegreen.step`, a synchronous pass that takes as many
  lifecycle steps as it can and says when to look again (a hook's answer, the
  next traffic step, the end of the bake); it never waits itself;
* Lambda — :func:`lambda_deploy.step`, the same for an alias's versions;
* Server — :func:`server_inplace.ensure_run`, which keeps one background run
  per deployment (scripts inside instances take minutes and must not hold a
  runner worker).

Shared here: starting a deployment, the alarm check, and finishing one —
the final status, ``errorInformation``, the group's last attempted and last
successful deployments, and automatic rollback (a new deployment created by
``codeDeployRollback`` when the deployment failed with DEPLOYMENT_FAILURE
among the rollback events, was stopped by an alarm with
DEPLOYMENT_STOP_ON_ALARM, or stopped by StopDeployment asking for it).
Alarm state changes (CloudWatch's ``cloudwatch.alarm_state`` topic) wake the
deployments that watch the alarm.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.codedeploy import lifecycle_status as ls
from gureum.services.codedeploy import links
from gureum.services.codedeploy.records import (
    ACTIVE,
    CONTROLLER,
    DEPLOYMENT,
    GROUP,
    Doc,
    group_key,
    runner_key,
    split_runner_key,
    targets_of,
)

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codedeploy")

RESYNC = 5.0


def register(app: App) -> None:
    app.runner.register(CONTROLLER, functools.partial(reconcile, app), list_keys=lambda: active_keys(app), period=RESYNC)
    app.bus.subscribe(links.alarm_topic(), functools.partial(_on_alarm, app))


def active_keys(app: App) -> list[str]:
    return [runner_key(scope, key) for scope in app.store.list_scopes(ACTIVE) for key, _ in app.store.list(ACTIVE, scope)]


def enqueue(app: App, scope: Scope, deployment_id: str, after: float = 0.0) -> None:
    app.runner.enqueue(CONTROLLER, runner_key(scope, deployment_id), after=after)


def _on_alarm(app: App, topic: str, payload: dict[str, Any]) -> None:
    if payload.get("state") != "ALARM":
        return
    scope = Scope(str(payload.get("account")), str(payload.get("region")))
    for key, _ in app.store.list(ACTIVE, scope):
        doc = app.store.get(DEPLOYMENT, scope, key)
        names = [a.get("name") for a in ((doc or {}).get("_alarms") or {}).get("alarms") or []]
        if doc is not None and payload.get("alarm") in names:
            enqueue(app, scope, key)


async def reconcile(app: App, key: str) -> Requeue | None:
    scope, dep_id = split_runner_key(key)
    doc = app.store.get(DEPLOYMENT, scope, dep_id)
    if doc is None or doc["status"] in ls.TERMINAL:
        app.store.delete(ACTIVE, scope, dep_id)
        return None
    platform = doc["computePlatform"]
    if platform == "ECS":
        from gureum.services.codedeploy import ecs_bluegreen

        return ecs_bluegreen.step(app, scope, doc)
    if platform == "Server":
        from gureum.services.codedeploy import server_inplace

        server_inplace.ensure_run(app, scope, dep_id)
        return None
    from gureum.services.codedeploy import lambda_deploy

    return lambda_deploy.step(app, scope, doc)


# -- shared steps --------------------------------------------------------------------------------


class Problem(Exception):
    """A deployment cannot go on: ``code`` is CodeDeploy's errorInformation code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def begin(app: App, scope: Scope, doc: Doc, prepare: Callable[[App, Scope, Doc, float], None]) -> bool:
    """On a deployment's first pass, ``prepare`` it and mark it started.

    Returns False when preparing failed (the deployment is then finished as
    Failed with the problem's code); True when the pass may go on.
    """
    if doc["status"] != ls.CREATED:
        return True
    try:
        prepare(app, scope, doc, app.clock.now())
    except Problem as p:
        finish(app, scope, doc, ls.FAILED, p.code, p.message)
        return False
    start(app, scope, doc)
    return True


def start(app: App, scope: Scope, doc: Doc) -> None:
    """Created → InProgress (the caller writes ``doc``)."""
    if doc["status"] == ls.CREATED:
        doc["status"] = ls.IN_PROGRESS
        doc["startTime"] = app.clock.now()
        _group_attempt(app, scope, doc)


def set_status(doc: Doc, status: str) -> None:
    if not ls.can_move(doc["status"], status):
        raise AssertionError(f"deployment {doc['deploymentId']}: {doc['status']} cannot become {status}")
    doc["status"] = status


def alarm_problem(app: App, scope: Scope, doc: Doc) -> str | None:
    """Why the deployment must stop for its alarms, or None."""
    cfg = doc.get("_alarms") or {}
    if not cfg.get("enabled"):
        return None
    for a in cfg.get("alarms") or []:
        state = links.alarm_state(app, scope, a.get("name", ""))
        if state == "ALARM":
            return f"One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the affected deployments have been stopped. Activated alarms: <{a['name']}>"
        if state is None and not cfg.get("ignorePollAlarmFailure"):
            return f"The alarm {a.get('name')} could not be read, and ignorePollAlarmFailure is off."
    return None


def stop_reason(app: App, scope: Scope, doc: Doc) -> tuple[str, str, bool] | None:
    """(error code, message, roll back?) when the deployment must stop now, else None."""
    stop = (doc.get("_run") or {}).get("stop")
    if stop is not None:
        return "MANUAL_STOP", "The deployment was stopped by the user (StopDeployment).", bool(stop.get("rollback"))
    problem = alarm_problem(app, scope, doc)
    if problem is not None:
        return "ALARM_ACTIVE", problem, _rollback_on(doc, "DEPLOYMENT_STOP_ON_ALARM")
    return None


def _rollback_on(doc: Doc, event: str) -> bool:
    cfg = doc.get("autoRollbackConfiguration") or {}
    return bool(cfg.get("enabled")) and event in (cfg.get("events") or [])


def finish(app: App, scope: Scope, doc: Doc, status: str, code: str | None = None, message: str = "",
           rollback: bool | None = None, rollback_run: Doc | None = None) -> Doc | None:  # fmt: skip
    """End the deployment (writes it); returns the rollback deployment when one was started."""
    now = app.clock.now()
    set_status(doc, status)
    doc["completeTime"] = now
    if code:
        doc["errorInformation"] = {"code": code, "message": message}
    if rollback is None:
        rollback = status == ls.FAILED and _rollback_on(doc, "DEPLOYMENT_FAILURE")
    rolled = None
    if rollback and doc.get("creator") != "codeDeployRollback":
        rolled = _start_rollback(app, scope, doc, rollback_run)
    with app.store.transaction():
        app.store.put(DEPLOYMENT, scope, doc["deploymentId"], doc)
        app.store.delete(ACTIVE, scope, doc["deploymentId"])
        _group_result(app, scope, doc)
    log.info("deployment %s %s%s", doc["deploymentId"], status, f" ({code}: {message})" if code else "")
    return rolled


def _start_rollback(app: App, scope: Scope, doc: Doc, run: Doc | None) -> Doc | None:
    from gureum.services.codedeploy.deployments import new_deployment

    revision = doc.get("previousRevision")
    if doc["computePlatform"] == "Lambda" and not (run or {}).get("routed"):
        doc["rollbackInfo"] = {"rollbackMessage": "Automatic rollback was not needed: no traffic had moved yet."}
        return None
    if doc["computePlatform"] == "ECS" and not (run or {}).get("blue"):
        doc["rollbackInfo"] = {"rollbackMessage": "Automatic rollback was not needed: the deployment changed nothing yet."}
        return None
    touched = [t for t in targets_of(app.store, scope, doc["deploymentId"]) if t["status"] not in (ls.PENDING, ls.SKIPPED)]
    if doc["computePlatform"] == "Server" and not touched:
        doc["rollbackInfo"] = {"rollbackMessage": "Automatic rollback was not needed: no instance was deployed to."}
        return None
    if doc["computePlatform"] == "Server" and not revision:
        doc["rollbackInfo"] = {"rollbackMessage": "Automatic rollback was not started: the deployment group has no last successful revision to roll back to."}
        return None
    req = {
        "applicationName": doc["applicationName"],
        "deploymentGroupName": doc["deploymentGroupName"],
        "revision": revision or doc["revision"],
        "deploymentConfigName": doc["deploymentConfigName"],
        "description": f"Rollback of deployment {doc['deploymentId']}",
    }
    try:
        rb = new_deployment(app, scope, req, creator="codeDeployRollback", rollback_of=doc["deploymentId"])
    except ServiceError as exc:
        doc["rollbackInfo"] = {"rollbackMessage": f"Automatic rollback could not start: {exc.message}"}
        return None
    if run is not None:
        rb["_run"]["rollbackOf"] = copy.deepcopy(run)
    rb["_alarms"] = {"enabled": False, "alarms": []}  # the alarm that stopped the deployment must not stop its rollback
    app.store.put(DEPLOYMENT, scope, rb["deploymentId"], rb)
    doc["rollbackInfo"] = {
        "rollbackDeploymentId": rb["deploymentId"],
        "rollbackMessage": f"Automatic rollback triggered: deployment {rb['deploymentId']} rolls {doc['deploymentId']} back.",
    }
    return rb


def _group(app: App, scope: Scope, doc: Doc) -> tuple[str, Doc] | None:
    key = group_key(doc["applicationName"], doc["deploymentGroupName"])
    group = app.store.get(GROUP, scope, key)
    if group is None or group["deploymentGroupId"] != doc["_group"]["deploymentGroupId"]:
        return None
    return key, group


def _group_attempt(app: App, scope: Scope, doc: Doc) -> None:
    found = _group(app, scope, doc)
    if found is None:
        return
    key, group = found
    group["lastAttemptedDeployment"] = {"deploymentId": doc["deploymentId"], "status": doc["status"], "createTime": doc["createTime"]}
    app.store.put(GROUP, scope, key, group)


def _group_result(app: App, scope: Scope, doc: Doc) -> None:
    found = _group(app, scope, doc)
    if found is None:
        return
    key, group = found
    info = {"deploymentId": doc["deploymentId"], "status": doc["status"], "endTime": doc.get("completeTime"), "createTime": doc["createTime"]}
    group["lastAttemptedDeployment"] = info
    if doc["status"] == ls.SUCCEEDED:
        group["lastSuccessfulDeployment"] = info
    app.store.put(GROUP, scope, key, group)
