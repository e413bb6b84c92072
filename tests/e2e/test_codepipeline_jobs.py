"""CodePipeline job workers with boto3: a custom action done by the test itself, and Lambda invoke failures."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from codepipeline_support import (
    Sandbox,
    actions_of,
    clients,
    error_code,
    tid,
    wait_for,
    wait_status,
    zip_of,
)
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e

JENKINS = tid("Build", "GureumJenkins", "Custom")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("codepipeline-jobs") / "data", "--runtime", "process")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def aws(srv: Server) -> Callable[[str], Any]:
    return clients(srv)


@pytest.fixture(scope="module")
def jenkins(aws: Callable[[str], Any]) -> dict[str, str]:
    cp = aws("codepipeline")
    out = cp.create_custom_action_type(
        category="Build", provider="GureumJenkins", version="1",
        settings={"executionUrlTemplate": "http://jenkins.local/job/{Config:ProjectName}/{ExternalExecutionId}"},
        configurationProperties=[{"name": "ProjectName", "required": True, "key": True, "secret": False, "queryable": True, "type": "String"}],
        inputArtifactDetails={"minimumCount": 1, "maximumCount": 1}, outputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        tags=[{"key": "team", "value": "ci"}],
    )  # fmt: skip
    assert out["actionType"]["id"] == JENKINS
    return JENKINS


def build_stage(project: str) -> dict[str, Any]:
    return {"name": "Build", "actions": [{"name": "Jenkins", "actionTypeId": JENKINS, "namespace": "JenkinsVars",
                                          "configuration": {"ProjectName": project}, "inputArtifacts": [{"name": "Src"}],
                                          "outputArtifacts": [{"name": "Built"}]}]}  # fmt: skip


def poll(cp: Any, project: str) -> dict[str, Any]:
    jobs = wait_for(lambda: cp.poll_for_jobs(actionTypeId=JENKINS, maxBatchSize=5, queryParam={"ProjectName": project})["jobs"],
                    what="a job for the worker")  # fmt: skip
    assert len(jobs) == 1
    return jobs[0]  # type: ignore[no-any-return]


def test_a_job_worker_polls_acknowledges_continues_and_completes(aws: Callable[[str], Any], jenkins: dict[str, str]) -> None:
    box = Sandbox(aws, {"main.c": "int main(){return 0;}"})
    cp, name, project = box.cp, f"worker-{box.sfx}", f"proj-{box.sfx}"
    eid = box.create(name, build_stage(project))
    job = poll(cp, project)
    data = job["data"]
    assert data["actionTypeId"] == JENKINS and data["actionConfiguration"]["configuration"] == {"ProjectName": project}
    assert data["pipelineContext"]["pipelineName"] == name and data["pipelineContext"]["stage"]["name"] == "Build"
    assert data["pipelineContext"]["pipelineExecutionId"] == eid
    # The worker reads its input and writes its output with the job's own credentials.
    creds = data["artifactCredentials"]
    s3 = boto3.client("s3", endpoint_url=cp.meta.endpoint_url, region_name="us-east-1", aws_access_key_id=creds["accessKeyId"],
                      aws_secret_access_key=creds["secretAccessKey"], aws_session_token=creds["sessionToken"])  # fmt: skip
    src = data["inputArtifacts"][0]["location"]["s3Location"]
    body = s3.get_object(Bucket=src["bucketName"], Key=src["objectKey"])["Body"].read()
    assert zipfile.ZipFile(io.BytesIO(body)).read("main.c") == b"int main(){return 0;}"
    out = data["outputArtifacts"][0]["location"]["s3Location"]
    assert out["bucketName"] == box.store and out["objectKey"].startswith(f"{name[:20]}/Built/")
    s3.put_object(Bucket=out["bucketName"], Key=out["objectKey"], Body=zip_of({"a.out": "binary"}))

    with pytest.raises(cp.exceptions.InvalidNonceException):
        cp.acknowledge_job(jobId=job["id"], nonce="0")
    assert cp.acknowledge_job(jobId=job["id"], nonce=job["nonce"])["status"] == "InProgress"
    assert cp.get_job_details(jobId=job["id"])["jobDetails"]["data"]["pipelineContext"]["action"]["name"] == "Jenkins"
    # Not done yet: the continuation token asks for another job later.
    cp.put_job_success_result(jobId=job["id"], continuationToken="step-2", executionDetails={"summary": "compiling", "percentComplete": 50, "externalExecutionId": "17"})
    with pytest.raises(cp.exceptions.InvalidJobStateException):
        cp.put_job_success_result(jobId=job["id"])
    again = poll(cp, project)
    assert again["id"] != job["id"] and again["data"]["continuationToken"] == "step-2"
    running = actions_of(cp, name, eid)[("Build", "Jenkins")][0]
    assert running["status"] == "InProgress" and running["output"]["executionResult"]["externalExecutionSummary"] == "compiling"
    cp.acknowledge_job(jobId=again["id"], nonce=again["nonce"])
    cp.put_job_success_result(jobId=again["id"], executionDetails={"summary": "built", "externalExecutionId": "18"}, outputVariables={"BUILD_NUMBER": "18"})
    assert wait_status(cp, name, eid, "Succeeded", "Failed")["status"] == "Succeeded"
    done = actions_of(cp, name, eid)[("Build", "Jenkins")][0]
    assert done["output"]["outputVariables"] == {"BUILD_NUMBER": "18"}
    assert done["output"]["executionResult"]["externalExecutionUrl"] == f"http://jenkins.local/job/{project}/18"
    assert done["output"]["outputArtifacts"][0]["s3location"] == {"bucket": out["bucketName"], "key": out["objectKey"]}
    assert cp.poll_for_jobs(actionTypeId=JENKINS, queryParam={"ProjectName": project})["jobs"] == []


def test_a_job_failure_fails_the_action_with_the_workers_message(aws: Callable[[str], Any], jenkins: dict[str, str]) -> None:
    box = Sandbox(aws)
    cp, name, project = box.cp, f"failing-{box.sfx}", f"proj-{box.sfx}"
    eid = box.create(name, build_stage(project))
    job = poll(cp, project)
    cp.put_job_failure_result(jobId=job["id"], failureDetails={"type": "JobFailed", "message": "make: *** [all] Error 2", "externalExecutionId": "99"})
    assert wait_status(cp, name, eid, "Failed", "Succeeded")["status"] == "Failed"
    act = actions_of(cp, name, eid)[("Build", "Jenkins")][0]
    assert act["status"] == "Failed"
    assert act["output"]["executionResult"]["errorDetails"] == {"code": "JobFailed", "message": "make: *** [all] Error 2"}
    state = cp.get_pipeline_state(name=name)["stageStates"][1]
    assert state["latestExecution"]["status"] == "Failed" and state["actionStates"][0]["latestExecution"]["errorDetails"]["message"] == "make: *** [all] Error 2"


def test_job_api_errors(aws: Callable[[str], Any], jenkins: dict[str, str]) -> None:
    cp = aws("codepipeline")
    with pytest.raises(cp.exceptions.JobNotFoundException):
        cp.get_job_details(jobId="11111111-1111-1111-1111-111111111111")
    with pytest.raises(cp.exceptions.ActionTypeNotFoundException):
        cp.poll_for_jobs(actionTypeId=tid("Build", "Nobody", "Custom"))
    with pytest.raises(cp.exceptions.ValidationException) as info:
        cp.poll_for_jobs(actionTypeId=tid("Build", "CodeBuild"))
    assert "only for custom actions" in error_code(info)[1]
    types = cp.list_action_types(actionOwnerFilter="Custom")["actionTypes"]
    assert JENKINS in [t["id"] for t in types]
    aws_types = {(t["id"]["category"], t["id"]["provider"]) for t in cp.list_action_types(actionOwnerFilter="AWS")["actionTypes"]}
    assert {("Source", "S3"), ("Build", "CodeBuild"), ("Deploy", "ECS"), ("Invoke", "Lambda"), ("Approval", "Manual")} <= aws_types
    arn = "arn:aws:codepipeline:us-east-1:000000000000:actiontype:Custom/Build/GureumJenkins/1"
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "ci"}]
    cp.create_custom_action_type(category="Test", provider="Throwaway", version="1",
                                 inputArtifactDetails={"minimumCount": 0, "maximumCount": 0}, outputArtifactDetails={"minimumCount": 0, "maximumCount": 0})  # fmt: skip
    cp.delete_custom_action_type(category="Test", provider="Throwaway", version="1")
    with pytest.raises(cp.exceptions.ValidationException):
        cp.create_custom_action_type(category="Test", provider="Throwaway", version="1",
                                     inputArtifactDetails={"minimumCount": 0, "maximumCount": 0}, outputArtifactDetails={"minimumCount": 0, "maximumCount": 0})  # fmt: skip


RAISES = "def handler(event, context):\n    raise ValueError('deploy target is unreachable')\n"
SILENT = "def handler(event, context):\n    return 'forgot to report'\n"


def test_lambda_invoke_failures_are_clear(aws: Callable[[str], Any]) -> None:
    lam = aws("lambda")
    box = Sandbox(aws)
    fns = {}
    for key, code in (("raises", RAISES), ("silent", SILENT)):
        fns[key] = f"{key}-{box.sfx}"
        lam.create_function(FunctionName=fns[key], Runtime="python3.12", Role="arn:aws:iam::000000000000:role/l", Handler="f.handler",
                            Code={"ZipFile": zip_of({"f.py": code})})  # fmt: skip
    for fn in fns.values():
        wait_for(lambda fn=fn: lam.get_function_configuration(FunctionName=fn)["State"] == "Active")

    def invoke(fn: str, **extra: Any) -> dict[str, Any]:
        return {"name": "Invoke", "actions": [{"name": "Call", "actionTypeId": tid("Invoke", "Lambda"), "configuration": {"FunctionName": fn}, **extra}]}

    cp = box.cp
    eid = box.create(f"raises-{box.sfx}", invoke(fns["raises"]))
    assert wait_status(cp, f"raises-{box.sfx}", eid, "Failed", "Succeeded")["status"] == "Failed"
    err = actions_of(cp, f"raises-{box.sfx}", eid)[("Invoke", "Call")][0]["output"]["executionResult"]["errorDetails"]
    assert err["message"] == f"The AWS Lambda function {fns['raises']} failed: ValueError: deploy target is unreachable"

    eid = box.create(f"missing-{box.sfx}", invoke(f"nope-{box.sfx}"))
    assert wait_status(cp, f"missing-{box.sfx}", eid, "Failed", "Succeeded")["status"] == "Failed"
    err = actions_of(cp, f"missing-{box.sfx}", eid)[("Invoke", "Call")][0]["output"]["executionResult"]["errorDetails"]
    assert f"The AWS Lambda function nope-{box.sfx} could not be invoked" in err["message"]

    # A function that returns without reporting leaves the action waiting (with a summary that says why) until its timeout.
    name = f"silent-{box.sfx}"
    eid = box.create(name, invoke(fns["silent"]))

    def waiting_summary() -> str | None:
        act = actions_of(cp, name, eid).get(("Invoke", "Call"))
        return act[0].get("output", {}).get("executionResult", {}).get("externalExecutionSummary") if act else None

    assert "returned without calling PutJobSuccessResult" in wait_for(waiting_summary, what="the silent function's summary")
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=eid, abandon=True, reason="it never reports")
    assert wait_status(cp, name, eid, "Stopped")["status"] == "Stopped"
    call = actions_of(cp, name, eid)[("Invoke", "Call")][0]
    assert call["status"] == "Abandoned"
