"""The ``gureum`` command as a person uses it: up (flags, env), status, reset, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import free_port, wait_healthy

pytestmark = pytest.mark.e2e

GUREUM = [sys.executable, "-m", "gureum"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUREUM_")}
    env.update(extra)
    return env


class Up:
    """A ``gureum up`` subprocess with its output captured to a file."""

    def __init__(self, tmp: Path, args: list[str], env: dict[str, str]) -> None:
        self.out = tmp / f"up-{len(list(tmp.glob('up-*')))}.log"
        self._f = open(self.out, "wb")
        self.proc = subprocess.Popen([*GUREUM, "up", *args], stdout=self._f, stderr=subprocess.STDOUT, env=env)

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._f.close()
        return self.proc.returncode


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Any]:
    started: list[Up] = []

    def go(args: list[str], env: dict[str, str] | None = None) -> Up:
        up = Up(tmp_path, args, env if env is not None else _env())
        started.append(up)
        return up

    yield go
    for up in started:
        up.stop()


def health(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(endpoint + "/_gureum/health", timeout=5) as resp:
        return json.loads(resp.read())


def boto(service: str, endpoint: str, key: str = "test") -> Any:
    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key="test", region_name="us-east-1").client(
        service, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1})
    )


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GUREUM, *args], capture_output=True, text=True, timeout=30, env=env or _env())


# -- up ------------------------------------------------------------------------------------


def test_up_with_flags(launch: Any, tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "flags-data"
    up = launch(["--port", str(port), "--data-dir", str(data), "--default-account", "123456789012", "--time-scale", "60"])
    endpoint = f"http://127.0.0.1:{port}"
    wait_healthy(endpoint, up.proc)
    doc = health(endpoint)
    assert doc["ready"] is True and doc["dataDir"] == str(data)
    assert (data / "gureum.db").exists()
    assert boto("sts", endpoint).get_caller_identity()["Account"] == "123456789012"
    # The start-up summary says where it is and how fast time runs.
    assert f"127.0.0.1:{port}" in up.text() and "×60" in up.text()


def test_time_scale_runs_virtual_timestamps_faster(launch: Any, tmp_path: Path) -> None:
    port = free_port()
    up = launch(["--port", str(port), "--data-dir", str(tmp_path / "d"), "--time-scale", "120", "--quiet"])
    endpoint = f"http://127.0.0.1:{port}"
    wait_healthy(endpoint, up.proc)
    logs = boto("logs", endpoint)
    deadline = time.monotonic() + 15
    i = 0
    while True:
        name = f"/scale/{i}"
        logs.create_log_group(logGroupName=name)
        created = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["creationTime"]
        ahead_ms = created - time.time() * 1000
        # Virtual time started at the real time and runs 120× faster: after
        # half a real second it is a minute ahead.
        if ahead_ms > 60_000:
            break
        assert time.monotonic() < deadline, f"virtual time only {ahead_ms} ms ahead"
        i += 1
        time.sleep(0.1)


def test_up_from_environment_and_flags_win(launch: Any, tmp_path: Path) -> None:
    env_port, flag_port = free_port(), free_port()
    data = tmp_path / "env-data"
    env = _env(
        GUREUM_PORT=str(env_port),
        GUREUM_DATA_DIR=str(data),
        GUREUM_DEFAULT_ACCOUNT="210987654321",
        GUREUM_LOG_LEVEL="warning",
    )
    up = launch(["--quiet"], env)
    wait_healthy(f"http://127.0.0.1:{env_port}", up.proc)
    assert health(f"http://127.0.0.1:{env_port}")["dataDir"] == str(data)
    assert boto("sts", f"http://127.0.0.1:{env_port}").get_caller_identity()["Account"] == "210987654321"
    assert up.stop() == 0

    up2 = launch(["--quiet", "--port", str(flag_port)], env)
    wait_healthy(f"http://127.0.0.1:{flag_port}", up2.proc)
    assert health(f"http://127.0.0.1:{flag_port}")["dataDir"] == str(data)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {"GUREUM_TIME_SCALE": "0"}, "time-scale must be positive"),
        ([], {"GUREUM_PORT": "http"}, "GUREUM_PORT"),
        (["--default-account", "42"], {}, "12 digits"),
        (["--runtime", "vm"], {}, "invalid choice"),
    ],
)
def test_up_rejects_bad_settings_with_exit_2(args: list[str], env: dict[str, str], message: str, tmp_path: Path) -> None:
    res = subprocess.run(
        [*GUREUM, "up", "--data-dir", str(tmp_path / "x"), *args],
        capture_output=True, text=True, timeout=30, env=_env(**env),
    )
    assert res.returncode == 2
    assert message in res.stderr


def test_gureum_script_is_installed() -> None:
    import shutil

    # pip puts console scripts next to the interpreter's scripts (a venv's bin/,
    # /usr/local/bin on Debian); PATH decides which one a shell finds.
    script = Path(sysconfig.get_path("scripts")) / "gureum"
    found = str(script) if script.exists() else shutil.which("gureum")
    assert found, f"pip install -e . should have installed {script}"
    res = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0 and res.stdout.startswith("gureum ")


# -- status and reset --------------------------------------------------------------------------


def test_status_and_reset_of_a_running_instance(launch: Any, tmp_path: Path) -> None:
    port = free_port()
    up = launch(["--port", str(port), "--data-dir", str(tmp_path / "d"), "--quiet"])
    endpoint = f"http://127.0.0.1:{port}"
    wait_healthy(endpoint, up.proc)

    res = run_cli("status", "--endpoint", endpoint)
    assert res.returncode == 0, res.stderr
    assert f"at {endpoint}: ready" in res.stdout
    assert "logs" in res.stdout and "s3" in res.stdout
    # GUREUM_PORT alone finds it too.
    res = run_cli("status", env=_env(GUREUM_PORT=str(port)))
    assert res.returncode == 0 and "ready" in res.stdout

    logs = boto("logs", endpoint)
    logs.create_log_group(logGroupName="/cli/reset")
    assert logs.describe_log_groups(logGroupNamePrefix="/cli/")["logGroups"]
    res = run_cli("reset", "--endpoint", endpoint)
    assert res.returncode == 0 and "cleared" in res.stdout
    assert logs.describe_log_groups(logGroupNamePrefix="/cli/")["logGroups"] == []


def test_status_and_reset_without_a_server_fail() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    for cmd in ("status", "reset"):
        res = run_cli(cmd, "--endpoint", endpoint)
        assert res.returncode == 1
        assert "not answering" in res.stderr


# -- stopping ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_keeps_state(sig: signal.Signals, launch: Any, tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "d"
    up = launch(["--port", str(port), "--data-dir", str(data), "--quiet"])
    endpoint = f"http://127.0.0.1:{port}"
    wait_healthy(endpoint, up.proc)
    boto("logs", endpoint).create_log_group(logGroupName="/kept")
    up.proc.send_signal(sig)
    assert up.proc.wait(15) == 0, up.text()
    assert "Traceback" not in up.text()
    # The port is free again and the state is still there for the next start.
    up2 = launch(["--port", str(port), "--data-dir", str(data), "--quiet"])
    wait_healthy(endpoint, up2.proc)
    names = [g["logGroupName"] for g in boto("logs", endpoint).describe_log_groups()["logGroups"]]
    assert names == ["/kept"]
