"""Shared parts of the ECS benchmarks (ecs_runtask_latency.py, ecs_service_steady.py).

* :class:`Gureum` — ``python -m gureum up --runtime docker`` on a free port
  with a temporary data dir; ``close()`` stops it and removes every container
  it made (by its ``gureum.data-dir-id`` label) and the data dir.
* :class:`Poller` — one keep-alive HTTP connection replaying a request that
  botocore built and signed once, so polling costs the client ~0.2 ms of CPU
  per call and leaves the two cores to the server and the engine.
* :func:`docker_run` — plain ``docker run -d`` through the docker CLI, as a
  person types it, timed from ``Popen`` to exit; every container it makes
  carries a label of this run so :func:`remove_labelled` cleans up.
* :func:`write_section` — one key of ``benchmarks/results/ecs_latest.json``
  (each script writes its own section and leaves the other's).

Everything talks to 127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ecs_latest.json"
IMAGE = "gureum/busybox:latest"
COMMAND = ["httpd", "-f", "-p", "80"]
RUN_LABEL = "gureum-bench.run"
RUN_ID = uuid.uuid4().hex[:12]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# -- docker -------------------------------------------------------------------------------


def ensure_docker() -> None:
    """Fail early, with the way out, when no engine answers or the base image is missing."""
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        sys.exit("no Docker engine answers: run `bash .ci/setup-docker.sh` first")
    built = subprocess.run([sys.executable, "-m", "gureum", "images", "build-base"], capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        sys.exit(f"cannot build {IMAGE}: {built.stderr.strip()}")


def docker_run(*extra: str, command: list[str] | None = None) -> tuple[str, float]:
    """``docker run -d [extra] IMAGE COMMAND``: (container id, seconds from Popen to exit)."""
    argv = ["docker", "run", "-d", "--label", f"{RUN_LABEL}={RUN_ID}", *extra, IMAGE, *(command or COMMAND)]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip(), took


def remove_labelled(label: str) -> int:
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, timeout=60).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=300)
    return len(ids)


# -- the gureum server --------------------------------------------------------------------


class Gureum:
    def __init__(self, timeout: float = 30.0) -> None:
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-ecs-"))
        self.data = self.tmp / "data"
        self.log = open(self.tmp / "server.log", "wb")
        cmd = [sys.executable, "-m", "gureum", "up", "--runtime", "docker", "--port", str(self.port),
               "--data-dir", str(self.data), "--quiet", "--log-level", "warning"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUREUM_")}
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gureum exited with {self.proc.returncode}; log: {self.tmp / 'server.log'}")
            try:
                with urllib.request.urlopen(self.endpoint + "/_gureum/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.02)
        self.close()
        raise RuntimeError(f"gureum did not become healthy within {timeout}s")

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        return session.client(service, endpoint_url=self.endpoint, config=Config(retries={"max_attempts": 1}))

    def rss_mb(self) -> float:
        root = psutil.Process(self.proc.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)] if p.is_running()) / 2**20

    def close(self) -> int:
        """Stop the server and remove the containers it made; how many were removed."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        from gureum.runtime.selection import data_dir_id

        removed = remove_labelled(f"gureum.data-dir-id={data_dir_id(self.data)}") if self.data.exists() else 0
        shutil.rmtree(self.tmp, ignore_errors=True)
        return removed


# -- raw polling ----------------------------------------------------------------------------


class _Captured(Exception):
    pass


class Poller:
    """Replays one signed request on a keep-alive connection and returns the parsed JSON."""

    def __init__(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        box: dict[str, Any] = {}

        def capture(request: Any, **_: Any) -> None:
            url = urlsplit(request.url)
            body = request.body or b""
            box.update(
                method=request.method,
                path=(url.path or "/") + (f"?{url.query}" if url.query else ""),
                headers={k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()},
                body=body.encode() if isinstance(body, str) else bytes(body),
                port=url.port,
            )
            raise _Captured

        client.meta.events.register_first("before-send", capture)
        try:
            getattr(client, _snake(operation))(**params)
        except _Captured:
            pass
        finally:
            client.meta.events.unregister("before-send", capture)
        self.req = box
        self.conn = http.client.HTTPConnection("127.0.0.1", box["port"], timeout=30)

    def __call__(self) -> Any:
        r = self.req
        self.conn.request(r["method"], r["path"], body=r["body"], headers=r["headers"])
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def _snake(name: str) -> str:
    import botocore

    return str(botocore.xform_name(name))


def poll_until(poll: Callable[[], Any], done: Callable[[Any], bool], interval: float, timeout: float) -> tuple[float, Any, int]:
    """Call ``poll`` every ``interval`` s (0: back to back) until ``done``: (perf_counter then, answer, calls)."""
    deadline = time.perf_counter() + timeout
    calls = 0
    while True:
        answer = poll()
        calls += 1
        now = time.perf_counter()
        if done(answer):
            return now, answer, calls
        if now > deadline:
            raise TimeoutError(f"not done within {timeout}s; last answer: {json.dumps(answer, default=str)[:400]}")
        if interval:
            time.sleep(interval)


# -- results --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    docker_version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, timeout=30).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE, timeout=10).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "gureum": version("gureum"),
        "commit": commit,
        "docker": docker_version,
        "loadavg_at_start": os.getloadavg(),
    }


def write_section(name: str, section: dict[str, Any], out: Path = RESULTS) -> Path:
    doc: dict[str, Any] = {}
    if out.exists():
        try:
            doc = json.loads(out.read_text())
        except ValueError:
            doc = {}
    doc[name] = section
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return out
