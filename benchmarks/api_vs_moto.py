"""Gureum vs moto on loopback: start time, idle memory, API throughput, latency.

    python benchmarks/api_vs_moto.py            # full run (about a minute)
    python benchmarks/api_vs_moto.py --quick    # fewer starts and requests

Both servers get exactly the same client code: requests are built and signed
once by botocore (the real serializers of each service's protocol) and then
replayed as raw HTTP over ``http.client``, so the client costs little and the
numbers are about the servers.  A server that answers ``Connection: close``
(moto's Werkzeug server) gets a new connection per request, as any client
would have to.

Measured, in one run:

(a) start → first answered STS GetCallerIdentity, median of N starts;
(b) resident memory (the server's whole process tree) after start + one call;
(c) requests/second for a mix of STS GetCallerIdentity, Logs PutLogEvents and
    DescribeLogGroups, CloudWatch PutMetricData and ListMetrics, S3 PutObject
    and GetObject (small), sequentially and from 8 client threads — the same
    fixed number of requests for both servers;
(d) p50/p99 latency of GetCallerIdentity over keep-alive (sequential).

Targets: (a) and (b) gureum/moto ≤ 1.0, (c) gureum/moto ≥ 2.0, (d) gureum
p99 < 5 ms.  Prints a table and writes benchmarks/results/latest.json.
Everything talks to 127.0.0.1 only and every loop is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"


# -- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Target:
    name: str
    command: Callable[[int, Path], list[str]]


def gureum_cmd(port: int, data: Path) -> list[str]:
    return [sys.executable, "-m", "gureum", "up", "--port", str(port), "--data-dir", str(data), "--quiet", "--log-level", "warning"]


def moto_cmd(port: int, data: Path) -> list[str]:
    script = Path(sysconfig.get_path("scripts")) / "moto_server"
    exe = str(script) if script.exists() else (shutil.which("moto_server") or "moto_server")
    return [exe, "-p", str(port)]


TARGETS = [Target("gureum", gureum_cmd), Target("moto", moto_cmd)]


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    port: int
    data: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> int:
        root = psutil.Process(self.proc.pid)
        procs = [root, *root.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs if p.is_running())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.data, ignore_errors=True)


# -- requests built by botocore, replayed raw -----------------------------------------------------


@dataclass(frozen=True)
class Wire:
    op: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Captured(Exception):
    pass


def build(endpoint: str, service: str, operation: str, params: dict[str, Any]) -> Wire:
    """The exact request boto3 would send (signed with test/test), captured before sending."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    client = session.client(service, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))
    box: dict[str, Wire] = {}

    def capture(request: Any, **_: Any) -> None:
        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()}
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        box["w"] = Wire(f"{service}.{operation}", request.method, path, headers, bytes(body))
        raise _Captured

    client.meta.events.register_first("before-send", capture)
    try:
        getattr(client, _snake(operation))(**params)
    except _Captured:
        pass
    return box["w"]


def _snake(name: str) -> str:
    import botocore

    return botocore.xform_name(name)


class RawClient:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def send(self, w: Wire) -> int:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(w.method, w.path, body=w.body, headers=w.headers)
                resp = self.conn.getresponse()
                resp.read()
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
                return resp.status
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


# -- (a) start time and (b) memory ---------------------------------------------------------------


