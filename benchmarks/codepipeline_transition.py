"""CodePipeline: Gureum's own overhead per stage transition (target < 100 ms).

    python benchmarks/codepipeline_transition.py                 # 8 executions × 8 transitions (about 10 s)
    python benchmarks/codepipeline_transition.py --executions 3  # quicker

A pipeline of an S3 source and ``--stages`` stages, each with one custom
action (owner Custom) whose job this script completes itself, so no build or
function time is in the numbers — only what Gureum does between "an action
finished" and "the next one started".  Executions run one after the other
(SUPERSEDED pipeline, so each enters every stage without waiting).

Two views of each transition:

* **server** — from ListActionExecutions: the next action's ``startTime``
  minus the finished action's ``lastUpdateTime`` (both recorded by Gureum; the
  JSON protocol carries them to the millisecond).  This is the target.
* **client** — from the moment PutJobSuccessResult returns until PollForJobs
  (called back to back on one keep-alive connection) hands out the next
  stage's job: what a job worker sees, HTTP round trips included.

Also reported: from the upload of a new source version until its execution's
first custom job can be polled (S3 change detection polls every second, so
this is dominated by that period, not by the transition).  Writes
``benchmarks/results/codepipeline_latest.json``.
"""

from __future__ import annotations

import argparse
import io
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
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

RESULTS = Path(__file__).resolve().parent / "results"
WORKER = {"category": "Build", "owner": "Custom", "provider": "BenchWorker", "version": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gureum", "up", "--port", str(port), "--data-dir", str(data), "--quiet",
                             "--runtime", "process"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(endpoint + "/_gureum/health", timeout=1).read()
            return proc, endpoint
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("gureum did not start")


def zipped(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.txt", text)
    return buf.getvalue()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(statistics.median(values), 2), "p95_ms": round(pct(values, 0.95), 2),
            "max_ms": round(max(values), 2), "mean_ms": round(statistics.fmean(values), 2)}  # fmt: skip


def next_job(cp: Any, timeout: float = 30.0) -> tuple[dict[str, Any], float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = cp.poll_for_jobs(actionTypeId=WORKER, maxBatchSize=1)["jobs"]
        if jobs:
            return jobs[0], time.perf_counter()
    raise SystemExit("no job appeared")


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="gureum-cp-bench-"))
    proc, endpoint = start(tmp / "data")
    try:
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
        cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
        s3, cp = (session.client(n, endpoint_url=endpoint, config=cfg) for n in ("s3", "codepipeline"))
        s3.create_bucket(Bucket="bench-src")
        s3.put_bucket_versioning(Bucket="bench-src", VersioningConfiguration={"Status": "Enabled"})
        s3.create_bucket(Bucket="bench-store")
        cp.create_custom_action_type(category="Build", provider="BenchWorker", version="1",
                                     inputArtifactDetails={"minimumCount": 0, "maximumCount": 1}, outputArtifactDetails={"minimumCount": 0, "maximumCount": 0})  # fmt: skip
        stages = [{"name": f"S{i}", "actions": [{"name": f"A{i}", "actionTypeId": WORKER, "inputArtifacts": [{"name": "Src"}]}]}
                  for i in range(args.stages)]  # fmt: skip
        source = {"name": "Source", "actions": [{"name": "Code", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                                                 "configuration": {"S3Bucket": "bench-src", "S3ObjectKey": "app.zip"}, "outputArtifacts": [{"name": "Src"}]}]}  # fmt: skip
        s3.put_object(Bucket="bench-src", Key="app.zip", Body=zipped("0"))
        cp.create_pipeline(pipeline={"name": "bench", "roleArn": "arn:aws:iam::000000000000:role/b",
                                     "artifactStore": {"type": "S3", "location": "bench-store"}, "stages": [source, *stages]})  # fmt: skip
        client_ms: list[float] = []
        detect_ms: list[float] = []
        for n in range(args.executions):
            if n:
                pushed = time.perf_counter()
                s3.put_object(Bucket="bench-src", Key="app.zip", Body=zipped(str(n)))
            job, seen = next_job(cp)
            if n:
                detect_ms.append((seen - pushed) * 1000)
            for _ in range(args.stages):
                cp.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
                cp.put_job_success_result(jobId=job["id"])
                done = time.perf_counter()
                if job["data"]["pipelineContext"]["stage"]["name"] == f"S{args.stages - 1}":
                    break
                job, seen = next_job(cp)
                client_ms.append((seen - done) * 1000)
        server_ms = server_view(cp)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"server_transition": summary(server_ms), "client_transition": summary(client_ms),
            "source_change_to_first_job": summary(detect_ms) if detect_ms else None}  # fmt: skip


def server_view(cp: Any) -> list[float]:
    """next.startTime − previous.lastUpdateTime for consecutive stages of every execution."""
    deadline = time.monotonic() + 30
    while any(e["status"] == "InProgress" for e in cp.list_pipeline_executions(pipelineName="bench")["pipelineExecutionSummaries"]):
        if time.monotonic() > deadline:
            raise SystemExit("executions did not finish")
        time.sleep(0.05)
    details = cp.get_paginator("list_action_executions").paginate(pipelineName="bench").build_full_result()["actionExecutionDetails"]
    by_exec: dict[str, list[dict[str, Any]]] = {}
    for d in details:
        by_exec.setdefault(d["pipelineExecutionId"], []).append(d)
    gaps = []
    for runs in by_exec.values():
        runs.sort(key=lambda d: d["startTime"])
        for prev, nxt in zip(runs, runs[1:], strict=False):
            gaps.append((nxt["startTime"] - prev["lastUpdateTime"]).total_seconds() * 1000)
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=8)
    parser.add_argument("--stages", type=int, default=8)
    args = parser.parse_args()
    result = run(args)
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    result["target"] = {"server_transition_p95_ms": "< 100"}
    print(f"{'':36}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for key in ("server_transition", "client_transition", "source_change_to_first_job"):
        s = result[key]
        if s:
            print(f"{key:36}{s['n']:>5}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['max_ms']:>10}")
    ok = result["server_transition"]["p95_ms"] < 100
    print("target p95 < 100 ms:", "met" if ok else "MISSED")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "codepipeline_latest.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
