"""Drivers against the real Docker engine and real processes (no mocks).

``runtime`` is parametrized over both drivers.  Docker tests skip, with the
reason, only when no engine answers (``bash .ci/setup-docker.sh`` starts
one); the base image is built when missing.  Each test gets a fresh data dir
id, and everything carrying it is removed afterwards.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_support import Runtime, _remove_all, docker_unavailable_reason

from gureum.runtime.images import BaseImageError, find_busybox


def _runtime(kind: str, tmp_path: Path) -> Iterator[Runtime]:
    if kind == "docker":
        reason = docker_unavailable_reason()
        if reason:
            pytest.skip(reason)
    if kind == "process":
        try:
            find_busybox()
        except BaseImageError as exc:
            pytest.skip(f"the process-driver tests run busybox applets: {exc}")
    rt = Runtime(kind, "test-" + secrets.token_hex(4), tmp_path / "process")
    yield rt
    asyncio.run(_remove_all(rt))


@pytest.fixture(params=["docker", "process"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    yield from _runtime(request.param, tmp_path)


@pytest.fixture
def docker_runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from _runtime("docker", tmp_path)


