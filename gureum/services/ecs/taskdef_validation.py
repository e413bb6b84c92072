"""Task definition validation and normalisation (pure: no store, no I/O).

``normalize_task_definition(req)`` takes the RegisterTaskDefinition input and
returns the stored body: every container-definition field the caller gave,
plus the defaults ECS fills in when it describes a task definition
(``essential: true``, ``cpu: 0``, empty ``portMappings``/``environment``/
``mountPoints``/``volumesFrom``, port ``protocol: tcp``, health-check
``interval 30 / timeout 5 / retries 3``), task ``cpu`` and
``memory`` converted to unit strings ("1 vCPU" → "1024", "2 GB" → "2048") and
``compatibilities`` derived from what the definition can run on.

It raises :class:`TaskDefinitionInvalid` with ECS's own message where we know
it (the ClientException messages users see on AWS):

* ``Container.image should not be null or empty.``
* ``Fargate requires that 'cpu' be defined at the task level.``
* ``Invalid 'cpu' setting for task.``
* ``No Fargate configuration exists for given values: 256 CPU, 4096 memory.
  See the Amazon ECS documentation for the valid values.``
* ``The 'memory' setting for container 'web' is greater than for the task.``

The Fargate cpu/memory table is
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html
"""

from __future__ import annotations

import copy
import re
from typing import Any

# cpu units → the memory sizes (MiB) Fargate offers with it.
FARGATE_SIZES: dict[int, frozenset[int]] = {
    256: frozenset({512, 1024, 2048}),
    512: frozenset(range(1024, 4096 + 1, 1024)),
    1024: frozenset(range(2048, 8192 + 1, 1024)),
    2048: frozenset(range(4096, 16384 + 1, 1024)),
    4096: frozenset(range(8192, 30720 + 1, 1024)),
    8192: frozenset(range(16384, 61440 + 1, 4096)),
    16384: frozenset(range(32768, 122880 + 1, 8192)),
}

HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3}
# (min, max) as the HealthCheck API reference documents them.
HEALTH_CHECK_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}

NETWORK_MODES = ("bridge", "host", "awsvpc", "none")
_CONTAINER_LIST_DEFAULTS = ("portMappings", "environment", "mountPoints", "volumesFrom")


class TaskDefinitionInvalid(Exception):
    """The definition cannot be registered; ``code`` is the ECS error code."""

    def __init__(self, message: str, code: str = "ClientException") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


_VCPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*vcpu\s*$", re.IGNORECASE)
_GB = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*gb\s*$", re.IGNORECASE)
_INT = re.compile(r"^\s*(\d+)\s*$")


def parse_cpu(value: str | None) -> int | None:
    """Task cpu as CPU units: "256" → 256, "0.25 vCPU" → 256, "2 vcpu" → 2048."""
    if value is None or value == "":
        return None
    if m := _INT.match(value):
        return int(m.group(1))
    if m := _VCPU.match(value):
        return int(round(float(m.group(1)) * 1024))
    raise TaskDefinitionInvalid("Invalid 'cpu' setting for task.")


def parse_memory(value: str | None) -> int | None:
    """Task memory in MiB: "512" → 512, "2 GB" → 2048, "0.5GB" → 512."""
    if value is None or value == "":
        return None
    if m := _INT.match(value):
        return int(m.group(1))
    if m := _GB.match(value):
        return int(round(float(m.group(1)) * 1024))
    raise TaskDefinitionInvalid("Invalid 'memory' setting for task.")


def fargate_size_ok(cpu: int, memory: int) -> bool:
    return memory in FARGATE_SIZES.get(cpu, frozenset())


def check_fargate(cpu: int | None, memory: int | None) -> None:
    """Raise as ECS does when a FARGATE definition has a size Fargate does not offer."""
    if cpu is None:
        raise TaskDefinitionInvalid("Fargate requires that 'cpu' be defined at the task level.")
    if memory is None:
        raise TaskDefinitionInvalid("Fargate requires that 'memory' be defined at the task level.")
    if cpu not in FARGATE_SIZES:
        raise TaskDefinitionInvalid("Invalid 'cpu' setting for task.")
    if not fargate_size_ok(cpu, memory):
        raise TaskDefinitionInvalid(
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for the valid values."
        )


def normalize_task_definition(req: dict[str, Any]) -> dict[str, Any]:
    """The stored body of a definition (without arn, revision, status, times)."""
    body: dict[str, Any] = {k: copy.deepcopy(v) for k, v in req.items() if k != "tags"}
    containers = body.get("containerDefinitions") or []
    if not containers:
        raise TaskDefinitionInvalid("Container list cannot be empty.")
    mode = body.get("networkMode") or "bridge"
    body["networkMode"] = mode
    cpu = parse_cpu(body.get("cpu"))
    memory = parse_memory(body.get("memory"))
    requires = list(body.get("requiresCompatibilities") or [])
    if "FARGATE" in requires:
        if mode != "awsvpc":
            raise TaskDefinitionInvalid("Fargate only supports network mode 'awsvpc'.")
        check_fargate(cpu, memory)
    if cpu is not None:
        body["cpu"] = str(cpu)
    if memory is not None:
        body["memory"] = str(memory)
    body["containerDefinitions"] = [_normalize_container(c, mode, memory) for c in containers]
    _check_names_and_dependencies(body["containerDefinitions"])
    _check_container_sizes(body["containerDefinitions"], cpu, memory)
    compat = ["EC2"]
    if mode == "awsvpc" and cpu is not None and memory is not None and fargate_size_ok(cpu, memory):
        compat.append("FARGATE")
    body["compatibilities"] = compat
    body.setdefault("volumes", [])
    body.setdefault("placementConstraints", [])
    body.setdefault("requiresAttributes", [])
    return body


