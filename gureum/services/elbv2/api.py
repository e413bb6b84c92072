"""The elbv2 ServiceApi: the operations of each resource module, and the
controllers started when the service loads (see ``controller.py``)."""

from __future__ import annotations

from typing import Any

from gureum.services.api import ServiceApi
from gureum.services.elbv2 import listeners, load_balancers, rules, tags, target_groups, targets

api = ServiceApi("elbv2")

for _module in (load_balancers, target_groups, targets, listeners, rules, tags):
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)


def _start(app: Any) -> None:
    from gureum.services.elbv2.controller import register

    register(app)


def _reset(app: Any) -> None:
    from gureum.services.elbv2.controller import reset

    reset(app)


api.on_startup(_start)
api.on_reset(_reset)
