"""One reconcile of the EC2 instance controller against a fake runtime driver:
the ordered driver calls and the instance it leaves behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope
from gureum.runtime.addresses import AddressAllocator
from gureum.runtime.base import (
    ContainerSpec,
    ContainerState,
    Event,
    ImageNotFound,
    NotFound,
    Status,
    gureum_labels,
)
from gureum.services.api import RequestContext
from gureum.services.ec2.instance_controller import InstanceController
from gureum.services.ec2.names import BUILTIN_AMI, INSTANCE, STATE_TOPIC, scoped_key
from gureum.settings import Settings

NOW = 1_700_000_000.0
ACCOUNT = "123456789012"
SCOPE = Scope(ACCOUNT, "us-east-1")
BUSYBOX = "gureum/busybox:latest"


class FakeDriver:
    """Containers as records; every call that changes something is recorded in order."""

    name = "fake"
    data_dir_id = "test"

    def __init__(self) -> None:
        self.images = {BUSYBOX}
        self.calls: list[tuple[str, ...]] = []
        self.states: dict[str, ContainerState] = {}
        self.specs: dict[str, ContainerSpec] = {}
        self.n = 0
        self.on_create: Any = None

    def set(self, cid: str, **kw: Any) -> None:
        st = self.states[cid]
        self.states[cid] = ContainerState(**{**{f: getattr(st, f) for f in st.__dataclass_fields__}, **kw})

    async def image_exists(self, image: str) -> bool:
        return image in self.images

    async def pull(self, image: str, auth: Mapping[str, str] | None = None) -> None:
        self.calls.append(("pull", image))
        raise ImageNotFound(f"pull of {image} failed: not found")

    async def create(self, spec: ContainerSpec) -> str:
        self.n += 1
        cid = f"c{self.n}"
        self.calls.append(("create", spec.name))
        self.states[cid] = ContainerState(cid, spec.name, spec.image, Status.CREATED, gureum_labels(spec, "test"))
        self.specs[cid] = spec
        if self.on_create is not None:
            self.on_create()
        return cid

    async def start(self, cid: str) -> None:
        self.calls.append(("start", cid))
        self.set(cid, status=Status.RUNNING, exit_code=None)

    async def stop(self, cid: str, timeout: float = 10.0) -> None:
        self.calls.append(("stop", cid))
        self.set(cid, status=Status.EXITED, exit_code=0)

    async def remove(self, cid: str, force: bool = True) -> None:
        self.calls.append(("remove", cid))
        if cid not in self.states:
            raise NotFound(cid)
        del self.states[cid]

    async def inspect(self, cid: str) -> ContainerState:
        if cid not in self.states:
            raise NotFound(cid)
        return self.states[cid]

    async def list(self, labels: Mapping[str, str] | None = None) -> list[ContainerState]:
        return [s for s in self.states.values() if all(s.labels.get(k) == v for k, v in (labels or {}).items())]

    def events(self) -> AsyncIterator[Event]:
        return self._never()

    async def _never(self) -> AsyncIterator[Event]:
        await asyncio.Event().wait()
        yield  # type: ignore[misc]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(NOW))
    a.service_api("ec2")
    yield a
    a.store.close()


def call(app: App, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api("ec2")
    assert api is not None
    return api.handlers[op](RequestContext("ec2", op, ACCOUNT, "us-east-1", "rid", app), req)  # type: ignore[return-value]


def launch(app: App, **req: Any) -> tuple[str, str]:
    iid = call(app, "RunInstances", ImageId=BUILTIN_AMI, MinCount=1, MaxCount=1, **req)["Instances"][0]["InstanceId"]
    return scoped_key(SCOPE, iid), iid


def controller(app: App, driver: FakeDriver) -> InstanceController:
    async def get_runtime() -> FakeDriver:
        return driver

    app.get_runtime = get_runtime  # type: ignore[method-assign]
    return InstanceController(app)


def reconcile(ctl: InstanceController, key: str) -> Any:
    return asyncio.run(ctl.reconcile(key))


def doc(app: App, iid: str) -> dict[str, Any]:
    d = app.store.get(INSTANCE, SCOPE, iid)
    assert d is not None
    return d


def state(app: App, iid: str) -> str:
    return str(doc(app, iid)["State"]["Name"])


def test_launch_runs_in_one_pass_and_a_second_pass_does_nothing(app: App) -> None:
    drv, events = FakeDriver(), []
    app.bus.subscribe(STATE_TOPIC, lambda _t, p: events.append((p["previous"], p["state"])))
    key, iid = launch(app, InstanceType="t2.micro", UserData="IyEvYmluL3NoCg==")
    ctl = controller(app, drv)
    assert reconcile(ctl, key) is None
    assert drv.calls == [("create", f"gureum-ec2-{iid}"), ("start", "c1")]
    d = doc(app, iid)
    assert d["State"] == {"Code": 16, "Name": "running"} and "StateReason" not in d
    assert d["_cid"] == "c1" and d["_bootedAt"] == NOW
    spec = drv.specs["c1"]
    assert (spec.cpus, spec.memory_bytes, spec.ip) == (1.0, 1024 ** 3, d["PrivateIpAddress"])
    assert events == [("", "pending"), ("pending", "running")]
    drv.calls.clear()
    reconcile(ctl, key)
    assert drv.calls == []


def test_stop_start_reboot_terminate(app: App) -> None:
    drv = FakeDriver()
    key, iid = launch(app)
    ctl = controller(app, drv)
    reconcile(ctl, key)
    call(app, "StopInstances", InstanceIds=[iid])
    assert state(app, iid) == "stopping"
    assert reconcile(ctl, key) is None
    assert state(app, iid) == "stopped" and drv.calls[-1] == ("stop", "c1")
    assert doc(app, iid)["StateReason"]["Code"] == "Client.UserInitiatedShutdown"

    call(app, "StartInstances", InstanceIds=[iid])
    reconcile(ctl, key)
    assert state(app, iid) == "running" and drv.calls[-1] == ("start", "c1")  # the same container again
    assert [c[0] for c in drv.calls].count("create") == 1

    call(app, "RebootInstances", InstanceIds=[iid])
    drv.calls.clear()
    reconcile(ctl, key)
    assert drv.calls == [("stop", "c1"), ("start", "c1")] and state(app, iid) == "running"
    drv.calls.clear()
    reconcile(ctl, key)
    assert drv.calls == []  # rebooted once

    ip = doc(app, iid)["PrivateIpAddress"]
    call(app, "TerminateInstances", InstanceIds=[iid])
    drv.calls.clear()
    reconcile(ctl, key)
    assert drv.calls == [("stop", "c1"), ("remove", "c1")]
    d = doc(app, iid)
    assert d["State"]["Name"] == "terminated" and d["_terminatedAt"] == NOW
    assert ip not in AddressAllocator(app.store).leases()
    assert ctl.keys() == []  # nothing left to do; still visible…
    assert call(app, "DescribeInstances", InstanceIds=[iid])["Reservations"]
    asyncio.run(app.clock.advance(3601))  # type: ignore[attr-defined]
    ctl.keys()  # …until the retention has passed
    assert app.store.get(INSTANCE, SCOPE, iid) is None


@pytest.mark.parametrize(
    ("exit_code", "code"), [(0, "Client.InstanceInitiatedShutdown"), (137, "Server.InternalError")]
)
def test_a_container_that_exits_stops_the_instance(app: App, exit_code: int, code: str) -> None:
    drv = FakeDriver()
    key, iid = launch(app)
    ctl = controller(app, drv)
    reconcile(ctl, key)
    drv.set("c1", status=Status.EXITED, exit_code=exit_code)
    reconcile(ctl, key)
    d = doc(app, iid)
    assert d["State"]["Name"] == "stopped" and d["StateReason"]["Code"] == code
    call(app, "StartInstances", InstanceIds=[iid])
    reconcile(ctl, key)
    assert state(app, iid) == "running"


def test_shutdown_behaviour_terminate(app: App) -> None:
    drv = FakeDriver()
    key, iid = launch(app, InstanceInitiatedShutdownBehavior="terminate")
    ctl = controller(app, drv)
    reconcile(ctl, key)
    drv.set("c1", status=Status.EXITED, exit_code=0)
    reconcile(ctl, key)
    d = doc(app, iid)
    assert d["State"]["Name"] == "terminated" and d["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown"
    assert drv.states == {}


def test_a_container_removed_behind_our_back_terminates_the_instance(app: App) -> None:
    drv = FakeDriver()
    key, iid = launch(app)
    ctl = controller(app, drv)
    reconcile(ctl, key)
    ip = doc(app, iid)["PrivateIpAddress"]
    del drv.states["c1"]
    reconcile(ctl, key)
    d = doc(app, iid)
    assert d["State"]["Name"] == "terminated" and d["StateReason"]["Code"] == "Server.InternalError"
    assert ip not in AddressAllocator(app.store).leases()


def test_an_image_that_is_not_there_fails_the_launch(app: App) -> None:
    drv = FakeDriver()
    drv.images = set()
    key, iid = launch(app)
    reconcile(controller(app, drv), key)
    assert drv.calls == [("pull", BUSYBOX)]
    d = doc(app, iid)
    assert d["State"]["Name"] == "terminated"
    assert d["StateReason"]["Message"].startswith("Server.InternalError: Internal error on launch")


def test_a_restarted_controller_adopts_instead_of_creating(app: App) -> None:
    drv = FakeDriver()
    key, iid = launch(app)
    reconcile(controller(app, drv), key)
    d = doc(app, iid)
    d.pop("_cid")  # as if the server died between create and the write
    d["State"] = {"Code": 0, "Name": "pending"}
    app.store.put(INSTANCE, SCOPE, iid, d)
    drv.calls.clear()
    reconcile(controller(app, drv), key)
    assert drv.calls == [] and doc(app, iid)["_cid"] == "c1" and state(app, iid) == "running"


def test_first_pass_sweeps_orphans(app: App) -> None:
    drv = FakeDriver()
    key, iid = launch(app)
    other_key, other = launch(app)
    reconcile(controller(app, drv), other_key)
    app.store.delete(INSTANCE, SCOPE, other)  # its instance is gone: the container is an orphan
    drv.calls.clear()
    reconcile(controller(app, drv), key)
    assert drv.calls[0] == ("remove", "c1")
    assert state(app, iid) == "running"


def test_an_intent_that_arrives_mid_pass_is_not_overwritten(app: App) -> None:
    drv = FakeDriver()
    key, iid = launch(app)
    drv.on_create = lambda: call(app, "TerminateInstances", InstanceIds=[iid])
    reconcile(controller(app, drv), key)
    d = doc(app, iid)
    assert d["State"]["Name"] == "terminated"
    assert d["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert drv.states == {}  # the container made meanwhile was removed, not left running


class PortsTakenDriver(FakeDriver):
    """The engine refuses the ports of the first ``refusals`` starts (another Gureum holds them)."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def start(self, cid: str) -> None:
        if self.refusals:
            self.refusals -= 1
            self.calls.append(("start-refused", cid))
            from gureum.runtime.base import DriverError

            raise DriverError("driver failed programming external connectivity: Bind for 127.0.1.2:80 failed: "
                              "port is already allocated")
        await super().start(cid)

    async def commit(self, cid: str, image: str) -> str:
        self.calls.append(("commit", cid, image))
        self.images.add(image)
        return "sha256:1"

    async def remove_image(self, image: str) -> None:
        self.calls.append(("remove_image", image))


