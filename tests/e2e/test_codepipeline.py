"""CodePipeline end to end with boto3: a source push runs Source → Build → Test → Approval → Deploy + Invoke for real.

One server for the module on the process runtime (builds are host shells).
Every wait is bounded polling on a condition.  The scenario:

* the pipeline is created before its source object exists: the CreatePipeline
  execution fails at Source with a clear message;
* a zip uploaded to the versioned bucket starts an execution by itself
  (PollForSourceChanges);
* CodeBuild builds (exported VERSION → namespace BuildVars), the test project's
  test script fails (TEST_MODE is not "pass"): the execution stops at Test with
  CodeBuild's failure in ListActionExecutions;
* the project is fixed (UpdateProject) and RetryStageExecution(FAILED_ACTIONS)
  succeeds; the manual approval waits until PutApprovalResult;
* Deploy extracts the build output to a bucket under ``release-#{BuildVars.VERSION}``
  (runOrder 1), then a Lambda function reads the artifact with the job's
  credentials and reports PutJobSuccessResult (runOrder 2).
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import Server, start_server, stop_server
from waiting import wait_for

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::000000000000:role/pipeline"
ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}

BUILDSPEC = """\
version: 0.2
env:
  exported-variables: [VERSION]
phases:
  build:
    commands:
      - mkdir -p dist
      - cat src/greeting.txt > dist/app.txt
      - export VERSION=1.0.$CODEBUILD_BUILD_NUMBER
artifacts:
  files: ['**/*']
"""
TEST_BUILDSPEC = """\
version: 0.2
phases:
  build:
    commands:
      - sh ./run-tests.sh
"""
RUN_TESTS = """\
grep -q hello dist/app.txt || { echo "app.txt lost its greeting"; exit 1; }
if [ "$TEST_MODE" != "pass" ]; then echo "test failed: TEST_MODE=$TEST_MODE"; exit 3; fi
echo "all tests passed"
"""
REPORTER = """\
import io, json, zipfile
import boto3

def handler(event, context):
    job = event["CodePipeline.job"]
    data = job["data"]
    creds = data["artifactCredentials"]
    s3 = boto3.client("s3", aws_access_key_id=creds["accessKeyId"], aws_secret_access_key=creds["secretAccessKey"],
                      aws_session_token=creds["sessionToken"])
    loc = data["inputArtifacts"][0]["location"]["s3Location"]
    body = s3.get_object(Bucket=loc["bucketName"], Key=loc["objectKey"])["Body"].read()
    text = zipfile.ZipFile(io.BytesIO(body)).read("dist/app.txt").decode().strip()
    cp = boto3.client("codepipeline")
    cp.put_job_success_result(jobId=job["id"], executionDetails={"summary": "checked: " + text},
                              outputVariables={"seen": text, "params": data["actionConfiguration"]["configuration"].get("UserParameters", "")})
    return {"ok": True}
