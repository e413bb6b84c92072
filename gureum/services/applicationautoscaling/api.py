"""Application Auto Scaling ("application-autoscaling", JSON protocol): the
handlers of every module of this folder, registered on one ServiceApi.

    targets_api     scalable targets (ECS services) and their tags
    policies_api    step and target tracking policies (the latter own their alarms)
    scheduled_api   scheduled actions
    activities      DescribeScalingActivities, and every capacity change

Policies run when CloudWatch dispatches their alarm actions
(:mod:`executor`); scheduled actions run from :mod:`controller`.  Both start
when the service loads; ``RESUME`` loads it at start when targets are stored.
"""

from __future__ import annotations

from gureum.services.api import ServiceApi
from gureum.services.applicationautoscaling import (
    activities,
    controller,
    policies_api,
    scheduled_api,
    targets_api,
)

api = ServiceApi("application-autoscaling")

for _module in (targets_api, policies_api, scheduled_api):
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)
api.operation("DescribeScalingActivities")(activities.describe_scaling_activities)

api.on_startup(controller.start)
