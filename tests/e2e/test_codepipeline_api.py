"""CodePipeline API behaviour with boto3: errors at creation, versions, transitions, supersede, stop, retry rules, variables."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from codepipeline_support import (
    ROLE,
    Sandbox,
    actions_of,
    approval_stage,
    approval_token,
    clients,
    error_code,
    execution,
    tid,
    wait_for,
    wait_status,
)
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("codepipeline-api") / "data", "--runtime", "process")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def aws(srv: Server) -> Callable[[str], Any]:
    return clients(srv)


def deploy_stage(bucket: str, input_name: str = "Src", **cfg: str) -> dict[str, Any]:
    return {"name": "Deploy", "actions": [{"name": "Put", "actionTypeId": tid("Deploy", "S3"), "inputArtifacts": [{"name": input_name}],
                                           "configuration": {"BucketName": bucket, "Extract": "true", **cfg}}]}  # fmt: skip


def test_bad_pipelines_are_refused_at_creation(aws: Callable[[str], Any]) -> None:
    box = Sandbox(aws)
    cp = box.cp
    good = box.pipeline(f"bad-{box.sfx}", deploy_stage(box.store))
    cases: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
        (lambda d: d["stages"][1]["actions"][0]["actionTypeId"].update(provider="S4"), "InvalidActionDeclarationException",
         "ActionType (Category: 'Deploy', Provider: 'S4', Owner: 'AWS', Version: '1') in action 'Put' is not available in region 'US_EAST_1'"),
        (lambda d: d["stages"][1]["actions"][0].update(inputArtifacts=[{"name": "Nowhere"}]), "InvalidStructureException",
         "Input artifact 'Nowhere' of action 'Put' in stage 'Deploy' is not the output artifact of any action in the pipeline"),
        (lambda d: d["stages"][1]["actions"].append({"name": "Fn", "actionTypeId": tid("Invoke", "Lambda"), "runOrder": 1,
                                                     "configuration": {"FunctionName": "f"}, "outputArtifacts": [{"name": "FnOut"}]})
         or d["stages"][1]["actions"][0].update(inputArtifacts=[{"name": "FnOut"}]), "InvalidStructureException",
         "is produced by action 'Fn' with runOrder 1"),
        (lambda d: d["stages"].pop(), "InvalidStructureException", "There should be a minimum of 2 stages in a pipeline"),
        (lambda d: d["artifactStore"].update(location=f"missing-{box.sfx}"), "InvalidStructureException",
         f"The artifact store bucket 'missing-{box.sfx}' does not exist"),
        (lambda d: d["stages"][1]["actions"][0]["configuration"].pop("BucketName"), "InvalidActionDeclarationException",
         "missing required configuration 'BucketName'"),
    ]  # fmt: skip
    for edit, code, message in cases:
        decl = copy.deepcopy(good)
        edit(decl)
        with pytest.raises(cp.exceptions.ClientError) as info:
            cp.create_pipeline(pipeline=decl)
        got = error_code(info)
        assert got[0] == code and message in got[1], got
    assert cp.list_pipelines()["pipelines"] == [] or all(p["name"] != good["name"] for p in cp.list_pipelines()["pipelines"])
    box.create(good["name"], deploy_stage(box.store))
    with pytest.raises(cp.exceptions.PipelineNameInUseException):
        cp.create_pipeline(pipeline=good)
    for call, kwargs in ((cp.get_pipeline, {"name": "nope"}), (cp.get_pipeline_state, {"name": "nope"}),
                         (cp.start_pipeline_execution, {"name": "nope"})):  # fmt: skip
        with pytest.raises(cp.exceptions.PipelineNotFoundException):
            call(**kwargs)
    with pytest.raises(cp.exceptions.PipelineExecutionNotFoundException):
        cp.get_pipeline_execution(pipelineName=good["name"], pipelineExecutionId="11111111-1111-1111-1111-111111111111")


def test_versions_update_delete_list_and_tags(aws: Callable[[str], Any]) -> None:
    box = Sandbox(aws)
    cp, name = box.cp, f"crud-{box.sfx}"
    decl = box.pipeline(name, approval_stage(), deploy_stage(box.store))
    cp.create_pipeline(pipeline=decl, tags=[{"key": "team", "value": "web"}])
    gate_id = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    token = approval_token(cp, name, "Approve", gate_id)
    got = cp.get_pipeline(name=name)
    arn = f"arn:aws:codepipeline:us-east-1:000000000000:{name}"
    assert got["metadata"]["pipelineArn"] == arn and got["pipeline"]["version"] == 1
    decl["stages"][2]["actions"][0]["configuration"]["ObjectKey"] = "v2"
    updated = cp.update_pipeline(pipeline=decl)["pipeline"]
    assert updated["version"] == 2
    assert "ObjectKey" not in cp.get_pipeline(name=name, version=1)["pipeline"]["stages"][2]["actions"][0]["configuration"]
    assert cp.get_pipeline(name=name)["pipeline"]["stages"][2]["actions"][0]["configuration"]["ObjectKey"] == "v2"
    with pytest.raises(cp.exceptions.PipelineVersionNotFoundException):
        cp.get_pipeline(name=name, version=7)
    # The execution in the approval stage runs the old definition: its running action finishes, then it is
    # cancelled instead of going on to Deploy.
    cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate", token=token, result={"summary": "ok", "status": "Approved"})
    done = wait_status(cp, name, gate_id, "Cancelled", "Succeeded")
    assert done["status"] == "Cancelled" and done["pipelineVersion"] == 1
    assert ("Deploy", "Put") not in actions_of(cp, name, gate_id)
    assert cp.get_pipeline_state(name=name)["pipelineVersion"] == 2
    listed = {p["name"]: p for p in cp.list_pipelines()["pipelines"]}
    assert listed[name]["version"] == 2 and listed[name]["pipelineType"] == "V1" and listed[name]["executionMode"] == "SUPERSEDED"
    cp.tag_resource(resourceArn=arn, tags=[{"key": "stage", "value": "prod"}])
    cp.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "stage", "value": "prod"}]
    with pytest.raises(cp.exceptions.InvalidArnException):
        cp.list_tags_for_resource(resourceArn="arn:aws:s3:::bucket")
    cp.delete_pipeline(name=name)
    with pytest.raises(cp.exceptions.PipelineNotFoundException):
        cp.get_pipeline(name=name)
    with pytest.raises(cp.exceptions.ResourceNotFoundException):
        cp.list_tags_for_resource(resourceArn=arn)


def test_disabled_transition_supersede_stop_and_reject(aws: Callable[[str], Any]) -> None:
    box = Sandbox(aws)
    cp, name = box.cp, f"gate-{box.sfx}"
    cp.create_pipeline(pipeline=box.pipeline(name, approval_stage()))
    first = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    approval_token(cp, name, "Approve", first)
    cp.disable_stage_transition(pipelineName=name, stageName="Source", transitionType="Outbound", reason="change freeze")
    state = cp.get_pipeline_state(name=name)["stageStates"][1]
    assert state["inboundTransitionState"]["enabled"] is False and state["inboundTransitionState"]["disabledReason"] == "change freeze"
    a = cp.start_pipeline_execution(name=name, clientRequestToken="tok-a")["pipelineExecutionId"]
    assert cp.start_pipeline_execution(name=name, clientRequestToken="tok-a")["pipelineExecutionId"] == a  # idempotent
    wait_for(lambda: cp.get_pipeline_state(name=name)["stageStates"][1].get("inboundExecution", {}).get("pipelineExecutionId") == a)
    b = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    # b reaches the same closed transition: a, waiting there, is superseded by it.
    sup = wait_status(cp, name, a, "Superseded")
    assert sup["status"] == "Superseded"
    summary = next(s for s in cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"] if s["pipelineExecutionId"] == a)
    assert summary["statusSummary"] == f"Superseded by pipeline execution {b}"
    # Reject the first execution's approval; once the gate is free, b may enter when the transition opens.
    token = approval_token(cp, name, "Approve", first)
    cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate", token=token, result={"summary": "not today", "status": "Rejected"})
    assert wait_status(cp, name, first, "Failed")["statusSummary"] == "Stage Approve failed: action Gate failed"
    gate = actions_of(cp, name, first)[("Approve", "Gate")][0]
    assert gate["output"]["executionResult"]["errorDetails"]["message"] == "Rejected: not today"
    time.sleep(0.2)
    assert execution(cp, name, b)["status"] == "InProgress"  # still held by the disabled transition
    cp.enable_stage_transition(pipelineName=name, stageName="Approve", transitionType="Inbound")
    approval_token(cp, name, "Approve", b)
    with pytest.raises(cp.exceptions.InvalidApprovalTokenException):
        cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate", token="nope", result={"summary": "x", "status": "Approved"})
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=b, reason="wrong build")
    with pytest.raises(cp.exceptions.DuplicatedStopRequestException):
        cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=b)
    assert execution(cp, name, b)["status"] == "Stopping"  # stop and wait: the approval is still running
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=b, abandon=True)
    assert wait_status(cp, name, b, "Stopped")["status"] == "Stopped"
    assert actions_of(cp, name, b)[("Approve", "Gate")][0]["status"] == "Abandoned"
    stopped = next(s for s in cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"] if s["pipelineExecutionId"] == b)
    assert stopped["stopTrigger"] == {"reason": "wrong build"}
    with pytest.raises(cp.exceptions.PipelineExecutionNotStoppableException):
        cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=b)
    # A stopped stage can be retried: the abandoned approval runs again.
    cp.retry_stage_execution(pipelineName=name, stageName="Approve", pipelineExecutionId=b, retryMode="FAILED_ACTIONS")
    token = approval_token(cp, name, "Approve", b)
    cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate", token=token, result={"summary": "ok", "status": "Approved"})
    assert wait_status(cp, name, b, "Succeeded")["status"] == "Succeeded"
    with pytest.raises(cp.exceptions.StageNotRetryableException):
        cp.retry_stage_execution(pipelineName=name, stageName="Approve", pipelineExecutionId=b, retryMode="FAILED_ACTIONS")
    with pytest.raises(cp.exceptions.NotLatestPipelineExecutionException):
        cp.retry_stage_execution(pipelineName=name, stageName="Approve", pipelineExecutionId=first, retryMode="FAILED_ACTIONS")
    ok = cp.list_pipeline_executions(pipelineName=name, filter={"succeededInStage": {"stageName": "Approve"}})["pipelineExecutionSummaries"]
    assert [s["pipelineExecutionId"] for s in ok] == [b]


def test_v2_variables_overrides_and_s3_deploy_without_extract(aws: Callable[[str], Any]) -> None:
    box = Sandbox(aws, {"index.html": "one"})
    cp, name = box.cp, f"vars-{box.sfx}"
    old_version = box.upload({"index.html": "two"})
    site = f"site-{box.sfx}"
    box.s3.create_bucket(Bucket=site)
    decl = box.pipeline(name, deploy_stage(site, Extract="false", ObjectKey="#{variables.env}/#{codepipeline.PipelineExecutionId}.zip"),
                        pipelineType="V2", variables=[{"name": "env", "defaultValue": "dev"}])  # fmt: skip
    cp.create_pipeline(pipeline=decl)
    with pytest.raises(cp.exceptions.ValidationException) as info:
        cp.start_pipeline_execution(name=name, variables=[{"name": "region", "value": "x"}])
    assert "Variable 'region' is not declared in the pipeline" in error_code(info)[1]
    box.upload({"index.html": "three"})
    eid = cp.start_pipeline_execution(name=name, variables=[{"name": "env", "value": "prod"}],
                                      sourceRevisions=[{"actionName": "Code", "revisionType": "S3_OBJECT_VERSION_ID", "revisionValue": old_version}])["pipelineExecutionId"]  # fmt: skip
    done = wait_status(cp, name, eid, "Succeeded", "Failed")
    assert done["status"] == "Succeeded" and done["variables"] == [{"name": "env", "resolvedValue": "prod"}]
    assert done["artifactRevisions"][0]["revisionId"] == old_version
    import io
    import zipfile

    body = box.s3.get_object(Bucket=site, Key=f"prod/{eid}.zip")["Body"].read()
    assert zipfile.ZipFile(io.BytesIO(body)).read("index.html") == b"two"


def test_unversioned_source_bucket_and_codedeploy_integration_point(aws: Callable[[str], Any]) -> None:
    box = Sandbox(aws)
    cp = box.cp
    plain = f"plain-{box.sfx}"
    box.s3.create_bucket(Bucket=plain)
    box.s3.put_object(Bucket=plain, Key="app.zip", Body=b"x")
    decl = box.pipeline(f"plain-{box.sfx}", approval_stage())
    decl["stages"][0]["actions"][0]["configuration"]["S3Bucket"] = plain
    cp.create_pipeline(pipeline=decl)
    eid = cp.list_pipeline_executions(pipelineName=decl["name"])["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    wait_status(cp, decl["name"], eid, "Failed")
    err = actions_of(cp, decl["name"], eid)[("Source", "Code")][0]["output"]["executionResult"]["errorDetails"]
    assert err == {"code": "ConfigurationError", "message": f"The S3 bucket '{plain}' is not versioned: an Amazon S3 source action needs a bucket with versioning enabled"}

    name = f"cd-{box.sfx}"
    stage = {"name": "Deploy", "actions": [{"name": "Blue", "actionTypeId": tid("Deploy", "CodeDeploy"), "inputArtifacts": [{"name": "Src"}],
                                            "configuration": {"ApplicationName": "app", "DeploymentGroupName": "grp"}}]}  # fmt: skip
    eid = box.create(name, stage)
    done = wait_status(cp, name, eid, "Failed", "Succeeded")
    act = actions_of(cp, name, eid)[("Deploy", "Blue")][0]
    try:
        import gureum.services.codedeploy.public  # noqa: F401
    except ImportError:
        assert done["status"] == "Failed"
        message = act["output"]["executionResult"]["errorDetails"]["message"]
        assert message.startswith("The CodeDeploy action provider is not available yet in Gureum"), message
    else:  # CodeDeploy exists now: the missing application fails the deployment with CodeDeploy's own message
        assert act["status"] in ("Failed", "Succeeded")


def test_role_arn_and_structure_come_back_as_sent(aws: Callable[[str], Any]) -> None:
    box = Sandbox(aws)
    decl = box.pipeline(f"echo-{box.sfx}", approval_stage())
    out = box.cp.create_pipeline(pipeline=decl)["pipeline"]
    assert out["roleArn"] == ROLE and out["stages"][1]["actions"][0]["actionTypeId"] == tid("Approval", "Manual")
    assert out["stages"][0]["actions"][0]["configuration"] == decl["stages"][0]["actions"][0]["configuration"]
