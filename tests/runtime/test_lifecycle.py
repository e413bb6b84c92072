"""The same lifecycle, for real, on the docker and the process driver."""

from __future__ import annotations

import asyncio
import time

import pytest
from runtime_support import Runtime, allocate_ip, http_get, run, wait_for

from gureum.runtime.base import (
    OWNER_LABEL,
    Conflict,
    ContainerSpec,
    EventKind,
    Health,
    HealthCheck,
    ImageNotFound,
    NotFound,
    PortMapping,
    StartFailed,
    Status,
    remove_orphans,
)

IMAGE = "gureum/busybox"


def spec(rt: Runtime, name: str, command: tuple[str, ...], **kw: object) -> ContainerSpec:
    return ContainerSpec(name=f"{rt.data_dir_id}-{name}", image=IMAGE, owner=f"arn:test:{name}", command=command, **kw)  # type: ignore[arg-type]


def test_two_servers_on_port_80_then_stop(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        ids, ips = [], []
        for name in ("web-a", "web-b"):
            ip = allocate_ip(f"{runtime.data_dir_id}/{name}")
            s = spec(runtime, name, runtime.httpd(name), ip=ip, ports=(PortMapping(80, 80),))
            cid = await d.create(s)
            assert (await d.inspect(cid)).status is Status.CREATED
            await d.start(cid)
            ids.append(cid)
            ips.append(ip)
        assert ips[0] != ips[1]
        for ip, body in zip(ips, ("web-a", "web-b"), strict=True):
            assert (await asyncio.to_thread(http_get, f"http://{ip}:80/")).strip() == body

        state = await d.inspect(ids[0])
        assert state.status is Status.RUNNING and state.pid and state.exit_code is None
        assert state.ip == ips[0] and state.started_at and state.finished_at is None
        assert [(p.container_port, p.host_ip, p.host_port) for p in state.ports] == [(80, ips[0], 80)]
        assert state.labels[OWNER_LABEL] == "arn:test:web-a"

        t0 = time.monotonic()
        await d.stop(ids[0], timeout=2)
        assert time.monotonic() - t0 < 6
        stopped = await d.inspect(ids[0])
        assert stopped.status is Status.EXITED
        assert stopped.exit_code in (143, 137)  # SIGTERM honoured, or SIGKILL after the timeout
        assert stopped.finished_at is not None and stopped.finished_at >= (stopped.started_at or 0)
        assert (await d.inspect(ids[1])).running
        with pytest.raises(AssertionError, match="did not answer"):
            await asyncio.to_thread(http_get, f"http://{ips[0]}:80/", 0.3)
        await d.close()

    run(scenario)


def test_missing_command_fails_to_start_with_127(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        cid = await d.create(spec(runtime, "nocmd", ("gureum-no-such-command", "x")))
        with pytest.raises(StartFailed, match="gureum-no-such-command"):
            await d.start(cid)
        state = await d.inspect(cid)
        assert state.status is Status.EXITED
        assert state.exit_code == 127
        assert "gureum-no-such-command" in state.error
        await d.close()

    run(scenario)


def test_unknown_image_and_unknown_container(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        missing = "gureum-test/not-here:1"
        assert not await d.image_exists(missing)
        assert await d.image_exists(IMAGE)
        with pytest.raises(ImageNotFound):
            await d.create(ContainerSpec(name=f"{runtime.data_dir_id}-img", image=missing, owner="arn:x"))
        with pytest.raises(NotFound):
            await d.inspect("0" * 64)
        name = f"{runtime.data_dir_id}-dup"
        await d.create(ContainerSpec(name=name, image=IMAGE, owner="arn:x", command=("true",)))
        with pytest.raises(Conflict):
            await d.create(ContainerSpec(name=name, image=IMAGE, owner="arn:x", command=("true",)))
        await d.close()

    run(scenario)


def test_kill_sends_die_event_within_two_seconds(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        events = d.events()
        seen: list = []

        async def collect() -> None:
            async for ev in events:
                seen.append((time.monotonic(), ev))

        task = asyncio.create_task(collect())
        cid = await d.create(spec(runtime, "victim", ("sleep", "60")))
        await d.start(cid)
        await wait_for(lambda: _has(seen, EventKind.START, cid), 5, "the start event")
        killed_at = time.monotonic()
        await d.kill(cid, "SIGKILL")
        await wait_for(lambda: _has(seen, EventKind.DIE, cid), 2.0, "the die event")
        at, die = next((t, e) for t, e in seen if e.kind is EventKind.DIE and e.container_id == cid)
        assert at - killed_at < 2.0
        assert die.exit_code == 137
        assert die.labels[OWNER_LABEL] == "arn:test:victim"
        with pytest.raises(Conflict):
            await d.kill(cid)  # not running any more
        after = await d.stats(cid)
        assert (after.cpu_percent, after.memory_bytes) == (0.0, 0)
        task.cancel()
        await d.close()

    run(scenario)


async def _has(seen: list, kind: EventKind, cid: str) -> bool:
    return any(e.kind is kind and e.container_id == cid for _, e in seen)


def test_stats_logs_and_exec(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        script = "echo hello; echo oops >&2; while :; do :; done"
        cid = await d.create(spec(runtime, "busy", ("sh", "-c", script), cpus=0.5, memory_bytes=64 << 20))
        await d.start(cid)
        stats = await d.stats(cid)
        assert stats.memory_bytes > 0
        assert stats.memory_limit == 64 << 20
        assert stats.cpu_percent > 10
        if runtime.kind == "docker":
            assert stats.cpu_percent < 75, "0.5 vCPU is enforced by the engine"

        async def both_lines() -> bool:
            return len([x async for x in d.logs(cid)]) >= 2

        await wait_for(both_lines, 5, "two log lines")
        lines = [x async for x in d.logs(cid)]
        # two pipes: the order between stdout and stderr written 1 ms apart is not kept
        assert sorted((x.stream, x.line) for x in lines) == [("stderr", "oops"), ("stdout", "hello")]
        assert all(abs(x.time - time.time()) < 60 for x in lines)
        assert [x async for x in d.logs(cid, since=lines[-1].time + 1)] == []

        result = await d.exec(cid, ["sh", "-c", "echo in; echo err >&2; exit 3"])
        assert (result.exit_code, result.stdout, result.stderr) == (3, "in\n", "err\n")
        await d.kill(cid)
        await d.close()

    run(scenario)


def test_follow_logs_until_exit(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        cid = await d.create(spec(runtime, "talker", ("sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done")))
        await d.start(cid)
        got = await asyncio.wait_for(_collect(d.logs(cid, follow=True)), 10)
        assert [x.line for x in got] == ["line1", "line2", "line3"]
        assert (await d.inspect(cid)).exit_code == 0
        await d.close()

    run(scenario)


async def _collect(it) -> list:  # type: ignore[no-untyped-def]
    return [x async for x in it]


def test_healthcheck_turns_healthy(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        flag = runtime.path("ready")
        hc = HealthCheck(("CMD-SHELL", f"test -f {flag}"), interval=0.3, timeout=2, retries=2)
        cid = await d.create(spec(runtime, "hc", ("sleep", "60"), healthcheck=hc))
        await d.start(cid)
        assert (await d.inspect(cid)).health is Health.STARTING

        async def health_is(value: Health) -> bool:
            return (await d.inspect(cid)).health is value

        await wait_for(lambda: health_is(Health.UNHEALTHY), 5, "unhealthy")
        await d.exec(cid, ["touch", flag])
        await wait_for(lambda: health_is(Health.HEALTHY), 5, "healthy")
        await d.kill(cid)
        await d.close()

    run(scenario)


def test_commit_makes_an_image_that_runs(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        baked = runtime.path("baked.txt")
        cid = await d.create(spec(runtime, "bake", ("sh", "-c", f"echo golden > {baked}")))
        await d.start(cid)
        await wait_for(lambda: _exited(d, cid), 10, "the bake to finish")
        image = f"gureum-test/baked-{runtime.data_dir_id}:v1"
        image_id = await d.commit(cid, image)
        assert image_id.startswith("sha256:")
        try:
            assert await d.image_exists(image)
            new = await d.create(ContainerSpec(name=f"{runtime.data_dir_id}-from-image", image=image, owner="arn:x", command=("cat", baked)))
            await d.start(new)
            await wait_for(lambda: _exited(d, new), 10, "the new container to finish")
            assert [x.line async for x in d.logs(new)] == ["golden"]
            assert (await d.inspect(new)).exit_code == 0
            await d.remove(new)
        finally:
            await d.remove_image(image)
        assert not await d.image_exists(image)
        await d.close()

    run(scenario)


async def _exited(d, cid: str) -> bool:  # type: ignore[no-untyped-def]
    return (await d.inspect(cid)).status is Status.EXITED


def test_labels_adoption_and_orphans(runtime: Runtime) -> None:
    async def scenario() -> None:
        first = await runtime.make()
        keep = await first.create(spec(runtime, "keep", ("sleep", "60"), labels={"gureum.cluster": "c1"}))
        drop = await first.create(spec(runtime, "drop", ("sleep", "60"), labels={"gureum.cluster": "c1"}))
        for cid in (keep, drop):
            await first.start(cid)
        await first.close()

        again = await runtime.make()  # a restarted Gureum, same data dir
        found = {s.id: s for s in await again.list({"gureum.cluster": "c1"})}
        assert set(found) == {keep, drop} and all(s.running for s in found.values())
        assert [s.id for s in await again.list({OWNER_LABEL: "arn:test:keep"})] == [keep]
        other = await runtime.make("someone-else")
        assert await other.list() == []
        await other.close()

        removed = await remove_orphans(again, lambda owner: owner == "arn:test:keep")
        assert removed == [drop]
        assert [s.id for s in await again.list()] == [keep]
        with pytest.raises(NotFound):
            await again.inspect(drop)
        await again.remove(keep)
        assert await again.list() == []
        await again.close()

    run(scenario)


def test_stop_escalates_to_sigkill_after_timeout(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        cid = await d.create(spec(runtime, "stubborn", ("sh", "-c", "trap '' TERM; echo ready; sleep 60")))
        await d.start(cid)

        async def trap_set() -> bool:
            return [x.line async for x in d.logs(cid)] == ["ready"]

        await wait_for(trap_set, 5, "the TERM trap")
        t0 = time.monotonic()
        await d.stop(cid, timeout=1)
        elapsed = time.monotonic() - t0
        state = await d.inspect(cid)
        assert state.exit_code == 137, "SIGTERM is ignored, so SIGKILL after the timeout"
        assert 0.9 <= elapsed < 5
        await d.stop(cid, timeout=1)  # stopping a stopped container is a no-op
        await d.close()

    run(scenario)


def test_user_and_environment(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        ip = allocate_ip(f"{runtime.data_dir_id}/env")
        s = spec(runtime, "env", ("sh", "-c", 'echo "$(id -u) $GREETING $GUREUM_PRIVATE_IP"'), user="nobody", env={"GREETING": "annyeong"}, ip=ip)
        cid = await d.create(s)
        await d.start(cid)
        await wait_for(lambda: _exited(d, cid), 10, "the container to finish")
        assert [x.line async for x in d.logs(cid)] == [f"65534 annyeong {ip}"]
        await d.close()

    run(scenario)
