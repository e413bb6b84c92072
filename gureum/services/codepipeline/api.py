"""CodePipeline (botocore ``codepipeline``, protocol json): handlers and controllers.

Where things are:

* :mod:`.pipelines_api` — Create/Get/Update/Delete/ListPipelines, stage
  transitions, tags;
* :mod:`.executions_api` — Start/Stop/Get/ListPipelineExecutions,
  GetPipelineState, ListActionExecutions, RetryStageExecution,
  PutApprovalResult;
* :mod:`.jobs_api` — custom action types and the job worker operations;
* :mod:`.controller` — moves executions along; :mod:`.source_watch` — S3
  change detection; :mod:`.providers` — one module per action provider.

Pure cores: :mod:`.pipeline_validation`, :mod:`.execution_plan`,
:mod:`.variables`, :mod:`.action_types`.  Store layout: :mod:`.records`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gureum.services.api import ServiceApi
from gureum.services.codepipeline import controller, executions_api, jobs_api, pipelines_api

if TYPE_CHECKING:
    from gureum.app import App

api = ServiceApi("codepipeline")

for _name, _handler in {**pipelines_api.OPERATIONS, **executions_api.OPERATIONS, **jobs_api.OPERATIONS}.items():
    api.operation(_name)(_handler)


@api.on_startup
def _start(app: App) -> None:
    controller.register(app)
