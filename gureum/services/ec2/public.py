"""What other services (Auto Scaling, OpsWorks, ECS container instances) may
call on EC2.  Plain functions of the app; they record intent exactly as the
API handlers do and return at once — the instance controller does the rest.

    ids = run_instances(app, scope, {"ImageId": BUILTIN_AMI, "InstanceType": "t3.micro",
                                     "MinCount": 2, "MaxCount": 2, "UserData": b64})
    describe(app, scope, ids)        # Instance dicts, as DescribeInstances shows them
    terminate(app, scope, ids)       # [{"InstanceId", "CurrentState", "PreviousState"}]
    instances(app, scope)            # every instance of the scope (Instance dicts, Tags included)
    container_of(app, scope, id)     # the runtime container id of a running instance, or None

(``instances`` and ``container_of`` were added for CodeDeploy's agent, which
runs lifecycle scripts inside an instance with the runtime driver's exec.)

Input dicts use RunInstances' member names (``LaunchTemplate``,
``TagSpecifications``, ``SubnetId``… included; ``UserData`` is base64).
Errors are EC2's :class:`~gureum.core.errors.ServiceError`\\ s.  State
changes are published on the bus under :data:`STATE_TOPIC` with
``{"scope", "instanceId", "state", "previous"}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.ec2 import instance_views, tag_store
from gureum.services.ec2.instance_states import CODES, State, Verb
from gureum.services.ec2.instances import change, launch, require_instances
from gureum.services.ec2.names import BUILTIN_AMI, INSTANCE, STATE_TOPIC

if TYPE_CHECKING:
    from gureum.app import App

__all__ = [
    "BUILTIN_AMI", "CODES", "STATE_TOPIC", "State", "container_of", "describe", "instances", "reboot",
    "run_instances", "start", "stop", "tag", "terminate",
]


def _ready(app: App) -> None:
    app.service_api("ec2")  # loads EC2 and registers its controllers


def run_instances(app: App, scope: Scope, spec: dict[str, Any], requester_id: str | None = None,
                  system_tags: dict[str, str] | None = None) -> list[str]:
    """Launch instances like RunInstances; their ids.

    ``requester_id`` shows as the reservation's RequesterId; ``system_tags``
    may use ``aws:`` keys (``aws:autoscaling:groupName``), which callers of
    the API may not.
    """
    _ready(app)
    return [d["InstanceId"] for d in launch(app, scope, spec, requester_id, system_tags)]


def tag(app: App, scope: Scope, ids: Sequence[str], tags: dict[str, str]) -> None:
    """Add tags (``aws:`` keys allowed) to existing instances."""
    require_instances(app, scope, list(ids))
    checked = tag_store.check([{"Key": k, "Value": v} for k, v in tags.items()], system=True)
    for iid in ids:
        tag_store.add(app.store, scope, iid, checked)


def describe(app: App, scope: Scope, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The instances as DescribeInstances shows them (InvalidInstanceID.NotFound for unknown ids)."""
    docs = require_instances(app, scope, list(ids))
    return [instance_views.instance_view(d, tag_store.get(app.store, scope, d["InstanceId"])) for d in docs]


def terminate(app: App, scope: Scope, ids: Sequence[str]) -> list[dict[str, Any]]:
    _ready(app)
    return change(app, scope, list(ids), Verb.TERMINATE)


def stop(app: App, scope: Scope, ids: Sequence[str]) -> list[dict[str, Any]]:
    _ready(app)
    return change(app, scope, list(ids), Verb.STOP)


def start(app: App, scope: Scope, ids: Sequence[str]) -> list[dict[str, Any]]:
    _ready(app)
    return change(app, scope, list(ids), Verb.START)


def reboot(app: App, scope: Scope, ids: Sequence[str]) -> None:
    _ready(app)
    change(app, scope, list(ids), Verb.REBOOT)


def instances(app: App, scope: Scope) -> list[dict[str, Any]]:
    """Every instance of ``scope`` as DescribeInstances shows it (terminated ones too)."""
    return [instance_views.instance_view(d, tag_store.get(app.store, scope, d["InstanceId"]))
            for _, d in app.store.list(INSTANCE, scope)]


def container_of(app: App, scope: Scope, instance_id: str) -> str | None:
    """The runtime driver's container id of a running instance (None when it has none)."""
    doc = app.store.get(INSTANCE, scope, instance_id)
    if doc is None or doc["State"]["Name"] != "running":
        return None
    cid = doc.get("_cid")
    return str(cid) if cid else None