def start(target: Target, sts: Wire, timeout: float = 30.0) -> tuple[Running, float]:
    """Start a server and return it with the seconds until its first answered GetCallerIdentity."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix=f"bench-{target.name}-"))
    cmd = target.command(port, data)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=data)
    run = Running(proc, port, data)
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{target.name} exited with {proc.returncode}: {' '.join(cmd)}")
        try:
            c = RawClient(port)
            status = c.send(_with_host(sts, port))
            c.close()
            if status == 200:
                return run, time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.005)
    run.stop()
    raise RuntimeError(f"{target.name} did not answer within {timeout}s")


def _with_host(w: Wire, port: int) -> Wire:
    headers = dict(w.headers)
    headers["Host"] = f"127.0.0.1:{port}"
    return Wire(w.op, w.method, w.path, headers, w.body)


# -- (c) throughput and (d) latency ------------------------------------------------------------------


def prepare_mix(run: Running) -> list[Wire]:
    """Create the fixtures the mix needs, and build the mix's requests."""
    import boto3

    ep = run.endpoint
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    logs = session.client("logs", endpoint_url=ep)
    logs.create_log_group(logGroupName="/bench")
    logs.create_log_stream(logGroupName="/bench", logStreamName="s")
    s3 = session.client("s3", endpoint_url=ep)
    s3.create_bucket(Bucket="bench-bucket")
    s3.put_object(Bucket="bench-bucket", Key="small.txt", Body=b"x" * 1024)
    now_ms = int(time.time() * 1000)
    return [
        build(ep, "sts", "GetCallerIdentity", {}),
        build(ep, "logs", "PutLogEvents", {"logGroupName": "/bench", "logStreamName": "s", "logEvents": [{"timestamp": now_ms, "message": "benchmark line"}]}),
        build(ep, "logs", "DescribeLogGroups", {"logGroupNamePrefix": "/bench"}),
        build(ep, "cloudwatch", "PutMetricData", {"Namespace": "Bench", "MetricData": [{"MetricName": "Hits", "Value": 1.0, "Unit": "Count"}]}),
        build(ep, "cloudwatch", "ListMetrics", {"Namespace": "Bench"}),
        build(ep, "s3", "PutObject", {"Bucket": "bench-bucket", "Key": "put.txt", "Body": b"y" * 1024}),
        build(ep, "s3", "GetObject", {"Bucket": "bench-bucket", "Key": "small.txt"}),
    ]


