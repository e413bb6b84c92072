"""Application Auto Scaling names: store kinds, keys, ARNs and errors.  Pure.

Store (documents, per account+region scope):

* ``applicationautoscaling.target`` — key :func:`target_key`
  (``<namespace>|<dimension>|<resource id>``): the ScalableTarget as
  DescribeScalableTargets shows it, plus ``_cooldowns`` (see
  :class:`~gureum.services.autoscaling.cooldown.Cooldowns`) and ``_tags``;
* ``applicationautoscaling.policy`` — key ``<target key>␟<policy name>``;
* ``applicationautoscaling.scheduled`` — key ``<target key>␟<action name>``;
* ``applicationautoscaling.activity`` — key ``<target key>␟<start ms>␟<id>``.

(␟ is U+001F, a separator no resource id contains.)  Controller keys carry
their scope: ``account|region|<target key>``.
"""

from __future__ import annotations

from gureum.core.errors import ServiceError, ValidationError
from gureum.core.ids import hex_id, uuid4
from gureum.core.store import Scope

TARGET = "applicationautoscaling.target"
POLICY = "applicationautoscaling.policy"
SCHEDULED = "applicationautoscaling.scheduled"
ACTIVITY = "applicationautoscaling.activity"
CONTROLLER = "applicationautoscaling.target"
SEP = "\x1f"

ECS_DIMENSION = "ecs:service:DesiredCount"
SUPPORTED = {("ecs", ECS_DIMENSION)}


def target_key(namespace: str, dimension: str, resource_id: str) -> str:
    return f"{namespace}|{dimension}|{resource_id}"


def split_target_key(key: str) -> tuple[str, str, str]:
    namespace, dimension, resource_id = key.split("|", 2)
    return namespace, dimension, resource_id


def child_key(target: str, *parts: str) -> str:
    return SEP.join((target, *parts))


def scoped_key(scope: Scope, key: str) -> str:
    return f"{scope.account}|{scope.region}|{key}"


def split_scoped_key(key: str) -> tuple[Scope, str]:
    account, region, rest = key.split("|", 2)
    return Scope(account, region), rest


def target_arn(scope: Scope) -> str:
    return f"arn:aws:application-autoscaling:{scope.region}:{scope.account}:scalable-target/{hex_id(36)}"


def policy_arn(scope: Scope, namespace: str, resource_id: str, name: str) -> str:
    return (f"arn:aws:autoscaling:{scope.region}:{scope.account}:scalingPolicy:{uuid4()}:"
            f"resource/{namespace}/{resource_id}:policyName/{name}")


def scheduled_arn(scope: Scope, namespace: str, resource_id: str, name: str) -> str:
    return (f"arn:aws:autoscaling:{scope.region}:{scope.account}:scheduledAction:{uuid4()}:"
            f"resource/{namespace}/{resource_id}:scheduledActionName/{name}")


def service_role(account: str) -> str:
    return (f"arn:aws:iam::{account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_ECSService")


def invalid(message: str) -> ValidationError:
    return ValidationError(message, code="ValidationException")


def not_found(message: str) -> ServiceError:
    return ServiceError("ObjectNotFoundException", message, 400, sender_fault=True)


def no_target(namespace: str, resource_id: str, dimension: str) -> ServiceError:
    return not_found(f"No scalable target registered for service namespace: {namespace}, resource ID: "
                     f"{resource_id}, scalable dimension: {dimension}")


def limit_exceeded(message: str) -> ServiceError:
    return ServiceError("LimitExceededException", message, 400, sender_fault=True)
