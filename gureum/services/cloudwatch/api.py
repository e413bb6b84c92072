"""CloudWatch ("cloudwatch"; CBOR, JSON or query on the wire — the gateway
picks per request): the handlers of every module of this folder, registered
on one ServiceApi.  A module joins by listing its ``OPERATIONS``.  The alarm
evaluator (:mod:`alarm_controller`) starts when the service loads.
"""

from __future__ import annotations

from gureum.services.api import ServiceApi
from gureum.services.cloudwatch import (
    alarm_controller,
    alarm_history_api,
    alarms_api,
    metric_data,
    metric_handlers,
)

api = ServiceApi("cloudwatch")

for _module in (metric_handlers, metric_data, alarms_api, alarm_history_api):
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)

api.on_startup(alarm_controller.start)
api.on_reset(alarm_controller.reset)
