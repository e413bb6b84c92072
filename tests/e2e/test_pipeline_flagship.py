"""The flagship CI/CD run: a zip pushed to S3 goes through build, a failing test, a retry, approval, an ECS deploy behind an ALB and a Lambda smoke test.

One server of its own on the process runtime at ``--time-scale 30``: ECS counts a
deployment COMPLETED after its tasks have been steady for 40 s of virtual time
(about 1.3 real seconds here), and the target group's 5 s health checks and
deregistration delay shrink the same way.  Every wait is bounded polling.

How the new version reaches the tasks (the ECS action only swaps images):
each task of the service downloads ``release/bundle/version.txt`` from a
"site" bucket when it starts and serves ``<version> <its hostname>`` with
busybox httpd on ``$GUREUM_PRIVATE_IP``.  The service starts on ``v1``; the
pipeline's Deploy stage puts the Build stage's bundle (``v2``) there (S3
deploy, runOrder 1), then the ECS action (runOrder 2) registers a new task
definition revision from ``imagedefinitions.json`` and rolls the service, so
only the replacement tasks serve ``v2`` — and their hostnames name their tasks.

The Test stage fails while the test project's ``TEST_MODE`` says ``broken``;
the fix is an UpdateProject, so RetryStageExecution(FAILED_ACTIONS) succeeds
on the same source revision.  A background loop requests through the ALB
during approval, deploy and drain: no request may fail.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from codepipeline_support import (
    ROLE,
    actions_of,
    approval_token,
    clients,
    execution,
    tid,
    wait_for,
    wait_status,
    zip_of,
)
from conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e

BUSYBOX = "gureum/busybox:latest"
NET = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
CB_ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}

BUILDSPEC = """\
version: 0.2
env:
  variables:
    IMAGE: gureum/busybox:latest
phases:
  build:
    commands:
      - mkdir -p bundle
      - cp app/VERSION bundle/version.txt
      - cp app/index.sh bundle/index.sh
      - printf '[{"name":"web","imageUri":"%s"}]' "$IMAGE" > imagedefinitions.json
artifacts:
  files: ['imagedefinitions.json', 'bundle/**/*', 'tests/**/*', 'buildspec-test.yml']
"""
TEST_BUILDSPEC = """\
version: 0.2
phases:
  build:
    commands:
      - sh tests/run.sh
"""
RUN_TESTS = """\
grep -qx v2 bundle/version.txt || { echo "the bundle lost its version"; exit 1; }
grep -q web imagedefinitions.json || { echo "no image definition for web"; exit 1; }
if [ "$TEST_MODE" != "pass" ]; then echo "test failed: TEST_MODE=$TEST_MODE"; exit 3; fi
echo "all tests passed"
"""
SMOKE = """\
import http.client
import boto3

def handler(event, context):
    job = event["CodePipeline.job"]
    address = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    conn = http.client.HTTPConnection(address, 80, timeout=5)
    conn.request("GET", "/")
    resp = conn.getresponse()
    body = resp.read().decode().strip()
    cp = boto3.client("codepipeline")
    if resp.status == 200 and body.startswith("v2 "):
        cp.put_job_success_result(jobId=job["id"], executionDetails={"summary": "smoke: " + body},
                                  outputVariables={"served": body})
    else:
        cp.put_job_failure_result(jobId=job["id"], failureDetails={"type": "JobFailed", "message": f"{resp.status} {body}"})
    return {"status": resp.status}
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("pipeline-flagship") / "data"
    server = start_server(data, "--runtime", "process", "--time-scale", "30")
    try:
        yield server
    finally:
        stop_server(server)
        _wipe(data)


def _wipe(data: Path) -> None:
    """No task process outlives the test."""
    import asyncio

    from gureum.runtime.process import ProcessDriver
    from gureum.runtime.selection import data_dir_id

    async def wipe() -> None:
        drv = ProcessDriver(data / "runtime" / "process", data_dir_id(data))
        for st in await drv.list():
            await drv.remove(st.id, force=True)

    asyncio.run(wipe())


