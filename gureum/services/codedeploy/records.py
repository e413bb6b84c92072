"""Where CodeDeploy keeps its records, their ids and ARNs, and its errors.

Kinds, per account and region:

=======================  ==========================  ==========================================
kind                     key                         document
=======================  ==========================  ==========================================
codedeploy.application   ``<name>``                  ApplicationInfo (+ ``_tags``)
codedeploy.group         ``<app>\\x1f<group>``        DeploymentGroupInfo (+ ``_tags``)
codedeploy.config        ``<name>``                  DeploymentConfigInfo of a custom config
codedeploy.deployment    ``<d-XXXXXXXXX>``           DeploymentInfo, plus private members the
                                                     controllers keep (``_group``: the group as
                                                     it was at creation, ``_config``, ``_run``)
codedeploy.target        ``<deployment>/<target>``   one deployment target (an instance, an ECS
                                                     service) with its lifecycle events
codedeploy.active        ``<d-XXXXXXXXX>``           present while a deployment is not finished:
                                                     the controller's work list (and ``RESUME``)
=======================  ==========================  ==========================================

Members whose names start with ``_`` never leave through the API (:func:`public`).
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.core.store import Store

APPLICATION = "codedeploy.application"
GROUP = "codedeploy.group"
CONFIG = "codedeploy.config"
DEPLOYMENT = "codedeploy.deployment"
TARGET = "codedeploy.target"
ACTIVE = "codedeploy.active"

CONTROLLER = "codedeploy.deployment"
SEP = "\x1f"

Doc = dict[str, Any]

_ID_CHARS = string.ascii_uppercase + string.digits


def public(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def err(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 400, sender_fault=True)


def new_deployment_id() -> str:
    return "d-" + "".join(secrets.choice(_ID_CHARS) for _ in range(9))


def arn(scope: Scope, resource: str) -> str:
    return f"arn:aws:codedeploy:{scope.region}:{scope.account}:{resource}"


def application_arn(scope: Scope, name: str) -> str:
    return arn(scope, f"application:{name}")


def group_arn(scope: Scope, app: str, group: str) -> str:
    return arn(scope, f"deploymentgroup:{app}/{group}")


def config_arn(scope: Scope, name: str) -> str:
    return arn(scope, f"deploymentconfig:{name}")


def group_key(app: str, group: str) -> str:
    return f"{app}{SEP}{group}"


def target_key(deployment_id: str, target_id: str) -> str:
    return f"{deployment_id}/{target_id}"


def runner_key(scope: Scope, deployment_id: str) -> str:
    return f"{scope.account}|{scope.region}|{deployment_id}"


def split_runner_key(key: str) -> tuple[Scope, str]:
    account, region, dep = key.split("|", 2)
    return Scope(account, region), dep


# -- lookups --------------------------------------------------------------------------------


def require_application(store: Store, scope: Scope, name: str | None) -> Doc:
    if not name:
        raise err("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
    doc = store.get(APPLICATION, scope, name)
    if doc is None:
        raise err("ApplicationDoesNotExistException", f"No application found for name: {name}")
    return doc


def require_group(store: Store, scope: Scope, app: str, group: str | None) -> Doc:
    if not group:
        raise err("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
    doc = store.get(GROUP, scope, group_key(app, group))
    if doc is None:
        raise err("DeploymentGroupDoesNotExistException", f"No Deployment Group found for name: {group}")
    return doc


def require_deployment(store: Store, scope: Scope, deployment_id: str | None) -> Doc:
    if not deployment_id:
        raise err("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    doc = store.get(DEPLOYMENT, scope, deployment_id)
    if doc is None:
        if not deployment_id.startswith("d-") or len(deployment_id) != 11:
            raise err("InvalidDeploymentIdException", f"Specified DeploymentId is not in the valid format: {deployment_id}")
        raise err("DeploymentDoesNotExistException", f"Deployment {deployment_id} does not exist.")
    return doc


def all_deployments(store: Store, scope: Scope) -> list[Doc]:
    return [d for _, d in store.list(DEPLOYMENT, scope)]


def targets_of(store: Store, scope: Scope, deployment_id: str) -> list[Doc]:
    return [d for _, d in store.list(TARGET, scope, prefix=deployment_id + "/")]


# -- paging ---------------------------------------------------------------------------------------


def page(items: list[Any], token: str | None, size: int = 100) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()).decode())["o"])
        except (ValueError, KeyError, TypeError):
            raise err("InvalidNextTokenException", "The next token was specified in an invalid format.") from None
    chunk = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.urlsafe_b64encode(json.dumps({"o": start + size}).encode()).decode()
    return chunk, nxt


def tags_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
