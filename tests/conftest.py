"""Shared fixtures: a real Gureum server in a subprocess, and boto3 clients for it."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    endpoint: str
    port: int
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path

    def reset(self) -> None:
        req = urllib.request.Request(self.endpoint + "/_gureum/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=10).read()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_healthy(endpoint: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"gureum exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(endpoint + "/_gureum/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.02)
    raise RuntimeError(f"gureum at {endpoint} not healthy after {timeout}s: {last}")


def start_server(data_dir: Path, *extra: str, port: int | None = None, env: dict[str, str] | None = None) -> Server:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"gureum-{port}.log"
    logf = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gureum", "up", "--port", str(port), "--data-dir", str(data_dir), "--quiet", *extra],
        stdout=logf,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(endpoint, proc)
    except Exception:
        proc.kill()
        raise
    return Server(endpoint, port, data_dir, proc, log_path)


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


@pytest.fixture(autouse=True)
def _private_address_leases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process apps (unit, controller, sim tests) lease loopback IPs in a directory of their own.

    Gureum leases private IPs machine-wide (gureum/runtime/address_leases.py): a test app that
    fills the range, or holds leases while pytest runs, would take them from every Gureum on
    this machine.  Real servers (e2e) keep the machine's directory, so they never collide.
    """
    if "e2e" in request.node.path.parts or "server" in request.fixturenames:
        return
    name = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    monkeypatch.setenv("GUREUM_ADDRESS_LEASES", str(tmp_path_factory.getbasetemp() / "address-leases" / name))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One Gureum server for the whole test session (tests use unique names or reset)."""
    srv = start_server(tmp_path_factory.mktemp("gureum") / "data")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def client(server: Server) -> Callable[..., Any]:
    """``client("logs")`` → a boto3 client pointed at the session server."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    cache: dict[tuple[str, str], Any] = {}

    def make(service: str, region: str = "us-east-1", **kwargs: Any) -> Any:
        # Only plain clients are cached: one made with extra arguments
        # (a custom Config…) is returned fresh and never handed out again.
        from botocore.config import Config

        key = (service, region)
        custom = bool(kwargs)
        if custom or key not in cache:
            c = session.client(
                service,
                endpoint_url=server.endpoint,
                region_name=region,
                config=kwargs.pop("config", Config(retries={"max_attempts": 1})),
                **kwargs,
            )
            if custom:
                return c
            cache[key] = c
        return cache[key]

    return make
