"""The scalable-target controller: scheduled actions on the clock, policies on alarms.

Keys are ``account|region|<target key>``; a reconcile runs the target's
due scheduled actions and asks to come back when the next one is due.  The
runner resyncs every :data:`RESYNC` seconds (which is also how schedules
survive a restart: ``RESUME`` loads the service when targets are stored).
Policies need no controller: :mod:`executor` runs them from CloudWatch's
alarm actions on the bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gureum.core.runner import Requeue
from gureum.services.applicationautoscaling import executor, flap_guard, names, scheduled_api

if TYPE_CHECKING:
    from gureum.app import App

RESYNC = 30.0


def start(app: App) -> None:
    """Register the controller and the alarm-action subscription (ServiceApi start-up hook)."""

    def keys() -> list[str]:
        return [names.scoped_key(scope, key) for scope in app.store.list_scopes(names.SCHEDULED)
                for key in {k.split(names.SEP, 1)[0] for k, _ in app.store.list(names.SCHEDULED, scope)}]

    async def reconcile(key: str) -> Requeue | None:
        scope, tkey = names.split_scoped_key(key)
        now = app.clock.now()
        due = scheduled_api.run_due(app, scope, tkey, now)
        return None if due is None else Requeue(max(0.05, due - now))

    app.runner.register(names.CONTROLLER, reconcile, list_keys=keys, period=RESYNC)
    executor.subscribe(app)
    app.health_warnings.append(lambda: flap_guard.health_warnings(app))
