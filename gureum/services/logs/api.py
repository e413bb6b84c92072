"""CloudWatch Logs ("logs", JSON 1.1): the handlers of every module of this
folder, registered on one ServiceApi, and the retention controller started
when the service loads.
"""

from __future__ import annotations

from gureum.services.api import ServiceApi
from gureum.services.logs import events, groups, retention, streams

api = ServiceApi("logs")

for _module in (groups, streams, events):
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)

api.on_startup(retention.start)
