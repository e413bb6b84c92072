"""``gureum images build-base`` as a person runs it, against the real Docker engine.

The builds use a tag of their own (removed afterwards), so the shared
``gureum/busybox:latest`` other tests run is never rebuilt under them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

GUREUM = [sys.executable, "-m", "gureum"]


def _engine() -> Any:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:  # no SDK, no socket, no answer: all mean "no engine"
        pytest.skip(f"no Docker engine answers ({exc}); run bash .ci/setup-docker.sh")
    return client


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GUREUM, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def tag() -> Iterator[str]:
    client = _engine()
    if not Path("/bin/busybox").exists():
        pytest.skip("busybox-static is not installed (/bin/busybox)")
    name = f"gureum-test/busybox-cli:{uuid.uuid4().hex[:10]}"
    yield name
    try:
        client.images.remove(name, force=True)
    except Exception:
        pass
    client.close()


def test_build_base_builds_then_keeps_then_rebuilds_with_force(tag: str) -> None:
    client = _engine()
    built = _run("images", "build-base", "--tag", tag)
    assert built.returncode == 0, built.stderr
    image = client.images.get(tag)
    assert built.stdout.startswith(f"built {tag} ({image.id})"), built.stdout

    again = _run("images", "build-base", "--tag", tag)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"{tag} is already there ({image.id}); --force rebuilds it"

    forced = _run("images", "build-base", "--tag", tag, "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith(f"built {tag} ("), forced.stdout

    out = client.containers.run(tag, ["sh", "-c", "echo hello from $(busybox | head -n 1 | cut -d' ' -f1)"], remove=True)
    assert out.decode().strip() == "hello from BusyBox"


def test_a_dynamic_busybox_is_refused_with_the_way_out(tag: str, tmp_path: Path) -> None:
    fake = tmp_path / "busybox"
    fake.write_bytes(Path(sys.executable).resolve().read_bytes()[:65536])  # python is dynamic
    res = _run("images", "build-base", "--tag", tag, "--busybox", str(fake))
    assert res.returncode == 1
    assert "busybox-static" in res.stderr and "Traceback" not in res.stderr


def test_no_engine_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    res = _run("images", "build-base", env=env)
    assert res.returncode == 1
    assert "no Docker engine answers" in res.stderr and "Traceback" not in res.stderr
