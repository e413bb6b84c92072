"""One Auto Scaling group ("g") on a SimClock with a FakeFleet, for the group controller's unit tests.

Everything but the fleet is the real code: handlers called directly, the
controller's ``reconcile_now``, an in-memory store (or the one given).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.runner import Requeue
from gureum.core.store import Scope, SqliteStore, Store
from gureum.services.api import RequestContext
from gureum.services.autoscaling import controller, fleet, names, records
from gureum.settings import Settings

SCOPE = Scope("123456789012", "us-east-1")
START = 1_767_225_600.0
BOOT = 30.0


def call(app: App, op: str, service: str = "autoscaling", **req: Any) -> dict[str, Any]:
    """A handler's answer, called directly."""
    api = app.service_api(service)
    assert api is not None
    result = api.handlers[op](RequestContext(service, op, SCOPE.account, SCOPE.region, "rid", app), req)
    assert isinstance(result, dict)
    return result


def tick(app: App, seconds: float = 0.0) -> Requeue | None:
    """Let ``seconds`` pass on the SimClock, then reconcile group "g"."""
    if seconds:
        asyncio.run(app.clock.advance(seconds))  # type: ignore[attr-defined]
    return controller.controller_for(app).reconcile_now(names.scoped_key(SCOPE, "g"))


class World:
    def __init__(self, app: App) -> None:
        self.app = app
        self.clock: SimClock = app.clock  # type: ignore[assignment]
        self.fleet = fleet.FakeFleet(self.clock.now, boot_seconds=BOOT)
        fleet.install(app, self.fleet)

    def call(self, op: str, service: str = "autoscaling", **req: Any) -> dict[str, Any]:
        return call(self.app, op, service, **req)

    def tick(self, seconds: float = 0.0) -> Requeue | None:
        return tick(self.app, seconds)

    def group(self) -> dict[str, Any]:
        doc = records.get_group(self.app.store, SCOPE, "g")
        assert doc is not None
        return doc

    def members(self) -> list[dict[str, Any]]:
        return records.members(self.group())


def world(tmp_path: Path, desired: int, store: Store | None = None) -> World:
    """A World with group "g" (0..6 instances, ``desired`` of them, two zones) made through its handler."""
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=store or SqliteStore(":memory:"))
    w = World(app)
    w.call("CreateAutoScalingGroup", AutoScalingGroupName="g", LaunchTemplate={"LaunchTemplateName": "web"},
           MinSize=0, MaxSize=6, DesiredCapacity=desired, AvailabilityZones=["us-east-1a", "us-east-1b"])
    return w
