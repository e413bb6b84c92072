"""EC2 Auto Scaling ("autoscaling", query protocol): the handlers of every
module of this folder, registered on one ServiceApi.  A module joins by
listing its ``OPERATIONS``.  The group controller and the alarm-action
subscription (:mod:`controller`) start when the service loads; ``RESUME``
loads it at start when groups are stored.

    groups_api          groups and their instances (Create/Update/Delete/Describe)
    capacity_api        desired capacity, member health/protection, processes, metrics, target groups
    policies_api        scaling policies (simple, step, target tracking) and ExecutePolicy
    hooks_api           lifecycle hooks and actions
    scheduled_api       scheduled actions
    launch_configs_api  launch configurations
    tags_api            tags and DescribeScalingActivities
    standby_api         EnterStandby, ExitStandby, DetachInstances
    attach_api          AttachInstances
    refresh_api         Start/Describe/CancelInstanceRefresh (the work: refresh, refresh_core)
"""

from __future__ import annotations

from gureum.services.api import ServiceApi
from gureum.services.autoscaling import (
    attach_api,
    capacity_api,
    controller,
    groups_api,
    hooks_api,
    launch_configs_api,
    policies_api,
    refresh_api,
    scheduled_api,
    standby_api,
    tags_api,
)

api = ServiceApi("autoscaling")

for _module in (groups_api, capacity_api, policies_api, hooks_api, scheduled_api, launch_configs_api, tags_api,
                standby_api, attach_api, refresh_api):
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)

api.on_startup(controller.start)
