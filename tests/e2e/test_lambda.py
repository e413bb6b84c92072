"""Lambda through boto3: functions that really run, with their logs, metrics,
versions and aliases, and AWS's errors.

Functions are made once per module (warm workers are reused across tests)
in region ap-northeast-2, so the empty-listing test can use a region no
other test touches.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e

REGION = "ap-northeast-2"
ROLE = "arn:aws:iam::000000000000:role/lambda-role"

ECHO = """
import os
print("echo module loaded")

def handler(event, context):
    print("echo got", event.get("mark"))
    return {
        "event": event,
        "greeting": os.environ.get("GREETING"),
        "name": context.function_name,
        "version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "left": context.get_remaining_time_in_millis(),
        "region": os.environ["AWS_REGION"],
        "stream": context.log_stream_name,
        "group": context.log_group_name,
        "code": "v1",
    }
"""

BOOM = """
def handler(event, context):
    raise ValueError("boom " + str(event.get("n")))
"""

SLEEPY = """
import time

def handler(event, context):
    print("going to sleep")
    time.sleep(30)
"""

AWS = """
import boto3

def handler(event, context):
    if "put" in event:
        boto3.client("s3").put_object(Bucket=event["bucket"], Key=event["put"], Body=b"from lambda")
        return {"put": event["put"]}
    ident = boto3.client("sts").get_caller_identity()
    buckets = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    return {"account": ident["Account"], "buckets": buckets}
