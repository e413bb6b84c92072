"""The seam between Auto Scaling and the instances it runs: :class:`Fleet`.

:class:`Ec2Fleet` is the real one: it launches, describes and terminates
instances through EC2's public functions (:mod:`gureum.services.ec2.public`)
— real containers.  Looking up zones, subnets and launch templates is not in
EC2's public module yet, so this module (and only this one) reads them from
EC2's pure zone/subnet tables and its launch-template records, read-only.
:class:`FakeFleet` is the stand-in for simulations: instances boot after a
fixed time on the app's clock (:meth:`~FakeFleet.ready_at` tells when, so the
controller need not poll) and can be killed.

Tests install a fleet with :func:`install`; otherwise :func:`fleet_for` gives
the EC2 one.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gureum.core.errors import ServiceError
from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.app import App


GROUP_TAG = "aws:autoscaling:groupName"  # what EC2 Auto Scaling puts on its instances


@dataclass(frozen=True, slots=True)
class TemplateRef:
    template_id: str
    name: str
    version: int


class Fleet(Protocol):
    def zones(self, scope: Scope) -> list[str]: ...
    def subnet_zone(self, scope: Scope, subnet_id: str) -> str | None: ...
    def resolve_template(self, scope: Scope, ref: dict[str, Any]) -> TemplateRef: ...
    def launch(self, scope: Scope, spec: dict[str, Any], group: str = "") -> dict[str, Any]:
        """Launch one instance for ``group`` (tagged ``aws:autoscaling:groupName``):
        its ``InstanceId``, ``InstanceType`` and ``SubnetId``."""
    def state(self, scope: Scope, instance_id: str) -> str: ...
    def ready_at(self, scope: Scope, instance_id: str) -> float | None:
        """When a pending instance will be running, if the fleet knows (None: it does not)."""
    def terminate(self, scope: Scope, instance_id: str) -> None: ...
    def describe_instance(self, scope: Scope, instance_id: str) -> dict[str, Any] | None:
        """An existing instance (for AttachInstances): ``State``, ``AvailabilityZone``, ``InstanceType``,
        ``SubnetId``, ``Tags`` (key → value); None when EC2 does not know it."""
    def tag(self, scope: Scope, instance_id: str, tags: dict[str, str]) -> None:
        """Add tags (``aws:`` keys allowed) to an instance."""


class Ec2Fleet:
    """Instances through EC2's public functions."""

    def __init__(self, app: App) -> None:
        self.app = app

    def zones(self, scope: Scope) -> list[str]:
        from gureum.services.ec2 import regions

        return [z.name for z in regions.zones(scope.region)]

    def subnet_zone(self, scope: Scope, subnet_id: str) -> str | None:
        from gureum.services.ec2 import vpc

        subnet = vpc.subnet_by_id(scope, subnet_id)
        return None if subnet is None else subnet.zone

    def resolve_template(self, scope: Scope, ref: dict[str, Any]) -> TemplateRef:
        """The template and version a reference names, or EC2's ServiceError."""
        from gureum.services.ec2 import launch_templates

        template, version = launch_templates.resolve(self.app.store, scope, ref)
        return TemplateRef(template["LaunchTemplateId"], template["LaunchTemplateName"], int(version["VersionNumber"]))

    def launch(self, scope: Scope, spec: dict[str, Any], group: str = "") -> dict[str, Any]:
        from gureum.services.ec2 import public

        iid = public.run_instances(self.app, scope, {**spec, "MinCount": 1, "MaxCount": 1},
                                   requester_id="autoscaling",
                                   system_tags={GROUP_TAG: group} if group else None)[0]
        shown = public.describe(self.app, scope, [iid])[0]
        return {"InstanceId": iid, "InstanceType": shown.get("InstanceType"), "SubnetId": shown.get("SubnetId")}

    def state(self, scope: Scope, instance_id: str) -> str:
        from gureum.services.ec2 import public

        try:
            found = public.describe(self.app, scope, [instance_id])
        except ServiceError:
            return "missing"
        return str(found[0]["State"]["Name"]) if found else "missing"

    def ready_at(self, scope: Scope, instance_id: str) -> float | None:
        return None  # a container boots when it boots; EC2 publishes the state change

    def terminate(self, scope: Scope, instance_id: str) -> None:
        from gureum.services.ec2 import public

        try:
            public.terminate(self.app, scope, [instance_id])
        except ServiceError:
            pass  # gone already

    def describe_instance(self, scope: Scope, instance_id: str) -> dict[str, Any] | None:
        from gureum.services.ec2 import public

        try:
            found = public.describe(self.app, scope, [instance_id])
        except ServiceError:
            return None
        if not found:
            return None
        shown = found[0]
        return {"State": shown["State"]["Name"], "AvailabilityZone": (shown.get("Placement") or {}).get(
                    "AvailabilityZone", ""), "InstanceType": shown.get("InstanceType"),
                "SubnetId": shown.get("SubnetId") or "", "Tags": {t["Key"]: t["Value"] for t in shown.get("Tags") or []}}

    def tag(self, scope: Scope, instance_id: str, tags: dict[str, str]) -> None:
        from gureum.services.ec2 import public

        public.tag(self.app, scope, [instance_id], tags)


