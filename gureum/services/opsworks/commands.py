"""Commands: what an instance's agent runs, one at a time, in the order queued.

A command document carries what the controller needs to run it later, even
after its app or deployment changed: ``_app`` (a snapshot of the app),
``_args`` (the deployment's Args), ``_customJson``, ``_boot`` (the Setup of a
boot, which also deploys every app), ``_automatic`` (queued by the service on
a topology change, not by a deployment), ``_timeout``.

Statuses: ``pending`` until done (``AcknowledgedAt`` says the agent took it),
then ``successful`` / ``failed`` (with ``ExitCode``, ``CompletedAt`` and a log
served at ``LogUrl``), ``skipped`` (its instance left online first) or
``superseded`` (a newer automatic Configure replaced it, see events.py).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope, Store
from gureum.services.opsworks import events
from gureum.services.opsworks.lifecycle import ONLINE_STATUSES
from gureum.services.opsworks.records import (
    COMMAND,
    COMMAND_LOG,
    INSTANCE,
    INSTANCE_CONTROLLER,
    iso,
    new_id,
    of_stack,
    scoped_key,
)

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]
_SEQ = itertools.count()
LOG_PATH = "/_gureum/opsworks/logs"
MAX_LOG_BYTES = 1024 * 1024


def new_command(app: App, scope: Scope, instance: Doc, ctype: str, *, deployment_id: str | None = None,
                app_snapshot: Doc | None = None, args: dict[str, list[str]] | None = None,
                custom_json: str | None = None, automatic: bool = False, boot: bool = False,
                timeout: float | None = None) -> Doc:
    now = app.clock.now()
    return {
        "CommandId": new_id(),
        "InstanceId": instance["InstanceId"],
        "DeploymentId": deployment_id,
        "CreatedAt": iso(now),
        "Status": "pending",
        "Type": ctype,
        "StackId": instance["StackId"],
        "_created": now,
        "_order": int(now * 1_000_000) * 1000 + next(_SEQ) % 1000,
        "_app": app_snapshot,
        "_args": args or {},
        "_customJson": custom_json,
        "_automatic": automatic,
        "_boot": boot,
        "_timeout": float(timeout or events.DEFAULT_COMMAND_TIMEOUT),
    }


def wake(app: App, scope: Scope, instance_id: str) -> None:
    app.runner.enqueue(INSTANCE_CONTROLLER, scoped_key(scope, instance_id))


def put(app: App, scope: Scope, docs: list[Doc]) -> None:
    with app.store.transaction():
        for doc in docs:
            app.store.put(COMMAND, scope, doc["CommandId"], doc)
    for iid in {d["InstanceId"] for d in docs}:
        wake(app, scope, iid)


def of_instance(store: Store, scope: Scope, instance_id: str) -> list[Doc]:
    docs = [d for _, d in store.list(COMMAND, scope) if d["InstanceId"] == instance_id]
    return sorted(docs, key=lambda d: d["_order"])


def is_done(doc: Doc) -> bool:
    return doc["Status"] != "pending"


def complete(app: App, scope: Scope, doc: Doc, status: str, *, exit_code: int | None = None,
             log: str | None = None) -> Doc:
    """Record a command's end (and its log, capped at 1 MB) — at most once."""
    current = app.store.get(COMMAND, scope, doc["CommandId"]) or doc
    if is_done(current):
        return current
    now = app.clock.now()
    current.update(Status=status, CompletedAt=iso(now), _completed=now)
    if exit_code is not None:
        current["ExitCode"] = exit_code
    with app.store.transaction():
        if log is not None:
            data = log.encode("utf-8", errors="replace")[-MAX_LOG_BYTES:]
            app.store.put(COMMAND_LOG, scope, doc["CommandId"], {"text": data.decode("utf-8", errors="replace")})
        app.store.put(COMMAND, scope, doc["CommandId"], current)
    return current


def log_text(store: Store, scope: Scope, command_id: str) -> str | None:
    doc = store.get(COMMAND_LOG, scope, command_id)
    return None if doc is None else str(doc["text"])


def view(doc: Doc, scope: Scope, base_url: str, has_log: bool) -> Doc:
    out = {k: v for k, v in doc.items() if not k.startswith("_") and k != "StackId" and v is not None}
    if has_log:
        out["LogUrl"] = f"{base_url}{LOG_PATH}/{scope.account}/{scope.region}/{doc['CommandId']}"
    return out


# -- Configure on topology changes --------------------------------------------------------------


def queue_configure(app: App, scope: Scope, stack_id: str) -> list[str]:
    """Configure on every online instance of the stack, superseding their queued automatic ones."""
    store = app.store
    online = [i for i in of_stack(store, INSTANCE, scope, stack_id) if i["Status"] in ONLINE_STATUSES]
    created: list[Doc] = []
    now = app.clock.now()
    with store.transaction():
        for inst in online:
            queue = [events.Queued(c["CommandId"], c["Type"], bool(c.get("AcknowledgedAt")), bool(c["_automatic"]))
                     for c in of_instance(store, scope, inst["InstanceId"]) if not is_done(c)]
            for cid in events.superseded_by_new_configure(queue):
                old = store.get(COMMAND, scope, cid)
                if old is not None:
                    old.update(Status="superseded", CompletedAt=iso(now), _completed=now)
                    store.put(COMMAND, scope, cid, old)
            created.append(new_command(app, scope, inst, "configure", automatic=True))
    put(app, scope, created)
    return [c["CommandId"] for c in created]