"""


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()




@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("codepipeline") / "data", "--runtime", "process")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def aws(srv: Server) -> Callable[[str], Any]:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    clients: dict[str, Any] = {}

    def make(name: str) -> Any:
        if name not in clients:
            cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
            clients[name] = session.client(name, endpoint_url=srv.endpoint, config=cfg)
        return clients[name]

    return make


def execution(cp: Any, name: str, eid: str) -> dict[str, Any]:
    return cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=eid)["pipelineExecution"]  # type: ignore[no-any-return]


def wait_status(cp: Any, name: str, eid: str, *statuses: str, timeout: float = 60.0) -> dict[str, Any]:
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


def tid(category: str, provider: str, owner: str = "AWS") -> dict[str, str]:
    return {"category": category, "owner": owner, "provider": provider, "version": "1"}


def pipeline_decl(name: str, src: str, store: str, site: str, fn: str, build: str, test: str) -> dict[str, Any]:
    return {
        "name": name, "roleArn": ROLE, "artifactStore": {"type": "S3", "location": store},
        "stages": [
            {"name": "Source", "actions": [{"name": "Code", "actionTypeId": tid("Source", "S3"), "namespace": "SourceVars",
                                             "configuration": {"S3Bucket": src, "S3ObjectKey": "app.zip"}, "outputArtifacts": [{"name": "SourceOutput"}]}]},
            {"name": "Build", "actions": [{"name": "Compile", "actionTypeId": tid("Build", "CodeBuild"), "namespace": "BuildVars",
                                            "configuration": {"ProjectName": build, "EnvironmentVariables": '[{"name":"SRC_VERSION","value":"#{SourceVars.VersionId}"}]'},
                                            "inputArtifacts": [{"name": "SourceOutput"}], "outputArtifacts": [{"name": "BuildOutput"}]}]},
            {"name": "Test", "actions": [{"name": "UnitTests", "actionTypeId": tid("Test", "CodeBuild"),
                                           "configuration": {"ProjectName": test}, "inputArtifacts": [{"name": "BuildOutput"}]}]},
            {"name": "Approve", "actions": [{"name": "Release", "actionTypeId": tid("Approval", "Manual"), "configuration": {"CustomData": "ship it?"}}]},
            {"name": "Deploy", "actions": [
                {"name": "Site", "actionTypeId": tid("Deploy", "S3"), "runOrder": 1, "inputArtifacts": [{"name": "BuildOutput"}],
                 "configuration": {"BucketName": site, "Extract": "true", "ObjectKey": "release-#{BuildVars.VERSION}"}},
                {"name": "Notify", "actionTypeId": tid("Invoke", "Lambda"), "runOrder": 2, "namespace": "NotifyVars",
                 "inputArtifacts": [{"name": "BuildOutput"}], "configuration": {"FunctionName": fn, "UserParameters": "#{codepipeline.PipelineExecutionId}"}},
            ]},
        ],
    }  # fmt: skip


def test_a_source_push_runs_the_whole_pipeline_with_a_failed_test_retried(aws: Callable[[str], Any]) -> None:
    s3, cp, cb, lam = aws("s3"), aws("codepipeline"), aws("codebuild"), aws("lambda")
    sfx = uuid.uuid4().hex[:8]
    src, store, site, name = f"src-{sfx}", f"store-{sfx}", f"site-{sfx}", f"app-{sfx}"
    for b in (src, store, site):
        s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Enabled"})
    build, test = f"build-{sfx}", f"test-{sfx}"
    for project, spec, env in ((build, "buildspec.yml", []), (test, "buildspec-test.yml", [{"name": "TEST_MODE", "value": "broken"}])):
        cb.create_project(name=project, source={"type": "CODEPIPELINE", "buildspec": spec}, artifacts={"type": "CODEPIPELINE"},
                          environment={**ENV, "environmentVariables": env}, serviceRole=ROLE)  # fmt: skip
    fn = f"notify-{sfx}"
    lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="reporter.handler", Timeout=30,
                        Code={"ZipFile": zip_of({"reporter.py": REPORTER})})  # fmt: skip
    wait_for(lambda: lam.get_function_configuration(FunctionName=fn)["State"] == "Active")

    created = cp.create_pipeline(pipeline=pipeline_decl(name, src, store, site, fn, build, test))
    assert created["pipeline"]["version"] == 1 and created["pipeline"]["stages"][3]["actions"][0]["runOrder"] == 1
    first = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    assert first["trigger"]["triggerType"] == "CreatePipeline"
    wait_status(cp, name, first["pipelineExecutionId"], "Failed")
    fetch = actions_of(cp, name, first["pipelineExecutionId"])[("Source", "Code")][0]
    assert fetch["status"] == "Failed" and "app.zip" in fetch["output"]["executionResult"]["errorDetails"]["message"]

    s3.put_object(Bucket=src, Key="app.zip", Body=zip_of({"buildspec.yml": BUILDSPEC, "buildspec-test.yml": TEST_BUILDSPEC,
                                                          "run-tests.sh": RUN_TESTS, "src/greeting.txt": "hello pipeline\n"}))  # fmt: skip
    pushed = wait_for(lambda: [e for e in cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
                               if e["trigger"]["triggerType"] == "PollForSourceChanges"], timeout=10, what="an execution started by the upload")  # fmt: skip
    eid = pushed[0]["pipelineExecutionId"]
    failed = wait_status(cp, name, eid, "Failed", "Succeeded")
    assert failed["status"] == "Failed"
    acts = actions_of(cp, name, eid)
    assert acts[("Build", "Compile")][0]["status"] == "Succeeded"
    assert acts[("Build", "Compile")][0]["output"]["outputVariables"]["VERSION"].startswith("1.0.")
    resolved = acts[("Build", "Compile")][0]["input"]["resolvedConfiguration"]["EnvironmentVariables"]
    summary = next(e for e in cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"] if e["pipelineExecutionId"] == eid)
    assert json.loads(resolved) == [{"name": "SRC_VERSION", "value": summary["sourceRevisions"][0]["revisionId"]}]
    bad = acts[("Test", "UnitTests")][0]
    assert bad["status"] == "Failed"
    message = bad["output"]["executionResult"]["errorDetails"]["message"]
    assert message.startswith("Build terminated with state: FAILED. Phase: BUILD") and "exit status 3" in message, message
    state = cp.get_pipeline_state(name=name)
    assert [s["latestExecution"]["status"] for s in state["stageStates"][:3]] == ["Succeeded", "Succeeded", "Failed"]
    assert "latestExecution" not in state["stageStates"][3]  # never reached Approve

    cb.update_project(name=test, environment={**ENV, "environmentVariables": [{"name": "TEST_MODE", "value": "pass"}]})
    cp.retry_stage_execution(pipelineName=name, stageName="Test", pipelineExecutionId=eid, retryMode="FAILED_ACTIONS")
    token = wait_for(lambda: cp.get_pipeline_state(name=name)["stageStates"][3]["actionStates"][0].get("latestExecution", {}).get("token"),
                     timeout=60, what="the approval to wait")  # fmt: skip
    assert execution(cp, name, eid)["status"] == "InProgress"
    time.sleep(0.3)  # the approval really waits: nothing moves without a result
    assert cp.get_pipeline_state(name=name)["stageStates"][4].get("latestExecution") is None
    cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Release", token=token,
                           result={"summary": "looks good", "status": "Approved"})  # fmt: skip
    done = wait_status(cp, name, eid, "Succeeded", "Failed")
    acts = actions_of(cp, name, eid)
    assert done["status"] == "Succeeded", acts.get(("Deploy", "Notify"))
    assert [a["status"] for a in acts[("Test", "UnitTests")]] == ["Failed", "Succeeded"]
    version = acts[("Build", "Compile")][0]["output"]["outputVariables"]["VERSION"]
    body = s3.get_object(Bucket=site, Key=f"release-{version}/dist/app.txt")["Body"].read()
    assert body == b"hello pipeline\n"
    notify = acts[("Deploy", "Notify")][0]
    assert notify["output"]["outputVariables"] == {"seen": "hello pipeline", "params": eid}
    assert notify["output"]["executionResult"]["externalExecutionSummary"] == "checked: hello pipeline"
    assert notify["startTime"] >= acts[("Deploy", "Site")][0]["lastUpdateTime"]  # runOrder 2 after runOrder 1
    assert acts[("Approve", "Release")][0]["output"]["executionResult"]["externalExecutionSummary"] == "looks good"
    with pytest.raises(cp.exceptions.ApprovalAlreadyCompletedException):
        cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Release", token=token,
                               result={"summary": "again", "status": "Rejected"})  # fmt: skip
    # The build output really went through the artifact store, under AWS's key layout.
    store_keys = [o["Key"] for o in s3.list_objects_v2(Bucket=store)["Contents"]]
    assert any(k.startswith(f"{name[:20]}/BuildOutpu/") for k in store_keys), store_keys
    assert any(k.startswith(f"{name[:20]}/SourceOutp/") for k in store_keys), store_keys
