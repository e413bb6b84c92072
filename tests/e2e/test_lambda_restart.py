"""Lambda across a server stop/start and a reset: workers never outlive their server,
functions and their code do (until a reset)."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e

CODE = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "stream": context.log_stream_name}
"""


def make_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", CODE)
    return buf.getvalue()


def lambda_client(server: Server) -> Any:
    return boto3.client(
        "lambda", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=20),
    )


def call(lam: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
    out = lam.invoke(FunctionName="keeper", Payload=json.dumps(event or {}).encode())
    body = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, body
    return body  # type: ignore[no-any-return]


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # it went away between the two looks
        return True


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def test_workers_end_with_the_server_and_functions_survive_it(data_dir: Path) -> None:
    server = start_server(data_dir)
    try:
        lam = lambda_client(server)
        lam.create_function(FunctionName="keeper", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                            Handler="app.handler", Code={"ZipFile": make_zip()})
        # Concurrent invocations get workers of their own.
        with ThreadPoolExecutor(3) as pool:
            bodies = list(pool.map(lambda _: call(lam, {"sleep": 0.5}), range(3)))
        pids = {b["pid"] for b in bodies}
        assert len(pids) == 3 and len({b["stream"] for b in bodies}) == 3
    finally:
        stop_server(server)
    wait_until(lambda: all(gone(p) for p in pids))

    server = start_server(data_dir)
    try:
        lam = lambda_client(server)
        assert lam.get_function_configuration(FunctionName="keeper")["State"] == "Active"
        pid = call(lam)["pid"]
        assert pid not in pids
        server.reset()
        wait_until(lambda: gone(pid))
        assert not (data_dir / "lambda").exists() or not any((data_dir / "lambda").rglob("*.zip"))
        assert lam.list_functions()["Functions"] == []
    finally:
        stop_server(server)