def _normalize_container(c: dict[str, Any], mode: str, task_memory: int | None) -> dict[str, Any]:
    out = copy.deepcopy(c)
    name = out.get("name")
    if not name:
        raise TaskDefinitionInvalid("Container.name should not be null or empty.")
    if not out.get("image"):
        raise TaskDefinitionInvalid("Container.image should not be null or empty.")
    out.setdefault("cpu", 0)
    out.setdefault("essential", True)
    for key in _CONTAINER_LIST_DEFAULTS:
        out.setdefault(key, [])
    out["portMappings"] = [_normalize_port(p, mode) for p in out["portMappings"]]
    if task_memory is None and out.get("memory") is None and out.get("memoryReservation") is None:
        raise TaskDefinitionInvalid(
            f"Invalid setting for container '{name}'. At least one of 'memory' or "
            "'memoryReservation' must be specified."
        )
    mem, res = out.get("memory"), out.get("memoryReservation")
    if mem is not None and res is not None and res > mem:
        raise TaskDefinitionInvalid(
            f"Invalid setting for container '{name}'. 'memoryReservation' must be less than "
            "or equal to 'memory'."
        )
    if out.get("healthCheck") is not None:
        out["healthCheck"] = _normalize_health_check(name, out["healthCheck"])
    return out


def _normalize_port(p: dict[str, Any], mode: str) -> dict[str, Any]:
    out = dict(p)
    out.setdefault("protocol", "tcp")
    if mode in ("awsvpc", "host") and "containerPort" in out:
        host = out.get("hostPort")
        if host not in (None, out["containerPort"]):
            raise TaskDefinitionInvalid(
                f"When networkMode={mode}, the host ports and container ports in port mappings must match."
            )
        out["hostPort"] = out["containerPort"]
    return out


def _normalize_health_check(name: str, hc: dict[str, Any]) -> dict[str, Any]:
    out = {**HEALTH_CHECK_DEFAULTS, **hc}
    if not out.get("command"):
        raise TaskDefinitionInvalid(f"Invalid setting for container '{name}'. healthCheck.command is empty.")
    for key, (lo, hi) in HEALTH_CHECK_RANGES.items():
        if key in out and not lo <= int(out[key]) <= hi:
            raise TaskDefinitionInvalid(
                f"Invalid setting for container '{name}'. healthCheck.{key} must be between {lo} and {hi}."
            )
    return out


def _check_names_and_dependencies(containers: list[dict[str, Any]]) -> None:
    by_name: dict[str, dict[str, Any]] = {}
    for c in containers:
        if c["name"] in by_name:
            raise TaskDefinitionInvalid(f"Duplicate container name '{c['name']}' in task definition.")
        by_name[c["name"]] = c
    if not any(c.get("essential", True) for c in containers):
        raise TaskDefinitionInvalid("Task definition does not have any essential container.")
    for c in containers:
        for dep in c.get("dependsOn") or []:
            target = by_name.get(dep.get("containerName", ""))
            if target is None or target is c:
                raise TaskDefinitionInvalid(
                    f"Invalid setting for container '{c['name']}'. Dependency container "
                    f"'{dep.get('containerName')}' is not defined in the task definition."
                )
            if dep.get("condition") == "HEALTHY" and not target.get("healthCheck"):
                raise TaskDefinitionInvalid(
                    f"Invalid setting for container '{c['name']}'. Dependency container "
                    f"'{target['name']}' has condition HEALTHY but no healthCheck."
                )
    if dependency_cycle(containers):
        raise TaskDefinitionInvalid("Container dependencies in the task definition form a cycle.")


def dependency_cycle(containers: list[dict[str, Any]]) -> bool:
    edges = {c["name"]: [d.get("containerName") for d in c.get("dependsOn") or []] for c in containers}
    state: dict[str, int] = {}

    def visit(n: str) -> bool:
        if state.get(n) == 1:
            return True
        if state.get(n) == 2:
            return False
        state[n] = 1
        if any(visit(m) for m in edges.get(n, []) if m in edges):
            return True
        state[n] = 2
        return False

    return any(visit(n) for n in edges)


def _check_container_sizes(containers: list[dict[str, Any]], cpu: int | None, memory: int | None) -> None:
    for c in containers:
        if memory is not None and (c.get("memory") or 0) > memory:
            raise TaskDefinitionInvalid(f"The 'memory' setting for container '{c['name']}' is greater than for the task.")
        if memory is not None and (c.get("memoryReservation") or 0) > memory:
            raise TaskDefinitionInvalid(
                f"The 'memoryReservation' setting for container '{c['name']}' is greater than for the task."
            )
        if cpu is not None and (c.get("cpu") or 0) > cpu:
            raise TaskDefinitionInvalid(f"The 'cpu' setting for container '{c['name']}' is greater than for the task.")
    if cpu is not None and sum(c.get("cpu") or 0 for c in containers) > cpu:
        raise TaskDefinitionInvalid("The sum of the 'cpu' settings of the containers is greater than for the task.")
