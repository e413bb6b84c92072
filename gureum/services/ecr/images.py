"""ECR image operations: DescribeImages, ListImages, BatchGetImage,
BatchDeleteImage, PutImage.

They read what the registry recorded (:mod:`.records`): an image is one
manifest digest; its tags are the tag records pointing at it.  AWS rules kept
here:

* deleting by tag removes the tag, and the image too once its last tag is
  gone; deleting by digest removes the image and all its tags;
* an image that a manifest list in the repository includes cannot be deleted
  (``ImageReferencedByManifestList``);
* per-image problems of the Batch operations are ``failures`` entries, not
  errors; DescribeImages with an ``imageIds`` entry that matches nothing
  raises ``ImageNotFoundException``.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.ecr import records
from gureum.services.ecr.common import invalid, page, require_repo
from gureum.services.ecr.oci import RegistryError, is_digest, parse_manifest, valid_tag

Doc = dict[str, Any]


def describe_images(ctx: RequestContext, req: Doc) -> Doc:
    name = req["repositoryName"]
    require_repo(ctx, name)
    tags = records.tags_by_digest(ctx.store, ctx.scope, name)
    ids = req.get("imageIds")
    if ids:
        if req.get("maxResults") or req.get("nextToken"):
            raise invalid("maxResults and nextToken cannot be used together with imageIds")
        found: dict[str, Doc] = {}
        for image_id in ids:
            image = _lookup(ctx, name, image_id)
            if isinstance(image, str):
                raise ServiceError(
                    "ImageNotFoundException",
                    f"The image with imageId {_show_id(image_id)} does not exist within the repository "
                    f"with name '{name}' in the registry with id '{ctx.account}'",
                )
            found[image["digest"]] = image
        docs = list(found.values())
    else:
        docs = _filtered(records.images(ctx.store, ctx.scope, name), tags, req.get("filter"))
    docs.sort(key=lambda d: (d["pushedAt"], d["digest"]))
    items, token = page(docs, req.get("maxResults"), req.get("nextToken"))
    out: Doc = {"imageDetails": [_detail(ctx, name, d, tags.get(d["digest"], [])) for d in items]}
    if token:
        out["nextToken"] = token
    return out


def list_images(ctx: RequestContext, req: Doc) -> Doc:
    name = req["repositoryName"]
    require_repo(ctx, name)
    tags = records.tags_by_digest(ctx.store, ctx.scope, name)
    docs = _filtered(records.images(ctx.store, ctx.scope, name), tags, req.get("filter"))
    ids: list[Doc] = []
    for d in sorted(docs, key=lambda d: (d["pushedAt"], d["digest"])):
        ids += [{"imageDigest": d["digest"], "imageTag": t} for t in tags.get(d["digest"], [])] or [
            {"imageDigest": d["digest"]}
        ]
    items, token = page(ids, req.get("maxResults"), req.get("nextToken"))
    out: Doc = {"imageIds": items}
    if token:
        out["nextToken"] = token
    return out


def batch_get_image(ctx: RequestContext, req: Doc) -> Doc:
    name = req["repositoryName"]
    require_repo(ctx, name)
    images: list[Doc] = []
    failures: list[Doc] = []
    for image_id in req["imageIds"]:
        image = _lookup(ctx, name, image_id)
        if isinstance(image, str):
            failures.append(_failure(image_id, image))
            continue
        ident = {"imageDigest": image["digest"]}
        if image_id.get("imageTag"):
            ident["imageTag"] = image_id["imageTag"]
        images.append(
            {
                "registryId": ctx.account,
                "repositoryName": name,
                "imageId": ident,
                "imageManifest": image["manifest"],
                "imageManifestMediaType": image["mediaType"],
            }
        )
    return {"images": images, "failures": failures}


def batch_delete_image(ctx: RequestContext, req: Doc) -> Doc:
    name = req["repositoryName"]
    require_repo(ctx, name)
    deleted: list[Doc] = []
    failures: list[Doc] = []
    for image_id in req["imageIds"]:
        with ctx.store.transaction():
            result = _delete_one(ctx, name, image_id)
        if isinstance(result, str):
            failures.append(_failure(image_id, result))
        else:
            deleted += result
    for digest in dict.fromkeys(d["imageDigest"] for d in deleted):
        if records.get_image(ctx.store, ctx.scope, name, digest) is None:
            _publish_delete(ctx, name, digest)
    return {"imageIds": deleted, "failures": failures}


def put_image(ctx: RequestContext, req: Doc) -> Doc:
    """PutImage: store a manifest whose blobs are already in the repository (retagging)."""
    name = req["repositoryName"]
    repo = require_repo(ctx, name)
    raw = req["imageManifest"].encode("utf-8")
    tag = req.get("imageTag")
    if tag is not None and not valid_tag(tag):
        raise invalid(f"Invalid parameter at 'imageTag' failed to satisfy constraint: 'invalid tag {tag}'")
    try:
        manifest = parse_manifest(raw, req.get("imageManifestMediaType"))
        if req.get("imageDigest") and req["imageDigest"] != manifest.digest:
            raise ServiceError(
                "ImageDigestDoesNotMatchException",
                f"Invalid parameter at 'imageDigest' failed to satisfy constraint: 'the digest {req['imageDigest']} "
                f"does not match the manifest digest {manifest.digest}'",
            )
        changed = records.store_manifest(ctx.store, ctx.scope, repo, manifest, raw, tag, ctx.clock.now())
    except RegistryError as err:
        raise _put_image_error(err, name) from err
    if not changed:
        raise ServiceError(
            "ImageAlreadyExistsException",
            f"Image with digest '{manifest.digest}' and tag '{tag}' already exists in the repository with "
            f"name '{name}' in registry with id '{ctx.account}'",
        )
    ident = {"imageDigest": manifest.digest, **({"imageTag": tag} if tag else {})}
    return {
        "image": {
            "registryId": ctx.account,
            "repositoryName": name,
            "imageId": ident,
            "imageManifest": req["imageManifest"],
            "imageManifestMediaType": manifest.media_type,
        }
    }


HANDLERS = {
    "DescribeImages": describe_images,
    "ListImages": list_images,
    "BatchGetImage": batch_get_image,
    "BatchDeleteImage": batch_delete_image,
    "PutImage": put_image,
}


# -- helpers ------------------------------------------------------------------------------


def _lookup(ctx: RequestContext, repo: str, image_id: Doc) -> Doc | str:
    """The image an imageId names, or the ImageFailureCode why not."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if not digest and not tag:
        return "MissingDigestAndTag"
    if digest and not is_digest(digest):
        return "InvalidImageDigest"
    if tag:
        tagged = records.tag_digest(ctx.store, ctx.scope, repo, tag)
        if tagged is None:
            return "ImageNotFound"
        if digest and tagged != digest:
            return "ImageTagDoesNotMatchDigest"
        digest = tagged
    image = records.get_image(ctx.store, ctx.scope, repo, str(digest))
    return "ImageNotFound" if image is None else image


