"""Launch templates: Create/Describe/Modify/Delete, versions, and resolving a
``LaunchTemplate`` reference for RunInstances.

Rules (EC2 API reference):

* names are 3–128 characters of ``[a-zA-Z0-9().\\-/_]``, unique per account
  and region; a template starts with version 1, which is its default;
* ``CreateLaunchTemplateVersion`` numbers versions 1, 2, …; with
  ``SourceVersion`` the new data is the source's with the given top-level
  members replacing the source's;
* a version is named by its number, ``$Latest`` or ``$Default``;
* ``ModifyLaunchTemplate(DefaultVersion=…)`` moves the default;
* ``UserData`` in template data is base64 already (RunInstances' is too).

Documents: kind ``ec2.launch-template`` (key = template id) holds the
template; kind ``ec2.launch-template-version`` (key ``<id>/<8-digit
number>``) holds each version with its data as given.
"""

from __future__ import annotations

import re
from typing import Any

from gureum.core.ids import prefixed_id
from gureum.core.store import Scope, Store
from gureum.services.api import RequestContext
from gureum.services.ec2 import errors, filters, paging, tag_store
from gureum.services.ec2.names import LAUNCH_TEMPLATE, LAUNCH_TEMPLATE_VERSION

Doc = dict[str, Any]

_NAME = re.compile(r"^[a-zA-Z0-9().\-/_]{3,128}$")


def _version_key(template_id: str, number: int) -> str:
    return f"{template_id}/{number:08d}"


def _not_found_id(template_id: str) -> Exception:
    return errors.client(
        "InvalidLaunchTemplateId.NotFound", f"The specified launch template, with template ID {template_id}, does not exist."
    )


def _not_found_name(name: str) -> Exception:
    return errors.client(
        "InvalidLaunchTemplateName.NotFoundException",
        f"The specified launch template, with template name {name}, does not exist.",
    )


def find(store: Store, scope: Scope, template_id: str | None, name: str | None) -> Doc:
    """The template named by id or name, or EC2's error."""
    if template_id and name:
        raise errors.invalid("Provide either the launch template ID or the launch template name, not both.")
    if template_id:
        doc = store.get(LAUNCH_TEMPLATE, scope, template_id)
        if doc is None:
            raise _not_found_id(template_id)
        return doc
    if name:
        for _, doc in store.list(LAUNCH_TEMPLATE, scope):
            if doc["LaunchTemplateName"] == name:
                return doc
        raise _not_found_name(name)
    raise errors.missing("LaunchTemplateId or LaunchTemplateName")


def version_number(template: Doc, ref: str | int | None) -> int:
    text = str(ref if ref is not None else "$Default")
    if text == "$Default":
        return int(template["DefaultVersionNumber"])
    if text == "$Latest":
        return int(template["LatestVersionNumber"])
    if not text.isdigit():
        raise errors.client("InvalidLaunchTemplateId.VersionNotFound", f"Could not find launch template version {text}.")
    return int(text)


def get_version(store: Store, scope: Scope, template: Doc, ref: str | int | None) -> Doc:
    number = version_number(template, ref)
    doc = store.get(LAUNCH_TEMPLATE_VERSION, scope, _version_key(template["LaunchTemplateId"], number))
    if doc is None:
        raise errors.client(
            "InvalidLaunchTemplateId.VersionNotFound",
            f"Could not find launch template version {number} for template {template['LaunchTemplateId']}.",
        )
    return doc


