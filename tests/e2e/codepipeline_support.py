"""Helpers shared by the CodePipeline e2e modules: clients, bounded waits, small pipelines."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from conftest import Server
from waiting import wait_for

ROLE = "arn:aws:iam::000000000000:role/pipeline"


def clients(server: Server) -> Callable[[str], Any]:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    made: dict[str, Any] = {}

    def make(name: str) -> Any:
        if name not in made:
            cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
            made[name] = session.client(name, endpoint_url=server.endpoint, config=cfg)
        return made[name]

    return make


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()




def execution(cp: Any, name: str, eid: str) -> dict[str, Any]:
    return cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=eid)["pipelineExecution"]  # type: ignore[no-any-return]


def wait_status(cp: Any, name: str, eid: str, *statuses: str, timeout: float = 30.0) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        e = execution(cp, name, eid)
        return e if e["status"] in statuses else None

    return wait_for(reached, timeout, what=f"execution {eid} in {statuses}")  # type: ignore[no-any-return]


def actions_of(cp: Any, name: str, eid: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    details = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": eid})["actionExecutionDetails"]
    for d in sorted(details, key=lambda d: d["startTime"]):
        out.setdefault((d["stageName"], d["actionName"]), []).append(d)
    return out


def tid(category: str, provider: str, owner: str = "AWS", version: str = "1") -> dict[str, str]:
    return {"category": category, "owner": owner, "provider": provider, "version": version}


def error_code(exc: Any) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


class Sandbox:
    """Buckets for one test: a versioned source bucket holding ``app.zip`` and an artifact store."""

    def __init__(self, aws: Callable[[str], Any], files: dict[str, str] | None = None) -> None:
        self.sfx = uuid.uuid4().hex[:8]
        self.s3, self.cp = aws("s3"), aws("codepipeline")
        self.src, self.store = f"src-{self.sfx}", f"store-{self.sfx}"
        for b in (self.src, self.store):
            self.s3.create_bucket(Bucket=b)
        self.s3.put_bucket_versioning(Bucket=self.src, VersioningConfiguration={"Status": "Enabled"})
        self.upload(files or {"app.txt": "v1"})

    def upload(self, files: dict[str, str]) -> str:
        return str(self.s3.put_object(Bucket=self.src, Key="app.zip", Body=zip_of(files))["VersionId"])

    def source_stage(self, poll: bool = False) -> dict[str, Any]:
        cfg = {"S3Bucket": self.src, "S3ObjectKey": "app.zip", "PollForSourceChanges": "true" if poll else "false"}
        return {"name": "Source", "actions": [{"name": "Code", "actionTypeId": tid("Source", "S3"), "configuration": cfg,
                                               "outputArtifacts": [{"name": "Src"}]}]}  # fmt: skip

    def pipeline(self, name: str, *stages: dict[str, Any], poll: bool = False, **extra: Any) -> dict[str, Any]:
        return {"name": name, "roleArn": ROLE, "artifactStore": {"type": "S3", "location": self.store},
                "stages": [self.source_stage(poll), *stages], **extra}  # fmt: skip

    def create(self, name: str, *stages: dict[str, Any], **extra: Any) -> str:
        """Create the pipeline; returns the id of the execution CreatePipeline started."""
        self.cp.create_pipeline(pipeline=self.pipeline(name, *stages, **extra))
        return str(self.cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]["pipelineExecutionId"])


def approval_stage(name: str = "Approve", action: str = "Gate") -> dict[str, Any]:
    return {"name": name, "actions": [{"name": action, "actionTypeId": tid("Approval", "Manual")}]}


def approval_token(cp: Any, name: str, stage: str, eid: str) -> str:
    def token() -> str | None:
        for st in cp.get_pipeline_state(name=name)["stageStates"]:
            latest = st.get("latestExecution") or {}
            if st["stageName"] == stage and latest.get("pipelineExecutionId") == eid:
                return st["actionStates"][0].get("latestExecution", {}).get("token")  # type: ignore[no-any-return]
        return None

    return wait_for(token, what=f"the approval of {eid}")  # type: ignore[no-any-return]
