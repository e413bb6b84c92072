"""CodeBuild's public functions, as CodePipeline calls them, on an in-process App (process driver)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.codebuild import public
from gureum.services.s3.public import put_object_bytes, read_object
from gureum.settings import Settings

SCOPE = Scope("000000000000", "us-east-1")
BUILDSPEC = """\
version: 0.2
env:
  exported-variables: [IMAGE_TAG]
phases:
  build:
    commands:
      - export IMAGE_TAG="v-$STAGE"
      - cat input.txt > out.txt
      - echo "$IMAGE_TAG" >> out.txt
artifacts:
  files: [out.txt]
"""


def call(app: App, service: str, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api(service)
    assert api is not None
    ctx = RequestContext(service, op, SCOPE.account, SCOPE.region, "test", app)
    out = api.handlers[op](ctx, req)
    assert isinstance(out, dict)
    return out


async def wait(app: App, build_id: str, timeout: float = 20.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        build = public.get_build(app, SCOPE, build_id)
        assert build is not None
        if build["buildComplete"]:
            return build
        assert loop.time() < deadline, build["currentPhase"]
        await asyncio.sleep(0.05)


def source_zip(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("buildspec.yml", BUILDSPEC)
        zf.writestr("input.txt", "pipeline input\n")
    path.write_bytes(buf.getvalue())
    return path


def test_pipeline_build_from_a_zip_path_to_a_pipeline_artifact(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = App(Settings(data_dir=str(tmp_path / "data"), runtime="process"))
        await app.start()
        try:
            call(app, "s3", "CreateBucket", Bucket="artifact-store")
            call(
                app, "codebuild", "CreateProject", name="pipe-build",
                source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
                environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
                serviceRole="arn:aws:iam::000000000000:role/x",
            )  # fmt: skip
            with pytest.raises(ServiceError) as info:  # only CodePipeline starts these
                call(app, "codebuild", "StartBuild", projectName="pipe-build")
            assert info.value.code == "InvalidInputException"

            build_id = public.start_build(
                app, SCOPE, "pipe-build",
                source_zip_path=source_zip(tmp_path / "in.zip"),
                env_overrides={"STAGE": "beta"},
                artifact_s3=("artifact-store", "pipe/BuildArtif/abc123"),
                initiator="codepipeline/my-pipeline",
            )  # fmt: skip
            build = await wait(app, build_id)
            assert build["buildStatus"] == "SUCCEEDED", build["phases"]
            assert build["initiator"] == "codepipeline/my-pipeline"
            assert build["exportedEnvironmentVariables"] == [{"name": "IMAGE_TAG", "value": "v-beta"}]
            assert build["artifacts"]["location"] == "arn:aws:s3:::artifact-store/pipe/BuildArtif/abc123"
            with zipfile.ZipFile(io.BytesIO(read_object(app, "artifact-store", "pipe/BuildArtif/abc123"))) as zf:
                assert zf.read("out.txt") == b"pipeline input\nv-beta\n"

            # an input artifact in S3 works the same; a missing one fails at DOWNLOAD_SOURCE
            put_object_bytes(app, "artifact-store", "pipe/SourceArti/in.zip", source_zip(tmp_path / "in2.zip").read_bytes())
            build = await wait(app, public.start_build(app, SCOPE, "pipe-build", source_s3="artifact-store/pipe/SourceArti/in.zip"))
            assert build["buildStatus"] == "SUCCEEDED"
            build = await wait(app, public.start_build(app, SCOPE, "pipe-build", source_zip_path=tmp_path / "missing.zip"))
            assert build["buildStatus"] == "FAILED"
            assert build["phases"][3]["contexts"][0]["statusCode"] == "CLIENT_ERROR"

            long = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n"
            build_id = public.start_build(app, SCOPE, "pipe-build", source_zip_path=tmp_path / "in.zip", buildspec_override=long)
            while (public.get_build(app, SCOPE, build_id) or {}).get("currentPhase") != "BUILD":
                await asyncio.sleep(0.05)
            public.stop_build(app, SCOPE, build_id)
            assert (await wait(app, build_id))["buildStatus"] == "STOPPED"
            assert public.get_build(app, SCOPE, "pipe-build:unknown") is None
        finally:
            await app.stop()

    asyncio.run(scenario())


def test_list_projects_pages_by_100(tmp_path: Path) -> None:
    app = App(Settings(data_dir=str(tmp_path / "data"), runtime="process"))
    env = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}
    for i in range(105):
        call(
            app, "codebuild", "CreateProject", name=f"proj-{i:03d}", source={"type": "NO_SOURCE", "buildspec": "version: 0.2\n"},
            artifacts={"type": "NO_ARTIFACTS"}, environment=env, serviceRole="arn:aws:iam::000000000000:role/x",
        )  # fmt: skip
    first = call(app, "codebuild", "ListProjects", sortBy="NAME", sortOrder="DESCENDING")
    assert len(first["projects"]) == 100 and first["projects"][0] == "proj-104"
    rest = call(app, "codebuild", "ListProjects", sortBy="NAME", sortOrder="DESCENDING", nextToken=first["nextToken"])
    assert rest["projects"] == ["proj-004", "proj-003", "proj-002", "proj-001", "proj-000"] and "nextToken" not in rest
    with pytest.raises(ServiceError) as info:
        call(app, "codebuild", "ListProjects", nextToken="garbage")
    assert info.value.code == "InvalidInputException"
    app.store.close()
