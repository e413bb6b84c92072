"""From an ECS container definition to a runtime ContainerSpec, and from a
runtime ContainerState back to what ECS shows (pure: no I/O).

What maps where:

* ``command``/``entryPoint``/``workingDirectory``/``user``/``hostname``/
  ``readonlyRootFilesystem``/``ulimits`` → the same runtime fields;
* ``environment`` plus ``secrets`` (their ``valueFrom`` taken as the plain
  value: Gureum has no Secrets Manager to resolve them against) plus what ECS
  injects (``AWS_REGION``, ``AWS_DEFAULT_REGION``, ``AWS_EXECUTION_ENV``);
* ``cpu`` units → CPUs (1024 units = 1 CPU; a container without its own share
  gets the task's); ``memory`` → hard limit (else the task's memory),
  ``memoryReservation`` → soft limit;
* ``portMappings`` → ports published on the task's private IP (awsvpc, host)
  or, in bridge mode, on 127.0.0.1 with ``hostPort`` 0/absent meaning an
  ephemeral port, as on ECS;
* ``healthCheck`` → the runtime's health check;
* ``dockerLabels`` plus the labels the ECS agent sets
  (``com.amazonaws.ecs.task-arn`` …) plus Gureum's own, which let the task
  controller find a container again after a restart.
"""

from __future__ import annotations

from typing import Any

from gureum.runtime.base import (
    ContainerSpec,
    ContainerState,
    Health,
    HealthCheck,
    PortMapping,
    Status,
    Ulimit,
)
from gureum.services.ecs import names
from gureum.services.ecs.task_lifecycle import Condition, ContainerObserved
from gureum.services.ecs.task_lifecycle import ContainerSpec as LifecycleSpec
from gureum.services.ecs.task_lifecycle import ContainerState as CState

Doc = dict[str, Any]

KEY_LABEL = "gureum.ecs.key"
TASK_LABEL = "gureum.ecs.task"
CONTAINER_LABEL = "gureum.ecs.container"
SERVICE_LABEL = "gureum.service"
MIB = 1024 * 1024


def lifecycle_specs(task: Doc, default_stop_timeout: float) -> tuple[LifecycleSpec, ...]:
    out = []
    for c in task["_containerDefs"]:
        deps = tuple((d["containerName"], Condition(d["condition"])) for d in c.get("dependsOn") or [])
        out.append(
            LifecycleSpec(
                name=c["name"],
                essential=bool(c.get("essential", True)),
                depends_on=deps,
                stop_timeout=float(c.get("stopTimeout") or default_stop_timeout),
                start_timeout=float(c["startTimeout"]) if c.get("startTimeout") else None,
            )
        )
    return tuple(out)