def resolve(store: Store, scope: Scope, spec: dict[str, Any]) -> tuple[Doc, Doc]:
    """RunInstances' ``LaunchTemplate``: (template, version)."""
    template = find(store, scope, spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName"))
    return template, get_version(store, scope, template, spec.get("Version"))


def _template_view(store: Store, scope: Scope, doc: Doc) -> Doc:
    out = dict(doc)
    tags = tag_store.get(store, scope, doc["LaunchTemplateId"])
    if tags:
        out["Tags"] = tag_store.wire(tags)
    return out


def _version_view(template: Doc, v: Doc) -> Doc:
    out = {
        "LaunchTemplateId": template["LaunchTemplateId"],
        "LaunchTemplateName": template["LaunchTemplateName"],
        "VersionNumber": v["VersionNumber"],
        "CreateTime": v["CreateTime"],
        "CreatedBy": v["CreatedBy"],
        "DefaultVersion": v["VersionNumber"] == template["DefaultVersionNumber"],
        "LaunchTemplateData": v["LaunchTemplateData"],
    }
    if v.get("VersionDescription"):
        out["VersionDescription"] = v["VersionDescription"]
    return out


def _check_data(data: Doc) -> None:
    from gureum.services.ec2 import instance_types

    if data.get("InstanceType"):
        instance_types.require(str(data["InstanceType"]))
    if data.get("UserData"):
        from gureum.services.ec2.instance_specs import decode_user_data

        decode_user_data(str(data["UserData"]))


def _put_version(ctx: RequestContext, template: Doc, number: int, data: Doc, description: str | None) -> Doc:
    _check_data(data)
    version = {
        "VersionNumber": number,
        "CreateTime": ctx.clock.now(),
        "CreatedBy": f"arn:aws:iam::{ctx.account}:root",
        "LaunchTemplateData": data,
    }
    if description:
        version["VersionDescription"] = description
    ctx.store.put(LAUNCH_TEMPLATE_VERSION, ctx.scope, _version_key(template["LaunchTemplateId"], number), version)
    return version


def create_launch_template(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    name = str(req["LaunchTemplateName"])
    if not _NAME.match(name):
        raise errors.client(
            "InvalidLaunchTemplateName.MalformedException",
            "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, "
            "and the following characters: - ( ) . / _.'",
        )
    tags = tag_store.from_specs(req.get("TagSpecifications"), "launch-template")
    template: Doc = {
        "LaunchTemplateId": prefixed_id("lt"),
        "LaunchTemplateName": name,
        "CreateTime": ctx.clock.now(),
        "CreatedBy": f"arn:aws:iam::{ctx.account}:root",
        "DefaultVersionNumber": 1,
        "LatestVersionNumber": 1,
    }
    with ctx.store.transaction():
        if any(d["LaunchTemplateName"] == name for _, d in ctx.store.list(LAUNCH_TEMPLATE, ctx.scope)):
            raise errors.client(
                "InvalidLaunchTemplateName.AlreadyExistsException",
                f"Launch template name already in use.: {name}",
            )
        _put_version(ctx, template, 1, dict(req["LaunchTemplateData"]), req.get("VersionDescription"))
        ctx.store.put(LAUNCH_TEMPLATE, ctx.scope, template["LaunchTemplateId"], template)
        tag_store.add(ctx.store, ctx.scope, template["LaunchTemplateId"], tags)
    return {"LaunchTemplate": _template_view(ctx.store, ctx.scope, template)}


def create_launch_template_version(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    with ctx.store.transaction():
        template = find(ctx.store, ctx.scope, req.get("LaunchTemplateId"), req.get("LaunchTemplateName"))
        data = dict(req["LaunchTemplateData"])
        if req.get("SourceVersion") is not None:
            source = get_version(ctx.store, ctx.scope, template, req["SourceVersion"])
            data = {**source["LaunchTemplateData"], **data}
        number = int(template["LatestVersionNumber"]) + 1
        version = _put_version(ctx, template, number, data, req.get("VersionDescription"))
        template["LatestVersionNumber"] = number
        ctx.store.put(LAUNCH_TEMPLATE, ctx.scope, template["LaunchTemplateId"], template)
    return {"LaunchTemplateVersion": _version_view(template, version)}


def modify_launch_template(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    with ctx.store.transaction():
        template = find(ctx.store, ctx.scope, req.get("LaunchTemplateId"), req.get("LaunchTemplateName"))
        if req.get("DefaultVersion") is not None:
            version = get_version(ctx.store, ctx.scope, template, req["DefaultVersion"])
            template["DefaultVersionNumber"] = version["VersionNumber"]
            ctx.store.put(LAUNCH_TEMPLATE, ctx.scope, template["LaunchTemplateId"], template)
    return {"LaunchTemplate": _template_view(ctx.store, ctx.scope, template)}


def delete_launch_template(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    with ctx.store.transaction():
        template = find(ctx.store, ctx.scope, req.get("LaunchTemplateId"), req.get("LaunchTemplateName"))
        view = _template_view(ctx.store, ctx.scope, template)
        tid = template["LaunchTemplateId"]
        for key, _ in ctx.store.list(LAUNCH_TEMPLATE_VERSION, ctx.scope, prefix=tid + "/"):
            ctx.store.delete(LAUNCH_TEMPLATE_VERSION, ctx.scope, key)
        ctx.store.delete(LAUNCH_TEMPLATE, ctx.scope, tid)
        tag_store.drop(ctx.store, ctx.scope, tid)
    return {"LaunchTemplate": view}


_TEMPLATE_FILTERS = {
    "launch-template-name": lambda d: [d["LaunchTemplateName"]],
    "create-time": lambda d: [str(d["CreateTime"])],
}


def describe_launch_templates(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    errors.check_max_results(req.get("MaxResults"), 1, 200)
    docs = [d for _, d in ctx.store.list(LAUNCH_TEMPLATE, ctx.scope)]
    ids = list(req.get("LaunchTemplateIds") or [])
    names = list(req.get("LaunchTemplateNames") or [])
    if ids:
        for tid in ids:
            if not any(d["LaunchTemplateId"] == tid for d in docs):
                raise _not_found_id(tid)
        docs = [d for d in docs if d["LaunchTemplateId"] in ids]
    if names:
        for name in names:
            if not any(d["LaunchTemplateName"] == name for d in docs):
                raise _not_found_name(name)
        docs = [d for d in docs if d["LaunchTemplateName"] in names]
    tags_of = tag_store.tags_by(ctx.store, ctx.scope, "LaunchTemplateId")
    docs = filters.apply(docs, req.get("Filters"), tag_store.TagGetters(_TEMPLATE_FILTERS, tags_of))
    items, token = paging.page(docs, lambda d: d["LaunchTemplateId"], req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {"LaunchTemplates": [_template_view(ctx.store, ctx.scope, d) for d in items]}
    if token:
        out["NextToken"] = token
    return out


def describe_launch_template_versions(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    errors.check_max_results(req.get("MaxResults"), 1, 200)
    template = find(ctx.store, ctx.scope, req.get("LaunchTemplateId"), req.get("LaunchTemplateName"))
    tid = template["LaunchTemplateId"]
    refs = list(req.get("Versions") or [])
    if refs:
        versions = [get_version(ctx.store, ctx.scope, template, r) for r in refs]
        versions = list({v["VersionNumber"]: v for v in versions}.values())
    else:
        versions = [v for _, v in ctx.store.list(LAUNCH_TEMPLATE_VERSION, ctx.scope, prefix=tid + "/")]
    low = version_number(template, req["MinVersion"]) if req.get("MinVersion") else None
    high = version_number(template, req["MaxVersion"]) if req.get("MaxVersion") else None
    versions = [v for v in versions if (low is None or v["VersionNumber"] >= low)
                and (high is None or v["VersionNumber"] <= high)]
    versions.sort(key=lambda v: v["VersionNumber"])
    items, token = paging.page(versions, lambda v: f"{v['VersionNumber']:08d}", req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {"LaunchTemplateVersions": [_version_view(template, v) for v in items]}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS = {
    "CreateLaunchTemplate": create_launch_template,
    "CreateLaunchTemplateVersion": create_launch_template_version,
    "ModifyLaunchTemplate": modify_launch_template,
    "DeleteLaunchTemplate": delete_launch_template,
    "DescribeLaunchTemplates": describe_launch_templates,
    "DescribeLaunchTemplateVersions": describe_launch_template_versions,
}
