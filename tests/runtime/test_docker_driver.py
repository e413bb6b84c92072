"""What only the docker driver does: OOM kills, ephemeral host ports, pulls."""

from __future__ import annotations

import asyncio
import time

import pytest
from runtime_support import Runtime, allocate_ip, http_get, run, wait_for

from gureum.runtime.base import ContainerSpec, EventKind, ImageNotFound, PortMapping, Status


def test_oom_kill_is_an_event_and_a_state(docker_runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await docker_runtime.make()
        events = d.events()
        seen: list = []

        async def collect() -> None:
            async for ev in events:
                seen.append(ev)

        task = asyncio.create_task(collect())
        hog = 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived'
        cid = await d.create(ContainerSpec(name=f"{docker_runtime.data_dir_id}-oom", image="gureum/busybox", owner="arn:x", command=("sh", "-c", hog), memory_bytes=16 << 20))
        await d.start(cid)

        async def died() -> bool:
            return any(e.kind is EventKind.DIE for e in seen)

        await wait_for(died, 20, "the OOM kill")
        assert any(e.kind is EventKind.OOM for e in seen)
        state = await d.inspect(cid)
        assert state.oom_killed and state.exit_code == 137 and state.status is Status.EXITED
        task.cancel()
        await d.close()

    run(scenario)


def test_host_port_zero_gets_an_ephemeral_port_on_the_private_ip(docker_runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await docker_runtime.make()
        ip = allocate_ip(f"{docker_runtime.data_dir_id}/eph")
        cid = await d.create(ContainerSpec(name=f"{docker_runtime.data_dir_id}-eph", image="gureum/busybox", owner="arn:x", command=docker_runtime.httpd("ephemeral"), ip=ip, ports=(PortMapping(80, 0),)))
        await d.start(cid)
        [port] = (await d.inspect(cid)).ports
        assert port.host_ip == ip and port.container_port == 80 and port.host_port not in (0, 80)
        assert (await asyncio.to_thread(http_get, f"http://{ip}:{port.host_port}/")).strip() == "ephemeral"
        await d.close()

    run(scenario)


def test_pull_from_a_registry_that_is_not_there(docker_runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await docker_runtime.make()
        t0 = time.monotonic()
        with pytest.raises(ImageNotFound, match="127.0.0.1:1"):
            await d.pull("127.0.0.1:1/nothing/here:1")
        assert time.monotonic() - t0 < 10
        await d.close()

    run(scenario)
