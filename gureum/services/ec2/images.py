"""AMIs: DescribeImages, RegisterImage, CreateImage, DeregisterImage.

An AMI here is a name for a container image:

* the built-in AMI :data:`~names.BUILTIN_AMI` (``gureum-busybox``, owner
  alias ``amazon``) is ``gureum/busybox:latest``, in every region;
* ``RegisterImage(Name=…, ImageLocation="<docker image ref>")`` registers a
  local image (``nginx:alpine``, ``127.0.0.1:4566/repo:tag`` from ECR; a
  ``docker://`` prefix is accepted).  Block device mappings without an
  ImageLocation are refused: there are no snapshots to boot from;
* ``CreateImage(InstanceId=…)`` commits the instance's container to
  ``gureum/ami:<ami id>`` (the "golden AMI" bake).  Docker pauses the
  container while committing, which is what ``NoReboot=false`` is for on
  AWS, so the instance is not rebooted.

Images start ``pending``; the image controller (:mod:`image_controller`)
checks or commits the container image and makes them ``available`` (or
``failed`` with a StateReason).  An image must have ``sh`` to boot an
instance (see :mod:`instance_runtime`).  DeregisterImage hides the AMI at
once; the controller then removes a baked image from the engine.

Documents (kind ``ec2.image``) hold the wire fields plus private ``_…``
fields: ``_dockerImage``, ``_sourceInstance``, ``_baked``, ``_deregistered``.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable, Iterable
from typing import Any

from gureum.core.ids import prefixed_id
from gureum.core.store import Scope, Store
from gureum.services.api import RequestContext
from gureum.services.ec2 import errors, filters, paging, tag_store
from gureum.services.ec2.names import (
    AMAZON_OWNER,
    BAKED_REPOSITORY,
    BUILTIN_AMI,
    BUILTIN_AMI_NAME,
    BUILTIN_DOCKER_IMAGE,
    IMAGE,
    IMAGE_CONTROLLER,
    INSTANCE,
    is_id,
    iso,
    scoped_key,
)

Doc = dict[str, Any]

_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")
BUILTIN_CREATED = 1704067200.0  # 2024-01-01T00:00:00Z


def architecture() -> str:
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def _common(image_id: str, owner: str, name: str, description: str) -> Doc:
    return {
        "ImageId": image_id,
        "OwnerId": owner,
        "Name": name,
        "Description": description,
        "Architecture": architecture(),
        "ImageType": "machine",
        "Public": False,
        "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances",
        "RootDeviceType": "ebs",
        "RootDeviceName": "/dev/xvda",
        "VirtualizationType": "hvm",
        "Hypervisor": "xen",
        "EnaSupport": True,
        "BootMode": "uefi-preferred",
        "BlockDeviceMappings": [],
        "ProductCodes": [],
    }


def builtin(region: str) -> Doc:
    doc = _common(BUILTIN_AMI, AMAZON_OWNER, BUILTIN_AMI_NAME,
                  f"Gureum base image: busybox ({BUILTIN_DOCKER_IMAGE}), region {region}")
    doc.update(
        ImageLocation=f"amazon/{BUILTIN_AMI_NAME}", ImageOwnerAlias="amazon", Public=True,
        State="available", CreationDate=iso(BUILTIN_CREATED), _dockerImage=BUILTIN_DOCKER_IMAGE,
    )
    return doc


def find(store: Store, scope: Scope, image_id: str) -> Doc | None:
    """The AMI ``image_id`` (built-in or stored), None when unknown or deregistered."""
    if image_id == BUILTIN_AMI:
        return builtin(scope.region)
    doc = store.get(IMAGE, scope, image_id)
    if doc is None or doc.get("_deregistered"):
        return None
    return doc


def require_launchable(store: Store, scope: Scope, image_id: str) -> Doc:
    """The AMI RunInstances may use, or EC2's error."""
    if not is_id(image_id, "ami"):
        raise errors.malformed("InvalidAMIID.Malformed", image_id, "ami")
    doc = find(store, scope, image_id)
    if doc is None:
        raise errors.image_not_found([image_id])
    if doc.get("State") != "available":
        raise errors.client("InvalidAMIID.Unavailable", f"The image id '[{image_id}]' is not available ({doc.get('State')})")
    return doc


def docker_image(doc: Doc) -> str:
    return str(doc["_dockerImage"])


def public(doc: Doc, tags: dict[str, str]) -> Doc:
    out = {k: v for k, v in doc.items() if not k.startswith("_") and not (k == "Description" and not v)}
    if tags:
        out["Tags"] = tag_store.wire(tags)
    return out


def _check_name(store: Store, scope: Scope, name: str) -> None:
    if not _NAME.match(name):
        raise errors.client(
            "InvalidAMIName.Malformed",
            "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, "
            "'(', ')', '.', '-', '/' and '_'",
        )
    for _, doc in store.list(IMAGE, scope):
        if doc.get("Name") == name and not doc.get("_deregistered"):
            raise errors.client("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {doc['ImageId']}")


def _save_new(ctx: RequestContext, doc: Doc, req: dict[str, Any]) -> dict[str, Any]:
    tags = tag_store.from_specs(req.get("TagSpecifications"), "image")
    with ctx.store.transaction():
        _check_name(ctx.store, ctx.scope, doc["Name"])
        ctx.store.put(IMAGE, ctx.scope, doc["ImageId"], doc)
        tag_store.add(ctx.store, ctx.scope, doc["ImageId"], tags)
    ctx.app.runner.enqueue(IMAGE_CONTROLLER, scoped_key(ctx.scope, doc["ImageId"]))
    return {"ImageId": doc["ImageId"]}


