"""A Gureum server on the docker driver for e2e tests.

:func:`engine_or_skip` skips (saying why) only when no Docker engine answers;
:func:`docker_server` starts ``gureum up --runtime docker`` with extra flags
and, whatever happened, removes every container carrying its data-dir label.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import Server, start_server, stop_server

from gureum.runtime.selection import data_dir_id


def engine_or_skip() -> Any:
    """A docker SDK client with the base image built, or a skip naming what failed."""
    try:
        import docker

        from gureum.runtime.images import build_base

        engine = docker.from_env(timeout=30)
        engine.ping()
        build_base(engine)
        return engine
    except Exception as exc:  # any failure to reach an engine means: skip, saying why
        pytest.skip(f"no Docker engine answers ({exc}); start one with: bash .ci/setup-docker.sh")


def container_label(data: Path) -> str:
    return f"gureum.data-dir-id={data_dir_id(data)}"


@contextmanager
def docker_server(engine: Any, data: Path, *flags: str) -> Iterator[Server]:
    srv = start_server(data, "--runtime", "docker", *flags)
    try:
        yield srv
    finally:
        stop_server(srv)
        for c in engine.api.containers(all=True, filters={"label": container_label(data)}):
            try:
                engine.api.remove_container(c["Id"], force=True)
            except Exception:  # gone already
                pass


