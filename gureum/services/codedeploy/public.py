"""What other services (CodePipeline's CodeDeploy and CodeDeployToECS actions)
may use of CodeDeploy without going over HTTP.

* :func:`create_deployment` — CreateDeployment: the same checks and errors
  (``ServiceError`` with CodeDeploy's codes: DeploymentGroupDoesNotExistException,
  InvalidRevisionException, DeploymentLimitExceededException…); returns the
  deployment id at once, the controller runs it.
* :func:`get_deployment` — GetDeployment's ``deploymentInfo`` (``status``:
  Created, Queued, InProgress, Baking, Ready, Succeeded, Failed, Stopped;
  ``errorInformation``, ``rollbackInfo``), or None for an unknown id.
* :func:`stop_deployment` — StopDeployment (a stopped pipeline action).

Revisions are CreateDeployment's ``RevisionLocation`` dicts: an S3 bundle
``{"revisionType": "S3", "s3Location": {"bucket", "key", "bundleType": "zip"}}``
for EC2, ``{"revisionType": "AppSpecContent", "appSpecContent": {"content"}}``
for ECS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.codedeploy.records import DEPLOYMENT, runner_key

if TYPE_CHECKING:
    from gureum.app import App


def create_deployment(
    app: App,
    scope: Scope,
    *,
    application_name: str,
    deployment_group_name: str,
    revision: dict[str, Any],
    description: str | None = None,
    deployment_config_name: str | None = None,
) -> str:
    app.service_api("codedeploy")  # the controller must run
    from gureum.services.codedeploy.deployments import new_deployment

    req: dict[str, Any] = {
        "applicationName": application_name,
        "deploymentGroupName": deployment_group_name,
        "revision": revision,
    }
    if description:
        req["description"] = description[:1024]
    if deployment_config_name:
        req["deploymentConfigName"] = deployment_config_name
    return str(new_deployment(app, scope, req)["deploymentId"])


def get_deployment(app: App, scope: Scope, deployment_id: str) -> dict[str, Any] | None:
    from gureum.services.codedeploy.deployments import view

    doc = app.store.get(DEPLOYMENT, scope, deployment_id)
    return None if doc is None else view(app, scope, doc)


def stop_deployment(app: App, scope: Scope, deployment_id: str, rollback: bool = False) -> None:
    """StopDeployment, if the deployment is not finished yet (a finished one is left as it is)."""
    app.service_api("codedeploy")
    doc = app.store.get(DEPLOYMENT, scope, deployment_id)
    if doc is None or doc["status"] in ("Succeeded", "Failed", "Stopped"):
        return
    doc["_run"]["stop"] = {"rollback": rollback}
    app.store.put(DEPLOYMENT, scope, deployment_id, doc)
    from gureum.services.codedeploy.records import CONTROLLER

    app.runner.enqueue(CONTROLLER, runner_key(scope, deployment_id))