def _delete_one(ctx: RequestContext, repo: str, image_id: Doc) -> list[Doc] | str:
    image = _lookup(ctx, repo, image_id)
    if isinstance(image, str):
        return image
    digest = image["digest"]
    tag = image_id.get("imageTag")
    referenced = bool(records.referrers(ctx.store, ctx.scope, repo, digest))
    if tag:
        # The last tag takes the image with it, unless a manifest list needs it.
        records.untag(ctx.store, ctx.scope, repo, tag)
        if not referenced and not records.tags_by_digest(ctx.store, ctx.scope, repo).get(digest):
            records.delete_image(ctx.store, ctx.scope, repo, digest)
        return [{"imageDigest": digest, "imageTag": tag}]
    if referenced:
        return "ImageReferencedByManifestList"
    removed = records.delete_image(ctx.store, ctx.scope, repo, digest)
    return [{"imageDigest": digest, "imageTag": t} for t in removed] or [{"imageDigest": digest}]


_FAILURE_REASONS = {
    "MissingDigestAndTag": "Invalid request parameters: both tag and digest cannot be null",
    "InvalidImageDigest": "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
    "ImageTagDoesNotMatchDigest": "Invalid request parameters: image tag does not match image digest",
    "ImageNotFound": "Requested image not found",
    "ImageReferencedByManifestList": "Requested image is referenced by a manifest list",
}


def _failure(image_id: Doc, code: str) -> Doc:
    return {"imageId": dict(image_id), "failureCode": code, "failureReason": _FAILURE_REASONS[code]}


def _show_id(image_id: Doc) -> str:
    parts = [f"{k}:'{image_id[k]}'" for k in ("imageDigest", "imageTag") if image_id.get(k)]
    return "{" + ", ".join(parts) + "}"


def _filtered(docs: list[Doc], tags: dict[str, list[str]], flt: Doc | None) -> list[Doc]:
    status = (flt or {}).get("tagStatus") or "ANY"
    if status == "TAGGED":
        return [d for d in docs if tags.get(d["digest"])]
    if status == "UNTAGGED":
        return [d for d in docs if not tags.get(d["digest"])]
    return docs


def _detail(ctx: RequestContext, repo: str, d: Doc, tags: list[str]) -> Doc:
    out: Doc = {
        "registryId": ctx.account,
        "repositoryName": repo,
        "imageDigest": d["digest"],
        "imageSizeInBytes": d["size"],
        "imagePushedAt": d["pushedAt"],
        "imageManifestMediaType": d["mediaType"],
        "imageStatus": "ACTIVE",
    }
    if tags:
        out["imageTags"] = list(tags)
    if d.get("artifactMediaType"):
        out["artifactMediaType"] = d["artifactMediaType"]
    if d.get("lastPull"):
        out["lastRecordedPullTime"] = d["lastPull"]
    return out


def _put_image_error(err: RegistryError, repo: str) -> ServiceError:
    if err.code == "MANIFEST_BLOB_UNKNOWN":
        return ServiceError("LayersNotFoundException", f"Layers with digests {err.detail} required for pushing image into repository with name '{repo}' are not available")
    if err.code == "TAG_INVALID":
        return ServiceError("ImageTagAlreadyExistsException", err.message)
    return invalid(f"Invalid parameter at 'ImageManifest' failed to satisfy constraint: '{err.message}: {err.detail}'")


def _publish_delete(ctx: RequestContext, repo: str, digest: str) -> None:
    ctx.bus.publish(
        "ecr.image",
        {
            "action": "DELETE",
            "result": "SUCCESS",
            "account": ctx.account,
            "region": ctx.region,
            "repository-name": repo,
            "image-digest": digest,
            "image-tag": "",
            "manifest-media-type": "",
        },
    )
