"""Lambda: warm Invoke round trip for a trivial handler (target < 10 ms).

    python benchmarks/lambda_invoke.py               # 500 invokes after warm-up (about 10 s)
    python benchmarks/lambda_invoke.py --invokes 200

Starts ``python -m gureum up`` on a free port with a temporary data dir,
creates a Python function whose handler returns its event, waits until it is
Active, warms it with a few calls, then times ``--invokes`` synchronous
RequestResponse invocations through boto3 (one client, keep-alive), each one
a full HTTP round trip: gateway → rest-json → warm worker process → answer.
For reference it also times GetFunctionConfiguration (same HTTP path, no
worker) so the worker's share can be read off the difference.  Writes
``benchmarks/results/lambda_latest.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

RESULTS = Path(__file__).resolve().parent / "results"
HANDLER = "def handler(event, context):\n    return event\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gureum", "up", "--port", str(port), "--data-dir", str(data), "--quiet",
         "--runtime", "process"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoint + "/_gureum/health", timeout=1) as resp:
                if resp.status == 200:
                    return proc, endpoint
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("gureum did not become healthy")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": pick(0.50) * 1e3, "p90_ms": pick(0.90) * 1e3, "p99_ms": pick(0.99) * 1e3,
            "mean_ms": statistics.fmean(ordered) * 1e3, "n": len(ordered)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invokes", type=int, default=500)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="gureum-bench-lambda-"))
    proc, endpoint = start(data)
    try:
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        lam = session.client("lambda", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("app.py", HANDLER)
        lam.create_function(FunctionName="echo", Runtime="python3.11", Handler="app.handler",
                            Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": buf.getvalue()})
        deadline = time.monotonic() + 30
        while lam.get_function_configuration(FunctionName="echo")["State"] != "Active":
            if time.monotonic() > deadline:
                raise SystemExit("function never became Active")
            time.sleep(0.05)
        payload = json.dumps({"ping": 1}).encode()
        for _ in range(20):  # warm the worker and the connection
            out = lam.invoke(FunctionName="echo", Payload=payload)
            assert out["StatusCode"] == 200 and "FunctionError" not in out, out
        invoke: list[float] = []
        for _ in range(args.invokes):
            t0 = time.perf_counter()
            out = lam.invoke(FunctionName="echo", Payload=payload)
            body = out["Payload"].read()
            invoke.append(time.perf_counter() - t0)
            assert body == payload, body
        config: list[float] = []
        for _ in range(args.invokes):
            t0 = time.perf_counter()
            lam.get_function_configuration(FunctionName="echo")
            config.append(time.perf_counter() - t0)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cores": __import__("os").cpu_count()},
        "invoke": percentiles(invoke),
        "get_function_configuration": percentiles(config),
        "target": "warm invoke round trip p50 < 10 ms",
    }
    result["met"] = result["invoke"]["p50_ms"] < 10.0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lambda_latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'':34}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}")
    for name in ("invoke", "get_function_configuration"):
        r = result[name]
        print(f"{name:34}{r['p50_ms']:9.2f}{r['p90_ms']:9.2f}{r['p99_ms']:9.2f}")
    print(f"target (warm invoke p50 < 10 ms): {'met' if result['met'] else 'NOT met'}")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
