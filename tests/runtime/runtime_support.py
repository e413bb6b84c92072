"""Helpers for the runtime driver tests (see conftest.py).

``runtime`` is parametrized over both drivers.  Docker tests skip, with the
reason, only when no engine answers (``bash .ci/setup-docker.sh`` starts
one); the base image is built when missing.  Each test gets a fresh data dir
id, and everything carrying it is removed afterwards.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gureum.core.store import SqliteStore
from gureum.runtime.addresses import AddressAllocator
from gureum.runtime.base import RuntimeDriver

# Tests publish on their own range, away from a running Gureum's 127.0.1.0/24.
TEST_RANGE = "127.0.77.0/24"
_addresses = AddressAllocator(SqliteStore(":memory:"), TEST_RANGE)
_engine_checked: dict[str, str | None] = {}


def docker_unavailable_reason() -> str | None:
    """None when an engine answers (the base image is then built if missing); else why not.

    Only a silent engine is a reason to skip: if it answers but the base
    image cannot be built, that is a failure.
    """
    if "reason" not in _engine_checked:
        from gureum.runtime.base import EngineUnavailable
        from gureum.runtime.docker import connect_client
        from gureum.runtime.images import build_base

        try:
            client = connect_client()
        except EngineUnavailable as exc:
            _engine_checked["reason"] = f"{exc}; start one with: bash .ci/setup-docker.sh"
            return _engine_checked["reason"]
        try:
            build_base(client)
        finally:
            client.close()
        _engine_checked["reason"] = None
    return _engine_checked["reason"]


@dataclass
class Runtime:
    """How to make a driver of one kind and write portable commands for it."""

    kind: str
    data_dir_id: str
    root: Path

    async def make(self, data_dir_id: str | None = None) -> RuntimeDriver:
        if self.kind == "docker":
            from gureum.runtime.docker import DockerDriver

            return await DockerDriver.connect(data_dir_id or self.data_dir_id)
        from gureum.runtime.process import ProcessDriver

        return ProcessDriver(self.root, data_dir_id or self.data_dir_id)

    def path(self, name: str) -> str:
        """A path the command can write: the container root on docker, the work dir on process."""
        return f"/{name}" if self.kind == "docker" else name

    def httpd(self, body: str) -> tuple[str, ...]:
        www = self.path("www")
        bind = "80" if self.kind == "docker" else "$GUREUM_PRIVATE_IP:80"
        return ("sh", "-c", f"mkdir -p {www} && echo {body} > {www}/index.html && exec httpd -f -p {bind} -h {www}")


def allocate_ip(owner: str) -> str:
    return _addresses.allocate(owner)


async def _remove_all(rt: Runtime) -> None:
    driver = await rt.make()
    try:
        for state in await driver.list():
            await driver.remove(state.id, force=True)
    finally:
        await driver.close()


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(scenario())


def http_get(url: str, timeout: float = 10.0) -> str:
    """GET ``url`` once the server answers (retrying refused connections until ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.read().decode()
        except (urllib.error.URLError, ConnectionError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout}s: {exc}") from exc
            time.sleep(0.05)


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
