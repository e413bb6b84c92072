"""EC2 handlers: every module of this folder lists its operations in an
``OPERATIONS`` table, and this module registers them on the one ServiceApi.

To add a module (instances, AMIs, VPCs…), give it an ``OPERATIONS`` dict and
add it to ``_MODULES``.
"""

from __future__ import annotations

from gureum.services.api import ServiceApi
from gureum.services.ec2 import regions

api = ServiceApi("ec2")

_MODULES = (regions,)

for _module in _MODULES:
    for _name, _handler in _module.OPERATIONS.items():
        api.operation(_name)(_handler)
