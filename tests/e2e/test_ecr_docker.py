"""The real docker CLI against Gureum's registry: login, push, pull, run.

Skipped (with the reason) only when no Docker engine answers.  Images are
made here with ``docker import`` of a tar holding one unique file, so the
pull really has to fetch the layer from Gureum; ``gureum/busybox`` (built by
.ci/setup-docker.sh) is pushed and run too when present.
"""

from __future__ import annotations

import base64
import io
import subprocess
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import Server, start_server, stop_server


def _engine_answers() -> str:
    try:
        res = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker CLI unusable: {exc}"
    return "" if res.returncode == 0 else f"no Docker engine answers: {res.stderr.strip()[:200]}"


_WHY_NOT = _engine_answers()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(_WHY_NOT), reason=_WHY_NOT or "engine answers")]


class Docker:
    """The docker CLI with its own config dir (logins stay out of ~/.docker)."""

    def __init__(self, config: Path) -> None:
        config.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.made: list[str] = []

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            ["docker", "--config", str(self.config), *args], input=stdin, capture_output=True, text=True, timeout=60
        )
        if check and res.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({res.returncode}): {res.stdout}\n{res.stderr}")
        return res

    def login(self, registry: str, password: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("login", "-u", "AWS", "--password-stdin", registry, stdin=password, check=check)

    def import_image(self, ref: str, token: str) -> None:
        """A one-file image whose layer exists nowhere but here."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = token.encode()
            info = tarfile.TarInfo("token.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        res = subprocess.run(
            ["docker", "--config", str(self.config), "import", "-", ref], input=buf.getvalue(), capture_output=True, timeout=60
        )
        assert res.returncode == 0, res.stderr
        self.made.append(ref)
        self.made.append(res.stdout.decode().strip())  # the id: a retagged import is left untagged

    def read_file(self, ref: str, path: str) -> str:
        cid = self.run("create", ref, "/nothing-to-run").stdout.strip()
        try:
            out = subprocess.run(["docker", "cp", f"{cid}:{path}", "-"], capture_output=True, timeout=60, check=True).stdout
        finally:
            self.run("rm", "-f", cid, check=False)
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            member = tar.extractfile(path.lstrip("/"))
            assert member is not None
            return member.read().decode()

    def cleanup(self) -> None:
        for ref in self.made:
            self.run("rmi", "-f", ref, check=False)


@pytest.fixture
def docker(tmp_path: Path) -> Iterator[Docker]:
    d = Docker(tmp_path / "docker-config")
    yield d
    d.cleanup()


def ecr_client(endpoint: str) -> Any:
    return boto3.client(
        "ecr", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def password_of(ecr: Any) -> str:
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().split(":", 1)[1]


def test_login_push_pull(server: Server, client: Callable[..., Any], docker: Docker) -> None:
    ecr = client("ecr")
    name = f"e2e/docker-{uuid.uuid4().hex[:8]}"
    uri = ecr.create_repository(repositoryName=name)["repository"]["repositoryUri"]
    registry = uri.split("/", 1)[0]
    assert "Login Succeeded" in docker.login(registry, password_of(ecr)).stdout

    token = uuid.uuid4().hex
    docker.import_image(f"{uri}:v1", token)
    pushed = docker.run("push", f"{uri}:v1").stdout
    digest = next(w for w in pushed.split() if w.startswith("sha256:"))
    details = ecr.describe_images(repositoryName=name)["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in details] == [(digest, ["v1"])]

    docker.run("rmi", f"{uri}:v1")
    pulled = docker.run("pull", f"{uri}:v1").stdout
    assert digest in pulled
    assert docker.read_file(f"{uri}:v1", "/token.txt") == token
    assert "lastRecordedPullTime" in ecr.describe_images(repositoryName=name)["imageDetails"][0]

    # Same image, second tag: no layer uploaded again, both tags listed.
    docker.run("tag", f"{uri}:v1", f"{uri}:latest")
    docker.made.append(f"{uri}:latest")
    docker.run("push", f"{uri}:latest")
    tags = ecr.describe_images(repositoryName=name)["imageDetails"][0]["imageTags"]
    assert sorted(tags) == ["latest", "v1"]
    docker.run("logout", registry)
    ecr.delete_repository(repositoryName=name, force=True)


def test_busybox_runs_from_the_registry(server: Server, client: Callable[..., Any], docker: Docker) -> None:
    if docker.run("image", "inspect", "gureum/busybox:latest", check=False).returncode != 0:
        pytest.skip("gureum/busybox is not built (.ci/setup-docker.sh builds it)")
    ecr = client("ecr")
    name = f"e2e/busybox-{uuid.uuid4().hex[:8]}"
    uri = ecr.create_repository(repositoryName=name)["repository"]["repositoryUri"]
    docker.run("tag", "gureum/busybox:latest", f"{uri}:1")
    docker.made.append(f"{uri}:1")
    docker.run("push", f"{uri}:1")
    docker.run("rmi", f"{uri}:1")
    docker.run("pull", f"{uri}:1")  # anonymous pull, as ECS tasks do
    assert docker.run("run", "--rm", f"{uri}:1", "echo", "hello from ecr").stdout.strip() == "hello from ecr"
    ecr.delete_repository(repositoryName=name, force=True)


def test_immutable_tag_push_is_refused(server: Server, client: Callable[..., Any], docker: Docker) -> None:
    ecr = client("ecr")
    name = f"e2e/immutable-{uuid.uuid4().hex[:8]}"
    uri = ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")["repository"]["repositoryUri"]
    docker.import_image(f"{uri}:v1", "first")
    docker.run("push", f"{uri}:v1")
    docker.import_image(f"{uri}:v1", "second")
    res = docker.run("push", f"{uri}:v1", check=False)
    assert res.returncode != 0
    assert "cannot be overwritten because the tag is immutable" in res.stderr + res.stdout
    ecr.delete_repository(repositoryName=name, force=True)


def test_required_auth_makes_docker_login_check_the_password(tmp_path: Path, docker: Docker) -> None:
    srv = start_server(tmp_path / "data", env={"GUREUM_ECR_AUTH": "required"})
    try:
        ecr = ecr_client(srv.endpoint)
        uri = ecr.create_repository(repositoryName="locked/app")["repository"]["repositoryUri"]
        registry = uri.split("/", 1)[0]
        docker.import_image(f"{uri}:v1", uuid.uuid4().hex)
        denied = docker.run("push", f"{uri}:v1", check=False)
        assert denied.returncode != 0 and "basic auth" in (denied.stderr + denied.stdout).lower()
        wrong = docker.login(registry, "not-the-password", check=False)
        assert wrong.returncode != 0 and "401" in wrong.stderr + wrong.stdout
        assert "Login Succeeded" in docker.login(registry, password_of(ecr)).stdout
        docker.run("push", f"{uri}:v1")
        assert ecr.list_images(repositoryName="locked/app")["imageIds"][0]["imageTag"] == "v1"
        docker.run("logout", registry)
    finally:
        stop_server(srv)