"""


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)


def invoke(lam: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    out = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs)
    return out, json.loads(out["Payload"].read())


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    err = exc.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"]["Message"]


@pytest.fixture(scope="module")
def lam(client: Callable[..., Any]) -> Any:
    return client("lambda", region=REGION)


@pytest.fixture(scope="module")
def functions(lam: Any) -> dict[str, dict[str, Any]]:
    suffix = uuid.uuid4().hex[:6]
    specs = {
        "echo": ({"app.py": ECHO}, "app.handler", {"Environment": {"Variables": {"GREETING": "annyeong"}}, "MemorySize": 256}),
        "boom": ({"boom.py": BOOM}, "boom.handler", {}),
        "sleepy": ({"sleepy.py": SLEEPY}, "sleepy.handler", {"Timeout": 1}),
        "aws": ({"aws.py": AWS}, "aws.handler", {"Timeout": 30}),
        "nohandler": ({"other.py": "x = 1\n"}, "missing.handler", {}),
    }
    made = {}
    for key, (files, handler, extra) in specs.items():
        package = make_zip(files)
        cfg = lam.create_function(
            FunctionName=f"{key}-{suffix}", Runtime="python3.12", Role=ROLE, Handler=handler,
            Code={"ZipFile": package}, Tags={"suite": "lambda"}, **extra,
        )
        made[key] = dict(cfg, _zip=package)
    for cfg in made.values():
        wait_for(lambda c=cfg: lam.get_function_configuration(FunctionName=c["FunctionName"])["State"] == "Active")
    return made


# -- functions ------------------------------------------------------------------------


def test_create_reports_the_package_and_defaults(lam: Any, functions: dict[str, Any], server: Any) -> None:
    created = functions["boom"]
    package = created["_zip"]
    assert created["State"] == "Pending" and created["LastUpdateStatus"] == "InProgress"
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert created["CodeSize"] == len(package)
    assert created["Version"] == "$LATEST" and created["Timeout"] == 3 and created["MemorySize"] == 128
    assert created["FunctionArn"] == f"arn:aws:lambda:{REGION}:000000000000:function:{created['FunctionName']}"
    got = lam.get_function(FunctionName=created["FunctionName"])
    cfg = got["Configuration"]
    assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "Successful"
    assert cfg["RevisionId"] and cfg["Role"] == ROLE and cfg["Handler"] == "boom.handler"
    assert got["Tags"] == {"suite": "lambda"}
    assert got["Code"]["RepositoryType"] == "S3"
    digest = hashlib.sha256(package).hexdigest()
    assert got["Code"]["Location"] == (
        f"{server.endpoint}/_gureum/lambda/code/000000000000/{REGION}/{created['FunctionName']}/{digest}.zip"
    )
    by_arn = lam.get_function_configuration(FunctionName=created["FunctionArn"])
    assert by_arn["CodeSha256"] == created["CodeSha256"]
    assert functions["echo"]["Environment"] == {"Variables": {"GREETING": "annyeong"}}


def test_code_location_serves_the_package(lam: Any, functions: dict[str, Any]) -> None:
    import urllib.request

    location = lam.get_function(FunctionName=functions["boom"]["FunctionName"])["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/zip"
        assert resp.read() == functions["boom"]["_zip"]


def test_list_functions_pages(lam: Any, functions: dict[str, Any]) -> None:
    names = {f["FunctionName"] for f in functions.values()}
    pages = list(lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 3 and all(len(p["Functions"]) <= 2 for p in pages)
    listed = [f["FunctionName"] for p in pages for f in p["Functions"]]
    assert names <= set(listed) and len(listed) == len(set(listed))


def test_list_functions_is_empty_in_an_unused_region(client: Callable[..., Any]) -> None:
    lam = client("lambda", region="ap-southeast-3")
    out = lam.list_functions(MaxItems=10)
    assert out["Functions"] == [] and "NextMarker" not in out


def test_duplicate_bad_zip_and_bad_parameters(lam: Any, functions: dict[str, Any], client: Callable[..., Any]) -> None:
    from botocore.config import Config

    # No client-side checks: the server must refuse these itself.
    raw = client("lambda", region=REGION, config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    good = {"Runtime": "python3.12", "Role": ROLE, "Handler": "a.b", "Code": {"ZipFile": make_zip({"a.py": ""})}}
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=functions["echo"]["FunctionName"], **good)
    assert error_of(exc)[:2] == (409, "ResourceConflictException")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"Code": {"ZipFile": b"this is not a zip"}}, 400, "InvalidParameterValueException"),
        ({"Runtime": "nodejs20.x"}, 400, "InvalidParameterValueException"),
        ({"Timeout": 901}, 400, "ValidationException"),
        ({"Timeout": 0}, 400, "ValidationException"),
        ({"MemorySize": 64}, 400, "ValidationException"),
        ({"MemorySize": 20480}, 400, "InvalidParameterValueException"),
        ({"Role": "not-a-role"}, 400, "ValidationException"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, 400, "InvalidParameterValueException"),
        ({"Code": {"S3Bucket": "no-such-bucket-lambda", "S3Key": "f.zip"}}, 400, "InvalidParameterValueException"),
    ]
    for override, status, code in cases:
        with pytest.raises(ClientError) as exc:
            raw.create_function(FunctionName=f"bad-{uuid.uuid4().hex[:6]}", **{**good, **override})
        assert error_of(exc)[:2] == (status, code), override
    with pytest.raises(ClientError) as exc:
        raw.create_function(FunctionName="bad name!", **good)
    assert error_of(exc)[:2] == (400, "ValidationException")
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName="badzip", **{**good, "Code": {"ZipFile": b"PK\x03\x04 junk"}})
    assert error_of(exc) == (
        400, "InvalidParameterValueException",
        "Could not unzip uploaded file. Please check your file, then try to upload again.",
    )


@pytest.mark.parametrize(
    ("call", "kwargs", "target"),
    [
        ("get_function", {"FunctionName": "nope"}, "function:nope"),
        ("get_function_configuration", {"FunctionName": "nope", "Qualifier": "3"}, "function:nope:3"),
        ("delete_function", {"FunctionName": "arn:aws:lambda:us-west-2:000000000000:function:gone"}, "function:gone"),
        ("invoke", {"FunctionName": "nope", "Payload": b"{}"}, "function:nope"),
    ],
)
def test_missing_function_is_a_404(client: Callable[..., Any], call: str, kwargs: dict[str, Any], target: str) -> None:
    lam = client("lambda", region="us-west-2")
    with pytest.raises(ClientError) as exc:
        getattr(lam, call)(**kwargs)
    assert error_of(exc) == (404, "ResourceNotFoundException", f"Function not found: arn:aws:lambda:us-west-2:000000000000:{target}")
    assert exc.value.response.get("Type") == "User"
    assert isinstance(exc.value, lam.exceptions.ResourceNotFoundException)


# -- invoking -------------------------------------------------------------------------


def test_invoke_returns_the_result_with_the_environment_and_context(lam: Any, functions: dict[str, Any]) -> None:
    name = functions["echo"]["FunctionName"]
    out, body = invoke(lam, name, {"mark": "first"})
    assert out["StatusCode"] == 200 and "FunctionError" not in out and out["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"mark": "first"} and body["greeting"] == "annyeong"
    assert body["name"] == name and body["version"] == "$LATEST" and body["memory"] == "256"
    assert body["arn"] == functions["echo"]["FunctionArn"] and body["region"] == REGION
    assert 0 < body["left"] <= 3000 and body["group"] == f"/aws/lambda/{name}"
    # Warm: the same worker (same log stream) answers again.
    _, again = invoke(lam, name, {"mark": "second"})
    assert again["stream"] == body["stream"]


def test_log_tail_and_cloudwatch_logs(lam: Any, functions: dict[str, Any], client: Callable[..., Any]) -> None:
    name = functions["echo"]["FunctionName"]
    mark = uuid.uuid4().hex
    out, body = invoke(lam, name, {"mark": mark}, LogType="Tail")
    tail = base64.b64decode(out["LogResult"]).decode()
    lines = tail.splitlines()
    assert any(line.startswith("START RequestId: ") and line.endswith("Version: $LATEST") for line in lines)
    assert f"echo got {mark}" in lines
    assert any(line.startswith("END RequestId: ") for line in lines)
    report = [line for line in lines if line.startswith("REPORT RequestId: ")]
    assert report and "\tDuration: " in report[0] and "\tMemory Size: 256 MB\t" in report[0]
    logs = client("logs", region=REGION)
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert body["stream"] in [s["logStreamName"] for s in streams]
    assert body["stream"].split("]")[0].endswith("/[$LATEST") and len(body["stream"].split("]")[1]) == 32
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern=f'"{mark}"')["events"]
    assert [e["message"].rstrip("\n") for e in events] == [f"echo got {mark}"]
    all_text = [e["message"] for e in logs.get_log_events(logGroupName=f"/aws/lambda/{name}", logStreamName=body["stream"])["events"]]
    assert any(m.startswith("INIT_START") for m in all_text) and "echo module loaded" in [m.rstrip() for m in all_text]


def test_a_raising_handler_reports_aws_error_document(lam: Any, functions: dict[str, Any]) -> None:
    out, body = invoke(lam, functions["boom"]["FunctionName"], {"n": 7}, LogType="Tail")
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "boom 7"
    assert any('raise ValueError("boom " + str(event.get("n")))' in frame for frame in body["stackTrace"])
    tail = base64.b64decode(out["LogResult"]).decode()
    assert "[ERROR] ValueError: boom 7" in tail and "Traceback (most recent call last):" in tail


def test_a_missing_handler_module_is_an_import_error(lam: Any, functions: dict[str, Any]) -> None:
    out, body = invoke(lam, functions["nohandler"]["FunctionName"])
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith("Unable to import module 'missing'")


def test_timeout_kills_the_worker_and_the_next_invocation_runs(lam: Any, functions: dict[str, Any]) -> None:
    name = functions["sleepy"]["FunctionName"]
    started = time.monotonic()
    out, body = invoke(lam, name, LogType="Tail")
    assert time.monotonic() - started < 10
    assert out["FunctionError"] == "Unhandled" and body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    tail = base64.b64decode(out["LogResult"]).decode()
    assert "going to sleep" in tail and "Task timed out after 1.00 seconds" in tail
    lam.update_function_configuration(FunctionName=name, Timeout=2)
    out, body = invoke(lam, name)
    assert body["errorMessage"].endswith("Task timed out after 2.00 seconds")


def test_bad_payload_dry_run_and_event(lam: Any, functions: dict[str, Any], client: Callable[..., Any]) -> None:
    name = functions["echo"]["FunctionName"]
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    assert error_of(exc)[:2] == (400, "InvalidRequestContentException")
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    s3 = client("s3", region=REGION)
    bucket = f"lambda-async-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    event = {"bucket": bucket, "put": "done.txt"}
    out = lam.invoke(FunctionName=functions["aws"]["FunctionName"], InvocationType="Event", Payload=json.dumps(event).encode())
    assert out["StatusCode"] == 202 and out["Payload"].read() == b""

    def written() -> bool:
        return any(o["Key"] == "done.txt" for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    wait_for(written, timeout=30)
    assert s3.get_object(Bucket=bucket, Key="done.txt")["Body"].read() == b"from lambda"


def test_boto3_inside_a_function_reaches_gureum(lam: Any, functions: dict[str, Any], client: Callable[..., Any]) -> None:
    s3 = client("s3", region=REGION)
    bucket = f"lambda-sees-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    out, body = invoke(lam, functions["aws"]["FunctionName"])
    assert "FunctionError" not in out, body
    assert body["account"] == "000000000000" and bucket in body["buckets"]


def test_metrics_are_published(lam: Any, functions: dict[str, Any], client: Callable[..., Any]) -> None:
    name = functions["boom"]["FunctionName"]
    invoke(lam, name, {"n": 1})
    cw = client("cloudwatch", region=REGION)
    now = time.time()
    dims = [{"Name": "FunctionName", "Value": name}]

    def total(metric: str) -> float:
        points = cw.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=metric, Dimensions=dims,
            StartTime=now - 600, EndTime=now + 120, Period=60, Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert total("Invocations") >= 1 and total("Errors") >= 1
    listed = cw.list_metrics(Namespace="AWS/Lambda", MetricName="Duration", Dimensions=dims)["Metrics"]
    assert listed


# -- versions, aliases, updates ----------------------------------------------------------


def test_versions_aliases_and_code_updates(lam: Any, functions: dict[str, Any]) -> None:
    name = functions["echo"]["FunctionName"]
    v1 = lam.publish_version(FunctionName=name, Description="first")
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(f":{name}:1") and v1["Description"] == "first"
    assert lam.publish_version(FunctionName=name)["Version"] == "1"  # nothing changed: same version
    new_code = make_zip({"app.py": ECHO.replace('"code": "v1"', '"code": "v2"')})
    updated = lam.update_function_code(FunctionName=name, ZipFile=new_code, Publish=True)
    assert updated["Version"] == "2" and updated["CodeSha256"] != v1["CodeSha256"]
    assert invoke(lam, name)[1]["code"] == "v2"
    out, body = invoke(lam, name, Qualifier="1")
    assert body["code"] == "v1" and out["ExecutedVersion"] == "1" and body["version"] == "1"
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(f":{name}:live")
    out, body = invoke(lam, f"{name}:live")
    assert out["ExecutedVersion"] == "1" and body["arn"] == alias["AliasArn"]
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})
    seen = {invoke(lam, name, Qualifier="live")[0]["ExecutedVersion"] for _ in range(40)}
    assert seen == {"1", "2"}
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["live"]
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=name, Qualifier="1")
    assert error_of(exc)[:2] == (409, "ResourceConflictException")
    with pytest.raises(ClientError) as exc:
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert error_of(exc)[:2] == (409, "ResourceConflictException")
    with pytest.raises(ClientError) as exc:
        lam.create_alias(FunctionName=name, Name="ghost", FunctionVersion="9")
    assert error_of(exc)[:2] == (404, "ResourceNotFoundException")
    lam.delete_alias(FunctionName=name, Name="live")
    lam.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(ClientError) as exc:
        invoke(lam, name, Qualifier="1")
    assert error_of(exc)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError) as exc:
        lam.get_alias(FunctionName=name, Name="live")
    assert error_of(exc)[:2] == (404, "ResourceNotFoundException")


def test_update_configuration_reaches_the_next_invocation(lam: Any, functions: dict[str, Any]) -> None:
    name = functions["echo"]["FunctionName"]
    before = lam.get_function_configuration(FunctionName=name)
    out = lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"GREETING": "hello"}}, RevisionId=before["RevisionId"]
    )
    assert out["LastUpdateStatus"] == "InProgress" and out["RevisionId"] != before["RevisionId"]
    assert invoke(lam, name)[1]["greeting"] == "hello"
    wait_for(lambda: lam.get_function_configuration(FunctionName=name)["LastUpdateStatus"] == "Successful")
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId=before["RevisionId"])
    assert error_of(exc)[:2] == (412, "PreconditionFailedException")


def test_code_from_s3_and_delete(lam: Any, client: Callable[..., Any]) -> None:
    s3 = client("s3", region=REGION)
    bucket = f"lambda-code-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="fn.zip", Body=make_zip({"fn.py": "def go(e, c):\n    return 'from s3'\n"}))
    name = f"s3code-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="fn.go",
                        Code={"S3Bucket": bucket, "S3Key": "fn.zip"})
    assert invoke(lam, name)[1] == "from s3"
    with pytest.raises(ClientError) as exc:
        lam.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key="missing.zip")
    assert error_of(exc)[:2] == (400, "InvalidParameterValueException")
    assert "NoSuchKey" in error_of(exc)[2]
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=name)
    assert error_of(exc)[:2] == (404, "ResourceNotFoundException")


def test_permissions_and_tags(lam: Any, functions: dict[str, Any]) -> None:
    cfg = functions["boom"]
    name, arn = cfg["FunctionName"], cfg["FunctionArn"]
    stmt = json.loads(lam.add_permission(FunctionName=name, StatementId="pipeline", Action="lambda:InvokeFunction",
                                         Principal="codepipeline.amazonaws.com")["Statement"])
    assert stmt["Sid"] == "pipeline" and stmt["Principal"] == {"Service": "codepipeline.amazonaws.com"}
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["pipeline"]
    with pytest.raises(ClientError) as exc:
        lam.add_permission(FunctionName=name, StatementId="pipeline", Action="lambda:InvokeFunction", Principal="*")
    assert error_of(exc)[:2] == (409, "ResourceConflictException")
    lam.remove_permission(FunctionName=name, StatementId="pipeline")
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=name)
    assert error_of(exc)[:2] == (404, "ResourceNotFoundException")
    lam.tag_resource(Resource=arn, Tags={"team": "cloud"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"suite": "lambda", "team": "cloud"}
    lam.untag_resource(Resource=arn, TagKeys=["suite"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "cloud"}
