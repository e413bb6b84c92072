"""An ECS service of 20 tasks reaching steady state, versus 20 ``docker run -d``.

    python benchmarks/ecs_service_steady.py              # 3 rounds (about 2 minutes)
    python benchmarks/ecs_service_steady.py --quick      # 1 round, no wait for COMPLETED

One run, one machine, one engine (``gureum up --runtime docker``).  Each round:

* **ECS**: ``CreateService`` (desiredCount 20, FARGATE, awsvpc, the
  ``gureum/busybox`` task running ``httpd -f -p 80`` with port 80 on each
  task's private IP) until ``DescribeServices`` meets boto3's
  ``services_stable`` condition — one deployment and ``runningCount ==
  desiredCount`` — polled every ``--poll`` seconds (raw replay of a signed
  request on one keep-alive connection).  Every task is then checked RUNNING
  with DescribeTasks (not timed).
* **docker**: the same 20 containers started **sequentially** with the docker
  CLI, ``docker run -d gureum/busybox httpd -f -p 80`` one after the other,
  timed from the first ``Popen`` to the last exit.  For reference (not the
  target) also 20 ``docker run -d`` at once from 20 threads.

Target: median ECS / median sequential docker < 2.0.

The deployment's ``rolloutState`` turns COMPLETED (and the service writes
"has reached a steady state") only when every task counts as healthy, which
for a task with neither a load balancer nor a container health check is
after 40 s of RUNNING, as on ECS (AWS-FACTS §5.3).  In the first round
(unless ``--quick``) the script also waits for that and reports it, with
its distance from the last task's ``startedAt``; it is not part of the ratio.

Between rounds the service is deleted (force) and its tasks stop (stopTimeout
2 s); at the end the server stops and every container of the run is removed.
Prints a table and writes the ``service_steady`` section of
benchmarks/results/ecs_latest.json.
"""

from __future__ import annotations

import argparse
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
    poll_until,
    remove_labelled,
    write_section,
)

TARGET = 2.0
COUNT = 20
FAMILY = "bench-httpd"
NET = {"awsvpcConfiguration": {"subnets": ["subnet-bench"], "assignPublicIp": "DISABLED"}}


def register(ecs: Any) -> None:
    ecs.register_task_definition(
        family=FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{
            "name": "web", "image": IMAGE, "command": COMMAND, "essential": True,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}], "stopTimeout": 2,
        }],
    )


def stable(doc: Any) -> bool:
    """boto3's services_stable acceptor for one service."""
    svc = doc["services"][0]
    return len(svc["deployments"]) == 1 and svc["runningCount"] == svc["desiredCount"]


def ecs_round(ecs: Any, rnd: int, poll: float, wait_completed: bool) -> dict[str, Any]:
    cluster = f"bench-{rnd}"
    ecs.create_cluster(clusterName=cluster)
    describe = Poller(ecs, "DescribeServices", {"cluster": cluster, "services": ["web"]})
    t0 = time.perf_counter()
    ecs.create_service(cluster=cluster, serviceName="web", taskDefinition=FAMILY, desiredCount=COUNT,
                       launchType="FARGATE", networkConfiguration=NET)
    t1, doc, calls = poll_until(describe, stable, poll, timeout=300)
    out: dict[str, Any] = {"cluster": cluster, "stable_s": t1 - t0, "describe_calls": calls,
                           "rollout_state_when_stable": doc["services"][0]["deployments"][0].get("rolloutState")}
    arns = ecs.list_tasks(cluster=cluster, serviceName="web", desiredStatus="RUNNING")["taskArns"]
    tasks = [t for i in range(0, len(arns), 100) for t in ecs.describe_tasks(cluster=cluster, tasks=arns[i:i + 100])["tasks"]]
    running = [t for t in tasks if t["lastStatus"] == "RUNNING"]
    if len(running) != COUNT:
        raise RuntimeError(f"stable, but {len(running)} of {len(tasks)} tasks RUNNING")
    ips = {t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] for t in running}
    out["distinct_private_ips"] = len(ips)
    first_created = min(t["createdAt"].timestamp() for t in running)
    last_started = max(t["startedAt"].timestamp() for t in running)
    took = sorted(t["startedAt"].timestamp() - t["createdAt"].timestamp() for t in running)
    out["server_first_created_to_last_started_s"] = last_started - first_created
    out["task_created_to_started_s"] = {"min": took[0], "median": statistics.median(took), "max": took[-1]}
    # Tasks the service replaced, e.g. when another Gureum on this machine held the private IP.
    out["tasks_that_failed_to_start"] = [t.get("stoppedReason") for t in _stopped(ecs, cluster)]
    if wait_completed:
        def completed(d: Any) -> bool:
            return bool(d["services"][0]["deployments"][0].get("rolloutState") == "COMPLETED")

        t2, doc, _ = poll_until(describe, completed, 0.1, timeout=300)
        events = [e["message"] for e in doc["services"][0]["events"]]
        out["completed_s"] = t2 - t0
        deployment = doc["services"][0]["deployments"][0]
        out["completed_after_last_started_s"] = float(deployment["updatedAt"]) - last_started
        out["steady_state_event"] = any("has reached a steady state" in m for m in events)
    describe.close()
    return out


