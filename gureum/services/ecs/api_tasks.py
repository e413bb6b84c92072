"""ECS task operations: RunTask, StartTask, StopTask, DescribeTasks, ListTasks.

RunTask and StartTask write tasks with ``desiredStatus=RUNNING`` and
``lastStatus=PROVISIONING`` and wake the task controller; StopTask writes
``desiredStatus=STOPPED`` with stopCode UserInitiated.  Nothing here touches a
container.  When the cluster has registered container instances, RunTask
with the EC2 launch type places tasks with :mod:`placement` and reports what
did not fit in ``failures``; without any, tasks run on this machine.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.ecs import errors, names
from gureum.services.ecs.records import (
    TASK_CONTROLLER,
    Doc,
    check_tags,
    cluster_tasks,
    enqueue,
    get_cluster,
    get_taskdef,
    paginate,
    public,
    task_key,
)
from gureum.services.ecs.registry import Operations
from gureum.services.ecs.task_placement import place_on_instances
from gureum.services.ecs.task_records import Launch, build_task

ops = Operations()

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def check_network(taskdef: Doc, network: Doc | None) -> None:
    """The awsvpc rules RunTask, StartTask and CreateService share."""
    mode = taskdef.get("networkMode") or "bridge"
    vpc = (network or {}).get("awsvpcConfiguration")
    if mode == "awsvpc":
        if not vpc:
            raise errors.invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
        if not vpc.get("subnets"):
            raise errors.invalid("subnets can not be empty.")
    elif vpc:
        raise errors.invalid("Network Configuration is not valid for the given networkMode of this task definition.")


def check_overrides(taskdef: Doc, overrides: Doc | None) -> None:
    known = {c["name"] for c in taskdef["containerDefinitions"]}
    for o in (overrides or {}).get("containerOverrides") or []:
        if o.get("name") not in known:
            raise errors.invalid(
                f"Override for container named {o.get('name')} is not a container in the TaskDefinition."
            )


def launch_type_for(cluster: Doc, taskdef: Doc, req: dict[str, Any]) -> tuple[str, str | None]:
    """(launchType, capacityProviderName) of a launch, validated against the definition."""
    strategy = req.get("capacityProviderStrategy") or ([] if req.get("launchType") else cluster.get("defaultCapacityProviderStrategy") or [])
    if req.get("launchType") and req.get("capacityProviderStrategy"):
        raise errors.invalid("Specifying both a launch type and capacity provider strategy is not supported.")
    provider = None
    if strategy:
        provider = max(strategy, key=lambda s: (s.get("base") or 0, s.get("weight") or 0))["capacityProvider"]
        launch_type = "FARGATE" if provider in FARGATE_PROVIDERS else "EC2"
    else:
        launch_type = req.get("launchType") or "EC2"
    if launch_type in ("EC2", "FARGATE") and launch_type not in (taskdef.get("compatibilities") or ["EC2"]):
        raise errors.invalid(f"Task definition does not support launch_type {launch_type}.")
    return launch_type, provider


@ops.operation("RunTask")
def run_task(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    taskdef = get_taskdef(ctx, req["taskDefinition"])
    count = req.get("count") or 1
    if not 1 <= count <= 10:
        raise errors.invalid("The count parameter must be between 1 and 10.")
    launch_type, provider = launch_type_for(cluster, taskdef, req)
    check_network(taskdef, req.get("networkConfiguration"))
    check_overrides(taskdef, req.get("overrides"))
    if req.get("startedBy") and len(req["startedBy"]) > 128:
        raise errors.invalid("startedBy must be at most 128 characters.")
    base = Launch(
        launch_type=launch_type,
        capacity_provider=provider,
        overrides=dict(req.get("overrides") or {}),
        network_configuration=req.get("networkConfiguration"),
        tags=tuple(check_tags(req.get("tags"))),
        started_by=req.get("startedBy"),
        group=req.get("group"),
        enable_execute_command=bool(req.get("enableExecuteCommand")),
    )
    instances: list[str | None] = [None] * count
    failures: list[Doc] = []
    if launch_type == "EC2":
        instances, failures = place_on_instances(
            ctx.store, ctx.scope, cluster, taskdef, base.group or f"family:{taskdef['family']}", count,
            req.get("placementStrategy") or [], req.get("placementConstraints") or [], seed=int(ctx.clock.now()),
        )
    tasks = [_launch(ctx, cluster, taskdef, base, inst) for inst in instances]
    return {"tasks": tasks, "failures": failures}


@ops.operation("StartTask")
def start_task(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    taskdef = get_taskdef(ctx, req["taskDefinition"])
    refs = req["containerInstances"]
    if not 1 <= len(refs) <= 10:
        raise errors.invalid("containerInstances must list between 1 and 10 container instances.")
    check_network(taskdef, req.get("networkConfiguration"))
    check_overrides(taskdef, req.get("overrides"))
    base = Launch(
        launch_type="EC2",
        overrides=dict(req.get("overrides") or {}),
        network_configuration=req.get("networkConfiguration"),
        tags=tuple(check_tags(req.get("tags"))),
        started_by=req.get("startedBy"),
        group=req.get("group"),
        enable_execute_command=bool(req.get("enableExecuteCommand")),
    )
    tasks: list[Doc] = []
    failures: list[Doc] = []
    for ref in refs:
        iid = names.resource_of(ref, "container-instance").rpartition("/")[2]
        inst = ctx.store.get(names.INSTANCE, ctx.scope, f"{cluster['clusterName']}/{iid}")
        if inst is None:
            failures.append({"arn": ref, "reason": "MISSING"})
            continue
        tasks.append(_launch(ctx, cluster, taskdef, base, inst["containerInstanceArn"]))
    return {"tasks": tasks, "failures": failures}


def _launch(ctx: RequestContext, cluster: Doc, taskdef: Doc, base: Launch, instance_arn: str | None) -> Doc:
    launch = base if instance_arn is None else Launch(**{**_fields(base), "container_instance_arn": instance_arn})
    doc = build_task(region=ctx.region, account=ctx.account, cluster=cluster, taskdef=taskdef, launch=launch, now=ctx.clock.now())
    key = task_key(cluster["clusterName"], doc["_id"])
    ctx.store.put(names.TASK, ctx.scope, key, doc)
    enqueue(ctx, TASK_CONTROLLER, key)
    return public(doc)


def _fields(launch: Launch) -> dict[str, Any]:
    return {f: getattr(launch, f) for f in launch.__dataclass_fields__}


def _find_task(ctx: RequestContext, cluster: Doc, ref: str) -> tuple[str, Doc] | None:
    cname, tid = names.task_ref(ref)
    if cname is not None and cname != cluster["clusterName"]:
        return None
    key = task_key(cluster["clusterName"], tid)
    doc = ctx.store.get(names.TASK, ctx.scope, key)
    return None if doc is None else (key, doc)


@ops.operation("StopTask")
def stop_task(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    found = _find_task(ctx, cluster, req["task"])
    if found is None:
        raise errors.invalid("The referenced task was not found.")
    key, doc = found
    reason = req.get("reason") or "Task stopped by user"
    if len(reason) > 255:
        raise errors.invalid("reason must be at most 255 characters.")
    with ctx.store.transaction():
        doc = ctx.store.get(names.TASK, ctx.scope, key) or doc
        if doc.get("desiredStatus") != "STOPPED":
            now = ctx.clock.now()
            doc.update(desiredStatus="STOPPED", stopCode="UserInitiated", stoppedReason=reason, stoppingAt=now)
            doc["version"] = int(doc.get("version", 1)) + 1
            ctx.store.put(names.TASK, ctx.scope, key, doc)
    enqueue(ctx, TASK_CONTROLLER, key)
    return {"task": public(doc)}


@ops.operation("DescribeTasks")
def describe_tasks(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    refs = req["tasks"]
    if len(refs) > 100:
        raise errors.invalid("Tasks cannot be longer than 100.")
    with_tags = "TAGS" in (req.get("include") or [])
    tasks: list[Doc] = []
    failures: list[Doc] = []
    for ref in refs:
        found = _find_task(ctx, cluster, ref)
        if found is None:
            arn = ref if ref.startswith("arn:") else names.task_arn(ctx.region, ctx.account, cluster["clusterName"], ref)
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        out = public(found[1])
        if not with_tags:
            out.pop("tags", None)
        tasks.append(out)
    return {"tasks": tasks, "failures": failures}


@ops.operation("ListTasks")
def list_tasks(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    cname = cluster["clusterName"]
    if req.get("serviceName"):
        _, svc_name = names.service_ref(req["serviceName"])
        if ctx.store.get(names.SERVICE, ctx.scope, f"{cname}/{svc_name}") is None:
            raise errors.service_not_found()
    desired = req.get("desiredStatus") or "RUNNING"
    tasks = [t for t in cluster_tasks(ctx.store, ctx.scope, cname) if _matches(t, req, desired)]
    tasks.sort(key=lambda t: (t.get("createdAt", 0), t["taskArn"]))
    page, token = paginate([t["taskArn"] for t in tasks], req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"taskArns": page}
    if token:
        out["nextToken"] = token
    return out


def _matches(t: Doc, req: dict[str, Any], desired: str) -> bool:
    if t.get("desiredStatus") != desired:
        return False  # PENDING is accepted as a filter and matches nothing, as on ECS
    if req.get("family") and names.split_taskdef(t["taskDefinitionArn"])[0] != req["family"]:
        return False
    if req.get("serviceName") and t.get("_service") != names.service_ref(req["serviceName"])[1]:
        return False
    if req.get("startedBy") and t.get("startedBy") != req["startedBy"]:
        return False
    if req.get("launchType") and t.get("launchType") != req["launchType"]:
        return False
    if req.get("containerInstance"):
        iid = names.resource_of(req["containerInstance"], "container-instance").rpartition("/")[2]
        if not (t.get("containerInstanceArn") or "").endswith("/" + iid):
            return False
    return True
