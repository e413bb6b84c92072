"""The pipeline controller on an in-process App with a simulated clock: timeouts and hand-offs, no waiting on the wall."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.api import RequestContext
from gureum.settings import Settings

SCOPE = Scope("000000000000", "us-east-1")
WORKER = {"category": "Build", "owner": "Custom", "provider": "Sim", "version": "1"}


def call(app: App, service: str, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api(service)
    assert api is not None
    out = api.handlers[op](RequestContext(service, op, SCOPE.account, SCOPE.region, "test", app), req)
    assert isinstance(out, dict)
    return out


def run(tmp_path: Path, scenario: Callable[[App, SimClock], Awaitable[None]]) -> None:
    async def main() -> None:
        clock = SimClock()
        app = App(Settings(data_dir=str(tmp_path / "data"), runtime="process"), clock=clock)
        await app.start()
        try:
            await scenario(app, clock)
        finally:
            await app.stop()

    asyncio.run(main())


def setup(app: App, *stages: dict[str, Any], name: str = "p") -> str:
    call(app, "s3", "CreateBucket", Bucket="src")
    call(app, "s3", "PutBucketVersioning", Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    call(app, "s3", "CreateBucket", Bucket="store")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "a")
    from gureum.services.s3.public import put_object_bytes

    put_object_bytes(app, "src", "app.zip", buf.getvalue())
    call(app, "codepipeline", "CreateCustomActionType", category="Build", provider="Sim", version="1",
         inputArtifactDetails={"minimumCount": 0, "maximumCount": 1}, outputArtifacts={}, outputArtifactDetails={"minimumCount": 0, "maximumCount": 0})  # fmt: skip
    source = {"name": "Source", "actions": [{"name": "Code", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                                             "configuration": {"S3Bucket": "src", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"},
                                             "outputArtifacts": [{"name": "Src"}]}]}  # fmt: skip
    call(app, "codepipeline", "CreatePipeline", pipeline={"name": name, "roleArn": "arn:aws:iam::000000000000:role/x",
                                                          "artifactStore": {"type": "S3", "location": "store"}, "stages": [source, *stages]})  # fmt: skip
    out = call(app, "codepipeline", "ListPipelineExecutions", pipelineName=name)
    return str(out["pipelineExecutionSummaries"][0]["pipelineExecutionId"])


def actions(app: App, name: str = "p") -> dict[str, dict[str, Any]]:
    details = call(app, "codepipeline", "ListActionExecutions", pipelineName=name)["actionExecutionDetails"]
    return {d["actionName"]: d for d in details}


def status(app: App, eid: str, name: str = "p") -> str:
    return str(call(app, "codepipeline", "GetPipelineExecution", pipelineName=name, pipelineExecutionId=eid)["pipelineExecution"]["status"])


def worker_stage(name: str, minutes: int | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"name": name, "actionTypeId": WORKER, "inputArtifacts": [{"name": "Src"}]}
    if minutes:
        action["timeoutInMinutes"] = minutes
    return {"name": name, "actions": [action]}


def test_a_job_nobody_completes_fails_the_action_at_its_timeout(tmp_path: Path) -> None:
    async def scenario(app: App, clock: SimClock) -> None:
        eid = setup(app, worker_stage("Slow", minutes=10))
        await app.runner.wait_idle()
        assert actions(app)["Slow"]["status"] == "InProgress"
        jobs = call(app, "codepipeline", "PollForJobs", actionTypeId=WORKER)["jobs"]
        await clock.advance(9 * 60)
        await app.runner.wait_idle()
        assert actions(app)["Slow"]["status"] == "InProgress"
        await clock.advance(61)
        await app.runner.wait_idle()
        slow = actions(app)["Slow"]
        assert slow["status"] == "Failed" and status(app, eid) == "Failed"
        assert slow["output"]["executionResult"]["errorDetails"]["message"] == "The action did not complete within its timeout of 10 minutes"
        with pytest.raises(ServiceError) as info:  # the worker is told its job is over
            call(app, "codepipeline", "PutJobSuccessResult", jobId=jobs[0]["id"])
        assert info.value.code == "InvalidJobStateException"

    run(tmp_path, scenario)


def test_a_reported_job_starts_the_next_stage_within_the_same_reconcile(tmp_path: Path) -> None:
    async def scenario(app: App, clock: SimClock) -> None:
        eid = setup(app, worker_stage("One"), worker_stage("Two"))
        await app.runner.wait_idle()
        job = call(app, "codepipeline", "PollForJobs", actionTypeId=WORKER)["jobs"][0]
        start = clock.now()
        call(app, "codepipeline", "PutJobSuccessResult", jobId=job["id"])
        await app.runner.wait_idle()  # no virtual time passes: the hand-off needs no timer
        assert clock.now() == start
        two = actions(app)["Two"]
        assert two["status"] == "InProgress" and actions(app)["One"]["status"] == "Succeeded"
        nxt = call(app, "codepipeline", "PollForJobs", actionTypeId=WORKER)["jobs"]
        assert [j["data"]["pipelineContext"]["stage"]["name"] for j in nxt] == ["Two"]
        call(app, "codepipeline", "PutJobFailureResult", jobId=nxt[0]["id"], failureDetails={"type": "JobFailed", "message": "boom"})
        await app.runner.wait_idle()
        assert status(app, eid) == "Failed"

    run(tmp_path, scenario)
