"""OpsWorks Stacks (botocore ``opsworks``, API 2013-02-18, protocol json): the handlers.

Gureum ships this service's model itself (``gureum/models/opsworks``: botocore
dropped it when AWS retired OpsWorks).  Every module below lists its
operations in an ``OPERATIONS`` table, registered here; the instance
controller (controller.py) and the scaler (scaling.py) start with the
service.  See README.md for the design.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gureum.services.api import ServiceApi
from gureum.services.opsworks import (
    apps,
    deployments,
    elb,
    instances,
    layers,
    misc,
    scaling,
    stacks,
)

if TYPE_CHECKING:
    from gureum.app import App

api = ServiceApi("opsworks")

for _module in (stacks, layers, instances, apps, deployments, scaling, elb, misc):
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)


@api.on_startup
def _start(app: App) -> None:
    from gureum.services.opsworks import controller

    controller.register(app)
    scaling.register(app)
