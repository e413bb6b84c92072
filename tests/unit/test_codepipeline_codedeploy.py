"""The CodeDeploy integration point: what CodePipeline hands to codedeploy/public.py, and what it does without it.

CodeDeploy's public module is replaced here by a recording stand-in (the
contract in providers/codedeploy.py); S3 and ECS are the real ones, in process.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.services.codepipeline.artifacts import ArtifactRef, put_bytes
from gureum.services.codepipeline.providers import codedeploy
from gureum.services.codepipeline.providers.base import ActionCall
from gureum.settings import Settings

SCOPE = Scope("000000000000", "us-east-1")
TASKDEF = {"family": "web", "containerDefinitions": [{"name": "web", "image": "<IMAGE1_NAME>", "memory": 64}]}
APPSPEC = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n"


def zipped(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in files.items():
            zf.writestr(k, v)
    return buf.getvalue()


class FakeCodeDeploy(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("gureum.services.codedeploy.public")
        self.created: list[dict[str, Any]] = []
        self.status = "InProgress"

    def create_deployment(self, app: App, scope: Scope, **kw: Any) -> str:
        self.created.append(kw)
        return "d-TEST1234"

    def get_deployment(self, app: App, scope: Scope, deployment_id: str) -> dict[str, Any] | None:
        info: dict[str, Any] = {"deploymentId": deployment_id, "status": self.status}
        if self.status == "Failed":
            info["errorInformation"] = {"code": "HEALTH_CONSTRAINTS", "message": "the AfterAllowTraffic hook failed"}
        return info


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = App(Settings(data_dir=str(tmp_path / "data"), runtime="process"))
    api = app.service_api("s3")
    assert api is not None
    api.handlers["CreateBucket"](RequestContext("s3", "CreateBucket", SCOPE.account, SCOPE.region, "t", app), {"Bucket": "store"})
    return app


def ecs_call(app: App, tmp: dict[str, str]) -> ActionCall:
    refs = [ArtifactRef("Defs", "store", "p/Defs/aaaaaaa"), ArtifactRef("Image", "store", "p/Image/bbbbbbb")]
    put_bytes(app, refs[0], zipped({"taskdef.json": json.dumps(TASKDEF), "appspec.yaml": APPSPEC}))
    put_bytes(app, refs[1], zipped({"imageDetail.json": json.dumps({"ImageURI": "gureum/busybox:latest"})}))
    config = {"ApplicationName": "app", "DeploymentGroupName": "grp", "TaskDefinitionTemplateArtifact": "Defs",
              "AppSpecTemplateArtifact": "Defs", "Image1ArtifactName": "Image", "Image1ContainerName": "IMAGE1_NAME", **tmp}  # fmt: skip
    return ActionCall(app, SCOPE, "p", "arn:aws:codepipeline:us-east-1:000000000000:p", "e-1", "Deploy", "BlueGreen", "r-1",
                      {"category": "Deploy", "owner": "AWS", "provider": "CodeDeployToECS", "version": "1"}, config, refs, [], {}, {}, 0.0)  # fmt: skip


def test_blue_green_registers_the_task_definition_and_passes_the_appspec(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCodeDeploy()
    monkeypatch.setitem(sys.modules, codedeploy.PUBLIC, fake)
    call = ecs_call(app, {})
    started = asyncio.run(codedeploy.start(call))
    assert started.status == "InProgress" and started.state == {"deployment": "d-TEST1234"}
    sent = fake.created[0]
    assert (sent["application_name"], sent["deployment_group_name"]) == ("app", "grp")
    content = sent["revision"]["appSpecContent"]["content"]
    arn = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
    assert sent["revision"]["revisionType"] == "AppSpecContent" and f"TaskDefinition: {arn}" in content
    from gureum.services.ecs.public import describe_task_definition

    assert describe_task_definition(app, SCOPE, "web:1")["containerDefinitions"][0]["image"] == "gureum/busybox:latest"
    call.state.update(started.state or {})
    assert asyncio.run(codedeploy.poll(call)).status == "InProgress"
    fake.status = "Failed"
    failed = asyncio.run(codedeploy.poll(call))
    assert failed.status == "Failed" and failed.error == ("JobFailed", "Deployment d-TEST1234 failed: the AfterAllowTraffic hook failed")
    fake.status = "Succeeded"
    assert asyncio.run(codedeploy.poll(call)).status == "Succeeded"


def test_server_deployments_send_the_artifact_as_an_s3_bundle(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCodeDeploy()
    monkeypatch.setitem(sys.modules, codedeploy.PUBLIC, fake)
    ref = ArtifactRef("Src", "store", "p/Src/ccccccc")
    call = ActionCall(app, SCOPE, "p", "arn", "e-1", "Deploy", "InPlace", "r-2", {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
                      {"ApplicationName": "app", "DeploymentGroupName": "fleet"}, [ref], [], {}, {}, 0.0)  # fmt: skip
    asyncio.run(codedeploy.start(call))
    assert fake.created[0]["revision"] == {"revisionType": "S3", "s3Location": {"bucket": "store", "key": "p/Src/ccccccc", "bundleType": "zip"}}


def test_without_codedeploy_the_action_fails_saying_so(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, codedeploy.PUBLIC, None)  # import fails
    out = asyncio.run(codedeploy.start(ecs_call(app, {})))
    assert out.status == "Failed" and out.error is not None
    assert out.error[1].startswith("The CodeDeployToECS action provider is not available yet in Gureum")
