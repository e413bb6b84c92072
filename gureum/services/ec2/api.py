"""EC2 handlers: every module of this folder lists its operations in an
``OPERATIONS`` table, and this module registers them on the one ServiceApi.

To add a module (instances, AMIs, VPCs…), give it an ``OPERATIONS`` dict and
add it to ``_MODULES``.  The controllers (instances, images) start when the
service loads; a reset removes the containers of EC2's instances.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import ServiceApi
from gureum.services.ec2 import (
    console,
    credit_controller,
    images,
    instance_types,
    instances,
    launch_templates,
    regions,
    tags,
    vpc,
)

api = ServiceApi("ec2")

_MODULES = (regions, instance_types, vpc, tags, images, launch_templates, instances, console, credit_controller)

for _module in _MODULES:
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)


def _start_controllers(app: Any) -> None:
    from gureum.services.ec2.controllers import register

    register(app)


def _reset(app: Any) -> None:
    from gureum.services.ec2.controllers import reset

    reset(app)


def _start_workload_metrics(app: Any) -> None:
    from gureum.services.ec2 import agent

    credit_controller.register(app)  # CPU credits of t2/t3 (credits.py)
    agent.register(app)  # the CloudWatch agent in instances that have a config


api.on_startup(_start_controllers)
api.on_startup(_start_workload_metrics)
api.on_reset(_reset)
