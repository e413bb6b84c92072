"""Manifests of the registry: push, pull and delete by tag or digest.

* ``PUT /v2/<name>/manifests/<ref>`` – the body is parsed and checked
  (:func:`~gureum.services.ecr.oci.parse_manifest`); a digest reference must
  be the body's own sha256 (``DIGEST_INVALID``); every blob it lists must be
  in the repository and every manifest an index lists must be an image of it
  (``MANIFEST_BLOB_UNKNOWN``); a tag frozen by the repository's
  ``imageTagMutability`` cannot move (``TAG_INVALID``).  201 with
  ``Docker-Content-Digest``.  The bytes are kept exactly as sent: the digest
  is of those bytes.
* ``GET``/``HEAD`` – the stored bytes with ``Content-Type`` (the pushed media
  type) and ``Docker-Content-Digest``; a GET records ``lastRecordedPullTime``.
* ``DELETE`` by digest removes the image and its tags (refused while a
  manifest list in the repository includes it); by tag, only the tag.

A push publishes ``ecr.image`` on the bus (``action`` PUSH or DELETE), the
event EventBridge calls "ECR Image Action".
"""

from __future__ import annotations

from gureum.core.errors import ProtocolError
from gureum.protocol.http import HttpResponse
from gureum.services.ecr import records
from gureum.services.ecr.oci import (
    MAX_MANIFEST_SIZE,
    RegistryError,
    check_digest,
    is_digest,
    parse_manifest,
    valid_tag,
)
from gureum.services.ecr.registry import Call, respond


async def manifest(call: Call, ref: str) -> HttpResponse:
    method = call.request.method
    if method == "PUT":
        return await _put(call, ref)
    if method in ("GET", "HEAD"):
        return _get(call, ref, head=method == "HEAD")
    if method == "DELETE":
        return _delete(call, ref)
    raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)


async def _put(call: Call, ref: str) -> HttpResponse:
    try:
        raw = await call.body.read_limited(MAX_MANIFEST_SIZE)
    except ProtocolError as exc:
        if exc.status == 413:
            raise RegistryError("SIZE_INVALID", "manifest is larger than 4 MiB") from exc
        raise
    parsed = parse_manifest(raw, call.request.headers.get("content-type"))
    tag: str | None = None
    if is_digest(ref):
        if check_digest(ref) != parsed.digest:
            raise RegistryError(
                "DIGEST_INVALID",
                "provided digest did not match uploaded content",
                {"expected": ref, "actual": parsed.digest},
            )
    elif valid_tag(ref):
        tag = ref
    else:
        raise RegistryError("TAG_INVALID", "manifest tag did not match URI", {"tag": ref})
    records.store_manifest(call.store, call.scope, call.repo, parsed, raw, tag, call.now())
    _publish(call, "PUSH", parsed.digest, tag, parsed.media_type)
    return respond(
        201,
        [
            ("location", f"/v2/{call.name}/manifests/{parsed.digest}"),
            ("docker-content-digest", parsed.digest),
        ],
    )


def _get(call: Call, ref: str, head: bool) -> HttpResponse:
    image = records.resolve(call.store, call.scope, call.name, ref)
    if image is None:
        raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", {"name": call.name, "reference": ref})
    body = str(image["manifest"]).encode("utf-8")
    headers = [
        ("content-type", str(image["mediaType"])),
        ("docker-content-digest", str(image["digest"])),
        ("etag", f'"{image["digest"]}"'),
        ("content-length", str(len(body))),
    ]
    if head:
        return respond(200, headers)
    records.record_pull(call.store, call.scope, call.name, str(image["digest"]), call.now())
    return respond(200, headers, body)


def _delete(call: Call, ref: str) -> HttpResponse:
    if not is_digest(ref):
        if records.untag(call.store, call.scope, call.name, ref) is None:
            raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", {"name": call.name, "reference": ref})
        return respond(202)
    digest = check_digest(ref)
    if records.get_image(call.store, call.scope, call.name, digest) is None:
        raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", {"name": call.name, "reference": ref})
    parents = records.referrers(call.store, call.scope, call.name, digest)
    if parents:
        raise RegistryError(
            "DENIED",
            "The image is referenced by a manifest list; delete the manifest list first",
            {"referencedBy": parents},
        )
    records.delete_image(call.store, call.scope, call.name, digest)
    _publish(call, "DELETE", digest, None, "")
    return respond(202)


def _publish(call: Call, action: str, digest: str, tag: str | None, media_type: str) -> None:
    call.app.bus.publish(
        "ecr.image",
        {
            "action": action,
            "result": "SUCCESS",
            "account": call.scope.account,
            "region": call.scope.region,
            "repository-name": call.name,
            "image-digest": digest,
            "image-tag": tag or "",
            "manifest-media-type": media_type,
        },
    )
