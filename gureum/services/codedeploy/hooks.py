"""Lifecycle hooks that call Lambda functions (ECS and Lambda deployments),
and PutLifecycleEventHookExecutionStatus, by which a function reports back.

A hook event runs like this (:func:`hook_step`, called by the platform
controller on each pass, synchronously):

1. first pass: a hook execution id is recorded on the event and in the
   deployment (``_run.hooks``), and the function is invoked in the
   background with ``{"DeploymentId", "LifecycleEventHookExecutionId"}``;
2. the function calls PutLifecycleEventHookExecutionStatus with Succeeded or
   Failed; that records the status on the event and wakes the controller;
3. the next pass finishes the event.  A function that raises (or cannot be
   invoked) fails the hook at once with the error Lambda gave; one that never
   reports fails it after :data:`HOOK_TIMEOUT` (one hour, as on AWS).

A hook invoked by a Gureum that stopped before the answer came is invoked
again after the restart (at least once: the first answer wins).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import weakref
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.codedeploy import links, steps
from gureum.services.codedeploy.records import TARGET, Doc, err, require_deployment, target_key

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codedeploy.hooks")

HOOK_TIMEOUT = 3600.0
DONE_STATUSES = ("Succeeded", "Failed")


_INVOKED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def _invoked(app: App) -> set[str]:
    """Hook executions this process has invoked (a restarted Gureum invokes the unanswered ones again)."""
    found = _INVOKED.get(app)
    if found is None:
        found = _INVOKED[app] = set()
    return found


def new_execution_id(deployment_id: str) -> str:
    raw = f"{deployment_id}:{secrets.token_hex(24)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def hook_step(app: App, scope: Scope, dep: Doc, target: Doc, event: Doc, function: str | None, now: float) -> steps.Step:
    """One pass of a hook event (mutates ``dep``/``event``; the caller writes them)."""
    if not function:
        return steps.DONE
    hook = event.get("_hook")
    if hook is None:
        exec_id = new_execution_id(dep["deploymentId"])
        event["_hook"] = {"executionId": exec_id, "function": function, "startedAt": now}
        dep["_run"].setdefault("hooks", {})[exec_id] = {"target": target["targetId"], "event": event["lifecycleEventName"]}
        _invoked(app).add(exec_id)
        app.spawn(_invoke(app, scope, dep["deploymentId"], target["targetId"], event["lifecycleEventName"], function, exec_id))
        return steps.wait(HOOK_TIMEOUT)
    status = hook.get("status")
    name = event["lifecycleEventName"]
    if status is None and hook["executionId"] not in _invoked(app):
        # invoked by a Gureum that has since stopped: the answer may never come, so ask again (at least once)
        _invoked(app).add(hook["executionId"])
        app.spawn(_invoke(app, scope, dep["deploymentId"], target["targetId"], name, hook["function"], hook["executionId"]))
    if status == "Succeeded":
        return steps.Step("done", message=f"Hook {function} reported Succeeded")
    if status == "Failed":
        reason = hook.get("message") or f"The Lambda function {function} reported Failed for the {name} lifecycle event."
        return steps.fail("HOOK_EXECUTION_FAILURE", reason, "ScriptFailed", script=function)
    left = float(hook["startedAt"]) + HOOK_TIMEOUT - now
    if left <= 0:
        return steps.fail(
            "TIMEOUT", f"The {name} hook {function} did not report a status within {int(HOOK_TIMEOUT)} seconds.",
            "ScriptTimedOut", script=function,
        )  # fmt: skip
    return steps.wait(left)


async def _invoke(app: App, scope: Scope, dep_id: str, target_id: str, event: str, function: str, exec_id: str) -> None:
    payload = json.dumps({"DeploymentId": dep_id, "LifecycleEventHookExecutionId": exec_id}).encode()
    message = None
    try:
        _, body, error = await links.invoke(app, scope, function, payload)
        if error:
            message = f"The Lambda function {function} failed ({error}): {_error_text(body)}"
    except ServiceError as exc:
        message = f"The Lambda function {function} could not be invoked: {exc.code}: {exc.message}"
    except Exception as exc:  # a bug or a dead worker must fail the hook, not leave it hanging
        log.exception("invoking hook %s of %s failed", function, dep_id)
        message = f"The Lambda function {function} could not be invoked: {exc}"
    if message is not None:
        record(app, scope, dep_id, target_id, event, exec_id, "Failed", message)


def _error_text(body: bytes) -> str:
    try:
        doc = json.loads(body)
        return str(doc.get("errorMessage") or doc)[:500]
    except ValueError:
        return body.decode(errors="replace")[:500]


def record(app: App, scope: Scope, dep_id: str, target_id: str, event_name: str, exec_id: str, status: str,
           message: str | None = None) -> bool:  # fmt: skip
    """Record a hook's outcome (first one wins); whether it was recorded."""
    from gureum.services.codedeploy.controller import enqueue

    key = target_key(dep_id, target_id)
    target = app.store.get(TARGET, scope, key)
    if target is None:
        return False
    for e in target.get("lifecycleEvents") or []:
        hook = e.get("_hook")
        if e["lifecycleEventName"] == event_name and hook and hook.get("executionId") == exec_id:
            if hook.get("status") in DONE_STATUSES or e.get("status") != "InProgress":
                return False
            hook["status"] = status
            if message:
                hook["message"] = message
            app.store.put(TARGET, scope, key, target)
            enqueue(app, scope, dep_id)
            return True
    return False


def put_lifecycle_event_hook_execution_status(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    dep = require_deployment(ctx.store, ctx.scope, req.get("deploymentId"))
    exec_id = req.get("lifecycleEventHookExecutionId") or ""
    status = req.get("status")
    if status not in DONE_STATUSES:
        raise err("InvalidLifecycleEventHookExecutionStatusException", f"The status {status} is not valid: report Succeeded or Failed.")
    where = ((dep.get("_run") or {}).get("hooks") or {}).get(exec_id)
    if where is None:
        raise err("InvalidLifecycleEventHookExecutionIdException", f"The lifecycle event hook execution ID {exec_id} is not valid for deployment {dep['deploymentId']}.")
    if not record(ctx.app, ctx.scope, dep["deploymentId"], where["target"], where["event"], exec_id, status):
        raise err("LifecycleEventAlreadyCompletedException", f"The lifecycle event {where['event']} of deployment {dep['deploymentId']} has already completed.")
    return {"lifecycleEventHookExecutionId": exec_id}


OPERATIONS = {"PutLifecycleEventHookExecutionStatus": put_lifecycle_event_hook_execution_status}
