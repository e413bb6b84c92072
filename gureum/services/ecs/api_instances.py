"""ECS container instances: RegisterContainerInstance (what the ECS agent on
an EC2 instance calls), DeregisterContainerInstance,
DescribeContainerInstances, ListContainerInstances, UpdateContainerInstancesState,
PutAttributes.

Registered instances are what EC2-launch-type tasks are placed on
(:mod:`task_placement`): their registered CPU/memory, the ports and the
groups of the tasks placed there, and their attributes (``ecs.instance-type``,
``ecs.availability-zone``, ``ecs.os-type``, ``ecs.ami-id`` plus custom ones)
feed the placement core.  Tasks still run on this machine's runtime; only
their bookkeeping (``containerInstanceArn``) follows the placement.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.ecs import errors, names
from gureum.services.ecs.records import (
    Doc,
    check_tags,
    cluster_tasks,
    get_cluster,
    paginate,
    public,
)
from gureum.services.ecs.registry import Operations
from gureum.services.ecs.task_placement import task_reservation

ops = Operations()

DEFAULT_RESOURCES = {"CPU": 2048, "MEMORY": 3943}
PENDING = ("PROVISIONING", "PENDING", "ACTIVATING")


def _key(cluster: str, iid: str) -> str:
    return f"{cluster}/{iid}"


def _instance_id(ref: str) -> str:
    return names.resource_of(ref, "container-instance").rpartition("/")[2]


def _resources(req: list[Doc] | None) -> list[Doc]:
    given = {r["name"]: r for r in req or []}
    out = []
    for name, default in DEFAULT_RESOURCES.items():
        r = given.pop(name, None)
        value = int(r.get("integerValue") or default) if r else default
        out.append({"name": name, "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": value})
    out.append({"name": "PORTS", "type": "STRINGSET", "doubleValue": 0.0, "longValue": 0, "integerValue": 0,
                "stringSetValue": ["22", "2375", "2376", "51678", "51679"]})
    out.extend(given.values())
    return out


@ops.operation("RegisterContainerInstance")
def register_container_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    cname = cluster["clusterName"]
    try:
        identity = json.loads(req.get("instanceIdentityDocument") or "{}")
    except ValueError as exc:
        raise errors.invalid("instanceIdentityDocument is not valid JSON.") from exc
    iid = _instance_id(req["containerInstanceArn"]) if req.get("containerInstanceArn") else secrets.token_hex(16)
    ec2_id = identity.get("instanceId") or "i-" + secrets.token_hex(9)[:17]
    attrs = {
        "ecs.os-type": "linux",
        "ecs.instance-type": identity.get("instanceType", "t3.medium"),
        "ecs.availability-zone": identity.get("availabilityZone", f"{ctx.region}a"),
        "ecs.ami-id": identity.get("imageId", "ami-00000000000000000"),
    }
    attrs.update({a["name"]: a.get("value", "") for a in req.get("attributes") or []})
    doc: Doc = {
        "containerInstanceArn": names.instance_arn(ctx.region, ctx.account, cname, iid),
        "ec2InstanceId": ec2_id,
        "version": 1,
        "versionInfo": req.get("versionInfo") or {"agentVersion": "1.80.0", "agentHash": "gureum", "dockerVersion": "DockerVersion: 20.10"},
        "registeredResources": _resources(req.get("totalResources")),
        "status": "ACTIVE",
        "agentConnected": True,
        "attributes": [{"name": k, "value": v} for k, v in sorted(attrs.items())],
        "registeredAt": ctx.clock.now(),
        "tags": check_tags(req.get("tags")),
        "attachments": [],
        "_cluster": cname,
    }
    ctx.store.put(names.INSTANCE, ctx.scope, _key(cname, iid), doc)
    return {"containerInstance": _describe(ctx, doc)}


def _describe(ctx: RequestContext, doc: Doc) -> Doc:
    out = public(doc)
    arn = doc["containerInstanceArn"]
    mine = [t for t in cluster_tasks(ctx.store, ctx.scope, doc["_cluster"])
            if t.get("containerInstanceArn") == arn and t.get("lastStatus") != "STOPPED"]
    out["runningTasksCount"] = sum(1 for t in mine if t.get("lastStatus") == "RUNNING")
    out["pendingTasksCount"] = sum(1 for t in mine if t.get("lastStatus") in PENDING)
    remaining = []
    for r in doc["registeredResources"]:
        r = dict(r)
        if r["name"] == "CPU":
            r["integerValue"] -= sum(task_reservation(t)[0] for t in mine)
        elif r["name"] == "MEMORY":
            r["integerValue"] -= sum(task_reservation(t)[1] for t in mine)
        remaining.append(r)
    out["remainingResources"] = remaining
    return out


def _get(ctx: RequestContext, cluster: Doc, ref: str) -> tuple[str, Doc]:
    key = _key(cluster["clusterName"], _instance_id(ref))
    doc = ctx.store.get(names.INSTANCE, ctx.scope, key)
    if doc is None:
        raise errors.invalid("The referenced container instance was not found.")
    return key, doc


@ops.operation("DeregisterContainerInstance")
def deregister_container_instance(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    key, doc = _get(ctx, cluster, req["containerInstance"])
    out = _describe(ctx, doc)
    if (out["runningTasksCount"] or out["pendingTasksCount"]) and not req.get("force"):
        raise errors.invalid("Found running tasks on the instance.")
    ctx.store.delete(names.INSTANCE, ctx.scope, key)
    out["status"] = "INACTIVE"
    return {"containerInstance": out}


@ops.operation("DescribeContainerInstances")
def describe_container_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    found: list[Doc] = []
    failures: list[Doc] = []
    for ref in req["containerInstances"]:
        doc = ctx.store.get(names.INSTANCE, ctx.scope, _key(cluster["clusterName"], _instance_id(ref)))
        if doc is None:
            failures.append({"arn": ref, "reason": "MISSING"})
        else:
            found.append(_describe(ctx, doc))
    return {"containerInstances": found, "failures": failures}


@ops.operation("ListContainerInstances")
def list_container_instances(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    from gureum.services.ecs.placement import ExpressionError, InstanceView, evaluate

    cluster = get_cluster(ctx, req.get("cluster"))
    docs = [d for _, d in ctx.store.list(names.INSTANCE, ctx.scope, prefix=cluster["clusterName"] + "/")]
    if req.get("status"):
        docs = [d for d in docs if d["status"] == req["status"]]
    if req.get("filter"):
        try:
            docs = [d for d in docs if evaluate(req["filter"], InstanceView(
                id=d["containerInstanceArn"], ec2_instance_id=d["ec2InstanceId"],
                attributes=tuple((a["name"], a.get("value", "")) for a in d["attributes"])))]
        except ExpressionError as exc:
            raise errors.invalid(str(exc)) from exc
    page, token = paginate([d["containerInstanceArn"] for d in docs], req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"containerInstanceArns": page}
    if token:
        out["nextToken"] = token
    return out


@ops.operation("UpdateContainerInstancesState")
def update_container_instances_state(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    done: list[Doc] = []
    failures: list[Doc] = []
    for ref in req["containerInstances"]:
        key = _key(cluster["clusterName"], _instance_id(ref))
        doc = ctx.store.get(names.INSTANCE, ctx.scope, key)
        if doc is None:
            failures.append({"arn": ref, "reason": "MISSING"})
            continue
        doc["status"] = req["status"]
        doc["version"] = int(doc.get("version", 1)) + 1
        ctx.store.put(names.INSTANCE, ctx.scope, key, doc)
        done.append(_describe(ctx, doc))
    return {"containerInstances": done, "failures": failures}


@ops.operation("PutAttributes")
def put_attributes(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    cluster = get_cluster(ctx, req.get("cluster"))
    for attr in req["attributes"]:
        if attr.get("targetType", "container-instance") != "container-instance" or not attr.get("targetId"):
            raise errors.invalid("Attributes can only be put on container instances (targetId required).")
        key, doc = _get(ctx, cluster, attr["targetId"])
        merged = {a["name"]: a.get("value", "") for a in doc["attributes"]}
        merged[attr["name"]] = attr.get("value", "")
        doc["attributes"] = [{"name": k, "value": v} for k, v in sorted(merged.items())]
        ctx.store.put(names.INSTANCE, ctx.scope, key, doc)
    return {"attributes": req["attributes"]}