class Web:
    """An ALB in front of an ECS service of two busybox httpd tasks that serve the site bucket's release."""

    def __init__(self, aws: Callable[[str], Any], endpoint: str, sfx: str) -> None:
        self.ecs, self.elb, s3 = aws("ecs"), aws("elbv2"), aws("s3")
        self.cluster, self.service, self.family, self.site = f"c-{sfx}", f"web-{sfx}", f"web-{sfx}", f"site-{sfx}"
        s3.create_bucket(Bucket=self.site)
        s3.put_object(Bucket=self.site, Key="release/bundle/version.txt", Body=b"v1\n")
        self.ecs.create_cluster(clusterName=self.cluster)
        self.tg = self.elb.create_target_group(
            Name=f"tg-{sfx}", Protocol="HTTP", Port=80, TargetType="ip", HealthCheckPath="/",
            HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=4, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        self.elb.modify_target_group_attributes(
            TargetGroupArn=self.tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
        )
        lb = self.elb.create_load_balancer(Name=f"alb-{sfx}")["LoadBalancers"][0]["LoadBalancerArn"]
        self.elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                 DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tg}])  # fmt: skip
        self.ip: str = wait_for(lambda: self._address(lb), what="the balancer's address")
        url = f"{endpoint}/{self.site}/release/bundle/version.txt"
        script = ('mkdir -p www && wget -q -O www/version "$RELEASE_URL" && '
                  'echo "$(cat www/version) $HOSTNAME" > www/index.html && exec httpd -f -p $GUREUM_PRIVATE_IP:80 -h www')  # fmt: skip
        self.ecs.register_task_definition(
            family=self.family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{"name": "web", "image": BUSYBOX, "command": ["sh", "-c", script], "stopTimeout": 2,
                                   "environment": [{"name": "RELEASE_URL", "value": url}], "portMappings": [{"containerPort": 80}]}],
        )  # fmt: skip
        self.ecs.create_service(
            cluster=self.cluster, serviceName=self.service, taskDefinition=self.family, desiredCount=2, launchType="FARGATE",
            networkConfiguration=NET, deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
            loadBalancers=[{"targetGroupArn": self.tg, "containerName": "web", "containerPort": 80}],
        )  # fmt: skip

    def _address(self, arn: str) -> str | None:
        lb = self.elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
        ips = [a.get("IpAddress") for az in lb.get("AvailabilityZones") or [] for a in az.get("LoadBalancerAddresses") or []]
        return next((str(ip) for ip in ips if ip), None)

    def get(self) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.ip, 80, timeout=5)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            return resp.status, resp.read().decode().strip()
        finally:
            conn.close()

    def bodies(self, count: int) -> set[str] | None:
        """The bodies of 8 requests through the ALB, if ``count`` different tasks answered them."""
        got = {self.get()[1] for _ in range(8)}
        return got if len(got) == count else None

    def describe(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster=self.cluster, services=[self.service])["services"][0]  # type: ignore[no-any-return]

    def running_tasks(self) -> dict[str, str]:
        """task id → task definition ARN of the service's RUNNING tasks."""
        arns = self.ecs.list_tasks(cluster=self.cluster, serviceName=self.service, desiredStatus="RUNNING")["taskArns"]
        tasks = self.ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []
        return {t["taskArn"].rsplit("/", 1)[-1]: t["taskDefinitionArn"] for t in tasks if t["lastStatus"] == "RUNNING"}

    def target_ids(self, state: str | None = None) -> set[str]:
        desc = self.elb.describe_target_health(TargetGroupArn=self.tg)["TargetHealthDescriptions"]
        return {d["Target"]["Id"] for d in desc if state is None or d["TargetHealth"]["State"] == state}


class Traffic:
    """Two threads requesting through the ALB until stopped, counting every answer that is not a 200."""

    def __init__(self, web: Web) -> None:
        self.web, self.stop, self.lock = web, threading.Event(), threading.Lock()
        self.ok = 0
        self.failures: list[str] = []
        self.bodies: set[str] = set()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(2)]

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                status, body = self.web.get()
            except OSError as exc:
                status, body = 0, repr(exc)
            with self.lock:
                if status == 200:
                    self.ok += 1
                    self.bodies.add(body)
                else:
                    self.failures.append(f"{status} {body[:200]}")

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)