class FakeFleet:
    """Instances that exist only here: pending for ``boot_seconds``, then running."""

    def __init__(self, now: Callable[[], float], boot_seconds: float = 60.0,
                 zones: tuple[str, ...] = ("us-east-1a", "us-east-1b", "us-east-1c")) -> None:
        self.now = now
        self.boot_seconds = boot_seconds
        self._zones = zones
        self.instances: dict[str, dict[str, Any]] = {}
        self.launched: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.fail_next: str | None = None

    def zones(self, scope: Scope) -> list[str]:
        return list(self._zones)

    def subnet_zone(self, scope: Scope, subnet_id: str) -> str | None:
        zone = subnet_id.removeprefix("subnet-")
        return zone if zone in self._zones else None

    def resolve_template(self, scope: Scope, ref: dict[str, Any]) -> TemplateRef:
        name = ref.get("LaunchTemplateName") or ref.get("LaunchTemplateId") or ""
        if name.startswith("missing"):
            raise ServiceError("InvalidLaunchTemplateName.NotFoundException",
                               f"The specified launch template, with template name {name}, does not exist.")
        return TemplateRef("lt-0fake0000000000001", str(name), 1)

    def launch(self, scope: Scope, spec: dict[str, Any], group: str = "") -> dict[str, Any]:
        if self.fail_next:
            message, self.fail_next = self.fail_next, None
            raise ServiceError("InsufficientInstanceCapacity", message)
        iid = f"i-{next(self._ids):017x}"
        self.instances[iid] = {"state": "pending", "at": self.now(), "spec": spec, "group": group}
        self.launched.append({"id": iid, **spec})
        return {"InstanceId": iid, "InstanceType": spec.get("InstanceType") or "t3.micro",
                "SubnetId": spec.get("SubnetId") or ""}

    def state(self, scope: Scope, instance_id: str) -> str:
        inst = self.instances.get(instance_id)
        if inst is None:
            return "missing"
        if inst["state"] == "pending" and self.now() >= inst["at"] + self.boot_seconds:
            inst["state"] = "running"
        return str(inst["state"])

    def ready_at(self, scope: Scope, instance_id: str) -> float | None:
        inst = self.instances.get(instance_id)
        if inst is None or inst["state"] != "pending":
            return None
        return float(inst["at"]) + self.boot_seconds

    def terminate(self, scope: Scope, instance_id: str) -> None:
        if instance_id in self.instances:
            self.instances[instance_id]["state"] = "terminated"

    def describe_instance(self, scope: Scope, instance_id: str) -> dict[str, Any] | None:
        inst = self.instances.get(instance_id)
        if inst is None:
            return None
        spec = inst["spec"]
        zone = (spec.get("Placement") or {}).get("AvailabilityZone") or self.subnet_zone(scope, spec.get("SubnetId") or "")
        tags = {GROUP_TAG: inst["group"]} if inst["group"] else {}
        return {"State": self.state(scope, instance_id), "AvailabilityZone": zone or self._zones[0],
                "InstanceType": spec.get("InstanceType") or "t3.micro", "SubnetId": spec.get("SubnetId") or "",
                "Tags": tags}

    def tag(self, scope: Scope, instance_id: str, tags: dict[str, str]) -> None:
        if GROUP_TAG in tags and instance_id in self.instances:
            self.instances[instance_id]["group"] = tags[GROUP_TAG]

    def kill(self, instance_id: str) -> None:
        """What ``docker kill`` does to a real instance: it stops."""
        self.instances[instance_id]["state"] = "stopped"

    def running(self) -> list[str]:
        return [i for i in self.instances if self.state(Scope("", ""), i) == "running"]


_FLEETS: weakref.WeakKeyDictionary[Any, Fleet] = weakref.WeakKeyDictionary()


def install(app: App, fleet: Fleet) -> None:
    _FLEETS[app] = fleet


def fleet_for(app: App) -> Fleet:
    fleet = _FLEETS.get(app)
    if fleet is None:
        fleet = _FLEETS[app] = Ec2Fleet(app)
    return fleet
