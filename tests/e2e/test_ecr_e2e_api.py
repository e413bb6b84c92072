"""ECR against a real server: boto3 for the control plane, raw HTTP (urllib)
for the registry's error paths and a push by hand that the API then sees.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import Server

pytestmark = pytest.mark.e2e

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


class Reply:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def error(self) -> str:
        return str(json.loads(self.body)["errors"][0]["code"])


def http(server: Server, method: str, path: str, body: bytes | None = None, **headers: str) -> Reply:
    req = urllib.request.Request(
        server.endpoint + path, data=body, method=method, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers, err.read())


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def ecr(client: Callable[..., Any]) -> Any:
    return client("ecr")


def test_repository_lifecycle(ecr: Any, server: Server) -> None:
    name = unique("e2e/api")
    repo = ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")["repository"]
    assert repo["repositoryUri"] == f"127.0.0.1:{server.port}/{name}"
    assert repo["imageTagMutability"] == "IMMUTABLE"
    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName=name)
    assert code(e) == "RepositoryAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName="Not/Valid")
    assert code(e) == "InvalidParameterException"
    got = ecr.describe_repositories(repositoryNames=[name])["repositories"]
    assert [r["repositoryArn"] for r in got] == [repo["repositoryArn"]]
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=[unique("missing")])
    assert code(e) == "RepositoryNotFoundException"
    ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability="MUTABLE")
    assert ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["imageTagMutability"] == "MUTABLE"
    ecr.delete_repository(repositoryName=name)
    with pytest.raises(ClientError) as e:
        ecr.delete_repository(repositoryName=name)
    assert code(e) == "RepositoryNotFoundException"


def test_describe_repositories_paginator(ecr: Any) -> None:
    prefix = unique("e2e/page")
    names = [f"{prefix}/r{i}" for i in range(5)]
    for n in names:
        ecr.create_repository(repositoryName=n)
    seen = [
        r["repositoryName"]
        for p in ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 2})
        for r in p["repositories"]
    ]
    assert [s for s in seen if s.startswith(prefix)] == names
    for n in names:
        ecr.delete_repository(repositoryName=n)


def test_authorization_token_and_lifecycle_policy(ecr: Any, server: Server) -> None:
    data = ecr.get_authorization_token()["authorizationData"][0]
    assert data["proxyEndpoint"] == server.endpoint
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password
    auth = "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()
    assert http(server, "GET", "/v2/", authorization=auth).status == 200
    name = unique("e2e/lc")
    ecr.create_repository(repositoryName=name)
    with pytest.raises(ClientError) as e:
        ecr.get_lifecycle_policy(repositoryName=name)
    assert code(e) == "LifecyclePolicyNotFoundException"
    policy = json.dumps(
        {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}, "action": {"type": "expire"}}]}
    )
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=policy)
    assert ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"] == policy
    ecr.delete_lifecycle_policy(repositoryName=name)
    ecr.delete_repository(repositoryName=name)


def push_by_hand(server: Server, name: str, tag: str, layer: bytes) -> tuple[str, bytes]:
    """A push as the distribution spec describes it: chunked layer, monolithic config, manifest."""
    start = http(server, "POST", f"/v2/{name}/blobs/uploads/", b"")
    assert start.status == 202, start.body
    loc = start.headers["Location"]
    half = len(layer) // 2
    r = http(server, "PATCH", loc, layer[:half], content_range=f"0-{half - 1}", content_type="application/octet-stream")
    assert r.status == 202 and r.headers["Range"] == f"0-{half - 1}"
    r = http(server, "PUT", f"{loc}?digest={sha(layer)}", layer[half:], content_type="application/octet-stream")
    assert r.status == 201 and r.headers["Docker-Content-Digest"] == sha(layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    r = http(server, "POST", f"/v2/{name}/blobs/uploads/?digest={sha(config)}", config, content_type="application/octet-stream")
    assert r.status == 201
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": sha(config)},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer), "digest": sha(layer)}],
        }
    ).encode()
    r = http(server, "PUT", f"/v2/{name}/manifests/{tag}", manifest, content_type=DOCKER_MANIFEST)
    assert r.status == 201, r.body
    return r.headers["Docker-Content-Digest"], manifest


def test_image_pushed_over_http_is_seen_by_the_api(ecr: Any, server: Server) -> None:
    name = unique("e2e/raw")
    ecr.create_repository(repositoryName=name)
    layer = bytes(range(256)) * 1000
    digest, manifest = push_by_hand(server, name, "v1", layer)
    assert digest == sha(manifest)
    r = http(server, "GET", f"/v2/{name}/blobs/{sha(layer)}")
    assert r.status == 200 and r.body == layer
    r = http(server, "GET", f"/v2/{name}/manifests/v1", accept=DOCKER_MANIFEST)
    assert r.body == manifest and r.headers["Content-Type"] == DOCKER_MANIFEST
    details = ecr.describe_images(repositoryName=name)["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"], d["imageManifestMediaType"]) for d in details] == [(digest, ["v1"], DOCKER_MANIFEST)]
    assert details[0]["imageSizeInBytes"] == len(layer) + json.loads(manifest)["config"]["size"]
    assert ecr.list_images(repositoryName=name)["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    got = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "v1"}, {"imageTag": "nope"}])
    assert got["images"][0]["imageManifest"] == manifest.decode()
    assert got["images"][0]["imageManifestMediaType"] == DOCKER_MANIFEST
    assert got["failures"][0]["failureCode"] == "ImageNotFound"
    assert http(server, "GET", f"/v2/{name}/tags/list").body == json.dumps({"name": name, "tags": ["v1"]}).encode()
    with pytest.raises(ClientError) as e:
        ecr.delete_repository(repositoryName=name)
    assert code(e) == "RepositoryNotEmptyException"
    out = ecr.batch_delete_image(repositoryName=name, imageIds=[{"imageDigest": digest}, {"imageTag": "ghost"}])
    assert out["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    assert [f["failureCode"] for f in out["failures"]] == ["ImageNotFound"]
    assert http(server, "GET", f"/v2/{name}/manifests/v1").error == "MANIFEST_UNKNOWN"
    ecr.delete_repository(repositoryName=name, force=True)


def test_registry_error_paths(ecr: Any, server: Server) -> None:
    name = unique("e2e/err")
    ecr.create_repository(repositoryName=name)
    # Wrong digest on PUT: refused, nothing stored.
    loc = http(server, "POST", f"/v2/{name}/blobs/uploads/", b"").headers["Location"]
    r = http(server, "PUT", f"{loc}?digest={sha(b'claimed')}", b"actual", content_type="application/octet-stream")
    assert (r.status, r.error) == (400, "DIGEST_INVALID")
    assert http(server, "HEAD", f"/v2/{name}/blobs/{sha(b'claimed')}").status == 404
    assert http(server, "HEAD", f"/v2/{name}/blobs/{sha(b'actual')}").status == 404
    # A manifest referring to a blob never pushed.
    ghost = {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3, "digest": sha(b"ghost")}
    manifest = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": ghost, "layers": [ghost]}).encode()
    r = http(server, "PUT", f"/v2/{name}/manifests/v1", manifest, content_type=DOCKER_MANIFEST)
    assert (r.status, r.error) == (400, "MANIFEST_BLOB_UNKNOWN")
    r = http(server, "PUT", f"/v2/{name}/manifests/v1", b"<xml/>", content_type=DOCKER_MANIFEST)
    assert (r.status, r.error) == (400, "MANIFEST_INVALID")
    # An unknown repository.
    r = http(server, "POST", f"/v2/{unique('e2e/none')}/blobs/uploads/", b"")
    assert (r.status, r.error) == (404, "NAME_UNKNOWN")
    r = http(server, "GET", f"/v2/{name}/manifests/latest")
    assert (r.status, r.error) == (404, "MANIFEST_UNKNOWN")
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    # Bad credentials are refused even where anonymous access is allowed.
    bad = "Basic " + base64.b64encode(b"AWS:not-a-token").decode()
    r = http(server, "GET", "/v2/", authorization=bad)
    assert (r.status, r.error) == (401, "UNAUTHORIZED")
    assert r.headers["WWW-Authenticate"] == 'Basic realm="gureum"'
    ecr.delete_repository(repositoryName=name, force=True)
