"""EC2 controllers: registration with the app's runner, and reset.

* ``ec2.instance`` (:mod:`instance_controller`) makes instances' containers
  real and moves their states;
* ``ec2.image`` (:mod:`image_controller`) makes AMIs available and removes
  baked images of deregistered ones;
* ``ec2.metrics`` (:mod:`metrics`) publishes CPUUtilization of running
  instances to CloudWatch every minute.

Keys carry their scope (``account|region|id``); both controllers resync
from the store periodically, which is also how they pick up their work
after a restart (``RESUME`` in :mod:`gureum.services` loads EC2 at start
when instances or images are stored).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from gureum.core.runner import Requeue
from gureum.services.ec2 import image_controller, instance_controller, metrics
from gureum.services.ec2.names import INSTANCE_CONTROLLER

if TYPE_CHECKING:
    from gureum.app import App

_INSTANCES: weakref.WeakKeyDictionary[App, instance_controller.InstanceController] = weakref.WeakKeyDictionary()


def register(app: App) -> None:
    instances = instance_controller.InstanceController(app)
    _INSTANCES[app] = instances

    async def reconcile_instance(key: str) -> Requeue | None:
        return await instances.reconcile(key)

    app.runner.register(INSTANCE_CONTROLLER, reconcile_instance, list_keys=instances.keys,
                        period=instance_controller.RESYNC)
    image_controller.register(app, image_controller.ImageController(app))
    sampler = metrics.MetricsController(app)
    app.runner.register(metrics.METRICS_CONTROLLER, sampler.reconcile, list_keys=sampler.keys, period=metrics.PERIOD)


def reset(app: App) -> None:
    """After the store was wiped: remove every container EC2 made (their instances are gone)."""
    if app not in _INSTANCES:
        return

    async def wipe() -> None:
        driver = await app.get_runtime()
        await instance_controller.remove_containers(app, driver, only_orphans=False)

    try:
        app.spawn(wipe())
    except RuntimeError:  # no running loop (a reset outside the server)
        pass