def test_an_address_taken_elsewhere_moves_the_instance(app: App) -> None:
    from gureum.services.ec2 import address_probe

    drv = PortsTakenDriver(refusals=1)
    key, iid = launch(app)
    old_ip = doc(app, iid)["PrivateIpAddress"]
    reconcile(controller(app, drv), key)
    d = doc(app, iid)
    assert d["State"]["Name"] == "running" and d["PrivateIpAddress"] != old_ip
    assert d["PrivateDnsName"] == f"ip-{d['PrivateIpAddress'].replace('.', '-')}.ec2.internal"
    assert [c[0] for c in drv.calls] == ["create", "start-refused", "remove", "create", "start"]
    leases = AddressAllocator(app.store).leases()
    assert leases[old_ip] == address_probe.BUSY_OWNER and leases[d["PrivateIpAddress"]] == d["_arn"]
    assert drv.specs[d["_cid"]].ip == d["PrivateIpAddress"]


def test_a_stopped_instance_keeps_its_files_when_it_moves(app: App) -> None:
    drv = PortsTakenDriver(refusals=0)
    key, iid = launch(app)
    ctl = controller(app, drv)
    reconcile(ctl, key)
    call(app, "StopInstances", InstanceIds=[iid])
    reconcile(ctl, key)
    drv.refusals = 1  # meanwhile someone else published its address
    call(app, "StartInstances", InstanceIds=[iid])
    drv.calls.clear()
    reconcile(ctl, key)
    disk = f"gureum/ec2-disk:{iid}"
    assert drv.calls[:3] == [("start-refused", "c1"), ("commit", "c1", disk), ("remove", "c1")]
    assert state(app, iid) == "running" and drv.specs[doc(app, iid)["_cid"]].image == disk
    call(app, "TerminateInstances", InstanceIds=[iid])
    reconcile(ctl, key)
    assert drv.calls[-1] == ("remove_image", disk)


