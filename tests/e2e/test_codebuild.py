"""CodeBuild end to end with boto3: builds really run (process driver, ``--time-scale 60``).

One server for the module, started with ``--runtime process --time-scale 60``
so a 5-minute build timeout passes in 5 real seconds.  Sources are zips in
S3; builds are watched with bounded polling of BatchGetBuilds.
"""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e

IMAGE = "aws/codebuild/standard:7.0"
ENV = {"type": "LINUX_CONTAINER", "image": IMAGE, "computeType": "BUILD_GENERAL1_SMALL"}
ROLE = "arn:aws:iam::000000000000:role/codebuild"


@pytest.fixture(scope="module")
def cb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("codebuild") / "data", "--runtime", "process", "--time-scale", "60")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def aws(cb_server: Server) -> Callable[[str], Any]:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    clients: dict[str, Any] = {}

    def make(name: str) -> Any:
        if name not in clients:
            cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
            clients[name] = session.client(name, endpoint_url=cb_server.endpoint, config=cfg)
        return clients[name]

    return make


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 if name.endswith(".sh") else 0o644) << 16
            zf.writestr(info, text)
    return buf.getvalue()


def wait_build(cb: Any, build_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        build = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            return dict(build)
        if time.monotonic() > deadline:
            raise AssertionError(f"build {build_id} not complete after {timeout}s: {build['currentPhase']}")
        time.sleep(0.05)


def wait_phase(cb: Any, build_id: str, phase: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while cb.batch_get_builds(ids=[build_id])["builds"][0]["currentPhase"] != phase:
        if time.monotonic() > deadline:
            raise AssertionError(f"build {build_id} never reached {phase}")
        time.sleep(0.05)


def log_lines(logs: Any, build: dict[str, Any]) -> list[str]:
    events = logs.get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"], startFromHead=True
    )["events"]
    return [e["message"] for e in events]


def phases(build: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(p["phaseType"], p.get("phaseStatus")) for p in build["phases"]]


def new_project(aws: Callable[[str], Any], buildspec: str, files: dict[str, str] | None = None, **kw: Any) -> str:
    """A project whose S3 source zip holds ``buildspec.yml`` and ``files``."""
    name = f"p-{uuid.uuid4().hex[:10]}"
    s3 = aws("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="src/app.zip", Body=zip_of({"buildspec.yml": buildspec, **(files or {})}))
    args: dict[str, Any] = {
        "name": name,
        "source": {"type": "S3", "location": f"{name}/src/app.zip"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": ENV,
        "serviceRole": ROLE,
    }
    args.update(kw)
    aws("codebuild").create_project(**args)
    return name


APP_BUILDSPEC = """\
version: 0.2
env:
  variables:
    GREETING: from-buildspec
    TARGET: from-buildspec
  exported-variables: [VERSION, GREETING]
phases:
  install:
    commands:
      - echo "installing with $GREETING"
      - export VERSION=1.2.$CODEBUILD_BUILD_NUMBER
      - mkdir -p out && cd out
  pre_build:
    commands:
      - 'echo "pre_build in: $PWD"'
  build:
    commands:
      - sh ../app/build.sh "$TARGET"
      - echo "build $CODEBUILD_BUILD_ID number $CODEBUILD_BUILD_NUMBER region $AWS_REGION"
      - echo "initiator $CODEBUILD_INITIATOR src $CODEBUILD_SRC_DIR"
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING version=$VERSION"
artifacts:
  name: bundle.zip
  files:
    - '**/*'
  base-directory: out
  discard-paths: yes
"""
APP_FILES = {
    "app/build.sh": 'mkdir -p bin docs\necho "binary for $1" > bin/app\necho readme > docs/README\necho built "$1"\n',
    "app/unused.txt": "not an artifact\n",
}


def test_a_build_runs_every_phase_logs_uploads_and_exports(aws: Callable[[str], Any]) -> None:
    cb, s3, logs = aws("codebuild"), aws("s3"), aws("logs")
    name = new_project(
        aws, APP_BUILDSPEC, APP_FILES, environment={**ENV, "environmentVariables": [{"name": "TARGET", "value": "from-project"}]}
    )
    cb.update_project(name=name, artifacts={"type": "S3", "location": name, "path": "builds", "packaging": "ZIP",
                                            "name": "ignored", "overrideArtifactName": True})  # fmt: skip
    first = cb.start_build(projectName=name)["build"]
    assert first["id"].startswith(f"{name}:") and first["buildNumber"] == 1
    assert first["buildStatus"] == "IN_PROGRESS" and first["initiator"] == "root"
    build = wait_build(cb, first["id"])
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["currentPhase"] == "COMPLETED"
    assert phases(build) == [
        ("SUBMITTED", "SUCCEEDED"), ("QUEUED", "SUCCEEDED"), ("PROVISIONING", "SUCCEEDED"),
        ("DOWNLOAD_SOURCE", "SUCCEEDED"), ("INSTALL", "SUCCEEDED"), ("PRE_BUILD", "SUCCEEDED"),
        ("BUILD", "SUCCEEDED"), ("POST_BUILD", "SUCCEEDED"), ("UPLOAD_ARTIFACTS", "SUCCEEDED"),
        ("FINALIZING", "SUCCEEDED"), ("COMPLETED", None),
    ]  # fmt: skip
    for p in build["phases"][:-1]:
        assert p["endTime"] >= p["startTime"] and p["durationInSeconds"] >= 0
    assert build["endTime"] >= build["startTime"]
    assert {"name": "VERSION", "value": "1.2.1"} in build["exportedEnvironmentVariables"]
    assert {"name": "GREETING", "value": "from-buildspec"} in build["exportedEnvironmentVariables"]

    assert build["logs"]["groupName"] == f"/aws/codebuild/{name}"
    assert build["logs"]["streamName"] == first["id"].split(":", 1)[1]
    assert "deepLink" in build["logs"]
    lines = log_lines(logs, build)
    text = "\n".join(lines)
    assert "installing with from-buildspec" in text
    assert "built from-project" in text  # the project's variable beats the buildspec's
    assert f"build {first['id']} number 1 region us-east-1" in text
    assert "succeeding=1 version=1.2.1" in text
    assert any(line.startswith("[Container] ") and line.endswith("Entering phase BUILD") for line in lines)
    assert any(line.endswith('Running command sh ../app/build.sh "$TARGET"') for line in lines)
    assert any(line.startswith("pre_build in: /") and line.endswith("/src/out") for line in lines)  # cd carried
    order = [i for i, line in enumerate(lines) if "Entering phase" in line]
    assert [lines[i].rsplit(" ", 1)[1] for i in order] == [
        "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS",
    ]  # fmt: skip

    key = "builds/bundle.zip"  # the buildspec's name wins with overrideArtifactName
    assert build["artifacts"]["location"] == f"arn:aws:s3:::{name}/{key}"
    body = s3.get_object(Bucket=name, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert sorted(zf.namelist()) == ["README", "app"]  # base-directory out/, paths discarded
        assert zf.read("app") == b"binary for from-project\n"

    second = cb.start_build(
        projectName=name,
        environmentVariablesOverride=[{"name": "TARGET", "value": "from-override", "type": "PLAINTEXT"}],
    )["build"]
    assert second["buildNumber"] == 2
    build2 = wait_build(cb, second["id"])
    assert build2["buildStatus"] == "SUCCEEDED"
    assert "built from-override" in "\n".join(log_lines(logs, build2))
    assert cb.list_builds_for_project(projectName=name)["ids"] == [second["id"], first["id"]]
    assert cb.list_builds_for_project(projectName=name, sortOrder="ASCENDING")["ids"] == [first["id"], second["id"]]
    assert second["id"] in cb.list_builds()["ids"]


FAILING = """\
version: 0.2
phases:
  install:
    commands:
      - echo install ok
  build:
    commands:
      - echo before the failure
      - sh -c 'echo failing >&2; exit 3'
      - echo never printed
    finally:
      - echo "finally ran after the failure"
  post_build:
    commands:
      - echo "post_build ran, succeeding=$CODEBUILD_BUILD_SUCCEEDING"
"""


def test_a_failing_build_command_still_runs_finally_and_post_build(aws: Callable[[str], Any]) -> None:
    cb, logs = aws("codebuild"), aws("logs")
    name = new_project(aws, FAILING)
    build = wait_build(cb, cb.start_build(projectName=name)["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    assert phases(build)[4:] == [
        ("INSTALL", "SUCCEEDED"), ("PRE_BUILD", "SUCCEEDED"), ("BUILD", "FAILED"), ("POST_BUILD", "SUCCEEDED"),
        ("UPLOAD_ARTIFACTS", "SUCCEEDED"), ("FINALIZING", "SUCCEEDED"), ("COMPLETED", None),
    ]  # fmt: skip
    (ctx,) = build["phases"][6]["contexts"]
    assert ctx == {
        "statusCode": "COMMAND_EXECUTION_ERROR",
        "message": "Error while executing command: sh -c 'echo failing >&2; exit 3'. Reason: exit status 3",
    }
    text = "\n".join(log_lines(logs, build))
    assert "before the failure" in text and "failing" in text and "never printed" not in text
    assert "finally ran after the failure" in text
    assert "post_build ran, succeeding=0" in text
    assert "Phase complete: BUILD State: FAILED" in text


def test_install_failure_skips_to_finalizing_unless_on_failure_continue(aws: Callable[[str], Any]) -> None:
    cb = aws("codebuild")
    abort = "version: 0.2\nphases:\n  install:\n    commands: [\"false\"]\n  build:\n    commands: [echo build]\n"
    name = new_project(aws, abort)
    build = wait_build(cb, cb.start_build(projectName=name)["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    assert [p for p, _ in phases(build)][4:] == ["INSTALL", "FINALIZING", "COMPLETED"]

    cont = abort.replace("  install:\n", "  install:\n    on-failure: CONTINUE\n")
    build = wait_build(cb, cb.start_build(projectName=name, buildspecOverride=cont)["build"]["id"])
    assert build["buildStatus"] == "FAILED"  # a failed phase fails the build even when it continues
    assert phases(build)[4:8] == [("INSTALL", "FAILED"), ("PRE_BUILD", "SUCCEEDED"), ("BUILD", "SUCCEEDED"), ("POST_BUILD", "SUCCEEDED")]
    assert build["source"]["buildspec"] == cont


def test_stop_build_kills_a_long_build(aws: Callable[[str], Any], cb_server: Server) -> None:
    cb = aws("codebuild")
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo started\n      - sleep 120\n    finally:\n      - echo unreachable\n"
    name = new_project(aws, spec)
    build_id = cb.start_build(projectName=name)["build"]["id"]
    wait_phase(cb, build_id, "BUILD")
    time.sleep(0.3)  # let the shell start its sleep
    started = time.monotonic()
    assert cb.stop_build(id=build_id)["build"]["id"] == build_id
    build = wait_build(cb, build_id, timeout=15)
    assert time.monotonic() - started < 10
    assert build["buildStatus"] == "STOPPED"
    assert ("BUILD", "STOPPED") in phases(build)
    assert [p for p, _ in phases(build)][-2:] == ["FINALIZING", "COMPLETED"]
    workdir = cb_server.data_dir / "codebuild" / build_id.split(":", 1)[1]
    assert not workdir.exists()  # the workspace went with the build
    assert not build_processes(build_id)  # the shell and its sleep were killed


def build_processes(build_id: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("CODEBUILD_BUILD_ID") == build_id:
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


def test_timeout_in_minutes_ends_the_build_timed_out(aws: Callable[[str], Any]) -> None:
    cb = aws("codebuild")
    name = new_project(aws, "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 60\n", timeoutInMinutes=5)
    started = time.monotonic()
    build = wait_build(cb, cb.start_build(projectName=name)["build"]["id"], timeout=25)
    assert 3.0 < time.monotonic() - started < 20  # 5 minutes at 60x is 5 s
    assert build["buildStatus"] == "TIMED_OUT" and build["timeoutInMinutes"] == 5
    timed_out = [p for p in build["phases"] if p.get("phaseStatus") == "TIMED_OUT"]
    assert [p["phaseType"] for p in timed_out] == ["BUILD"]
    assert timed_out[0]["contexts"][0]["statusCode"] == "BUILD_TIMED_OUT"


@pytest.mark.parametrize(
    ("buildspec", "message"),
    [
        ("version: 0.2\nphases:\n  build:\n    commands:\n      - [unclosed\n", "at line"),
        ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n", "Expected Commands[0] to be of string type"),
        ("not: a buildspec\n", "no version specified"),
    ],
)
def test_bad_buildspec_fails_at_download_source(aws: Callable[[str], Any], buildspec: str, message: str) -> None:
    cb = aws("codebuild")
    name = new_project(aws, buildspec)
    build = wait_build(cb, cb.start_build(projectName=name)["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    assert [p for p, _ in phases(build)][3:] == ["DOWNLOAD_SOURCE", "FINALIZING", "COMPLETED"]
    (ctx,) = build["phases"][3]["contexts"]
    assert ctx["statusCode"] == "YAML_FILE_ERROR" and message in ctx["message"]


def test_missing_source_buildspec_and_secrets_fail_with_clear_messages(aws: Callable[[str], Any]) -> None:
    cb = aws("codebuild")
    name = new_project(aws, "version: 0.2\n")
    build = wait_build(cb, cb.start_build(projectName=name, buildspecOverride="ci/other.yml")["build"]["id"])
    assert build["phases"][3]["contexts"][0]["message"].startswith("YAML file does not exist")
    build = wait_build(cb, cb.start_build(projectName=name, sourceLocationOverride=f"{name}/nope.zip")["build"]["id"])
    ctx = build["phases"][3]["contexts"][0]
    assert build["phases"][3]["phaseStatus"] == "FAILED" and ctx["statusCode"] == "CLIENT_ERROR"
    assert ctx["message"].startswith("NoSuchKey")
    secret = [{"name": "TOKEN", "value": "/ci/token", "type": "PARAMETER_STORE"}]
    build = wait_build(cb, cb.start_build(projectName=name, environmentVariablesOverride=secret)["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    assert phases(build)[2] == ("PROVISIONING", "FAILED")
    assert "TOKEN (PARAMETER_STORE /ci/token)" in build["phases"][2]["contexts"][0]["message"]


def test_no_source_inline_buildspec_uploads_files_per_build_id(aws: Callable[[str], Any]) -> None:
    cb, s3 = aws("codebuild"), aws("s3")
    bucket = f"out-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    spec = (
        "version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p site/css\n"
        "      - echo hi > site/index.html\n      - echo c > site/css/a.css\n"
        "artifacts:\n  files: ['site/**/*']\n"
    )
    name = f"nosrc-{uuid.uuid4().hex[:8]}"
    cb.create_project(
        name=name, source={"type": "NO_SOURCE", "buildspec": spec}, environment=ENV, serviceRole=ROLE,
        artifacts={"type": "S3", "location": bucket, "name": "web", "namespaceType": "BUILD_ID", "packaging": "NONE"},
    )  # fmt: skip
    build = wait_build(cb, cb.start_build(projectName=name)["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    build_uuid = build["id"].split(":", 1)[1]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [f"{build_uuid}/web/site/css/a.css", f"{build_uuid}/web/site/index.html"]  # <path>/<build id>/<name>
    assert build["artifacts"]["location"] == f"arn:aws:s3:::{bucket}/{build_uuid}/web"

    nothing = spec.replace("site/**/*", "dist/**/*")
    build = wait_build(cb, cb.start_build(projectName=name, buildspecOverride=nothing)["build"]["id"])
    assert phases(build)[8] == ("UPLOAD_ARTIFACTS", "FAILED")
    assert build["phases"][8]["contexts"][0] == {"statusCode": "CLIENT_ERROR", "message": "no matching artifact paths found"}


def test_project_api_errors_and_listing(aws: Callable[[str], Any], cb_server: Server) -> None:
    cb = aws("codebuild")
    unchecked = boto3.client(  # the server, not botocore, must refuse out-of-range input
        "codebuild", endpoint_url=cb_server.endpoint, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )  # fmt: skip
    tag = uuid.uuid4().hex[:6]
    base = {
        "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2\n"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": ENV,
        "serviceRole": ROLE,
    }
    created = cb.create_project(name=f"b-{tag}", tags=[{"key": "team", "value": "ci"}], **base)["project"]
    assert created["arn"] == f"arn:aws:codebuild:us-east-1:000000000000:project/b-{tag}"
    assert created["timeoutInMinutes"] == 60 and created["queuedTimeoutInMinutes"] == 480
    assert created["tags"] == [{"key": "team", "value": "ci"}]
    cb.create_project(name=f"a-{tag}", **base)

    def code(fn: Callable[..., Any], **kw: Any) -> str:
        with pytest.raises(ClientError) as info:
            fn(**kw)
        return str(info.value.response["Error"]["Code"])

    assert code(cb.create_project, name=f"a-{tag}", **base) == "ResourceAlreadyExistsException"
    assert code(cb.create_project, name="bad name!", **base) == "ValidationException"
    assert code(unchecked.create_project, name=f"c-{tag}", timeoutInMinutes=3, **base) == "ValidationException"
    assert code(unchecked.create_project, name=f"c-{tag}", timeoutInMinutes=2161, **base) == "ValidationException"
    no_spec = {**base, "source": {"type": "NO_SOURCE"}}
    assert code(cb.create_project, name=f"c-{tag}", **no_spec) == "InvalidInputException"
    s3_art = {**base, "artifacts": {"type": "S3"}}
    assert code(cb.create_project, name=f"c-{tag}", **s3_art) == "InvalidInputException"
    assert code(cb.start_build, projectName=f"missing-{tag}") == "ResourceNotFoundException"
    assert code(cb.update_project, name=f"missing-{tag}", description="x") == "ResourceNotFoundException"

    updated = cb.update_project(name=f"a-{tag}", description="now described", timeoutInMinutes=10)["project"]
    assert updated["description"] == "now described" and updated["timeoutInMinutes"] == 10
    assert updated["lastModified"] >= updated["created"]
    got = cb.batch_get_projects(names=[f"a-{tag}", f"zz-{tag}"])
    assert [p["name"] for p in got["projects"]] == [f"a-{tag}"] and got["projectsNotFound"] == [f"zz-{tag}"]
    mine = [n for n in cb.list_projects(sortBy="NAME", sortOrder="ASCENDING")["projects"] if n.endswith(tag)]
    assert mine == [f"a-{tag}", f"b-{tag}"]
    mine = [n for n in cb.list_projects(sortBy="CREATED_TIME", sortOrder="DESCENDING")["projects"] if n.endswith(tag)]
    assert mine == [f"a-{tag}", f"b-{tag}"]

    build = wait_build(cb, cb.start_build(projectName=f"a-{tag}")["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED" and build["timeoutInMinutes"] == 10
    got_builds = cb.batch_get_builds(ids=[build["id"], f"a-{tag}:nope"])
    assert got_builds["buildsNotFound"] == [f"a-{tag}:nope"]
    deleted = cb.batch_delete_builds(ids=[build["id"], f"a-{tag}:nope"])
    assert deleted["buildsDeleted"] == [build["id"]]
    assert deleted["buildsNotDeleted"][0]["id"] == f"a-{tag}:nope"
    cb.delete_project(name=f"b-{tag}")
    assert cb.batch_get_projects(names=[f"b-{tag}"])["projectsNotFound"] == [f"b-{tag}"]


def test_workspace_lives_under_the_data_dir(aws: Callable[[str], Any], cb_server: Server) -> None:
    cb, logs = aws("codebuild"), aws("logs")
    name = new_project(aws, "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"src=$CODEBUILD_SRC_DIR\"\n      - ls\n")
    build = wait_build(cb, cb.start_build(projectName=name)["build"]["id"])
    text = "\n".join(log_lines(logs, build))
    expected = Path(cb_server.data_dir).resolve() / "codebuild" / build["id"].split(":", 1)[1] / "src"
    assert f"src={expected}" in text
    assert "buildspec.yml" in text  # the unpacked source is the working directory


def test_source_version_picks_an_s3_object_version(aws: Callable[[str], Any]) -> None:
    cb, s3, logs = aws("codebuild"), aws("s3"), aws("logs")
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - cat version.txt\n      - echo resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION\n"
    name = new_project(aws, spec, {"version.txt": "first\n"})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=name, Key="src/app.zip", Body=zip_of({"buildspec.yml": spec, "version.txt": "one\n"}))["VersionId"]
    s3.put_object(Bucket=name, Key="src/app.zip", Body=zip_of({"buildspec.yml": spec, "version.txt": "two\n"}))
    latest = wait_build(cb, cb.start_build(projectName=name)["build"]["id"])
    pinned = wait_build(cb, cb.start_build(projectName=name, sourceVersion=v1)["build"]["id"])
    assert "two" in log_lines(logs, latest) and "one" in log_lines(logs, pinned)
    assert pinned["sourceVersion"] == v1 and pinned["resolvedSourceVersion"] == v1
    assert f"resolved={v1}" in log_lines(logs, pinned)
