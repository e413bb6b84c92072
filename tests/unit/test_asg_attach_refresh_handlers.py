"""AttachInstances and instance refresh on the real handlers and group controller (FakeFleet with
template versions, simulated clock, a real SQLite store — in a file, so a restart can be shown)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_autoscaling_handlers import SCOPE, START, World, refused

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.core.store import Scope, SqliteStore
from gureum.services.autoscaling import fleet, names
from gureum.services.autoscaling.fleet import TemplateRef
from gureum.settings import Settings


class VersionedFleet(fleet.FakeFleet):
    """FakeFleet whose template ``web`` has versions 1..latest."""

    latest = 1

    def resolve_template(self, scope: Scope, ref: dict[str, Any]) -> TemplateRef:
        version = str(ref.get("Version") or "$Default")
        number = self.latest if version == "$Latest" else 1 if version == "$Default" else int(version)
        if number > self.latest or (ref.get("LaunchTemplateName") or "").startswith("missing"):
            raise ServiceError("InvalidLaunchTemplateId.VersionNotFound", f"Version {version} does not exist.")
        return TemplateRef("lt-0fake0000000000001", "web", number)


def world(app: App) -> World:
    w = World(app)
    w.fleet = VersionedFleet(w.clock.now, boot_seconds=30)
    fleet.install(app, w.fleet)
    return w


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(tmp_path / "s.db"))
    yield world(app)
    app.store.close()


def settle(w: World, seconds: float = 31) -> None:
    w.tick()
    w.tick(seconds)


def loose(w: World, zone: str = "us-east-1a", state: str = "running") -> str:
    """An instance launched outside any group."""
    iid = str(w.fleet.launch(SCOPE, {"Placement": {"AvailabilityZone": zone}})["InstanceId"])
    w.fleet.instances[iid]["state"] = state
    return iid


# -- AttachInstances ------------------------------------------------------------------------------


def test_attach_grows_desired_and_the_instance_goes_in_service(w: World) -> None:
    w.create(DesiredCapacity=1, MaxSize=2)
    settle(w)
    iid = loose(w, zone="us-east-1b")  # the group's one instance is in us-east-1a: zones stay balanced
    w.call("AttachInstances", AutoScalingGroupName="g", InstanceIds=[iid])
    g = w.group()
    assert g["DesiredCapacity"] == 2 and {i["InstanceId"]: i["LifecycleState"] for i in g["Instances"]}[iid] == "Pending"
    assert w.fleet.instances[iid]["group"] == "g"  # tagged aws:autoscaling:groupName
    act = w.activities()[0]
    assert act["Description"] == f"Attaching an existing EC2 instance: {iid}"
    assert act["Cause"] == ("At 2026-01-01T00:00:31Z an instance was added in response to user request. Keeping the "
                            "capacity at the new 2.")
    w.tick(1)
    assert w.states() == ["InService", "InService"] and len(w.fleet.launched) == 2  # nothing else launched
    assert w.activities()[0]["StatusCode"] == "Successful"
    refused(w, "ValidationError", "Desired capacity:3 must be between the specified min size:1 and max size:2",
            "AttachInstances", AutoScalingGroupName="g", InstanceIds=[loose(w)])


def test_attach_refusals(w: World) -> None:
    w.create(DesiredCapacity=1)
    w.create("h", DesiredCapacity=1)
    settle(w)
    w.tick(0, "h")
    member = w.group("h")["Instances"][0]["InstanceId"]
    refused(w, "ValidationError", "is already part of the Auto Scaling group h", "AttachInstances",
            AutoScalingGroupName="g", InstanceIds=[member])
    refused(w, "ValidationError", "is not in the running state", "AttachInstances", AutoScalingGroupName="g",
            InstanceIds=[loose(w, state="stopped")])
    refused(w, "ValidationError", "which is not one of the Availability Zones", "AttachInstances",
            AutoScalingGroupName="g", InstanceIds=[loose(w, zone="us-east-1c")])
    refused(w, "ValidationError", "does not exist", "AttachInstances", AutoScalingGroupName="g",
            InstanceIds=["i-00000000000000bad"])
    assert w.group()["DesiredCapacity"] == 1  # nothing half-done


def test_a_launch_hook_holds_an_attached_instance(w: World) -> None:
    w.create(DesiredCapacity=0, MinSize=0)
    w.call("PutLifecycleHook", AutoScalingGroupName="g", LifecycleHookName="warm",
           LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING")
    iid = loose(w)
    w.call("AttachInstances", AutoScalingGroupName="g", InstanceIds=[iid])
    w.tick(1)
    assert w.states() == ["Pending:Wait"]


# -- instance refresh -----------------------------------------------------------------------------


def launched_versions(w: World) -> dict[str, str]:
    return {i["InstanceId"]: i["LaunchTemplate"]["Version"] for i in w.group()["Instances"]
            if i["LifecycleState"] == "InService"}


def refresh(w: World, **extra: Any) -> dict[str, Any]:
    return w.call("DescribeInstanceRefreshes", AutoScalingGroupName="g", **extra)["InstanceRefreshes"][0]


def test_rolling_to_a_new_version_in_batches(w: World) -> None:
    w.create(DesiredCapacity=2, LaunchTemplate={"LaunchTemplateName": "web", "Version": "1"})
    settle(w)
    first = set(launched_versions(w))
    w.fleet.latest = 2
    rid = w.call("StartInstanceRefresh", AutoScalingGroupName="g",
                 DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": "web", "Version": "$Latest"}},
                 Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 60})["InstanceRefreshId"]
    assert refresh(w)["Status"] == "Pending"
    refused(w, "InstanceRefreshInProgress", "already in progress", "StartInstanceRefresh", AutoScalingGroupName="g")
    lowest = 2
    for _ in range(40):
        w.tick(5)
        lowest = min(lowest, len(launched_versions(w)))
        if refresh(w)["Status"] == "Successful":
            break
    r = refresh(w)
    assert r["InstanceRefreshId"] == rid and r["Status"] == "Successful" and r["PercentageComplete"] == 100
    assert r["InstancesToUpdate"] == 0 and r["Preferences"]["MinHealthyPercentage"] == 50
    assert lowest >= 1
    versions = launched_versions(w)
    assert len(versions) == 2 and set(versions) .isdisjoint(first) and set(versions.values()) == {"2"}
    assert w.group()["LaunchTemplate"]["Version"] == "$Latest"
    causes = [a["Cause"] for a in w.activities()]
    assert sum("an instance was launched in response to an instance refresh." in c for c in causes) == 2
    assert sum("taken out of service in response to an instance refresh." in c for c in causes) == 2
    refused(w, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh", "CancelInstanceRefresh",
            AutoScalingGroupName="g")
    assert w.app.store.get(names.REFRESH_ACTIVE, SCOPE, "g") is None  # the save that ended it dropped the pointer
    again = w.call("StartInstanceRefresh", AutoScalingGroupName="g")["InstanceRefreshId"]
    assert refresh(w)["InstanceRefreshId"] == again and again != rid


def test_checkpoint_pause_and_cancel(w: World) -> None:
    w.create(DesiredCapacity=4, MaxSize=4)
    settle(w)
    w.call("StartInstanceRefresh", AutoScalingGroupName="g",
           Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 0, "CheckpointPercentages": [50, 100],
                        "CheckpointDelay": 600})
    w.tick()
    assert w.states() == ["InService", "InService", "Pending", "Pending"]  # two out (gone at once here), two in
    w.tick(31)
    w.tick(1)
    r = refresh(w)
    assert r["PercentageComplete"] == 50 and "Checkpoint 50% reached" in r["StatusReason"]
    w.tick(300)
    assert refresh(w)["PercentageComplete"] == 50  # still paused
    w.call("CancelInstanceRefresh", AutoScalingGroupName="g")
    w.tick(1)
    r = refresh(w)
    assert r["Status"] == "Cancelled" and r["PercentageComplete"] == 50 and "EndTime" in r


@pytest.mark.parametrize(("req", "code", "words"), [
    ({"Preferences": {"CheckpointPercentages": [60, 30]}}, "ValidationError", "ascending"),
    ({"Strategy": "ReplaceRootVolume"}, "ValidationError", "not supported"),
    ({"DesiredConfiguration": {"LaunchTemplate": {"LaunchTemplateName": "web", "Version": "7"}}},
     "ValidationError", "You must use a valid fully-formed launch template"),
    ({"AutoScalingGroupName": "nope"}, "ValidationError", "AutoScalingGroup name not found"),
])
def test_bad_refreshes_are_refused(w: World, req: dict[str, Any], code: str, words: str) -> None:
    w.create()
    refused(w, code, words, "StartInstanceRefresh", **{"AutoScalingGroupName": "g", **req})
    assert w.call("DescribeInstanceRefreshes", AutoScalingGroupName="g")["InstanceRefreshes"] == []


def test_an_acknowledged_refresh_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(path))
    first = world(app)
    first.create(DesiredCapacity=1)
    settle(first)
    first.fleet.latest = 2
    first.call("StartInstanceRefresh", AutoScalingGroupName="g", Preferences={"InstanceWarmup": 0},
               DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": "web", "Version": "2"}})
    old_fleet = first.fleet
    app.store.close()  # the process dies here; the store file is all that is left
    again = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START + 40), store=SqliteStore(path))
    w = world(again)
    w.fleet.instances, w.fleet.latest = old_fleet.instances, 2  # the instances outlive the server
    w.fleet._ids = old_fleet._ids
    for _ in range(10):
        w.tick(10)
    r = refresh(w)
    assert r["Status"] == "Successful" and set(launched_versions(w).values()) == {"2"}
    again.store.close()

