"""What only the process driver does: shims outliving Gureum, rlimits, its refusals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from pathlib import Path

import psutil
import pytest
from runtime_support import allocate_ip, http_get, wait_for

from gureum.runtime.base import ContainerSpec, DriverError, EventKind, PortMapping, Status
from gureum.runtime.process import ProcessDriver


def _spec(name: str, command: tuple[str, ...], **kw: object) -> ContainerSpec:
    return ContainerSpec(name=name, image="gureum/busybox", owner=f"arn:test:{name}", command=command, **kw)  # type: ignore[arg-type]


def _state_file(root: Path, cid: str) -> dict:
    return json.loads((root / "containers" / cid / "state.json").read_text())


def test_a_restarted_gureum_adopts_and_sees_the_death(tmp_path: Path) -> None:
    async def before_restart() -> str:
        d = ProcessDriver(tmp_path, "dd")
        cid = await d.create(_spec("long", ("sleep", "60")))
        await d.start(cid)
        await d.close()
        return cid

    cid = asyncio.run(before_restart())  # that event loop and driver are gone now

    async def after_restart() -> None:
        d = ProcessDriver(tmp_path, "dd")
        events = d.events()
        [state] = await d.list()
        assert state.id == cid and state.running
        killed_at = time.monotonic()
        os.killpg(state.pid or 0, signal.SIGKILL)  # dies behind Gureum's back
        ev = await asyncio.wait_for(events.__anext__(), 2.0)
        assert time.monotonic() - killed_at < 2.0
        assert (ev.kind, ev.container_id, ev.exit_code) == (EventKind.DIE, cid, 137)
        assert (await d.inspect(cid)).status is Status.EXITED
        await d.close()

    asyncio.run(after_restart())


def test_a_dead_shim_is_reported_and_its_command_removed(tmp_path: Path) -> None:
    async def scenario() -> None:
        d = ProcessDriver(tmp_path, "dd")
        cid = await d.create(_spec("orphan", ("sleep", "60")))
        await d.start(cid)
        state = _state_file(tmp_path, cid)
        child = psutil.Process(state["pid"])
        os.kill(state["shim_pid"], signal.SIGKILL)

        async def lost() -> bool:
            return (await d.inspect(cid)).status is Status.EXITED

        await wait_for(lost, 5, "the container to be seen exited")
        st = await d.inspect(cid)
        assert st.exit_code == 255 and "shim" in st.error
        assert child.is_running()
        await d.remove(cid)
        child.wait(timeout=5)
        assert not child.is_running()
        await d.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(("enforcement", "ok"), [("rlimit", False), ("none", True)])
def test_memory_limit_as_rlimit(tmp_path: Path, enforcement: str, ok: bool) -> None:
    async def scenario() -> None:
        d = ProcessDriver(tmp_path, "dd", memory_enforcement=enforcement)
        hog = 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'
        cid = await d.create(_spec("hog", ("sh", "-c", hog), memory_bytes=32 << 20))
        await d.start(cid)

        async def done() -> bool:
            return (await d.inspect(cid)).status is Status.EXITED

        await wait_for(done, 20, "the memory hog to finish")
        code = (await d.inspect(cid)).exit_code
        assert (code == 0) is ok, f"exit code {code}"
        await d.close()

    asyncio.run(scenario())


def test_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    async def scenario() -> None:
        d = ProcessDriver(tmp_path, "dd")
        with pytest.raises(DriverError, match="cannot map port"):
            await d.create(_spec("remap", ("true",), ports=(PortMapping(80, 8080),)))
        with pytest.raises(DriverError, match="no command"):
            await d.create(ContainerSpec(name="empty", image="gureum/busybox", owner="x", command=()))
        cid = await d.create(_spec("ephemeral", ("true",), ip="127.0.77.250", ports=(PortMapping(80, 0),)))
        assert cid
        await d.close()

    asyncio.run(scenario())


def _port_free(ip: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not a listener
        try:
            s.bind((ip, port))
        except OSError:
            return False
    return True


def _daemon_under(shim_pid: int, group: int) -> psutil.Process:
    """The httpd that left the command's process group, now a child of the shim (a subreaper)."""
    [daemon] = [p for p in psutil.Process(shim_pid).children(recursive=True)
                if p.name() in ("httpd", "busybox") and os.getpgid(p.pid) != group]
    assert daemon.ppid() == shim_pid
    return daemon


def test_a_daemon_that_leaves_its_process_group_dies_with_the_container(tmp_path: Path) -> None:
    ip, port = allocate_ip("process-driver/daemon"), 8081

    async def scenario() -> None:
        d = ProcessDriver(tmp_path, "dd")
        www = "mkdir -p www && echo daemon > www/index.html"
        command = ("sh", "-c", f"{www} && httpd -p $GUREUM_PRIVATE_IP:{port} -h www && exec sleep 60")
        cid = await d.create(_spec("daemon", command, ip=ip, ports=(PortMapping(port, port),)))
        await d.start(cid)
        assert (await asyncio.to_thread(http_get, f"http://{ip}:{port}/")).strip() == "daemon"
        state = _state_file(tmp_path, cid)
        daemon = _daemon_under(state["shim_pid"], state["pid"])
        await d.stop(cid, timeout=5)
        assert (await d.inspect(cid)).exit_code == 143
        assert not daemon.is_running() and _port_free(ip, port)
        assert not psutil.pid_exists(state["shim_pid"])
        await d.close()

    asyncio.run(scenario())


def test_a_command_that_only_daemonizes_ends_its_container_and_the_daemon(tmp_path: Path) -> None:
    """As with Docker: when PID 1 (here httpd's parent, which exits at once) ends, everything ends."""
    ip, port = allocate_ip("process-driver/daemon-only"), 8082

    async def scenario() -> None:
        d = ProcessDriver(tmp_path, "dd")
        cid = await d.create(_spec("daemon-only", ("httpd", "-p", f"{ip}:{port}"), ip=ip))
        events = d.events()
        await d.start(cid)
        ev = await asyncio.wait_for(events.__anext__(), 10)
        while ev.kind is not EventKind.DIE:
            ev = await asyncio.wait_for(events.__anext__(), 10)
        assert ev.exit_code == 0
        assert _port_free(ip, port)
        assert not [p for p in psutil.process_iter(["cmdline"]) if f"{ip}:{port}" in " ".join(p.info["cmdline"] or [])]
        await d.close()

    asyncio.run(scenario())


def test_an_orphan_that_exits_while_the_container_runs_is_reaped(tmp_path: Path) -> None:
    async def scenario() -> None:
        d = ProcessDriver(tmp_path, "dd")
        cid = await d.create(_spec("orphans", ("sh", "-c", "(sleep 0.5 &); exec sleep 30")))
        await d.start(cid)
        shim = psutil.Process(_state_file(tmp_path, cid)["shim_pid"])

        async def adopted() -> bool:  # the command and the orphan its subshell left
            return len(shim.children()) == 2

        async def reaped() -> bool:  # no zombie left behind under the shim
            return len(shim.children()) == 1

        await wait_for(adopted, 5, "the orphan to be handed to the shim")
        await wait_for(reaped, 5, "the orphan to exit and be reaped")
        assert (await d.inspect(cid)).running
        await d.stop(cid, timeout=1)
        await d.close()

    asyncio.run(scenario())
