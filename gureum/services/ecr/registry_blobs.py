"""Blob reads and blob uploads of the registry (OCI distribution spec).

Uploads, as the spec has them:

* ``POST /v2/<name>/blobs/uploads/`` → 202 with ``Location``,
  ``Docker-Upload-UUID`` and ``Range: 0-0``: an upload session.
  With ``?digest=`` the body is the whole blob (monolithic): 201.
  With ``?mount=<digest>&from=<repo>``: 201 when ``<repo>`` (same account
  and region) holds the blob, else a new session as without it.
* ``PATCH <location>`` appends a chunk (``Content-Range`` must start where
  the upload stands, else 416) → 202 with ``Range: 0-<last byte>``.
* ``PUT <location>?digest=`` appends the rest and commits: the bytes must
  hash to the digest (``DIGEST_INVALID`` otherwise, and the upload is gone).
* ``GET <location>`` → 204 with the ``Range`` so far; ``DELETE`` cancels.

Blobs are read with GET/HEAD (``Range`` requests answered 206) and only from
repositories that hold them (pushed or mounted there).  ECR does not delete
blobs through the API: ``DELETE`` of a blob is 405.
"""

from __future__ import annotations

from gureum.protocol.http import HttpResponse
from gureum.services.ecr import records
from gureum.services.ecr.oci import (
    RegistryError,
    check_digest,
    parse_content_range,
    parse_range,
    upload_range,
    valid_repository_name,
)
from gureum.services.ecr.registry import Call, respond


async def blob(call: Call, digest: str) -> HttpResponse:
    method = call.request.method
    if method == "DELETE":
        raise RegistryError("UNSUPPORTED", "blob deletion is not supported; delete images instead", status=405)
    if method not in ("GET", "HEAD"):
        raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
    digest = check_digest(digest)
    size = call.files.size(digest) if records.blob_linked(call.store, call.scope, call.name, digest) else None
    if size is None:
        raise RegistryError("BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
    headers = [
        ("content-type", "application/octet-stream"),
        ("docker-content-digest", digest),
        ("etag", f'"{digest}"'),
        ("accept-ranges", "bytes"),
        ("cache-control", "max-age=31536000"),
    ]
    if method == "HEAD":
        return respond(200, [*headers, ("content-length", str(size))])
    wanted = parse_range(call.request.headers.get("range") or "", size)
    if wanted is None:
        return respond(200, [*headers, ("content-length", str(size))], call.files.read(digest))
    first, last = wanted
    headers += [("content-length", str(last - first + 1)), ("content-range", f"bytes {first}-{last}/{size}")]
    return respond(206, headers, call.files.read(digest, first, last))


async def upload(call: Call, upload_id: str) -> HttpResponse:
    method = call.request.method
    if not upload_id:
        if method != "POST":
            raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)
        return await _start(call)
    records.get_upload(call.store, call.scope, upload_id, call.name)
    if method == "PATCH":
        return await _patch(call, upload_id)
    if method == "PUT":
        return await _put(call, upload_id)
    if method == "GET":
        return respond(204, _session_headers(call, upload_id, _size(call, upload_id)))
    if method == "DELETE":
        call.files.cancel(upload_id)
        records.drop_upload(call.store, call.scope, upload_id)
        return respond(204)
    raise RegistryError("UNSUPPORTED", "the operation is unsupported", status=405)


async def _start(call: Call) -> HttpResponse:
    mount, source = call.arg("mount"), call.arg("from")
    if mount and source:
        mounted = _mount(call, check_digest(mount), source)
        if mounted is not None:
            return mounted
    upload_id = call.files.new_upload()
    records.new_upload(call.store, call.scope, upload_id, call.name, call.now())
    digest = call.arg("digest")
    if digest is not None:
        await call.files.append(upload_id, aiter(call.body), call.app.settings.max_object_size)
        return await _finish(call, upload_id, digest)
    return respond(202, _session_headers(call, upload_id, 0))


def _mount(call: Call, digest: str, source: str) -> HttpResponse | None:
    if not valid_repository_name(source):
        return None
    if not records.blob_linked(call.store, call.scope, source, digest):
        return None
    size = call.files.size(digest)
    if size is None:
        return None
    records.link_blob(call.store, call.scope, call.name, digest, size)
    return _created(call, digest)


async def _patch(call: Call, upload_id: str) -> HttpResponse:
    size = _size(call, upload_id)
    content_range = call.request.headers.get("content-range")
    if content_range:
        first, _ = parse_content_range(content_range)
        if first != size:
            raise RegistryError(
                "RANGE_INVALID",
                f"chunk starts at byte {first} but the upload has {size} bytes",
                status=416,
                headers=dict(_session_headers(call, upload_id, size)),
            )
    size = await call.files.append(upload_id, aiter(call.body), call.app.settings.max_object_size)
    return respond(202, _session_headers(call, upload_id, size))


async def _put(call: Call, upload_id: str) -> HttpResponse:
    digest = call.arg("digest")
    if not digest:
        raise RegistryError("DIGEST_INVALID", "the digest parameter is required to finish an upload")
    check_digest(digest)
    await call.files.append(upload_id, aiter(call.body), call.app.settings.max_object_size)
    return await _finish(call, upload_id, digest)


async def _finish(call: Call, upload_id: str, digest: str) -> HttpResponse:
    try:
        size = await call.files.commit(upload_id, digest)
    except RegistryError:
        call.files.cancel(upload_id)
        records.drop_upload(call.store, call.scope, upload_id)
        raise
    with call.store.transaction():
        records.link_blob(call.store, call.scope, call.name, digest, size)
        records.drop_upload(call.store, call.scope, upload_id)
    return _created(call, digest)


def _created(call: Call, digest: str) -> HttpResponse:
    return respond(
        201,
        [
            ("location", f"/v2/{call.name}/blobs/{digest}"),
            ("docker-content-digest", digest),
        ],
    )


def _size(call: Call, upload_id: str) -> int:
    size = call.files.upload_size(upload_id)
    if size is None:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": upload_id})
    return size


def _session_headers(call: Call, upload_id: str, size: int) -> list[tuple[str, str]]:
    return [
        ("location", f"/v2/{call.name}/blobs/uploads/{upload_id}"),
        ("range", upload_range(size)),
        ("docker-upload-uuid", upload_id),
    ]