def _stopped(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []  # type: ignore[no-any-return]


def ecs_teardown(ecs: Any, cluster: str) -> None:
    """Delete the service (force) and wait until each of its tasks is STOPPED (containers removed)."""
    ecs.delete_service(cluster=cluster, service="web", force=True)

    def tasks() -> list[dict[str, Any]]:
        arns = [a for status in ("RUNNING", "STOPPED")
                for a in ecs.list_tasks(cluster=cluster, desiredStatus=status)["taskArns"]]
        return [t for i in range(0, len(arns), 100) for t in ecs.describe_tasks(cluster=cluster, tasks=arns[i:i + 100])["tasks"]]

    poll_until(tasks, lambda ts: bool(ts) and all(t["lastStatus"] == "STOPPED" for t in ts), 0.2, timeout=120)


def docker_round(rnd: int) -> dict[str, Any]:
    label = ["--label", f"gureum-bench.round={RUN_ID}-{rnd}"]
    t0 = time.perf_counter()
    each = [docker_run(*label)[1] for _ in range(COUNT)]
    seq = time.perf_counter() - t0
    removed = remove_labelled(f"gureum-bench.round={RUN_ID}-{rnd}")
    par_label = ["--label", f"gureum-bench.round={RUN_ID}-{rnd}-par"]
    errors: list[str] = []

    def one() -> None:
        try:
            docker_run(*par_label)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=one) for _ in range(COUNT)]
    t1 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    par = time.perf_counter() - t1
    removed += remove_labelled(f"gureum-bench.round={RUN_ID}-{rnd}-par")
    if errors or removed != 2 * COUNT:
        raise RuntimeError(f"docker round {rnd}: {removed} containers, errors {errors[:2]}")
    return {"sequential_s": seq, "each_median_s": statistics.median(each), "parallel_20_threads_s": par}


def measure(rounds: int, poll: float, wait_completed: bool) -> dict[str, Any]:
    g = Gureum()
    ecs_rounds: list[dict[str, Any]] = []
    docker_rounds: list[dict[str, Any]] = []
    try:
        ecs = g.client("ecs")
        register(ecs)
        ecs.create_cluster(clusterName="bench-warmup")  # load models, open the driver, warm the engine
        ecs.run_task(cluster="bench-warmup", taskDefinition=FAMILY, launchType="FARGATE", networkConfiguration=NET)
        docker_run()
        for rnd in range(rounds):
            steps = [
                lambda rnd=rnd: ecs_rounds.append(ecs_round(ecs, rnd, poll, wait_completed and rnd == 0)),
                lambda rnd=rnd: docker_rounds.append(docker_round(rnd)),
            ]
            for k in range(2):
                steps[(rnd + k) % 2]()
            ecs_teardown(ecs, ecs_rounds[-1]["cluster"])
            print(f"  round {rnd + 1}/{rounds}: ECS stable {ecs_rounds[-1]['stable_s']:.2f} s, "
                  f"docker sequential {docker_rounds[-1]['sequential_s']:.2f} s, "
                  f"docker 20 threads {docker_rounds[-1]['parallel_20_threads_s']:.2f} s", file=sys.stderr, flush=True)
        rss = g.rss_mb()
    finally:
        removed = g.close()
        removed += remove_labelled(f"{RUN_LABEL}={RUN_ID}")
    return summarize(ecs_rounds, docker_rounds, poll, removed, rss)


