"""ECS RunTask → RUNNING latency on the docker driver, versus plain ``docker run -d``.

    python benchmarks/ecs_runtask_latency.py            # 20 samples of each (about a minute)
    python benchmarks/ecs_runtask_latency.py --samples 5

One run, one machine, one engine.  Both sides start ``gureum/busybox`` running
``httpd -f -p 80``:

* **ECS**: an awsvpc FARGATE task (cpu 256, memory 512, port 80 published on
  its private IP) through boto3's ``run_task`` on ``gureum up --runtime
  docker``.  Latency = from just before ``run_task`` is called until a
  ``DescribeTasks`` answer says ``lastStatus: RUNNING``.  DescribeTasks is a
  replay of a botocore-signed request on one keep-alive connection (about
  0.3 ms a call), sent every ``--poll`` seconds (default 10 ms: the figure
  the target is judged on).  Each sample is also taken with a **tight loop**
  (calls back to back) for reference: on two cores that loop competes with
  the server and the engine for CPU, so it measures its own load as well
  (see benchmarks/README.md).  The task's ``startedAt − createdAt`` (the
  server's own view) is reported too.
* **docker**: ``docker run -d IMAGE httpd -f -p 80`` through the docker CLI,
  from ``Popen`` until it exits (it exits once the container has started).
  For reference (not the target) also ``docker run -d`` with what the driver
  asks of the engine for this task (``-p IP:80:80``, ``--memory 512m``,
  ``--cpus 0.25``, labels), and plain ``docker run -d`` while a thread runs
  the same tight DescribeTasks loop against the server (what that loop costs
  everything else on the machine).

Samples alternate (the order of the five kinds rotates) so load and drift hit
all sides alike; every container keeps running until the end, then all are
removed.  Target: median ECS (10 ms poll) / median plain docker ≤ 1.3.
Prints a table and writes the ``runtask_latency`` section of
benchmarks/results/ecs_latest.json.  Tasks that fail because another process
on this machine holds their private IP's port 80 (another Gureum's task) are
run again and listed in the results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ecs_common import (  # noqa: E402
    COMMAND,
    IMAGE,
    RESULTS,
    RUN_ID,
    RUN_LABEL,
    Gureum,
    Poller,
    docker_run,
    ensure_docker,
    machine,
    median_ms,
    poll_until,
    remove_labelled,
    write_section,
)

TARGET = 1.3
RERUNS = 100  # another Gureum's tasks or load balancers may hold many addresses of 127.0.1.0/24
NET = {"awsvpcConfiguration": {"subnets": ["subnet-bench"], "assignPublicIp": "DISABLED"}}


def setup(g: Gureum) -> tuple[Any, str, str]:
    ecs = g.client("ecs")
    cluster = "bench"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family="bench-httpd",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{
            "name": "web", "image": IMAGE, "command": COMMAND, "essential": True,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}], "stopTimeout": 2,
        }],
    )
    return ecs, cluster, "bench-httpd"


class AddressTaken(RuntimeError):
    """The task's private IP was bound by something else on this machine (another Gureum's task)."""


class DescribeTask:
    """DescribeTasks for one task, polled raw: a request template with the task's ARN put in."""

    def __init__(self, ecs: Any, cluster: str) -> None:
        self.poller = Poller(ecs, "DescribeTasks", {"cluster": cluster, "tasks": ["ARN"]})
        self.cluster = cluster

    def status(self, arn: str) -> Any:
        body = json.dumps({"cluster": self.cluster, "tasks": [arn]}).encode()
        self.poller.req["body"] = body
        self.poller.req["headers"]["Content-Length"] = str(len(body))
        return self.poller()