def register_image(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    location = str(req.get("ImageLocation") or "").strip()
    if location.startswith("docker://"):
        location = location[len("docker://"):]
    if not location:
        raise errors.invalid(
            "Gureum registers AMIs from container images: pass ImageLocation=<docker image reference> "
            "(block device mappings and snapshots are not supported)"
        )
    image_id = prefixed_id("ami")
    doc = _common(image_id, ctx.account, str(req["Name"]), str(req.get("Description") or ""))
    if req.get("Architecture"):
        doc["Architecture"] = req["Architecture"]
    doc.update(ImageLocation=location, State="pending", CreationDate=iso(ctx.clock.now()), _dockerImage=location)
    return _save_new(ctx, doc, req)


def create_image(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    instance_id = str(req["InstanceId"])
    if not is_id(instance_id, "i"):
        raise errors.malformed("InvalidInstanceID.Malformed", instance_id, "i")
    inst = ctx.store.get(INSTANCE, ctx.scope, instance_id)
    if inst is None:
        raise errors.instances_not_found([instance_id])
    if inst["State"]["Name"] not in ("running", "stopped"):
        raise errors.incorrect_state(instance_id, "imaged")
    image_id = prefixed_id("ami")
    doc = _common(image_id, ctx.account, str(req["Name"]), str(req.get("Description") or ""))
    doc.update(
        ImageLocation=f"{ctx.account}/{req['Name']}", State="pending", CreationDate=iso(ctx.clock.now()),
        SourceInstanceId=instance_id, _dockerImage=f"{BAKED_REPOSITORY}:{image_id}",
        _sourceInstance=instance_id, _baked=True,
    )
    return _save_new(ctx, doc, req)


def deregister_image(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    image_id = str(req["ImageId"])
    if not is_id(image_id, "ami"):
        raise errors.malformed("InvalidAMIID.Malformed", image_id, "ami")
    if image_id == BUILTIN_AMI:
        raise errors.client("AuthFailure", f"Not authorized for image:{image_id}")
    with ctx.store.transaction():
        doc = find(ctx.store, ctx.scope, image_id)
        if doc is None:
            raise errors.image_not_found([image_id])
        doc["_deregistered"] = True
        doc["_deregisteredAt"] = ctx.clock.now()
        ctx.store.put(IMAGE, ctx.scope, image_id, doc)
        tag_store.drop(ctx.store, ctx.scope, image_id)
    ctx.app.runner.enqueue(IMAGE_CONTROLLER, scoped_key(ctx.scope, image_id))
    return {"Return": True}


def _b(value: Any) -> list[str]:
    return ["true" if value else "false"]


_FILTERS: dict[str, Callable[[Doc], Iterable[str]]] = {
    "name": lambda d: [d.get("Name", "")],
    "image-id": lambda d: [d["ImageId"]],
    "state": lambda d: [d.get("State", "")],
    "owner-id": lambda d: [d.get("OwnerId", "")],
    "owner-alias": lambda d: [d["ImageOwnerAlias"]] if d.get("ImageOwnerAlias") else [],
    "architecture": lambda d: [d.get("Architecture", "")],
    "image-type": lambda d: [d.get("ImageType", "")],
    "is-public": lambda d: _b(d.get("Public")),
    "platform-details": lambda d: [d.get("PlatformDetails", "")],
    "root-device-type": lambda d: [d.get("RootDeviceType", "")],
    "root-device-name": lambda d: [d.get("RootDeviceName", "")],
    "virtualization-type": lambda d: [d.get("VirtualizationType", "")],
    "hypervisor": lambda d: [d.get("Hypervisor", "")],
    "description": lambda d: [d.get("Description", "")],
    "manifest-location": lambda d: [d.get("ImageLocation", "")],
    "source-instance-id": lambda d: [d["SourceInstanceId"]] if d.get("SourceInstanceId") else [],
}


def _owned_by(doc: Doc, owners: list[str], account: str) -> bool:
    for owner in owners:
        if owner == "self" and doc.get("OwnerId") == account:
            return True
        if owner in ("amazon", "aws-marketplace", "aws-backup-vault") and doc.get("ImageOwnerAlias") == owner:
            return True
        if owner == doc.get("OwnerId"):
            return True
    return False


def describe_images(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    errors.check_max_results(req.get("MaxResults"), 5, 1000)
    ids = list(req.get("ImageIds") or [])
    for image_id in ids:
        if not is_id(image_id, "ami"):
            raise errors.malformed("InvalidAMIID.Malformed", image_id, "ami")
    docs = [builtin(ctx.region)] + [d for _, d in ctx.store.list(IMAGE, ctx.scope) if not d.get("_deregistered")]
    if ids:
        known = {d["ImageId"] for d in docs}
        missing = [i for i in ids if i not in known]
        if missing:
            raise errors.image_not_found(missing)
        docs = [d for d in docs if d["ImageId"] in ids]
    owners = list(req.get("Owners") or [])
    if owners:
        docs = [d for d in docs if _owned_by(d, owners, ctx.account)]
    tags_of = tag_store.tags_by(ctx.store, ctx.scope, "ImageId")
    docs = filters.apply(docs, req.get("Filters"), tag_store.TagGetters(_FILTERS, tags_of))
    docs.sort(key=lambda d: d["ImageId"])
    items, token = paging.page(docs, lambda d: d["ImageId"], req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {"Images": [public(d, tags_of(d)) for d in items]}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS = {
    "DescribeImages": describe_images,
    "RegisterImage": register_image,
    "CreateImage": create_image,
    "DeregisterImage": deregister_image,
}