def runtime_spec(task: Doc, c: Doc, *, region: str, scoped_key: str) -> ContainerSpec:
    tid = task["_id"]
    mode = task.get("_networkMode") or "bridge"
    env = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region,
           "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE" if task.get("launchType") == "FARGATE" else "AWS_ECS_EC2"}
    env.update({e["name"]: str(e.get("value", "")) for e in c.get("environment") or []})
    env.update({s["name"]: str(s.get("valueFrom", "")) for s in c.get("secrets") or []})
    ports = []
    for p in c.get("portMappings") or []:
        if "containerPort" not in p:
            continue
        host = p["containerPort"] if mode in ("awsvpc", "host") else (p.get("hostPort") or None)
        ports.append(PortMapping(int(p["containerPort"]), host, p.get("protocol", "tcp")))
    cpu_units = int(c.get("cpu") or 0) or int(task.get("cpu") or 0)
    memory = c.get("memory") or (int(task["memory"]) if task.get("memory") else None)
    hc = c.get("healthCheck")
    labels = {str(k): str(v) for k, v in (c.get("dockerLabels") or {}).items()}
    labels.update({
        "com.amazonaws.ecs.task-arn": task["taskArn"],
        "com.amazonaws.ecs.container-name": c["name"],
        "com.amazonaws.ecs.cluster": task["_cluster"],
        "com.amazonaws.ecs.task-definition-family": names.split_taskdef(task["taskDefinitionArn"])[0],
        "com.amazonaws.ecs.task-definition-version": str(names.split_taskdef(task["taskDefinitionArn"])[1] or ""),
        KEY_LABEL: scoped_key,
        TASK_LABEL: task["taskArn"],
        CONTAINER_LABEL: c["name"],
        SERVICE_LABEL: "ecs",
    })
    return ContainerSpec(
        name=names.container_name(tid, c["name"]),
        image=c["image"],
        owner=task["taskArn"],
        command=tuple(c["command"]) if c.get("command") else None,
        entrypoint=tuple(c["entryPoint"]) if c.get("entryPoint") else None,
        env=env,
        labels=labels,
        working_dir=c.get("workingDirectory"),
        user=c.get("user"),
        hostname=c.get("hostname"),
        ip=task.get("_ip"),
        ports=tuple(ports),
        cpus=cpu_units / 1024 if cpu_units else None,
        memory_bytes=int(memory) * MIB if memory else None,
        memory_reservation_bytes=int(c["memoryReservation"]) * MIB if c.get("memoryReservation") else None,
        healthcheck=HealthCheck(
            test=tuple(hc["command"]),
            interval=float(hc.get("interval", 30)),
            timeout=float(hc.get("timeout", 5)),
            retries=int(hc.get("retries", 3)),
            start_period=float(hc.get("startPeriod", 0)),
        ) if hc else None,
        read_only=bool(c.get("readonlyRootFilesystem")),
        ulimits=tuple(Ulimit(u["name"], int(u["softLimit"]), int(u["hardLimit"])) for u in c.get("ulimits") or []),
    )


_HEALTH = {Health.HEALTHY: "HEALTHY", Health.UNHEALTHY: "UNHEALTHY"}


def observed(name: str, state: ContainerState | None, rec: Doc) -> ContainerObserved:
    """One container as the lifecycle core sees it: runtime state + what we recorded."""
    started = rec.get("startedAt")
    signalled = rec.get("signalledAt")
    if rec.get("error"):
        return ContainerObserved(name, CState.FAILED, error=rec["error"], started_at=started)
    if state is None:
        return ContainerObserved(name, CState.ABSENT, exit_code=rec.get("exitCode"), started_at=started,
                                 stop_signalled_at=signalled, blocked=rec.get("blocked"))
    if state.status is Status.RUNNING:
        cs = CState.RUNNING
    elif state.status is Status.CREATED:
        cs = CState.CREATED
    else:
        cs = CState.EXITED
    return ContainerObserved(
        name,
        cs,
        exit_code=state.exit_code if cs is CState.EXITED else None,
        health=_HEALTH.get(state.health, "UNKNOWN") if state.health else "UNKNOWN",
        started_at=started if started is not None else state.started_at,
        stop_signalled_at=signalled,
        blocked=rec.get("blocked"),
    )


def container_view(c: Doc, o: ContainerObserved, state: ContainerState | None, rec: Doc, has_hc: bool) -> None:
    """Update the wire container ``c`` (in place) from what was observed."""
    if o.state is CState.RUNNING:
        c["lastStatus"] = "RUNNING"
    elif o.state in (CState.EXITED, CState.FAILED) or o.blocked or (o.state is CState.ABSENT and o.started_at):
        c["lastStatus"] = "STOPPED"
    if o.state is CState.EXITED and o.exit_code is not None:
        c["exitCode"] = o.exit_code
    reason = rec.get("error") or rec.get("blocked")
    if state is not None and state.oom_killed:
        reason = "OutOfMemoryError: Container killed due to memory usage"
    if reason:
        c["reason"] = reason
    if has_hc:
        c["healthStatus"] = o.health
    if state is not None:
        c["runtimeId"] = state.id
        c["networkBindings"] = [
            {"bindIP": p.host_ip, "containerPort": p.container_port, "hostPort": p.host_port, "protocol": p.protocol}
            for p in state.ports
        ]
