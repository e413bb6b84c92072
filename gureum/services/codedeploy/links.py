"""CodeDeploy's way to the other services: their public functions, in one place.

Nothing else in this folder imports another service.  Every function takes
the app and a scope and answers plain dicts (or None when the thing does
not exist), so the controllers read like CodeDeploy's own steps.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO

from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.app import App


# -- ECS -------------------------------------------------------------------------------------------


def ecs() -> ModuleType:
    from gureum.services.ecs import public_task_sets

    return public_task_sets


# -- Elastic Load Balancing ------------------------------------------------------------------------


def elb() -> ModuleType:
    from gureum.services.elbv2 import public

    return public


def target_group_by_name(app: App, scope: Scope, name: str) -> dict[str, Any] | None:
    return elb().target_group_by_name(app, scope, name)  # type: ignore[no-any-return]


def listener(app: App, scope: Scope, arn: str) -> dict[str, Any] | None:
    return elb().listener(app, scope, arn)  # type: ignore[no-any-return]


# -- EC2 ----------------------------------------------------------------------------------------------


def instances(app: App, scope: Scope) -> list[dict[str, Any]]:
    from gureum.services.ec2 import public

    return public.instances(app, scope)


def container_of(app: App, scope: Scope, instance_id: str) -> str | None:
    from gureum.services.ec2 import public

    return public.container_of(app, scope, instance_id)


# -- CloudWatch alarms, Lambda, S3 ---------------------------------------------------------------------


def alarm_state(app: App, scope: Scope, name: str) -> str | None:
    """StateValue of the alarm (OK, ALARM, INSUFFICIENT_DATA), None if there is no such alarm."""
    if not app.store.list_scopes("cloudwatch.alarm"):
        return None
    from gureum.services.cloudwatch import alarms

    found = alarms.alarm(app, scope, name)
    return None if found is None else str(found.get("StateValue"))


def alarm_topic() -> str:
    from gureum.services.cloudwatch.alarms import STATE_TOPIC

    return STATE_TOPIC


async def invoke(app: App, scope: Scope, function: str, payload: bytes) -> tuple[int, bytes, str | None]:
    from gureum.services.lambda_ import public

    status, body, error, _ = await public.invoke(app, scope, function, payload)
    return status, body, error


def lambda_alias(app: App, scope: Scope, function: str, alias: str) -> dict[str, Any] | None:
    from gureum.services.lambda_ import public

    return public.alias(app, scope, function, alias)


def lambda_version_exists(app: App, scope: Scope, function: str, version: str) -> bool:
    from gureum.core.errors import ServiceError
    from gureum.services.lambda_.records import get_version

    try:
        get_version(app.store, scope, function, version)
    except ServiceError:
        return False
    return True


def set_lambda_alias(app: App, scope: Scope, function: str, alias: str, version: str, weights: dict[str, float]) -> None:
    from gureum.services.lambda_ import public

    public.update_alias(app, scope, function, alias, version, weights)


def open_object(app: App, bucket: str, key: str, version: str | None) -> tuple[BinaryIO, dict[str, Any]]:
    from gureum.services.s3 import public

    return public.open_object(app, bucket, key, version)
