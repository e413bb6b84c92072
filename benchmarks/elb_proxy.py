"""ALB data-plane throughput: through Gureum's balancer vs straight to the
backend (and vs haproxy / nginx in front of the same backend, when present).

    python3 benchmarks/elb_proxy.py              # 10 s per run
    python3 benchmarks/elb_proxy.py --seconds 5 --connections 64

Needs ``wrk`` (Debian: ``apt-get install wrk``); haproxy and nginx are used
when installed (``apt-get install haproxy nginx-light``).  Backends:

* ``nginx``  – nginx answering a 13-byte body from memory (one worker);
* ``python`` – a small asyncio HTTP/1.1 server in a subprocess (the speed of a
  typical Python app behind the balancer).

Each configuration gets the same wrk run (keep-alive, ``-t2 -c<N>``), one
after the other on the same machine.  Results go to stdout and
``benchmarks/results/elb_latest.json``.  See ``benchmarks/elb_README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import free_port, start_server, stop_server  # noqa: E402

BACKEND_IP = "127.0.4.1"
PROXY_IP = "127.0.4.2"

PY_BACKEND = r'''
import asyncio, sys
BODY = b"hello, world\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s" % (len(BODY), BODY)
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(RESP)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(handle, sys.argv[1], int(sys.argv[2]), backlog=1024)
    await server.serve_forever()
asyncio.run(main())
'''


def wait_http(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wrk(url: str, seconds: int, connections: int, host: str | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if host:
        cmd[1:1] = ["-H", f"Host: {host}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {}
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        lat[f"p{pct}_ms"] = float(m.group(1)) * scale
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, **lat, "non_2xx": int(errors.group(1)) if errors else 0, "socket_errors": sock.group(1) if sock else ""}


def start_nginx_backend(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    conf = tmp / "nginx-backend.conf"
    conf.write_text(f"""
worker_processes 1; daemon off; pid {tmp}/nginx-b.pid; error_log {tmp}/nginx-b.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen {BACKEND_IP}:{port}; location / {{ return 200 "hello, world\\n"; }} }} }}
""")
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)])


def start_haproxy(tmp: Path, port: int, backend_port: int) -> subprocess.Popen[bytes]:
    conf = tmp / "haproxy.cfg"
    conf.write_text(f"""
global
  nbthread 1
defaults
  mode http
  timeout connect 10s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend fe
  bind {PROXY_IP}:{port}
  default_backend be
backend be
  server b1 {BACKEND_IP}:{backend_port}
""")
    return subprocess.Popen(["haproxy", "-f", str(conf)])


def start_nginx_proxy(tmp: Path, port: int, backend_port: int) -> subprocess.Popen[bytes]:
    conf = tmp / "nginx-proxy.conf"
    conf.write_text(f"""
worker_processes 1; daemon off; pid {tmp}/nginx-p.pid; error_log {tmp}/nginx-p.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  upstream be {{ server {BACKEND_IP}:{backend_port}; keepalive 128; }}
  server {{ listen {PROXY_IP}:{port};
    location / {{ proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }} }} }}
""")
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)])


def gureum_alb(endpoint: str, backend_port: int) -> tuple[str, str]:
    elb = boto3.client(
        "elbv2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
        aws_secret_access_key="t", config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip
    lb = elb.create_load_balancer(Name=f"bench-{backend_port}")["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name=f"bench-{backend_port}", Protocol="HTTP", Port=backend_port, TargetType="ip",
        HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": BACKEND_IP}])
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )["Listeners"][0]["ListenerArn"]  # fmt: skip
    elb.get_waiter("target_in_service").wait(TargetGroupArn=tg, WaiterConfig={"Delay": 0.2})
    for _ in range(100):
        attrs = {a["Key"]: a["Value"] for a in elb.describe_listener_attributes(ListenerArn=listener)["Attributes"]}
        if "gureum.bound_address" in attrs:
            return attrs["gureum.bound_address"], lb["DNSName"]
        time.sleep(0.1)
    raise RuntimeError("listener never bound")


def run(args: argparse.Namespace) -> dict[str, object]:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        srv = start_server(tmp / "gureum")
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for backend in ("nginx", "python"):
                if backend == "nginx" and not shutil.which("nginx"):
                    continue
                port = free_port()
                if backend == "nginx":
                    procs.append(start_nginx_backend(tmp, port))
                else:
                    procs.append(subprocess.Popen([sys.executable, "-c", PY_BACKEND, BACKEND_IP, str(port)]))
                wait_http(f"http://{BACKEND_IP}:{port}/")
                row: dict[str, object] = {}
                row["direct"] = wrk(f"http://{BACKEND_IP}:{port}/", args.seconds, args.connections)
                bound, dns = gureum_alb(srv.endpoint, port)
                row["gureum"] = wrk(f"http://{bound}/", args.seconds, args.connections, host=dns)
                if shutil.which("haproxy"):
                    hp = free_port()
                    procs.append(start_haproxy(tmp, hp, port))
                    wait_http(f"http://{PROXY_IP}:{hp}/")
                    row["haproxy"] = wrk(f"http://{PROXY_IP}:{hp}/", args.seconds, args.connections)
                if shutil.which("nginx"):
                    np_ = free_port()
                    procs.append(start_nginx_proxy(tmp, np_, port))
                    wait_http(f"http://{PROXY_IP}:{np_}/")
                    row["nginx-proxy"] = wrk(f"http://{PROXY_IP}:{np_}/", args.seconds, args.connections)
                results[backend] = row
                for p in procs:
                    p.terminate()
                    p.wait(10)
                procs.clear()
        finally:
            for p in procs:
                p.kill()
            stop_server(srv)
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    results = run(args)
    print(f"{'backend':8} {'path':12} {'req/s':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'+p99 ms':>8}")
    for backend, row in results.items():
        direct = row["direct"]  # type: ignore[index]
        for path, r in row.items():  # type: ignore[attr-defined]
            ratio = r["rps"] / direct["rps"]
            added = r["p99_ms"] - direct["p99_ms"]
            print(f"{backend:8} {path:12} {r['rps']:9.0f} {ratio:6.2f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {added:8.2f}")
    out = {
        "results": results,
        "connections": args.connections,
        "seconds": args.seconds,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_before": os.getloadavg(),
    }
    dest = ROOT / "benchmarks" / "results" / "elb_latest.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
