"""ECR control-plane handlers over a real App and store (no HTTP)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.ecr import auth, oci, records
from gureum.services.ecr.blobs import files_for
from gureum.settings import Settings

NOW = 1_700_000_000.0
SCOPE = Scope("000000000000", "us-east-1")
POLICY = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "keep ten",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
                "action": {"type": "expire"},
            }
        ]
    }
)

Call = Callable[..., dict[str, Any]]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path), port=4599), clock=SimClock(NOW))
    yield a
    a.store.close()


@pytest.fixture
def call(app: App) -> Call:
    api = app.service_api("ecr")
    assert api is not None

    def run(op: str, **req: Any) -> dict[str, Any]:
        ctx = RequestContext("ecr", op, SCOPE.account, SCOPE.region, "rid", app)
        return api.handlers[op](ctx, req)  # type: ignore[return-value]

    return run


def error(call: Call, op: str, **req: Any) -> str:
    with pytest.raises(ServiceError) as e:
        call(op, **req)
    return e.value.code


def push(app: App, repo: str, tag: str | None, layer: bytes) -> str:
    """Record an image as the registry would (blobs linked, manifest stored)."""
    config = b"{}" + layer
    for blob in (config, layer):
        records.link_blob(app.store, SCOPE, repo, oci.sha256_digest(blob), len(blob))
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci.DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": oci.sha256_digest(config)},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer), "digest": oci.sha256_digest(layer)}],
        }
    ).encode()
    repo_doc = records.get_repo(app.store, SCOPE, repo)
    assert repo_doc is not None
    m = oci.parse_manifest(raw, None)
    records.store_manifest(app.store, SCOPE, repo_doc, m, raw, tag, app.clock.now())
    return m.digest


def retag(app: App, repo: str, digest: str, tag: str) -> None:
    image = records.get_image(app.store, SCOPE, repo, digest)
    repo_doc = records.get_repo(app.store, SCOPE, repo)
    assert image is not None and repo_doc is not None
    raw = image["manifest"].encode()
    records.store_manifest(app.store, SCOPE, repo_doc, oci.parse_manifest(raw, None), raw, tag, NOW)


def test_create_and_describe_repository(call: Call) -> None:
    repo = call("CreateRepository", repositoryName="team/web", tags=[{"Key": "env", "Value": "dev"}])["repository"]
    assert repo["repositoryUri"] == "127.0.0.1:4599/team/web"
    assert repo["repositoryArn"] == "arn:aws:ecr:us-east-1:000000000000:repository/team/web"
    assert repo["registryId"] == "000000000000"
    assert repo["imageTagMutability"] == "MUTABLE" and repo["createdAt"] == NOW
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert error(call, "CreateRepository", repositoryName="team/web") == "RepositoryAlreadyExistsException"
    for bad in ("UPPER", "a", "x//y", "-x"):
        assert error(call, "CreateRepository", repositoryName=bad) == "InvalidParameterException"
    got = call("DescribeRepositories", repositoryNames=["team/web"])["repositories"]
    assert got == [repo]
    assert error(call, "DescribeRepositories", repositoryNames=["nope"]) == "RepositoryNotFoundException"
    assert call("ListTagsForResource", resourceArn=repo["repositoryArn"])["tags"] == [{"Key": "env", "Value": "dev"}]


def test_describe_repositories_pages(call: Call) -> None:
    for i in range(5):
        call("CreateRepository", repositoryName=f"repo{i}")
    first = call("DescribeRepositories", maxResults=2)
    assert [r["repositoryName"] for r in first["repositories"]] == ["repo0", "repo1"]
    names = []
    token = None
    while True:
        page = call("DescribeRepositories", maxResults=2, **({"nextToken": token} if token else {}))
        names += [r["repositoryName"] for r in page["repositories"]]
        token = page.get("nextToken")
        if not token:
            break
    assert names == [f"repo{i}" for i in range(5)]
    assert error(call, "DescribeRepositories", nextToken="!!garbage") == "InvalidParameterException"


def test_delete_repository_needs_force_and_collects_blob_files(app: App, call: Call) -> None:
    call("CreateRepository", repositoryName="full")
    call("CreateRepository", repositoryName="keeper")
    files = files_for(app.data_path)
    blob_dir = app.data_path / "ecr" / "blobs" / "sha256"
    blob_dir.mkdir(parents=True)
    push(app, "full", "v1", b"only here")
    push(app, "keeper", "v1", b"shared")
    push(app, "full", "v2", b"shared")
    for blob in (b"only here", b"shared"):
        (blob_dir / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    assert error(call, "DeleteRepository", repositoryName="full") == "RepositoryNotEmptyException"
    out = call("DeleteRepository", repositoryName="full", force=True)
    assert out["repository"]["repositoryName"] == "full"
    assert not files.exists(oci.sha256_digest(b"only here"))
    assert files.exists(oci.sha256_digest(b"shared"))  # keeper still holds it
    assert error(call, "DescribeRepositories", repositoryNames=["full"]) == "RepositoryNotFoundException"
    assert error(call, "DeleteRepository", repositoryName="full") == "RepositoryNotFoundException"
    call("CreateRepository", repositoryName="empty")
    call("DeleteRepository", repositoryName="empty")


def test_authorization_token(app: App, call: Call) -> None:
    data = call("GetAuthorizationToken")["authorizationData"]
    assert len(data) == 1
    assert data[0]["proxyEndpoint"] == "http://127.0.0.1:4599"
    assert data[0]["expiresAt"] == NOW + 12 * 3600
    user, _, password = base64.b64decode(data[0]["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    key = auth.token_key(app.data_path)
    assert auth.check_password(key, password, NOW) == SCOPE
    assert auth.check_password(key, password, NOW + 12 * 3600) is None
    assert auth.check_password(key, password.replace("gureum1", "gureum2"), NOW) is None


def test_images_seen_by_describe_list_and_batch_get(app: App, call: Call) -> None:
    call("CreateRepository", repositoryName="web")
    d1 = push(app, "web", "v1", b"one")
    d2 = push(app, "web", None, b"two")
    retag(app, "web", d1, "latest")
    details = call("DescribeImages", repositoryName="web")["imageDetails"]
    by_digest = {d["imageDigest"]: d for d in details}
    assert by_digest[d1]["imageTags"] == ["latest", "v1"]
    assert "imageTags" not in by_digest[d2]
    assert by_digest[d1]["imageSizeInBytes"] == len(b"{}one") + len(b"one")
    assert by_digest[d1]["imageManifestMediaType"] == oci.DOCKER_MANIFEST
    assert by_digest[d1]["imagePushedAt"] == NOW
    tagged = call("DescribeImages", repositoryName="web", filter={"tagStatus": "TAGGED"})["imageDetails"]
    assert [d["imageDigest"] for d in tagged] == [d1]
    one = call("DescribeImages", repositoryName="web", imageIds=[{"imageTag": "v1"}])["imageDetails"]
    assert [d["imageDigest"] for d in one] == [d1]
    assert error(call, "DescribeImages", repositoryName="web", imageIds=[{"imageTag": "nope"}]) == "ImageNotFoundException"
    listed = call("ListImages", repositoryName="web")["imageIds"]
    assert sorted(listed, key=str) == sorted(
        [{"imageDigest": d1, "imageTag": "latest"}, {"imageDigest": d1, "imageTag": "v1"}, {"imageDigest": d2}], key=str
    )
    assert call("ListImages", repositoryName="web", filter={"tagStatus": "UNTAGGED"})["imageIds"] == [{"imageDigest": d2}]
    page = call("ListImages", repositoryName="web", maxResults=2)
    assert len(page["imageIds"]) == 2 and page["nextToken"]
    got = call(
        "BatchGetImage",
        repositoryName="web",
        imageIds=[{"imageTag": "v1"}, {"imageDigest": d2}, {"imageTag": "gone"}, {"imageTag": "v1", "imageDigest": d2}, {}],
    )
    assert [i["imageId"] for i in got["images"]] == [{"imageDigest": d1, "imageTag": "v1"}, {"imageDigest": d2}]
    assert json.loads(got["images"][0]["imageManifest"])["schemaVersion"] == 2
    assert [f["failureCode"] for f in got["failures"]] == ["ImageNotFound", "ImageTagDoesNotMatchDigest", "MissingDigestAndTag"]
    assert error(call, "ListImages", repositoryName="nope") == "RepositoryNotFoundException"


def test_batch_delete_image(app: App, call: Call) -> None:
    call("CreateRepository", repositoryName="web")
    d1 = push(app, "web", "v1", b"one")
    d2 = push(app, "web", "v2", b"two")
    retag(app, "web", d2, "stable")
    out = call(
        "BatchDeleteImage",
        repositoryName="web",
        imageIds=[{"imageTag": "v1"}, {"imageDigest": d2}, {"imageTag": "ghost"}, {"imageDigest": "bad"}],
    )
    assert {json.dumps(i, sort_keys=True) for i in out["imageIds"]} == {
        json.dumps(i, sort_keys=True)
        for i in [{"imageDigest": d1, "imageTag": "v1"}, {"imageDigest": d2, "imageTag": "stable"}, {"imageDigest": d2, "imageTag": "v2"}]
    }
    assert [f["failureCode"] for f in out["failures"]] == ["ImageNotFound", "InvalidImageDigest"]
    assert out["failures"][0]["failureReason"] == "Requested image not found"
    assert call("ListImages", repositoryName="web")["imageIds"] == []  # last tag of d1 took the image


def test_put_image_retags(app: App, call: Call) -> None:
    call("CreateRepository", repositoryName="web", imageTagMutability="IMMUTABLE")
    d1 = push(app, "web", "v1", b"one")
    manifest = call("BatchGetImage", repositoryName="web", imageIds=[{"imageTag": "v1"}])["images"][0]["imageManifest"]
    out = call("PutImage", repositoryName="web", imageManifest=manifest, imageTag="prod")
    assert out["image"]["imageId"] == {"imageDigest": d1, "imageTag": "prod"}
    assert error(call, "PutImage", repositoryName="web", imageManifest=manifest, imageTag="prod") == "ImageAlreadyExistsException"
    d2 = push(app, "web", None, b"two")
    other = records.get_image(app.store, SCOPE, "web", d2)["manifest"]
    assert error(call, "PutImage", repositoryName="web", imageManifest=other, imageTag="prod") == "ImageTagAlreadyExistsException"
    missing = json.loads(other)
    missing["layers"][0]["digest"] = oci.sha256_digest(b"never")
    assert error(call, "PutImage", repositoryName="web", imageManifest=json.dumps(missing), imageTag="x") == "LayersNotFoundException"
    assert error(call, "PutImage", repositoryName="web", imageManifest="nope", imageTag="x") == "InvalidParameterException"


def test_tag_mutability_setting(call: Call) -> None:
    call("CreateRepository", repositoryName="web")
    out = call("PutImageTagMutability", repositoryName="web", imageTagMutability="IMMUTABLE")
    assert out == {"registryId": "000000000000", "repositoryName": "web", "imageTagMutability": "IMMUTABLE"}
    assert call("DescribeRepositories", repositoryNames=["web"])["repositories"][0]["imageTagMutability"] == "IMMUTABLE"
    assert error(call, "PutImageTagMutability", repositoryName="web", imageTagMutability="IMMUTABLE_WITH_EXCLUSION") == "InvalidParameterException"
    assert error(call, "PutImageTagMutability", repositoryName="nope", imageTagMutability="MUTABLE") == "RepositoryNotFoundException"


def test_lifecycle_policy(call: Call) -> None:
    call("CreateRepository", repositoryName="web")
    assert error(call, "GetLifecyclePolicy", repositoryName="web") == "LifecyclePolicyNotFoundException"
    assert error(call, "PutLifecyclePolicy", repositoryName="web", lifecyclePolicyText="{" + " " * 100) == "InvalidParameterException"
    assert call("PutLifecyclePolicy", repositoryName="web", lifecyclePolicyText=POLICY)["lifecyclePolicyText"] == POLICY
    assert call("GetLifecyclePolicy", repositoryName="web")["lifecyclePolicyText"] == POLICY
    assert call("DeleteLifecyclePolicy", repositoryName="web")["lifecyclePolicyText"] == POLICY
    assert error(call, "DeleteLifecyclePolicy", repositoryName="web") == "LifecyclePolicyNotFoundException"


def test_tags(call: Call) -> None:
    arn = call("CreateRepository", repositoryName="web")["repository"]["repositoryArn"]
    call("TagResource", resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    call("UntagResource", resourceArn=arn, tagKeys=["a"])
    assert call("ListTagsForResource", resourceArn=arn)["tags"] == [{"Key": "b", "Value": "2"}]
    assert error(call, "ListTagsForResource", resourceArn=arn.replace("web", "nope")) == "RepositoryNotFoundException"
    assert error(call, "ListTagsForResource", resourceArn="not-an-arn") == "InvalidParameterException"
