"""CodeDeploy (botocore ``codedeploy``, protocol json): the handlers and the deployment controller.

Where things are:

* :mod:`.applications` — applications and resource tags;
* :mod:`.deployment_groups` — deployment groups;
* :mod:`.deployment_configs` — predefined and custom deployment configurations;
* :mod:`.deployments` — create, get, list, stop, continue deployments;
* :mod:`.targets` — deployment targets and instances;
* :mod:`.hooks` — Lambda lifecycle hooks and PutLifecycleEventHookExecutionStatus;
* :mod:`.controller` — moves deployments along: :mod:`.ecs_bluegreen` (ECS),
  :mod:`.lambda_deploy` (Lambda aliases) and :mod:`.server_inplace` + :mod:`.agent`
  (EC2 instances);
* :mod:`.public` — ``create_deployment``/``get_deployment`` for CodePipeline.

Pure cores: :mod:`.traffic_plan`, :mod:`.inplace_plan`, :mod:`.appspec`,
:mod:`.lifecycle_status`, :mod:`.steps`.  Store layout: :mod:`.records`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gureum.services.api import ServiceApi
from gureum.services.codedeploy import (
    applications,
    controller,
    deployment_configs,
    deployment_groups,
    deployments,
    hooks,
    targets,
)

if TYPE_CHECKING:
    from gureum.app import App

api = ServiceApi("codedeploy")

for _module in (applications, deployment_groups, deployment_configs, deployments, targets, hooks):
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)


@api.on_startup
def _start(app: App) -> None:
    controller.register(app)


@api.on_reset
def _reset(app: App) -> None:
    from gureum.services.codedeploy import server_inplace

    server_inplace.reset(app)