def one_task(ecs: Any, describe: DescribeTask, cluster: str, family: str, interval: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE", networkConfiguration=NET)
    answered = time.perf_counter()
    if resp.get("failures") or not resp.get("tasks"):
        raise RuntimeError(f"RunTask failed: {resp.get('failures')}")
    arn = resp["tasks"][0]["taskArn"]

    def running(doc: Any) -> bool:
        task = doc["tasks"][0]
        if task["lastStatus"] == "STOPPED":
            reason = str(task.get("stoppedReason"))
            taken = "address already in use" in reason or "port is already allocated" in reason
            raise (AddressTaken if taken else RuntimeError)(f"task stopped: {reason}")
        return bool(task["lastStatus"] == "RUNNING")

    t1, doc, calls = poll_until(lambda: describe.status(arn), running, interval, timeout=60)
    task = doc["tasks"][0]
    return {
        "seconds": t1 - t0,
        "runtask_answered_s": answered - t0,
        "server_started_minus_created_s": float(task["startedAt"]) - float(task["createdAt"]),
        "describe_calls": calls,
        "arn": arn,
    }


def run_one(ecs: Any, describe: DescribeTask, cluster: str, family: str, interval: float, skipped: list[str]) -> dict[str, Any]:
    """One sample; a task whose address another process on this machine holds is run again."""
    for _ in range(RERUNS):
        try:
            return one_task(ecs, describe, cluster, family, interval)
        except AddressTaken as exc:
            skipped.append(str(exc))
    raise RuntimeError(f"{RERUNS} tasks in a row found their address taken: {skipped[-1]}")


def docker_run_under_tight_loop(ecs: Any, cluster: str, arn: str) -> float:
    """``docker run -d`` while another thread polls DescribeTasks back to back (the tight loop's load)."""
    loop = DescribeTask(ecs, cluster)
    stop = threading.Event()
    started = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            loop.status(arn)
            started.set()

    t = threading.Thread(target=hammer, daemon=True)
    t.start()
    started.wait(10)
    try:
        return docker_run()[1]
    finally:
        stop.set()
        t.join(10)
        loop.poller.close()


def measure(samples: int, interval: float, warmup: int) -> dict[str, Any]:
    g = Gureum()
    kinds: dict[str, list[Any]] = {"ecs": [], "ecs_tight": [], "docker": [], "docker_opts": [], "docker_loaded": []}
    skipped: list[str] = []
    try:
        ecs, cluster, family = setup(g)
        describe = DescribeTask(ecs, cluster)
        for i in range(warmup):  # first calls load models, open the driver, warm the engine
            first = run_one(ecs, describe, cluster, family, interval, skipped)
            docker_run()
            docker_run(*driver_like_options(250 - i))
        for i in range(samples):
            steps = [
                lambda: kinds["ecs"].append(run_one(ecs, describe, cluster, family, interval, skipped)),
                lambda: kinds["ecs_tight"].append(run_one(ecs, describe, cluster, family, 0.0, skipped)),
                lambda: kinds["docker"].append(docker_run()[1]),
                lambda i=i: kinds["docker_opts"].append(docker_run(*driver_like_options(1 + i))[1]),
                lambda: kinds["docker_loaded"].append(docker_run_under_tight_loop(ecs, cluster, first["arn"])),
            ]
            for k in range(len(steps)):
                steps[(i + k) % len(steps)]()
            print(f"  sample {i + 1}/{samples}: ecs {kinds['ecs'][-1]['seconds'] * 1000:.0f} ms "
                  f"(tight loop {kinds['ecs_tight'][-1]['seconds'] * 1000:.0f} ms), "
                  f"docker run {kinds['docker'][-1] * 1000:.0f} ms (under the tight loop {kinds['docker_loaded'][-1] * 1000:.0f} ms), "
                  f"with options {kinds['docker_opts'][-1] * 1000:.0f} ms",
                  file=sys.stderr, flush=True)
        rss = g.rss_mb()
        describe.poller.close()
    finally:
        removed = g.close()
        removed += remove_labelled(f"{RUN_LABEL}={RUN_ID}")
    result = summarize(kinds, interval, removed, rss)
    result["tasks_rerun_because_their_address_was_taken"] = skipped
    return result


def driver_like_options(n: int) -> list[str]:
    """What the docker driver asks of the engine for this task (on an address outside its range)."""
    return ["-p", f"127.0.2.{n}:80:80", "--memory", "512m", "--memory-swap", "512m", "--cpus", "0.25",
            "--label", "gureum.owner=bench", "-e", f"GUREUM_PRIVATE_IP=127.0.2.{n}"]


def summarize(kinds: dict[str, list[Any]], interval: float, removed: int, rss: float) -> dict[str, Any]:
    ecs, tight = kinds["ecs"], kinds["ecs_tight"]
    ecs_s, tight_s = [s["seconds"] for s in ecs], [s["seconds"] for s in tight]
    plain, opts = kinds["docker"], kinds["docker_opts"]
    ratio = statistics.median(ecs_s) / statistics.median(plain)
    return {
        "method": (
            "ECS: perf_counter before boto3 run_task until a DescribeTasks answer has lastStatus RUNNING; "
            f"DescribeTasks (raw replay of a signed request, one keep-alive connection) every {interval * 1000:.0f} ms; "
            "tight loop (back to back) as a reference. docker: docker CLI "
            "`docker run -d gureum/busybox httpd -f -p 80` from Popen to exit."
        ),
        "samples": len(ecs_s),
        "poll_interval_s": interval,
        "ecs_median_ms": median_ms(ecs_s),
        "ecs_p90_ms": sorted(ecs_s)[max(0, int(len(ecs_s) * 0.9) - 1)] * 1000,
        "ecs_runtask_answered_median_ms": median_ms([s["runtask_answered_s"] for s in ecs]),
        "ecs_server_started_minus_created_median_ms": median_ms([s["server_started_minus_created_s"] for s in ecs]),
        "ecs_describe_calls_median": statistics.median([s["describe_calls"] for s in ecs]),
        "ecs_tight_loop_median_ms": median_ms(tight_s),
        "ecs_tight_loop_describe_calls_median": statistics.median([s["describe_calls"] for s in tight]),
        "docker_run_median_ms": median_ms(plain),
        "docker_run_with_driver_options_median_ms": median_ms(opts),
        "docker_run_under_tight_loop_median_ms": median_ms(kinds["docker_loaded"]),
        "ratio": ratio,
        "ratio_tight_loop": statistics.median(tight_s) / statistics.median(plain),
        "ratio_tight_loop_vs_docker_run_under_the_same_loop": statistics.median(tight_s) / statistics.median(kinds["docker_loaded"]),
        "ratio_vs_docker_run_with_driver_options": statistics.median(ecs_s) / statistics.median(opts),
        "target": f"<= {TARGET}",
        "met": ratio <= TARGET,
        "server_rss_mb_after": rss,
        "containers_removed_after": removed,
        "loadavg_at_end": os.getloadavg(),
        "all": {
            "ecs_s": ecs_s, "ecs_tight_loop_s": tight_s, "docker_run_s": plain,
            "docker_run_with_driver_options_s": opts, "docker_run_under_tight_loop_s": kinds["docker_loaded"],
            "ecs_server_s": [s["server_started_minus_created_s"] for s in ecs],
        },
    }


def report(r: dict[str, Any]) -> list[str]:
    rows = [
        (f"RunTask → RUNNING (ECS, {r['poll_interval_s'] * 1000:.0f} ms poll, median)", r["ecs_median_ms"]),
        ("  RunTask answered", r["ecs_runtask_answered_median_ms"]),
        ("  server: startedAt − createdAt", r["ecs_server_started_minus_created_median_ms"]),
        ("RunTask → RUNNING (ECS, tight-loop poll)", r["ecs_tight_loop_median_ms"]),
        ("docker run -d (median)", r["docker_run_median_ms"]),
        ("docker run -d -p ip:80:80 --memory --cpus", r["docker_run_with_driver_options_median_ms"]),
        ("docker run -d while a tight DescribeTasks loop runs", r["docker_run_under_tight_loop_median_ms"]),
    ]
    lines = [f"{'':44} {'ms':>8}", "-" * 60]
    lines += [f"{name:44} {ms:8.1f}" for name, ms in rows]
    lines.append("-" * 60)
    lines.append(f"ratio ECS / docker run -d: {r['ratio']:.2f}   (target {r['target']}: {'ok' if r['met'] else 'MISSED'})")
    lines.append(f"ratio ECS (tight-loop poll) / docker run -d: {r['ratio_tight_loop']:.2f} (reference); "
                 f"/ docker run -d under the same loop: {r['ratio_tight_loop_vs_docker_run_under_the_same_loop']:.2f}")
    lines.append(f"ratio ECS / docker run -d with the driver's options: {r['ratio_vs_docker_run_with_driver_options']:.2f} (reference)")
    lines.append(f"measured: {r['method']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--poll", type=float, default=0.01, help="seconds between DescribeTasks calls (0: back to back)")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    ensure_docker()
    wall0 = time.perf_counter()
    info = machine()
    result = measure(args.samples, args.poll, args.warmup)
    result["machine"] = info
    result["wall_seconds"] = time.perf_counter() - wall0
    print("\n".join(report(result)))
    out = write_section("runtask_latency", result, Path(args.out))
    print(f"\nwrote {out} ({result['wall_seconds']:.0f} s; removed {result['containers_removed_after']} containers)")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
