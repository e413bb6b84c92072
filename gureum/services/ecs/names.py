"""ECS ids, ARNs and store keys, built in one place (pure).

ARNs use the long format ECS has used since 2021::

    arn:aws:ecs:<region>:<account>:cluster/<name>
    arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>
    arn:aws:ecs:<region>:<account>:task/<cluster>/<32-hex id>
    arn:aws:ecs:<region>:<account>:service/<cluster>/<name>
    arn:aws:ecs:<region>:<account>:container/<cluster>/<task id>/<uuid>
    arn:aws:ecs:<region>:<account>:container-instance/<cluster>/<32-hex id>

Store kinds (documents, keyed so that a cluster's resources share a prefix):
``ecs.cluster`` (name), ``ecs.taskdef`` (``family:0000000007``),
``ecs.family`` (family), ``ecs.task`` (``cluster/taskid``), ``ecs.service``
(``cluster/name``), ``ecs.instance`` (``cluster/id``).
"""

from __future__ import annotations

import secrets
import uuid

CLUSTER = "ecs.cluster"
TASKDEF = "ecs.taskdef"
FAMILY = "ecs.family"
TASK = "ecs.task"
SERVICE = "ecs.service"
INSTANCE = "ecs.instance"

DEFAULT_CLUSTER = "default"
REV_WIDTH = 10


def arn(region: str, account: str, resource: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:{resource}"


def cluster_arn(region: str, account: str, name: str) -> str:
    return arn(region, account, f"cluster/{name}")


def taskdef_arn(region: str, account: str, family: str, revision: int) -> str:
    return arn(region, account, f"task-definition/{family}:{revision}")


def task_arn(region: str, account: str, cluster: str, task_id: str) -> str:
    return arn(region, account, f"task/{cluster}/{task_id}")


def service_arn(region: str, account: str, cluster: str, name: str) -> str:
    return arn(region, account, f"service/{cluster}/{name}")


def container_arn(region: str, account: str, cluster: str, task_id: str) -> str:
    return arn(region, account, f"container/{cluster}/{task_id}/{uuid.uuid4()}")


def instance_arn(region: str, account: str, cluster: str, instance_id: str) -> str:
    return arn(region, account, f"container-instance/{cluster}/{instance_id}")


def new_task_id() -> str:
    return secrets.token_hex(16)


def new_deployment_id() -> str:
    return "ecs-svc/" + str(secrets.randbelow(9 * 10**18) + 10**18)


def taskdef_key(family: str, revision: int) -> str:
    return f"{family}:{revision:0{REV_WIDTH}d}"


def resource_of(value: str, kind: str) -> str:
    """The part after ``<kind>/`` of an ECS ARN, or ``value`` itself when it is a name."""
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) == 6 and parts[5].startswith(kind + "/"):
            return parts[5][len(kind) + 1:]
        return ""
    return value


def cluster_name(value: str | None) -> str:
    """Cluster name from a name or ARN (``default`` when not given)."""
    if not value:
        return DEFAULT_CLUSTER
    return resource_of(value, "cluster")


def split_taskdef(value: str) -> tuple[str, int | None]:
    """(family, revision or None) from ``family``, ``family:3`` or a task-definition ARN."""
    ref = resource_of(value, "task-definition") if value.startswith("arn:") else value
    family, sep, rev = ref.rpartition(":")
    if sep and rev.isdigit():
        return family, int(rev)
    return ref, None


def task_ref(value: str) -> tuple[str | None, str]:
    """(cluster or None, task id) from a task id or a long/short task ARN."""
    if value.startswith("arn:"):
        res = resource_of(value, "task")
        if "/" in res:
            c, _, tid = res.rpartition("/")
            return c, tid
        return None, res
    return None, value


def service_ref(value: str) -> tuple[str | None, str]:
    """(cluster or None, service name) from a name or a service ARN."""
    if value.startswith("arn:"):
        res = resource_of(value, "service")
        if "/" in res:
            c, _, name = res.rpartition("/")
            return c, name
        return None, res
    return None, value


def container_name(task_id: str, container: str) -> str:
    """The runtime's name for a task's container: deterministic, so a restart adopts it."""
    safe = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in container)
    return f"gureum-ecs-{task_id}-{safe}"
