"""CodePipeline across a kill -9 of Gureum: waiting executions go on, queued jobs are still there, S3 sources are still watched."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from codepipeline_support import (
    Sandbox,
    actions_of,
    approval_stage,
    approval_token,
    clients,
    tid,
    wait_for,
    wait_status,
)
from conftest import start_server, stop_server

pytestmark = pytest.mark.e2e

WORKER = tid("Test", "RestartWorker", "Custom")


def test_executions_resume_after_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = start_server(data, "--runtime", "process")
    try:
        aws = clients(srv)
        box = Sandbox(aws)
        cp = box.cp
        cp.create_custom_action_type(category="Test", provider="RestartWorker", version="1",
                                     inputArtifactDetails={"minimumCount": 0, "maximumCount": 1}, outputArtifactDetails={"minimumCount": 0, "maximumCount": 0})  # fmt: skip
        work = {"name": "Work", "actions": [{"name": "Job", "actionTypeId": WORKER, "inputArtifacts": [{"name": "Src"}]}]}
        gate_name, job_name = f"gate-{box.sfx}", f"job-{box.sfx}"
        gate = box.create(gate_name, approval_stage())
        token = approval_token(cp, gate_name, "Approve", gate)
        cp.create_pipeline(pipeline=box.pipeline(job_name, work, poll=True))
        job = cp.list_pipeline_executions(pipelineName=job_name)["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
        wait_for(lambda: actions_of(cp, job_name, job).get(("Work", "Job")), what="the custom action to start")
    finally:
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(10)

    srv = start_server(data, "--runtime", "process", port=srv.port)
    try:
        aws = clients(srv)
        cp = aws("codepipeline")
        assert cp.get_pipeline_execution(pipelineName=gate_name, pipelineExecutionId=gate)["pipelineExecution"]["status"] == "InProgress"
        cp.put_approval_result(pipelineName=gate_name, stageName="Approve", actionName="Gate", token=token, result={"summary": "after restart", "status": "Approved"})
        assert wait_status(cp, gate_name, gate, "Succeeded")["status"] == "Succeeded"
        jobs = wait_for(lambda: cp.poll_for_jobs(actionTypeId=WORKER)["jobs"], what="the job queued before the restart")
        cp.acknowledge_job(jobId=jobs[0]["id"], nonce=jobs[0]["nonce"])
        cp.put_job_success_result(jobId=jobs[0]["id"])
        assert wait_status(cp, job_name, job, "Succeeded")["status"] == "Succeeded"
        # The source of job_name is still watched: a new version starts an execution by itself.
        box.s3 = aws("s3")
        box.upload({"app.txt": "v2"})
        pushed = wait_for(lambda: [e for e in cp.list_pipeline_executions(pipelineName=job_name)["pipelineExecutionSummaries"]
                                   if e["trigger"]["triggerType"] == "PollForSourceChanges"], timeout=10, what="a poll-triggered execution")  # fmt: skip
        assert pushed[0]["trigger"]["triggerDetail"] == "Code"
    finally:
        stop_server(srv)