@dataclass
class Throughput:
    requests: int
    seconds: float
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def throughput(run: Running, mix: list[Wire], rounds: int, threads: int) -> Throughput:
    """``threads`` clients each send ``rounds`` times the whole mix; wall time of all."""
    errors: dict[str, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def worker() -> None:
        c = RawClient(run.port)
        barrier.wait()
        for _ in range(rounds):
            for w in mix:
                status = c.send(w)
                if status >= 300:
                    with lock:
                        errors[w.op] = errors.get(w.op, 0) + 1
        c.close()

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join(300)
    return Throughput(threads * rounds * len(mix), time.perf_counter() - t0, errors)


def latency(run: Running, w: Wire, n: int) -> dict[str, float]:
    c = RawClient(run.port)
    for _ in range(20):  # warm-up
        c.send(w)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        c.send(w)
        samples.append((time.perf_counter() - t0) * 1000)
    c.close()
    samples.sort()
    return {
        "p50_ms": samples[len(samples) // 2],
        "p90_ms": samples[int(len(samples) * 0.90)],
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "max_ms": samples[-1],
        "samples": n,
    }


# -- one run -----------------------------------------------------------------------------------------


def measure(target: Target, starts: int, rounds_seq: int, rounds_par: int, lat_n: int) -> dict[str, Any]:
    sts = build("http://127.0.0.1:1", "sts", "GetCallerIdentity", {})
    times, rss = [], []
    for i in range(starts):
        run, took = start(target, sts)
        times.append(took)
        if i == 0:
            rss.append(run.rss())  # after start + one call
        run.stop()
    run, _ = start(target, sts)
    try:
        idle = run.rss()
        mix = prepare_mix(run)
        seq = throughput(run, mix, rounds_seq, threads=1)
        par = throughput(run, mix, rounds_par, threads=8)
        lat = latency(run, build(run.endpoint, "sts", "GetCallerIdentity", {}), lat_n)
        after = run.rss()
    finally:
        run.stop()
    return {
        "start_s": {"median": statistics.median(times), "all": times},
        "idle_rss_mb": min(idle, *rss) / 2**20,
        "rss_after_load_mb": after / 2**20,
        "throughput_seq": {"rps": seq.rps, "requests": seq.requests, "seconds": seq.seconds, "errors": seq.errors},
        "throughput_8_threads": {"rps": par.rps, "requests": par.requests, "seconds": par.seconds, "errors": par.errors},
        "sts_latency": lat,
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "gureum": version("gureum"),
        "moto": version("moto"),
        "botocore": version("botocore"),
    }


def report(res: dict[str, Any]) -> list[str]:
    g, m = res["gureum"], res["moto"]
    rows = [
        ("start → first call (median, s)", g["start_s"]["median"], m["start_s"]["median"], "≤ 1.0"),
        ("idle RSS (MiB)", g["idle_rss_mb"], m["idle_rss_mb"], "≤ 1.0"),
        ("mix, sequential (req/s)", g["throughput_seq"]["rps"], m["throughput_seq"]["rps"], "≥ 2.0"),
        ("mix, 8 threads (req/s)", g["throughput_8_threads"]["rps"], m["throughput_8_threads"]["rps"], "≥ 2.0"),
        ("STS p50 (ms)", g["sts_latency"]["p50_ms"], m["sts_latency"]["p50_ms"], ""),
        ("STS p99 (ms)", g["sts_latency"]["p99_ms"], m["sts_latency"]["p99_ms"], "gureum < 5"),
    ]
    lines = [f"{'':34} {'gureum':>10} {'moto':>10} {'g/m':>7}  target", "-" * 76]
    for name, gv, mv, target in rows:
        ratio = gv / mv if mv else float("inf")
        lines.append(f"{name:34} {gv:10.3f} {mv:10.3f} {ratio:7.2f}  {target}")
    checks = res["targets"]
    lines.append("-" * 76)
    lines.append("targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in checks.items()))
    for who in ("gureum", "moto"):
        for mode in ("throughput_seq", "throughput_8_threads"):
            if res[who][mode]["errors"]:
                lines.append(f"{who} {mode} non-2xx answers: {res[who][mode]['errors']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="3 starts and fewer requests (a smoke run)")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    starts, seq, par, lat_n = (3, 30, 10, 300) if args.quick else (5, 150, 40, 2000)

    wall0 = time.perf_counter()
    res: dict[str, Any] = {"machine": machine(), "params": {"starts": starts, "rounds_seq": seq, "rounds_8_threads": par, "latency_samples": lat_n}}
    for target in TARGETS:
        print(f"measuring {target.name} …", file=sys.stderr, flush=True)
        res[target.name] = measure(target, starts, seq, par, lat_n)
    g, m = res["gureum"], res["moto"]
    res["ratios"] = {
        "start": g["start_s"]["median"] / m["start_s"]["median"],
        "idle_rss": g["idle_rss_mb"] / m["idle_rss_mb"],
        "throughput_seq": g["throughput_seq"]["rps"] / m["throughput_seq"]["rps"],
        "throughput_8_threads": g["throughput_8_threads"]["rps"] / m["throughput_8_threads"]["rps"],
    }
    r = res["ratios"]
    res["targets"] = {
        "start<=1": r["start"] <= 1.0,
        "rss<=1": r["idle_rss"] <= 1.0,
        "seq>=2": r["throughput_seq"] >= 2.0,
        "par>=2": r["throughput_8_threads"] >= 2.0,
        "p99<5ms": g["sts_latency"]["p99_ms"] < 5.0,
        "no errors": not any(res[w][k]["errors"] for w in ("gureum", "moto") for k in ("throughput_seq", "throughput_8_threads")),
    }
    res["wall_seconds"] = time.perf_counter() - wall0
    print("\n".join(report(res)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nwrote {out} ({res['wall_seconds']:.0f} s)")
    return 0 if all(res["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
