"""CloudWatch ("cloudwatch"; CBOR, JSON or query on the wire — the gateway
picks per request): the handlers of every module of this folder, registered
on one ServiceApi.  A module joins by listing its ``OPERATIONS``.
"""

from __future__ import annotations

from gureum.services.api import ServiceApi
from gureum.services.cloudwatch import metric_data, metric_handlers

api = ServiceApi("cloudwatch")

for _module in (metric_handlers, metric_data):
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)
