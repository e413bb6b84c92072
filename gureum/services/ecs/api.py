"""The ECS ServiceApi: the operations of every api_*.py module, and the
controllers started when the service loads."""

from __future__ import annotations

from gureum.services.api import ServiceApi
from gureum.services.ecs import (
    api_clusters,
    api_instances,
    api_services,
    api_tags,
    api_taskdefs,
    api_tasks,
    task_sets,
)

api = ServiceApi("ecs")

for _module in (api_clusters, api_taskdefs, api_tasks, api_services, api_instances, api_tags, task_sets):
    for _name, _handler in _module.ops.handlers.items():
        api.operation(_name)(_handler)


def _start_controllers(app: object) -> None:
    from gureum.services.ecs.controller import register

    register(app)  # type: ignore[arg-type]


def _reset(app: object) -> None:
    from gureum.services.ecs.controller import reset

    reset(app)  # type: ignore[arg-type]


api.on_startup(_start_controllers)
api.on_reset(_reset)
