"""Buildspec parsing: the plan it yields, and CodeBuild's YAML_FILE_ERROR wording for bad ones."""

from __future__ import annotations

import pytest

from gureum.services.codebuild.buildspec import (
    PHASES,
    BuildspecError,
    FileSet,
    looks_inline,
    parse_buildspec,
)

FULL = """\
version: 0.2
run-as: root
env:
  shell: bash
  variables:
    GREETING: hello
    RETRIES: 3
  parameter-store:
    TOKEN: /ci/token
  exported-variables:
    - VERSION
    - GREETING
phases:
  install:
    runtime-versions:
      python: 3.11
    on-failure: continue
    commands:
      - echo install
  pre_build:
    commands:
      - "echo pre: done"
  build:
    commands:
      - |
        make
        make test
    finally:
      - echo cleanup
  post_build:
    run-as: nobody
    commands: [echo post]
reports:
  unit-tests:
    files: ['**/*.xml']
    base-directory: reports
    file-format: JunitXml
artifacts:
  name: app-$(date).zip
  files:
    - '**/*'
  base-directory: dist/
  discard-paths: yes
  exclude-paths: ['**/*.map']
cache:
  paths: ['/root/.cache/**/*']
"""


def test_full_buildspec_becomes_a_frozen_plan() -> None:
    spec = parse_buildspec(FULL)
    assert spec.version == "0.2"
    assert spec.run_as == "root" and spec.shell == "bash"
    assert spec.variables == (("GREETING", "hello"), ("RETRIES", "3"))
    assert spec.parameter_store == (("TOKEN", "/ci/token"),)
    assert spec.exported_variables == ("VERSION", "GREETING")
    assert [p.name for p in spec.phases] == list(PHASES)
    install = spec.phase("install")
    assert install.on_failure == "CONTINUE" and install.runtime_versions == (("python", "3.11"),)
    assert spec.phase("pre_build").commands == ("echo pre: done",)
    build = spec.phase("build")
    assert build.commands == ("make\nmake test\n",) and build.finally_commands == ("echo cleanup",)
    assert build.on_failure == "ABORT"
    assert spec.phase("post_build").run_as == "nobody"
    assert spec.artifacts == FileSet(("**/*",), "dist", True, ("**/*.map",), "app-$(date).zip")
    (report,) = spec.reports
    assert report.name == "unit-tests" and report.file_format == "JUNITXML"
    assert report.files.base_directory == "reports"
    with pytest.raises(AttributeError):
        spec.version = "0.1"  # type: ignore[misc]


def test_minimal_buildspec_has_every_phase_empty() -> None:
    spec = parse_buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n")
    assert [p.empty for p in spec.phases] == [True, True, False, True]
    assert spec.artifacts is None and spec.reports == ()
    assert spec.phase("build").commands == ("echo hi",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The classic: a colon and a space make YAML read a command as a map.
        (
            "version: 0.2\n\nphases:\n  build:\n    commands:\n      - echo \"Hello: world\"\n",
            "Expected Commands[0] to be of string type: found subkeys instead at line 6, "
            "value of the key tag on line 5 might be empty",
        ),
        (
            "version: 0.2\nphases:\n  build:\n    commands:\n      - ls\n    finally:\n      - a: b\n",
            "Expected Finally[0] to be of string type: found subkeys instead at line 7, "
            "value of the key tag on line 6 might be empty",
        ),
        ("version: 0.2\nphases: [\n", "at line 3"),
        ("phases:\n  build:\n    commands: [ls]\n", "no version specified"),
        ("version: 0.3\n", "invalid buildspec version 0.3"),
        ("- just\n- a list\n", "Expected buildspec to be a map: found a list instead"),
        ("", "YAML file is empty"),
        ("version: 0.2\nphases:\n  compile:\n    commands: [ls]\n", "Unknown phase name(s): compile"),
        ("version: 0.2\nphases:\n  build:\n    on-failure: RETRY_LATER\n", "Invalid on-failure value"),
        ("version: 0.2\nphases:\n  build:\n    commands: ls\n", "Expected Commands to be of list type"),
        ("version: 0.2\nartifacts:\n  name: x\n", "artifacts/files must list at least one path"),
        ("version: 0.2\nstages: {}\n", "Unknown buildspec key(s): stages"),
    ],
)
def test_bad_buildspecs_fail_with_codebuild_words(text: str, message: str) -> None:
    with pytest.raises(BuildspecError) as info:
        parse_buildspec(text)
    assert message in str(info.value)
    assert info.value.status_code == "YAML_FILE_ERROR"


@pytest.mark.parametrize(
    ("value", "inline"),
    [
        ("buildspec.yml", False),
        ("ci/buildspec-test.yml", False),
        ("arn:aws:s3:::bucket/buildspec.yml", False),
        ("version: 0.2\nphases: {}\n", True),
        ("{version: 0.2}", True),
    ],
)
def test_a_project_buildspec_is_inline_yaml_or_a_file_name(value: str, inline: bool) -> None:
    assert looks_inline(value) is inline
