"""The registry's HTTP handling, called directly (real App, store, files; no sockets)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.gateway.asgi import AsgiBody
from gureum.protocol.http import Headers, HttpRequest
from gureum.services.api import RequestContext
from gureum.services.ecr import oci
from gureum.services.ecr.registry import handle_registry
from gureum.settings import Settings

NOW = 1_700_000_000.0


class Reply:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = Headers(headers)
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> str:
        return str(self.json()["errors"][0]["code"])


def make_app(tmp_path: Path, **settings: Any) -> App:
    return App(Settings(data_dir=str(tmp_path), port=4566, **settings), clock=SimClock(NOW))


def send(app: App, method: str, target: str, body: bytes | list[bytes] = b"", **headers: str) -> Reply:
    path, _, query = target.partition("?")
    chunks = body if isinstance(body, list) else [body]
    msgs = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return msgs.pop(0) if msgs else {"type": "http.disconnect"}

    async def run() -> Reply:
        req = HttpRequest(method, path, query, Headers((k.replace("_", "-"), v) for k, v in headers.items()))
        resp = await handle_registry(app, req, AsgiBody(receive))
        data = resp.body if isinstance(resp.body, bytes) else b"".join([c async for c in resp.body])
        return Reply(resp.status, resp.headers, data)

    return asyncio.run(run())


def control(app: App, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api("ecr")
    assert api is not None
    ctx = RequestContext("ecr", op, "000000000000", "us-east-1", "rid", app)
    return api.handlers[op](ctx, req)  # type: ignore[return-value]


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(app: App, repo: str, data: bytes) -> str:
    d = digest(data)
    r = send(app, "POST", f"/v2/{repo}/blobs/uploads/?digest={d}", data)
    assert r.status == 201, r.body
    return d


def manifest_for(config: bytes, layers: list[bytes], media_type: str = oci.DOCKER_MANIFEST) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": digest(config)},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(x), "digest": digest(x)}
                for x in layers
            ],
        },
        indent=3,  # the registry must keep the exact bytes
    ).encode()


def push_image(app: App, repo: str, tag: str, layer: bytes = b"layer-bytes") -> tuple[str, bytes]:
    config = b'{"architecture":"amd64","os":"linux"}' + layer[:4]
    push_blob(app, repo, config)
    push_blob(app, repo, layer)
    raw = manifest_for(config, [layer])
    r = send(app, "PUT", f"/v2/{repo}/manifests/{tag}", raw, content_type=oci.DOCKER_MANIFEST)
    assert r.status == 201, r.body
    return r.headers.get("docker-content-digest") or "", raw


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = make_app(tmp_path)
    control(a, "CreateRepository", repositoryName="team/app")
    yield a
    a.store.close()


def test_version_check(app: App) -> None:
    r = send(app, "GET", "/v2/")
    assert r.status == 200 and r.headers.get("docker-distribution-api-version") == "registry/2.0"
    assert r.json() == {}


def test_unknown_and_invalid_repositories(app: App) -> None:
    r = send(app, "HEAD", f"/v2/nothere/blobs/{digest(b'x')}")
    assert r.status == 404
    r = send(app, "POST", "/v2/nothere/blobs/uploads/")
    assert (r.status, r.error) == (404, "NAME_UNKNOWN")
    assert "does not exist in the registry with id '000000000000'" in r.json()["errors"][0]["message"]
    r = send(app, "GET", "/v2/Bad_Name/tags/list")
    assert (r.status, r.error) == (400, "NAME_INVALID")


def test_monolithic_upload_then_read_with_ranges(app: App, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    d = push_blob(app, "team/app", data)
    stored = tmp_path / "ecr" / "blobs" / "sha256" / d.split(":")[1]
    assert stored.read_bytes() == data
    head = send(app, "HEAD", f"/v2/team/app/blobs/{d}")
    assert head.status == 200 and head.headers.get("content-length") == str(len(data)) and head.body == b""
    assert head.headers.get("docker-content-digest") == d
    get = send(app, "GET", f"/v2/team/app/blobs/{d}")
    assert get.status == 200 and get.body == data
    part = send(app, "GET", f"/v2/team/app/blobs/{d}", range="bytes=10-19")
    assert part.status == 206 and part.body == data[10:20]
    assert part.headers.get("content-range") == f"bytes 10-19/{len(data)}"


def test_wrong_digest_is_refused_and_nothing_is_kept(app: App, tmp_path: Path) -> None:
    claimed = digest(b"something else")
    r = send(app, "POST", f"/v2/team/app/blobs/uploads/?digest={claimed}", b"actual bytes")
    assert (r.status, r.error) == (400, "DIGEST_INVALID")
    assert r.json()["errors"][0]["detail"]["actual"] == digest(b"actual bytes")
    assert send(app, "HEAD", f"/v2/team/app/blobs/{claimed}").status == 404
    assert list((tmp_path / "ecr" / "uploads").iterdir()) == []
    assert not (tmp_path / "ecr" / "blobs" / "sha256" / claimed.split(":")[1]).exists()


def test_chunked_upload(app: App) -> None:
    start = send(app, "POST", "/v2/team/app/blobs/uploads/")
    assert start.status == 202 and start.headers.get("range") == "0-0"
    loc = start.headers.get("location") or ""
    uuid = start.headers.get("docker-upload-uuid")
    assert loc == f"/v2/team/app/blobs/uploads/{uuid}"
    r = send(app, "PATCH", loc, [b"hello ", b"wor"], content_range="0-8")
    assert r.status == 202 and r.headers.get("range") == "0-8"
    bad = send(app, "PATCH", loc, b"zzz", content_range="0-2")
    assert bad.status == 416 and bad.headers.get("range") == "0-8"
    r = send(app, "PATCH", loc, b"ld")
    assert r.headers.get("range") == "0-10"
    assert send(app, "GET", loc).headers.get("range") == "0-10"
    done = send(app, "PUT", f"{loc}?digest={digest(b'hello world!')}", b"!")
    assert done.status == 201 and done.headers.get("docker-content-digest") == digest(b"hello world!")
    assert send(app, "GET", f"/v2/team/app/blobs/{digest(b'hello world!')}").body == b"hello world!"
    assert send(app, "PATCH", loc, b"more").error == "BLOB_UPLOAD_UNKNOWN"


def test_put_without_digest_and_cancel(app: App) -> None:
    loc = send(app, "POST", "/v2/team/app/blobs/uploads/").headers.get("location") or ""
    assert send(app, "PUT", loc, b"x").error == "DIGEST_INVALID"
    assert send(app, "DELETE", loc).status == 204
    assert send(app, "GET", loc).error == "BLOB_UPLOAD_UNKNOWN"


def test_upload_resumes_after_restart(app: App, tmp_path: Path) -> None:
    from gureum.services.ecr import blobs

    loc = send(app, "POST", "/v2/team/app/blobs/uploads/").headers.get("location") or ""
    send(app, "PATCH", loc, b"first half ")
    blobs._FILES.clear()  # a new process: the running hash is gone
    done = send(app, "PUT", f"{loc}?digest={digest(b'first half second half')}", b"second half")
    assert done.status == 201, done.body


def test_blob_is_visible_only_where_pushed_or_mounted(app: App) -> None:
    control(app, "CreateRepository", repositoryName="other")
    d = push_blob(app, "team/app", b"shared layer")
    assert send(app, "HEAD", f"/v2/other/blobs/{d}").status == 404
    r = send(app, "POST", f"/v2/other/blobs/uploads/?mount={d}&from=team/app")
    assert r.status == 201 and r.headers.get("location") == f"/v2/other/blobs/{d}"
    assert send(app, "GET", f"/v2/other/blobs/{d}").body == b"shared layer"
    # Mount from a repository without it: a normal upload session instead.
    r = send(app, "POST", f"/v2/other/blobs/uploads/?mount={digest(b'nope')}&from=team/app")
    assert r.status == 202


def test_manifest_push_pull_by_tag_and_digest(app: App) -> None:
    d, raw = push_image(app, "team/app", "v1")
    assert d == digest(raw)
    for ref in ("v1", d):
        r = send(app, "GET", f"/v2/team/app/manifests/{ref}", accept=oci.DOCKER_MANIFEST)
        assert r.status == 200 and r.body == raw
        assert r.headers.get("content-type") == oci.DOCKER_MANIFEST
        assert r.headers.get("docker-content-digest") == d
    head = send(app, "HEAD", "/v2/team/app/manifests/v1")
    assert head.status == 200 and head.headers.get("content-length") == str(len(raw)) and head.body == b""
    assert send(app, "GET", "/v2/team/app/tags/list").json() == {"name": "team/app", "tags": ["v1"]}
    assert send(app, "GET", "/v2/_catalog").json() == {"repositories": ["team/app"]}
    assert send(app, "GET", "/v2/team/app/manifests/v2").error == "MANIFEST_UNKNOWN"


def test_manifest_errors(app: App) -> None:
    config, layer = b"{}", b"never pushed"
    push_blob(app, "team/app", config)
    raw = manifest_for(config, [layer])
    r = send(app, "PUT", "/v2/team/app/manifests/v1", raw, content_type=oci.DOCKER_MANIFEST)
    assert (r.status, r.error) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert r.json()["errors"][0]["detail"] == {"digest": digest(layer)}
    r = send(app, "PUT", "/v2/team/app/manifests/v1", b"{garbage", content_type=oci.DOCKER_MANIFEST)
    assert (r.status, r.error) == (400, "MANIFEST_INVALID")
    push_blob(app, "team/app", layer)
    r = send(app, "PUT", f"/v2/team/app/manifests/{digest(b'other')}", raw, content_type=oci.DOCKER_MANIFEST)
    assert (r.status, r.error) == (400, "DIGEST_INVALID")
    r = send(app, "PUT", "/v2/team/app/manifests/-bad-tag", raw, content_type=oci.DOCKER_MANIFEST)
    assert (r.status, r.error) == (400, "TAG_INVALID")
    r = send(app, "PUT", f"/v2/team/app/manifests/{digest(raw)}", raw, content_type=oci.DOCKER_MANIFEST)
    assert r.status == 201  # by digest: untagged image
    assert send(app, "GET", "/v2/team/app/tags/list").json()["tags"] == []


def test_immutable_tags_cannot_move(app: App) -> None:
    control(app, "PutImageTagMutability", repositoryName="team/app", imageTagMutability="IMMUTABLE")
    d1, _ = push_image(app, "team/app", "v1", b"first")
    d1_again, _ = push_image(app, "team/app", "v1", b"first")  # same image: fine
    assert d1_again == d1
    config = b"{}"
    push_blob(app, "team/app", config)
    push_blob(app, "team/app", b"second")
    raw = manifest_for(config, [b"second"])
    r = send(app, "PUT", "/v2/team/app/manifests/v1", raw, content_type=oci.DOCKER_MANIFEST)
    assert (r.status, r.error) == (400, "TAG_INVALID")
    assert "cannot be overwritten because the tag is immutable" in r.json()["errors"][0]["message"]
    assert send(app, "GET", "/v2/team/app/manifests/v1").headers.get("docker-content-digest") == d1


def test_index_needs_its_children_and_guards_them(app: App) -> None:
    child, raw_child = push_image(app, "team/app", "amd64")
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_INDEX,
            "manifests": [{"mediaType": oci.DOCKER_MANIFEST, "size": len(raw_child), "digest": child}],
        }
    ).encode()
    missing = index.replace(child.encode(), digest(b"zzz").encode())
    r = send(app, "PUT", "/v2/team/app/manifests/multi", missing, content_type=oci.OCI_INDEX)
    assert r.error == "MANIFEST_BLOB_UNKNOWN"
    r = send(app, "PUT", "/v2/team/app/manifests/multi", index, content_type=oci.OCI_INDEX)
    assert r.status == 201
    assert send(app, "DELETE", f"/v2/team/app/manifests/{child}").status == 403
    assert send(app, "DELETE", f"/v2/team/app/manifests/{r.headers.get('docker-content-digest')}").status == 202
    assert send(app, "DELETE", f"/v2/team/app/manifests/{child}").status == 202
    assert send(app, "GET", "/v2/team/app/manifests/amd64").error == "MANIFEST_UNKNOWN"


def test_pagination_of_tags(app: App) -> None:
    for tag in ("a", "b", "c"):
        push_image(app, "team/app", tag)
    r = send(app, "GET", "/v2/team/app/tags/list?n=2")
    assert r.json()["tags"] == ["a", "b"]
    assert r.headers.get("link") == '</v2/team/app/tags/list?n=2&last=b>; rel="next"'
    assert send(app, "GET", "/v2/team/app/tags/list?n=2&last=b").json()["tags"] == ["c"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def token(app: App) -> str:
    data = control(app, "GetAuthorizationToken")["authorizationData"][0]
    return base64.b64decode(data["authorizationToken"]).decode()


def test_optional_auth_serves_anonymous_but_checks_sent_credentials(app: App) -> None:
    assert send(app, "GET", "/v2/").status == 200
    user, _, password = token(app).partition(":")
    assert send(app, "GET", "/v2/", authorization=basic(user, password)).status == 200
    bad = send(app, "GET", "/v2/", authorization=basic("AWS", "wrong"))
    assert (bad.status, bad.error) == (401, "UNAUTHORIZED")
    assert bad.headers.get("www-authenticate") == 'Basic realm="gureum"'


def test_required_auth(tmp_path: Path) -> None:
    app = make_app(tmp_path, ecr_auth="required")
    control(app, "CreateRepository", repositoryName="locked")
    r = send(app, "GET", "/v2/")
    assert r.status == 401 and r.headers.get("www-authenticate") == 'Basic realm="gureum"'
    assert send(app, "GET", "/v2/locked/tags/list").status == 401
    user, _, password = token(app).partition(":")
    ok = basic(user, password)
    assert send(app, "GET", "/v2/", authorization=ok).status == 200
    assert send(app, "GET", "/v2/locked/tags/list", authorization=ok).status == 200
    assert send(app, "GET", "/v2/", authorization=basic("someone", password)).status == 401
    assert send(app, "GET", "/v2/", authorization=basic("AWS", password[:-1] + ("1" if password[-1] == "0" else "0"))).status == 401
    asyncio.run(app.clock.advance(12 * 3600 + 1))  # type: ignore[attr-defined]
    assert send(app, "GET", "/v2/", authorization=ok).status == 401  # expired
    app.store.close()


def test_reset_removes_files(app: App, tmp_path: Path) -> None:
    d = push_blob(app, "team/app", b"to be forgotten")
    app.reset()
    assert not (tmp_path / "ecr" / "blobs" / "sha256" / d.split(":")[1]).exists()
