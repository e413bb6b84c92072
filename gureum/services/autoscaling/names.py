"""EC2 Auto Scaling names: store kinds, controller keys, ARNs, times and errors.  Pure.

Store (documents, per account+region scope):

* ``autoscaling.group`` — key: group name.  The group as DescribeAutoScalingGroups
  shows it (AWS member names) plus private members starting with ``_``; its
  instances live in ``_instances`` (instance id → record) so one write
  changes a group and its members together.
* ``autoscaling.launch-config`` — key: configuration name.
* ``autoscaling.policy`` — key: ``<group>/<policy name>``.
* ``autoscaling.hook`` — key: ``<group>/<hook name>``.
* ``autoscaling.scheduled`` — key: ``<group>/<action name>``.
* ``autoscaling.activity`` — key: ``<group>/<start ms, 15 digits>/<activity id>``
  so a group's activities list in time order under one prefix.
* ``autoscaling.instance-refresh`` — key: ``<group>/<start ms, 15 digits>/<refresh id>``
  (likewise); the refresh as DescribeInstanceRefreshes shows it plus its
  private progress (``_`` members).

Controller keys carry their scope: ``account|region|group name``.
ARNs follow AWS: ``arn:aws:autoscaling:<region>:<account>:autoScalingGroup:<uuid>:autoScalingGroupName/<name>``
and likewise ``scalingPolicy``, ``launchConfiguration``, ``scheduledUpdateGroupAction``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gureum.core.errors import ServiceError, ValidationError
from gureum.core.ids import uuid4
from gureum.core.store import Scope

GROUP = "autoscaling.group"
LAUNCH_CONFIG = "autoscaling.launch-config"
POLICY = "autoscaling.policy"
HOOK = "autoscaling.hook"
SCHEDULED = "autoscaling.scheduled"
ACTIVITY = "autoscaling.activity"
REFRESH = "autoscaling.instance-refresh"
REFRESH_ACTIVE = "autoscaling.instance-refresh-active"  # key: group name → {"key": its active refresh's key}

CONTROLLER = "autoscaling.group"

PROCESSES = ("Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance", "HealthCheck",
             "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions")
METRICS = ("GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances",
           "GroupPendingInstances", "GroupStandbyInstances", "GroupTerminatingInstances", "GroupTotalInstances",
           "GroupInServiceCapacity", "GroupPendingCapacity", "GroupStandbyCapacity", "GroupTerminatingCapacity",
           "GroupTotalCapacity")


def scoped_key(scope: Scope, name: str) -> str:
    return f"{scope.account}|{scope.region}|{name}"


def split_key(key: str) -> tuple[Scope, str]:
    account, region, name = key.split("|", 2)
    return Scope(account, region), name


def child_key(group: str, name: str) -> str:
    return f"{group}/{name}"


def _arn(scope: Scope, kind: str, path: str) -> str:
    return f"arn:aws:autoscaling:{scope.region}:{scope.account}:{kind}:{uuid4()}:{path}"


def group_arn(scope: Scope, name: str) -> str:
    return _arn(scope, "autoScalingGroup", f"autoScalingGroupName/{name}")


def policy_arn(scope: Scope, group: str, name: str) -> str:
    return _arn(scope, "scalingPolicy", f"autoScalingGroupName/{group}:policyName/{name}")


def launch_config_arn(scope: Scope, name: str) -> str:
    return _arn(scope, "launchConfiguration", f"launchConfigurationName/{name}")


def scheduled_arn(scope: Scope, group: str, name: str) -> str:
    return _arn(scope, "scheduledUpdateGroupAction", f"autoScalingGroupName/{group}:scheduledActionName/{name}")


def iso(epoch: float) -> str:
    """``2026-11-26T07:31:00Z`` — how activity causes spell times."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- errors (query protocol: ValidationError and the modelled faults) ---------------------------


def invalid(message: str) -> ValidationError:
    return ValidationError(message, code="ValidationError")


def group_not_found(name: str) -> ValidationError:
    return invalid(f"AutoScalingGroup name not found - AutoScalingGroup {name} not found")


def already_exists(message: str) -> ServiceError:
    return ServiceError("AlreadyExists", message, 400, sender_fault=True)


def in_use(message: str) -> ServiceError:
    return ServiceError("ResourceInUse", message, 400, sender_fault=True)


def activity_in_progress(message: str) -> ServiceError:
    return ServiceError("ScalingActivityInProgress", message, 400, sender_fault=True)


def limit_exceeded(message: str) -> ServiceError:
    return ServiceError("LimitExceeded", message, 400, sender_fault=True)


def refresh_in_progress(message: str) -> ServiceError:
    return ServiceError("InstanceRefreshInProgress", message, 400, sender_fault=True)


def no_active_refresh(message: str) -> ServiceError:
    return ServiceError("ActiveInstanceRefreshNotFound", message, 400, sender_fault=True)


# -- paging (MaxRecords / NextToken) --------------------------------------------------------------


def page(items: list[dict[str, Any]], key: Callable[[dict[str, Any]], str], max_records: int | None,
         token: str | None, *, default: int = 50, limit: int = 100) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``items`` (in the order given) after the item the token names, and the next token."""
    size = default if max_records is None else int(max_records)
    if not 1 <= size <= limit:
        raise invalid(f"MaxRecords must be between 1 and {limit}.")
    rest = items
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()).decode())["after"]
        except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ServiceError("InvalidNextToken", "The NextToken value is invalid.", 400, sender_fault=True) from None
        keys = [key(i) for i in items]
        rest = items[keys.index(after) + 1:] if after in keys else []
    if len(rest) <= size:
        return rest, None
    chosen = rest[:size]
    return chosen, base64.urlsafe_b64encode(json.dumps({"after": key(chosen[-1])}).encode()).decode()
