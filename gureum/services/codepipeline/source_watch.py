"""Change detection for Amazon S3 source actions: a new object version starts an execution.

S3 publishes no event Gureum could subscribe to, so the ``codepipeline.source``
controller looks at the current version of each watched object on a periodic
tick: every :data:`PERIOD` real seconds (the tick runs on the injected clock,
scaled by ``--time-scale`` so the real interval stays the same).  Detection
latency is therefore at most one period (1 s) plus the controller's queue.

Watched: every S3 source action whose ``PollForSourceChanges`` is not
``false`` (it defaults to true).  The watch record keeps, per action, the
version it last saw; CreatePipeline and UpdatePipeline set it to the current
version (the creation's own execution takes that one; an update does not
re-run it, as on AWS), and a source action that fetched a version marks it
seen, so a manual start after an upload is not followed by a second
execution for the same version.  A change starts one execution (trigger
``PollForSourceChanges``, detail: the action names) that fetches exactly the
versions seen.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.codepipeline import executions, records
from gureum.services.codepipeline.records import Doc

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codepipeline")

CONTROLLER = "codepipeline.source"
PERIOD = 1.0


def watched(declaration: Doc) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for action in declaration["stages"][0]["actions"]:
        t = action["actionTypeId"]
        cfg = action.get("configuration") or {}
        if (t["owner"], t["category"], t["provider"]) != ("AWS", "Source", "S3"):
            continue
        if str(cfg.get("PollForSourceChanges", "true")).lower() == "false":
            continue
        out[action["name"]] = {"bucket": cfg["S3Bucket"], "key": cfg["S3ObjectKey"]}
    return out


def _current(app: App, bucket: str, key: str) -> str | None:
    from gureum.services.s3.public import head_object

    try:
        doc = head_object(app, bucket, key)
    except ServiceError:
        return None
    return None if doc is None else str(doc["VersionId"])


def rebuild(app: App, scope: Scope, name: str, declaration: Doc) -> None:
    sources = watched(declaration)
    if not sources:
        app.store.delete(records.WATCH, scope, name)
        return
    for src in sources.values():
        src["seen"] = _current(app, src["bucket"], src["key"])  # type: ignore[assignment]
    app.store.put(records.WATCH, scope, name, {"sources": sources})


def saw(app: App, scope: Scope, name: str, action: str, version: str) -> None:
    with app.store.transaction():
        doc = app.store.get(records.WATCH, scope, name)
        src = (doc or {}).get("sources", {}).get(action)
        if doc is None or src is None or src.get("seen") == version:
            return
        if _current(app, src["bucket"], src["key"]) == version:
            src["seen"] = version
            app.store.put(records.WATCH, scope, name, doc)


def register(app: App) -> None:
    scale = float(getattr(app.settings, "time_scale", 1.0) or 1.0)
    app.runner.register(CONTROLLER, functools.partial(reconcile, app), list_keys=functools.partial(_keys, app), period=PERIOD * scale)


def _keys(app: App) -> list[str]:
    return [records.runner_key(scope, name) for scope in app.store.list_scopes(records.WATCH) for name, _ in app.store.list(records.WATCH, scope)]


async def reconcile(app: App, key: str) -> Requeue | None:
    scope, name = records.split_runner_key(key)
    changed: dict[str, str] = {}
    with app.store.transaction():
        doc = app.store.get(records.WATCH, scope, name)
        if doc is None or app.store.get(records.PIPELINE, scope, name) is None:
            return None
        for action, src in doc["sources"].items():
            version = _current(app, src["bucket"], src["key"])
            if version is not None and version != src.get("seen"):
                changed[action] = version
                src["seen"] = version
        if changed:
            app.store.put(records.WATCH, scope, name, doc)
    if changed:
        overrides: dict[str, Any] = {a: {"S3_OBJECT_VERSION_ID": v} for a, v in changed.items()}
        trigger = {"triggerType": "PollForSourceChanges", "triggerDetail": ",".join(sorted(changed))}
        executions.create(app, scope, name, trigger, values=None, overrides=overrides)
        log.info("pipeline %s: new source version(s) %s started an execution", name, changed)
    return None