def test_refused_too_often_fails_the_launch(app: App) -> None:
    drv = PortsTakenDriver(refusals=10)
    key, iid = launch(app)
    reconcile(controller(app, drv), key)
    d = doc(app, iid)
    assert d["State"]["Name"] == "terminated" and "port is already allocated" in d["StateReason"]["Message"]


def test_cpu_utilization_reaches_cloudwatch(app: App) -> None:
    from gureum.runtime.base import Stats
    from gureum.services.cloudwatch.metrics import read_samples
    from gureum.services.ec2.metrics import MetricsController, due, utilization

    assert utilization(150.0, vcpus=2, host_cpus=8) == 75.0
    assert utilization(150.0, vcpus=4, host_cpus=1) == 100.0  # the host's one CPU, fully used
    assert due(True, None, 0.0) and due(True, 0.0, 60.0) and not due(False, 0.0, 60.0) and due(False, 0.0, 300.0)

    class Busy(FakeDriver):
        async def stats(self, cid: str) -> Stats:
            return Stats(cpu_percent=50.0, memory_bytes=1, memory_limit=None, online_cpus=2)

    drv = Busy()
    key, iid = launch(app, InstanceType="t2.micro", Monitoring={"Enabled": True},
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "x", "Value": "y"}]}])
    reconcile(controller(app, drv), key)
    from gureum.services.ec2 import tag_store

    # aws: tags are reserved for callers of CreateTags; Auto Scaling sets its own through tag_store.
    tag_store.add(app.store, SCOPE, iid, {"aws:autoscaling:groupName": "web-asg"})
    sampler = MetricsController(app)
    asyncio.run(sampler.reconcile("all"))
    for dims in ((("InstanceId", iid),), (("AutoScalingGroupName", "web-asg"),)):
        samples = read_samples(app.store, SCOPE, "AWS/EC2", "CPUUtilization", dims, NOW - 120, NOW + 60)
        assert [s.total for s in samples] == [50.0], dims  # t2.micro: one vCPU at 50 %
    asyncio.run(sampler.reconcile("all"))  # the same minute: nothing new
    assert len(read_samples(app.store, SCOPE, "AWS/EC2", "CPUUtilization", (("InstanceId", iid),), NOW - 120, NOW + 60)) == 1
