"""The build controller: keeps one :class:`BuildRun` going for every build in progress.

Registered on ``app.runner`` as ``codebuild.build``.  Keys are
``<account>/<region>/<build id>``; the work list is the ``codebuild.active``
records, resynced every :data:`RESYNC` seconds, so builds left in progress
by a previous Gureum are picked up at start (``RESUME`` loads CodeBuild when
that kind has records).  A reconcile only makes sure a run task exists for
the key — the run itself is long (minutes of shell commands) and must not
hold a runner worker.  A run task that died is started again on the next
resync, and resumes from the phase its record is in.

StopBuild sets ``_run.stop`` on the record (kept across a restart) and the
in-memory stop event of the run, which kills the running phase container.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import shutil
import weakref
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.base import DriverError
from gureum.services.codebuild.records import (
    ACTIVE,
    active_keys,
    get_build,
    runner_key,
    split_runner_key,
)
from gureum.services.codebuild.runner.build_run import BuildRun
from gureum.services.codebuild.runner.session import BUILD_LABEL

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codebuild")

CONTROLLER = "codebuild.build"
RESYNC = 10.0


class Runs:
    """The run task and stop event of each build of one app."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        self.stops: dict[str, asyncio.Event] = {}

    def stop_event(self, key: str) -> asyncio.Event:
        event = self.stops.get(key)
        if event is None:
            event = self.stops[key] = asyncio.Event()
        return event


_runs: weakref.WeakKeyDictionary[Any, Runs] = weakref.WeakKeyDictionary()


def runs_of(app: App) -> Runs:
    runs = _runs.get(app)
    if runs is None:
        runs = _runs[app] = Runs()
    return runs


def register(app: App) -> None:
    app.runner.register(
        CONTROLLER,
        functools.partial(reconcile, app),
        list_keys=lambda: active_keys(app.store),
        period=RESYNC,
    )


def enqueue(app: App, scope: Scope, build_id: str) -> None:
    app.runner.enqueue(CONTROLLER, runner_key(scope, build_id))


def signal_stop(app: App, scope: Scope, build_id: str) -> None:
    key = runner_key(scope, build_id)
    runs_of(app).stop_event(key).set()
    app.runner.enqueue(CONTROLLER, key)


async def reconcile(app: App, key: str) -> Requeue | None:
    scope, build_id = split_runner_key(key)
    doc = get_build(app.store, scope, build_id)
    runs = runs_of(app)
    if doc is None or doc.get("buildComplete"):
        app.store.delete(ACTIVE, scope, build_id)
        runs.stops.pop(key, None)
        return None
    if doc["_run"].get("stop"):
        runs.stop_event(key).set()
    task = runs.tasks.get(key)
    if task is None or task.done():
        run = BuildRun(app, scope, build_id, runs.stop_event(key))
        runs.tasks[key] = app.spawn(_run(app, key, run))
    return None


async def _run(app: App, key: str, run: BuildRun) -> None:
    try:
        await run.run()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("build %s: the run stopped on an error; the next resync restarts it", run.build_id)
    finally:
        runs = runs_of(app)
        if runs.tasks.get(key) is asyncio.current_task():
            runs.tasks.pop(key, None)


def reset(app: App) -> None:
    """After the store was wiped: cancel the runs, remove their containers and workspaces."""
    runs = runs_of(app)
    for task in runs.tasks.values():
        task.cancel()
    runs.tasks.clear()
    runs.stops.clear()
    try:
        if app.runtime_name != "none":  # never open a driver just to find nothing
            app.spawn(_remove_containers(app))
    except RuntimeError:  # no running loop (a reset outside the server)
        pass
    shutil.rmtree(app.data_path / "codebuild", ignore_errors=True)


async def _remove_containers(app: App) -> None:
    with contextlib.suppress(DriverError):
        driver = await app.get_runtime()
        for state in await driver.list():
            if BUILD_LABEL in state.labels:
                with contextlib.suppress(DriverError):
                    await driver.remove(state.id, force=True)
