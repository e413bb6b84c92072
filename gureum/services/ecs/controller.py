"""ECS controllers: registration with the app's runner.

* ``ecs.task`` (:mod:`task_controller`) moves each task along its lifecycle
  and makes its containers real through the runtime driver.
* ``ecs.service`` (:mod:`service_controller`) keeps each service's tasks at
  its desired count and rolls out deployments.
* ``ecs.metrics`` (:mod:`metrics`) publishes CPU and memory utilization of
  services and clusters to CloudWatch every minute.

Keys carry their scope (``account|region|cluster/id``).  Both controllers
resync every few seconds from the store, which is also how they pick up
their work after a restart.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.services.ecs.records import SERVICE_CONTROLLER, TASK_CONTROLLER

if TYPE_CHECKING:
    from gureum.app import App

METRICS_CONTROLLER = "ecs.metrics"
TASK_RESYNC = 5.0
_TASKS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
SERVICE_RESYNC = 5.0


def register(app: App) -> None:
    from gureum.services.ecs import service_controller, task_controller
    from gureum.services.ecs.metrics import PERIOD, MetricsController

    tasks = task_controller.TaskController(app)
    metrics = MetricsController(app)
    services = service_controller.ServiceController(app)

    async def reconcile_task(key: str) -> Requeue | None:
        return await tasks.reconcile(key)

    async def reconcile_service(key: str) -> Requeue | None:
        return await services.reconcile(key)

    _TASKS[app] = tasks
    app.runner.register(TASK_CONTROLLER, reconcile_task, list_keys=tasks.keys, period=TASK_RESYNC)
    app.runner.register(SERVICE_CONTROLLER, reconcile_service, list_keys=services.keys, period=SERVICE_RESYNC)
    app.runner.register(METRICS_CONTROLLER, metrics.reconcile, list_keys=metrics.keys, period=PERIOD)
    tasks.start()


def reset(app: App) -> None:
    """After the store was wiped: remove every container ECS made (they have no task now)."""
    tasks = _TASKS.get(app)
    if tasks is None:
        return
    try:
        app.spawn(tasks.remove_everything())
    except RuntimeError:  # no running loop (a reset outside the server)
        pass