def pipeline_decl(name: str, src: str, store: str, build: str, test: str, web: Web, fn: str) -> dict[str, Any]:
    return {
        "name": name, "roleArn": ROLE, "artifactStore": {"type": "S3", "location": store},
        "stages": [
            {"name": "Source", "actions": [{"name": "Code", "actionTypeId": tid("Source", "S3"), "outputArtifacts": [{"name": "Src"}],
                                             "configuration": {"S3Bucket": src, "S3ObjectKey": "app.zip", "PollForSourceChanges": "true"}}]},
            {"name": "Build", "actions": [{"name": "Bundle", "actionTypeId": tid("Build", "CodeBuild"), "configuration": {"ProjectName": build},
                                            "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "Out"}]}]},
            {"name": "Test", "actions": [{"name": "Unit", "actionTypeId": tid("Test", "CodeBuild"), "configuration": {"ProjectName": test},
                                           "inputArtifacts": [{"name": "Out"}]}]},
            {"name": "Approve", "actions": [{"name": "Gate", "actionTypeId": tid("Approval", "Manual")}]},
            {"name": "Deploy", "actions": [
                {"name": "Release", "actionTypeId": tid("Deploy", "S3"), "runOrder": 1, "inputArtifacts": [{"name": "Out"}],
                 "configuration": {"BucketName": web.site, "Extract": "true", "ObjectKey": "release"}},
                {"name": "Roll", "actionTypeId": tid("Deploy", "ECS"), "runOrder": 2, "inputArtifacts": [{"name": "Out"}],
                 "configuration": {"ClusterName": web.cluster, "ServiceName": web.service, "DeploymentTimeout": "10"}},
            ]},
            {"name": "Invoke", "actions": [{"name": "Smoke", "actionTypeId": tid("Invoke", "Lambda"),
                                             "configuration": {"FunctionName": fn, "UserParameters": web.ip}}]},
        ],
    }  # fmt: skip


def stage_status(cp: Any, name: str, stage: str, eid: str) -> str | None:
    for st in cp.get_pipeline_state(name=name)["stageStates"]:
        latest = st.get("latestExecution") or {}
        if st["stageName"] == stage and latest.get("pipelineExecutionId") == eid:
            return str(latest["status"])
    return None


def test_a_pushed_zip_is_built_tested_retried_approved_deployed_to_ecs_behind_the_alb_and_smoke_tested(srv: Server) -> None:
    aws = clients(srv)
    s3, cp, cb, lam = aws("s3"), aws("codepipeline"), aws("codebuild"), aws("lambda")
    sfx = uuid.uuid4().hex[:8]
    web = Web(aws, srv.endpoint, sfx)
    src, store, name, build, test, fn = (f"{p}-{sfx}" for p in ("src", "store", "app", "build", "test", "smoke"))
    for b in (src, store):
        s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Enabled"})
    for project, spec, mode in ((build, "buildspec.yml", "-"), (test, "buildspec-test.yml", "broken")):
        cb.create_project(name=project, source={"type": "CODEPIPELINE", "buildspec": spec}, artifacts={"type": "CODEPIPELINE"},
                          environment={**CB_ENV, "environmentVariables": [{"name": "TEST_MODE", "value": mode}]}, serviceRole=ROLE)  # fmt: skip
    lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="smoke.handler", Timeout=30,
                        Code={"ZipFile": zip_of({"smoke.py": SMOKE})})  # fmt: skip

    # v1 is live behind the ALB: two healthy targets, each task answering with its own hostname.
    wait_for(lambda: len(web.target_ids("healthy")) == 2, timeout=20, what="two healthy v1 targets")
    v1_tasks = web.running_tasks()
    assert len(v1_tasks) == 2 and all(td.endswith(f"{web.family}:1") for td in v1_tasks.values())
    seen = wait_for(lambda: web.bodies(2), what="both v1 tasks answering")
    assert seen == {f"v1 gureum-ecs-{t}-web" for t in v1_tasks}, seen

    # The pipeline exists before its source: the CreatePipeline execution fails at Source; the upload starts the next one.
    cp.create_pipeline(pipeline=pipeline_decl(name, src, store, build, test, web, fn))
    first = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    assert wait_status(cp, name, first, "Failed", "Succeeded")["status"] == "Failed"
    s3.put_object(Bucket=src, Key="app.zip", Body=zip_of({
        "buildspec.yml": BUILDSPEC, "buildspec-test.yml": TEST_BUILDSPEC, "tests/run.sh": RUN_TESTS,
        "app/VERSION": "v2\n", "app/index.sh": "echo served by the bundle\n"}))  # fmt: skip
    pushed = wait_for(lambda: [e for e in cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
                               if e["trigger"]["triggerType"] == "PollForSourceChanges"], timeout=10, what="an execution started by the upload")  # fmt: skip
    eid = pushed[0]["pipelineExecutionId"]

    # The Test stage fails and the pipeline stops there: nothing after it ran, the service was not touched.
    assert wait_status(cp, name, eid, "Failed", "Succeeded", timeout=40)["status"] == "Failed"
    acts = actions_of(cp, name, eid)
    assert acts[("Build", "Bundle")][0]["status"] == "Succeeded"
    failed_test = acts[("Test", "Unit")][0]
    assert failed_test["status"] == "Failed"
    assert "exit status 3" in failed_test["output"]["executionResult"]["errorDetails"]["message"], failed_test
    assert not [k for k in acts if k[0] in ("Approve", "Deploy", "Invoke")], list(acts)
    state = {s["stageName"]: s.get("latestExecution") for s in cp.get_pipeline_state(name=name)["stageStates"]}
    assert state["Test"]["status"] == "Failed" and state["Deploy"] is None and state["Invoke"] is None
    assert web.describe()["taskDefinition"].endswith(f"{web.family}:1") and web.running_tasks() == v1_tasks

    # The fix: the test project's marker says pass.  Retrying the failed action runs the same source revision.
    cb.update_project(name=test, environment={**CB_ENV, "environmentVariables": [{"name": "TEST_MODE", "value": "pass"}]})
    cp.retry_stage_execution(pipelineName=name, stageName="Test", pipelineExecutionId=eid, retryMode="FAILED_ACTIONS")
    with Traffic(web) as traffic:
        token = approval_token(cp, name, "Approve", eid)
        # The approval holds the pipeline: for a while nothing reaches Deploy.
        until = time.monotonic() + 0.5
        while time.monotonic() < until:
            assert stage_status(cp, name, "Deploy", eid) is None and execution(cp, name, eid)["status"] == "InProgress"
            time.sleep(0.1)
        cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate", token=token,
                               result={"summary": "ship v2", "status": "Approved"})  # fmt: skip
        done = wait_status(cp, name, eid, "Succeeded", "Failed", timeout=45)
        acts = actions_of(cp, name, eid)
        assert done["status"] == "Succeeded", {k: v[-1]["output"] for k, v in acts.items()}
        # Drained: the v1 tasks have left the target group, two new ones are healthy.
        wait_for(lambda: web.target_ids() == web.target_ids("healthy") and len(web.target_ids()) == 2
                 and not set(web.running_tasks()) & set(v1_tasks), timeout=20, what="the v1 targets drained")  # fmt: skip
    assert traffic.failures == [], traffic.failures[:5]

    # Deploy: a new task definition revision is PRIMARY and steady, its tasks replaced the v1 tasks.
    svc = web.describe()
    assert svc["taskDefinition"].endswith(f"{web.family}:2")
    assert [(d["status"], d["rolloutState"]) for d in svc["deployments"]] == [("PRIMARY", "COMPLETED")]
    v2_tasks = web.running_tasks()
    assert len(v2_tasks) == 2 and set(v2_tasks.values()) == {svc["taskDefinition"]} and not set(v2_tasks) & set(v1_tasks)
    roll = acts[("Deploy", "Roll")][0]
    assert roll["output"]["executionResult"]["externalExecutionSummary"] == f"Service {web.service} reached a steady state on task definition {web.family}:2"
    assert roll["startTime"] >= acts[("Deploy", "Release")][0]["lastUpdateTime"]  # runOrder 2 after the bundle

    # HTTP through the ALB now answers 200 from the new tasks only; the loop saw both versions and no failure.
    v2_bodies = {f"v2 gureum-ecs-{t}-web" for t in v2_tasks}
    after = [web.get() for _ in range(8)]
    assert {s for s, _ in after} == {200} and {b for _, b in after} <= v2_bodies, after
    assert traffic.ok > 10 and {b.split(" ")[0] for b in traffic.bodies} == {"v1", "v2"}, (traffic.ok, traffic.bodies)

    # The retried Test succeeded, the approval and the Lambda smoke test reported back.
    assert [a["status"] for a in acts[("Test", "Unit")]] == ["Failed", "Succeeded"]
    assert [a["status"] for a in acts[("Build", "Bundle")]] == ["Succeeded"]  # not rebuilt by the retry
    assert acts[("Approve", "Gate")][0]["output"]["executionResult"]["externalExecutionSummary"] == "ship v2"
    smoke = acts[("Invoke", "Smoke")][0]
    assert smoke["status"] == "Succeeded" and smoke["output"]["outputVariables"]["served"] in v2_bodies, smoke
    assert smoke["output"]["executionResult"]["externalExecutionSummary"].startswith("smoke: v2 ")
