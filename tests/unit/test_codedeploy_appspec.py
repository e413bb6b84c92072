"""AppSpec parsing (Server, ECS, Lambda) and revision bundles."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pytest

from gureum.services.codedeploy.appspec import (
    AppSpecError,
    FileMapping,
    Script,
    parse_ecs,
    parse_lambda,
    parse_server,
)
from gureum.services.codedeploy.revisions import RevisionError, convert_bundle

SERVER = """
version: 0.0
os: linux
files:
  - source: www
    destination: /var/www/html
file_exists_behavior: overwrite
hooks:
  ApplicationStop:
    - location: scripts/stop.sh
      timeout: 30
  ApplicationStart:
    - location: scripts/start.sh
      runas: nobody
    - location: scripts/warm.sh
"""

ECS = {
    "version": 0.0,
    "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2",
        "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": "80"},
        "PlatformVersion": "LATEST",
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}},
    }}}],
    "Hooks": [{"BeforeInstall": "check-before"}, {"AfterAllowTestTraffic": "smoke-test"}],
}  # fmt: skip


def test_server_appspec() -> None:
    spec = parse_server(SERVER)
    assert spec.files == (FileMapping("www", "/var/www/html"),)
    assert spec.file_exists_behavior == "OVERWRITE"
    assert spec.hooks["ApplicationStop"] == (Script("scripts/stop.sh", 30),)
    assert spec.hooks["ApplicationStart"] == (Script("scripts/start.sh", 3600, "nobody"), Script("scripts/warm.sh"))


def test_ecs_appspec_yaml_and_json() -> None:
    for text in (json.dumps(ECS), json.dumps(ECS, indent=2)):
        spec = parse_ecs(text)
        assert spec.task_definition.endswith("web:2") and spec.container_name == "web" and spec.container_port == 80
        assert spec.network_configuration == {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}
        assert spec.hooks == {"BeforeInstall": "check-before", "AfterAllowTestTraffic": "smoke-test"}


def test_lambda_appspec() -> None:
    text = """
version: 0.0
Resources:
  - fn:
      Type: AWS::Lambda::Function
      Properties: {Name: f, Alias: live, CurrentVersion: "1", TargetVersion: "2"}
Hooks:
  - BeforeAllowTraffic: pre
"""
    spec = parse_lambda(text)
    assert (spec.name, spec.alias, spec.current_version, spec.target_version) == ("f", "live", "1", "2")
    assert spec.hooks == {"BeforeAllowTraffic": "pre"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("version: 0.0\nos: linux\nhooks: [", "neither valid YAML nor JSON"),
        ("- just\n- a list", "mapping at the top level"),
        ("version: 1.0\nos: linux", "invalid version value (1.0)"),
        ("version: 0.0\nos: macos", "must be linux or windows"),
        ("version: 0.0\nos: windows", "Linux"),
        ("version: 0.0\nos: linux\nfiles:\n  - source: /", "needs a source and a destination"),
        ("version: 0.0\nos: linux\nfiles:\n  - {source: /, destination: relative}", "absolute path"),
        ("version: 0.0\nos: linux\nhooks:\n  Deploy:\n    - location: x.sh", "unknown lifecycle event 'Deploy'"),
        ("version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - timeout: 5", "needs a location"),
        ("version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - {location: x.sh, timeout: 4000}", "between 1 and 3600"),
        ("version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - {location: x.sh, timeout: soon}", "number of seconds"),
        ("version: 0.0\nos: linux\nfile_exists_behavior: MERGE", "file_exists_behavior"),
    ],
)
def test_server_appspec_errors(text: str, message: str) -> None:
    with pytest.raises(AppSpecError) as info:
        parse_server(text)
    assert message in str(info.value)


def _ecs(**changes: object) -> str:
    doc = json.loads(json.dumps(ECS))
    props = doc["Resources"][0]["TargetService"]["Properties"]
    for k, v in changes.items():
        if v is None:
            props.pop(k, None)
        else:
            props[k] = v
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_ecs(TaskDefinition=None), "needs Properties.TaskDefinition"),
        (_ecs(LoadBalancerInfo={"ContainerName": "web"}), "ContainerName and ContainerPort"),
        (_ecs(LoadBalancerInfo={"ContainerName": "web", "ContainerPort": "http"}), "must be a port number"),
        (_ecs(LoadBalancerInfo={"ContainerName": "web", "ContainerPort": 70000}), "not a valid port"),
        (json.dumps({**ECS, "Resources": []}), "exactly one resource"),
        (json.dumps({**ECS, "Hooks": [{"Install": "fn"}]}), "unknown lifecycle hook 'Install'"),
        (json.dumps({**ECS, "Hooks": [{"BeforeInstall": ""}]}), "must name a Lambda function"),
        (json.dumps({**ECS, "Resources": [{"T": {"Type": "AWS::Lambda::Function"}}]}), "expected AWS::ECS::Service"),
    ],
)
def test_ecs_appspec_errors(text: str, message: str) -> None:
    with pytest.raises(AppSpecError) as info:
        parse_ecs(text)
    assert message in str(info.value)


# -- bundles ------------------------------------------------------------------------------------------


def _zip(entries: dict[str, bytes], modes: dict[str, int] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in entries.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (modes or {}).get(name, 0o644) << 16
            z.writestr(info, body)
    return buf.getvalue()


def _members(tar_bytes: bytes) -> dict[str, tuple[int, bytes]]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
        for m in t.getmembers():
            f = t.extractfile(m)
            out[m.name] = (m.mode, f.read() if f else b"")
    return out


def test_zip_bundle_becomes_a_tar_with_modes() -> None:
    data = _zip({"appspec.yml": b"version: 0.0\nos: linux\n", "scripts/start.sh": b"#!/bin/sh\n", "www/index.html": b"v1"},
                {"scripts/start.sh": 0o755})  # fmt: skip
    bundle = convert_bundle(data, "zip")
    assert bundle.appspec.startswith("version: 0.0")
    assert set(bundle.files) == {"appspec.yml", "scripts/start.sh", "www/index.html"}
    members = _members(bundle.tar)
    assert members["scripts/start.sh"] == (0o755, b"#!/bin/sh\n")
    assert members["www/index.html"][1] == b"v1"


def test_tgz_bundle_and_appspec_yaml_name() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, body in {"./appspec.yaml": b"version: 0.0\n", "./a/b.txt": b"x"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))
    bundle = convert_bundle(buf.getvalue(), "tgz")
    assert bundle.files == ("appspec.yaml", "a/b.txt") and bundle.appspec == "version: 0.0\n"


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (_zip({"www/index.html": b"v1"}), "zip", 'did not find an AppSpec file'),
        (_zip({"sub/appspec.yml": b"version: 0.0"}), "zip", "did not find an AppSpec file"),
        (_zip({"appspec.yml": b"", "../evil": b"x"}), "zip", "points outside the bundle"),
        (_zip({"appspec.yml": b"", "/etc/passwd": b"x"}), "zip", "points outside the bundle"),
        (b"not a zip", "zip", "not a valid zip archive"),
        (b"not a tar", "tgz", "not a valid tgz archive"),
    ],
)
def test_bad_bundles(data: bytes, kind: str, message: str) -> None:
    with pytest.raises(RevisionError) as info:
        convert_bundle(data, kind)
    assert message in info.value.message and info.value.code == "INVALID_REVISION"