def summarize(ecs: list[dict[str, Any]], dock: list[dict[str, Any]], poll: float, removed: int, rss: float) -> dict[str, Any]:
    e = statistics.median(r["stable_s"] for r in ecs)
    d = statistics.median(r["sequential_s"] for r in dock)
    p = statistics.median(r["parallel_20_threads_s"] for r in dock)
    first = ecs[0]
    return {
        "method": (
            f"ECS: perf_counter before boto3 create_service (desiredCount {COUNT}) until DescribeServices meets "
            f"services_stable (1 deployment, runningCount == desiredCount), polled every {poll * 1000:.0f} ms; "
            f"docker: {COUNT} x `docker run -d gureum/busybox httpd -f -p 80` one after the other (docker CLI)."
        ),
        "rounds": len(ecs),
        "ecs_stable_median_s": e,
        "docker_sequential_median_s": d,
        "docker_parallel_20_threads_median_s": p,
        "ratio": e / d,
        "ratio_vs_docker_parallel": e / p,
        "target": f"< {TARGET}",
        "met": e / d < TARGET,
        "completed_s": first.get("completed_s"),
        "completed_after_last_started_s": first.get("completed_after_last_started_s"),
        "steady_state_event": first.get("steady_state_event"),
        "server_rss_mb_after": rss,
        "containers_removed_after": removed,
        "loadavg_at_end": os.getloadavg(),
        "ecs_rounds": ecs,
        "docker_rounds": dock,
    }


def report(r: dict[str, Any]) -> list[str]:
    lines = [f"{'':52} {'s':>8}", "-" * 62]
    rows = [
        (f"ECS service of {COUNT}: CreateService → services_stable", r["ecs_stable_median_s"]),
        (f"{COUNT} x docker run -d, sequential", r["docker_sequential_median_s"]),
        (f"{COUNT} x docker run -d, 20 threads (reference)", r["docker_parallel_20_threads_median_s"]),
    ]
    if r.get("completed_s") is not None:
        rows.append(("ECS deployment COMPLETED (round 1; 40 s rule)", r["completed_s"]))
    lines += [f"{name:52} {v:8.2f}" for name, v in rows]
    lines.append("-" * 62)
    lines.append(f"ratio ECS / sequential docker run: {r['ratio']:.2f}   (target {r['target']}: {'ok' if r['met'] else 'MISSED'})")
    lines.append(f"ratio ECS / 20 parallel docker run: {r['ratio_vs_docker_parallel']:.2f} (reference)")
    failed = sum(len(x["tasks_that_failed_to_start"]) for x in r["ecs_rounds"])
    if failed:
        lines.append(f"note: {failed} task(s) failed to start and were replaced (see tasks_that_failed_to_start: "
                     "usually another process on this machine holding the task's private IP:80)")
    lines.append(f"measured: {r['method']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--poll", type=float, default=0.01, help="seconds between DescribeServices calls")
    p.add_argument("--quick", action="store_true", help="1 round and no wait for rolloutState COMPLETED")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    ensure_docker()
    wall0 = time.perf_counter()
    info = machine()
    result = measure(1 if args.quick else args.rounds, args.poll, wait_completed=not args.quick)
    result["machine"] = info
    result["wall_seconds"] = time.perf_counter() - wall0
    print("\n".join(report(result)))
    out = write_section("service_steady", result, Path(args.out))
    print(f"\nwrote {out} ({result['wall_seconds']:.0f} s; removed {result['containers_removed_after']} containers)")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
