"""Artifact globs and names, where artifacts go, report counts, image and variable rules."""

from __future__ import annotations

import pytest

from gureum.runtime.base import ContainerSpec, Mount
from gureum.runtime.docker_convert import create_kwargs
from gureum.services.codebuild.artifact_files import matches, select_files
from gureum.services.codebuild.buildspec import FileSet, parse_buildspec
from gureum.services.codebuild.runner.artifacts import (
    ArtifactTarget,
    artifact_target,
    junit_summary,
)
from gureum.services.codebuild.runner.environment import (
    build_environment,
    merge_variables,
    runtime_image,
    unresolvable,
)

TREE = [
    "buildspec.yml",
    "app.sh",
    "dist/index.html",
    "dist/js/app.js",
    "dist/js/app.js.map",
    "dist/css/site.css",
    "src/main.py",
    "src/pkg/util.py",
]


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("**/*", "a/b/c.txt", True),
        ("**/*", "top.txt", True),
        ("*", "top.txt", True),
        ("*", "a/b.txt", False),
        ("dist/*", "dist/index.html", True),
        ("dist/*", "dist/js/app.js", False),
        ("dist/**/*", "dist/js/app.js", True),
        ("src/**/*.py", "src/main.py", True),
        ("src/**/*.py", "src/pkg/util.py", True),
        ("*.sh", "app.sh", True),
        ("app.s?", "app.sh", True),
        ("[ab]pp.sh", "app.sh", True),
        ("[!a]pp.sh", "app.sh", False),
        ("dist", "dist/js/app.js", True),  # a plain directory takes what is under it
        ("./app.sh", "app.sh", True),
        ("dist/index.html", "dist/index.html", True),
        ("dist/index.htm", "dist/index.html", False),
    ],
)
def test_glob_matching(pattern: str, path: str, hit: bool) -> None:
    assert matches(pattern, path) is hit


def test_select_with_base_directory_keeps_paths_below_it() -> None:
    picked = select_files(TREE, FileSet(("**/*",), base_directory="dist", exclude_paths=("**/*.map",)))
    assert picked == [
        ("dist/css/site.css", "css/site.css"),
        ("dist/index.html", "index.html"),
        ("dist/js/app.js", "js/app.js"),
    ]


def test_select_with_discard_paths_flattens_and_first_name_wins() -> None:
    tree = ["a/x.txt", "b/x.txt", "b/y.txt"]
    assert select_files(tree, FileSet(("**/*",), discard_paths=True)) == [("a/x.txt", "x.txt"), ("b/y.txt", "y.txt")]


def test_select_several_patterns_from_the_root() -> None:
    assert select_files(TREE, FileSet(("*.sh", "src/*.py"))) == [("app.sh", "app.sh"), ("src/main.py", "src/main.py")]


@pytest.mark.parametrize(
    ("cfg", "bs_name", "expected"),
    [
        ({"type": "NO_ARTIFACTS"}, "", None),
        ({"type": "S3", "location": "out", "name": "app.zip", "packaging": "ZIP"}, "", ArtifactTarget("out", "app.zip", "ZIP")),
        (
            {"type": "S3", "location": "out", "path": "/builds/", "name": "app", "namespaceType": "BUILD_ID"},
            "",
            ArtifactTarget("out", "builds/U/app", "NONE"),
        ),
        ({"type": "S3", "location": "out"}, "", ArtifactTarget("out", "proj", "NONE")),
        ({"type": "S3", "location": "out", "name": "a", "overrideArtifactName": True}, "b.zip", ArtifactTarget("out", "b.zip", "NONE")),
        ({"type": "S3", "location": "out", "name": "a"}, "b.zip", ArtifactTarget("out", "a", "NONE")),
    ],
)
def test_artifact_target(cfg: dict[str, object], bs_name: str, expected: ArtifactTarget | None) -> None:
    assert artifact_target(cfg, "proj", "U", bs_name) == expected


def test_pipeline_artifacts_go_where_the_pipeline_says_as_a_zip() -> None:
    target = artifact_target({"type": "CODEPIPELINE"}, "p", "U", "", {"bucket": "store", "key": "pipe/out/abc"})
    assert target == ArtifactTarget("store", "pipe/out/abc", "ZIP")
    assert target.location == "arn:aws:s3:::store/pipe/out/abc"
    assert artifact_target({"type": "CODEPIPELINE"}, "p", "U") is None


def test_junit_summary_counts_cases() -> None:
    xml = b"""<testsuites><testsuite name="s">
      <testcase name="a"/><testcase name="b"><failure message="x"/></testcase>
      <testcase name="c"><skipped/></testcase><testcase name="d"><error/></testcase>
    </testsuite></testsuites>"""
    assert junit_summary(xml) == {"total": 4, "succeeded": 1, "failed": 1, "skipped": 1, "error": 1}
    assert junit_summary(b"not xml") == {}


def test_curated_images_run_as_busybox_others_as_named() -> None:
    assert runtime_image("aws/codebuild/standard:7.0") == "gureum/busybox:latest"
    assert runtime_image("aws/codebuild/amazonlinux2-x86_64-standard:5.0") == "gureum/busybox:latest"
    assert runtime_image("public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0") == "gureum/busybox:latest"
    assert runtime_image("python:3.12-slim") == "python:3.12-slim"


def test_variables_precedence_override_then_project_then_buildspec() -> None:
    merged = merge_variables(
        [{"name": "A", "value": "project"}, {"name": "B", "value": "project", "type": "PLAINTEXT"}],
        [{"name": "B", "value": "override"}, {"name": "C", "value": "/p", "type": "PARAMETER_STORE"}],
    )
    assert merged == [
        {"name": "A", "value": "project", "type": "PLAINTEXT"},
        {"name": "B", "value": "override", "type": "PLAINTEXT"},
        {"name": "C", "value": "/p", "type": "PARAMETER_STORE"},
    ]
    spec = parse_buildspec("version: 0.2\nenv:\n  variables:\n    A: spec\n    D: spec\n")
    build = {
        "id": "p:u", "arn": "arn:aws:codebuild:eu-west-1:123456789012:build/p:u", "buildNumber": 7,
        "startTime": 1700000000.5, "environment": {"image": "img", "environmentVariables": merged},
        "logs": {"streamName": "u"}, "initiator": "root",
    }  # fmt: skip
    env = build_environment(build, spec, src_dir="/src", succeeding=False)
    assert (env["A"], env["B"], env["D"]) == ("project", "override", "spec")
    assert "C" not in env
    assert env["AWS_REGION"] == "eu-west-1" and env["CODEBUILD_BUILD_NUMBER"] == "7"
    assert env["CODEBUILD_BUILD_SUCCEEDING"] == "0" and env["CODEBUILD_SRC_DIR"] == "/src"
    assert env["CODEBUILD_START_TIME"] == "1700000000500"
    problem = unresolvable(merged)
    assert problem is not None and "C (PARAMETER_STORE /p)" in problem
    assert unresolvable(merged[:2]) is None


def test_docker_binds_a_mount_through_the_mounts_api() -> None:
    spec = ContainerSpec("n", "img", "arn:x", mounts=(Mount("/data/codebuild/a:b", "/codebuild/output"),))
    kw = create_kwargs(spec, {})
    assert kw["mounts"] == [{"Type": "bind", "Source": "/data/codebuild/a:b", "Target": "/codebuild/output", "ReadOnly": False}]
    assert "mounts" not in create_kwargs(ContainerSpec("n", "img", "arn:x"), {})
