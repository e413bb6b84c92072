"""Which service a request is for, from cheap clues, never the body.

Order of clues (first that decides wins):

1. ``X-Amz-Target: <targetPrefix>.<Operation>`` → a JSON-protocol service.
2. ``/service/<ServiceId>/operation/<Op>`` with CBOR → a smithy-rpc-v2-cbor service.
3. The SigV4 credential scope (``Authorization`` header, or
   ``X-Amz-Credential`` of a presigned URL): ``…/<region>/<signing name>/aws4_request``.
4. The host: ``<bucket>.s3.<anything>`` / ``s3.<anything>`` → S3.
5. Anything else → S3 (unsigned browser/curl GETs of objects), as AWS's own
   default endpoint would answer it.

It also reads region and access key from the scope.  The protocol is chosen
per request for services that speak several (CloudWatch: CBOR, JSON, query).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from gureum.core.ids import DEFAULT_REGION
from gureum.protocol.http import HttpRequest

# signing name → botocore service name, for names that differ.
SIGNING_NAMES: dict[str, str] = {
    "monitoring": "cloudwatch",
    "elasticloadbalancing": "elbv2",
    "execute-api": "apigateway",
    "states": "stepfunctions",
    "email": "ses",
    "events": "events",
    "opsworks": "opsworks",
}

# targetPrefix → service, for the JSON services Gureum knows.
TARGET_PREFIXES: dict[str, str] = {
    "Logs_20140328": "logs",
    "GraniteServiceVersion20100801": "cloudwatch",
    "AmazonEC2ContainerServiceV20141113": "ecs",
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
    "AnyScaleFrontendService": "application-autoscaling",
    "CodeBuild_20161006": "codebuild",
    "CodePipeline_20150709": "codepipeline",
    "CodeDeploy_20141006": "codedeploy",
    "OpsWorks_20130218": "opsworks",
    "CertificateManager": "acm",
    "AWSEvents": "events",
    "AmazonSQS": "sqs",
    "DynamoDB_20120810": "dynamodb",
    "TrentService": "kms",
    "secretsmanager": "secretsmanager",
    "AmazonSSM": "ssm",
    "Kinesis_20131202": "kinesis",
    "AWSStepFunctions": "stepfunctions",
}

# CBOR path segment (the service's shape name) → service.
CBOR_SERVICE_IDS: dict[str, str] = {
    "GraniteServiceVersion20100801": "cloudwatch",
}

# Version= of unsigned query requests → service (used only without a signature).
QUERY_VERSIONS: dict[str, str] = {
    "2011-06-15": "sts",
    "2016-11-15": "ec2",
    "2010-08-01": "cloudwatch",
    "2015-12-01": "elbv2",
    "2011-01-01": "autoscaling",
    "2010-05-15": "cloudformation",
}

_CRED_RE = re.compile(r"Credential=([^/,\s]*)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_S3_HOST_RE = re.compile(r"^(?:(?P<bucket>.+)\.)?s3(?:[.-][a-z0-9-]+)*\.(?:amazonaws\.com|localhost|[^:]+)$")


@dataclass(frozen=True, slots=True)
class Route:
    service: str  # botocore name, or "" when unknown
    protocol: str  # "" until the service model says
    region: str
    access_key: str
    signing_name: str = ""
    bucket_from_host: str = ""


def credential_scope(request: HttpRequest) -> tuple[str, str, str] | None:
    """(access key, region, signing name) from the Authorization header or a presigned query."""
    auth = request.headers.get("authorization")
    if auth:
        m = _CRED_RE.search(auth)
        if m:
            return m.group(1), m.group(2), m.group(3)
        if auth.startswith("AWS "):  # SigV2 (old S3 clients)
            return auth[4:].split(":", 1)[0], "", "s3"
    qs = request.query_string
    if "X-Amz-Credential=" in qs:
        for k, v in request.query():
            if k == "X-Amz-Credential":
                parts = unquote(v).split("/")
                if len(parts) >= 5:
                    return parts[0], parts[2], parts[3]
    return None


def route(request: HttpRequest) -> Route:
    scope = credential_scope(request)
    access_key, region, signing = scope if scope else ("", "", "")
    region = region or DEFAULT_REGION

    target = request.headers.get("x-amz-target")
    if target:
        prefix = target.rsplit(".", 1)[0]
        svc = TARGET_PREFIXES.get(prefix)
        if svc is None and signing:
            svc = SIGNING_NAMES.get(signing, signing)
        return Route(svc or "", "json", region, access_key, signing)

    path = request.path
    if path.startswith("/service/") and "/operation/" in path:
        sid = path.split("/", 3)[2]
        svc = CBOR_SERVICE_IDS.get(sid, "")
        if not svc and signing:
            svc = SIGNING_NAMES.get(signing, signing)
        return Route(svc, "smithy-rpc-v2-cbor", region, access_key, signing)

    host = request.host.split(":", 1)[0].lower() if not request.host.startswith("[") else ""
    m = _S3_HOST_RE.match(host) if host else None
    bucket = ""
    if m:
        bucket = m.group("bucket") or ""
    elif host.endswith(".localhost") and host.count(".") >= 1 and not signing.startswith("lambda"):
        # bucket.localhost:4566 — boto3's virtual addressing against http://localhost:4566
        if not signing or signing == "s3":
            bucket = host[: -len(".localhost")]

    if signing:
        svc = SIGNING_NAMES.get(signing, signing)
        if svc == "elbv2" and "Version=2012-06-01" in request.body.decode("latin-1", "replace"):
            svc = "elb"
        return Route(svc, "", region, access_key, signing, bucket if svc == "s3" else "")

    if m or bucket:
        return Route("s3", "rest-xml", region, access_key, "s3", bucket)

    ctype = request.headers.get("content-type", "") or ""
    if request.method == "POST" and ctype.startswith("application/x-www-form-urlencoded"):
        body = request.body.decode("latin-1", "replace")
        for part in body.split("&"):
            if part.startswith("Version="):
                svc = QUERY_VERSIONS.get(unquote(part[8:]), "")
                if svc:
                    return Route(svc, "", region, access_key)
    return Route("s3", "rest-xml", region, access_key, "s3", bucket)


def protocol_for(route_: Route, model_protocol: str, model_protocols: list[str], request: HttpRequest) -> str:
    """The wire protocol this request speaks, among those the service supports."""
    if route_.protocol and route_.protocol in (model_protocols or [model_protocol]):
        return route_.protocol
    ctype = (request.headers.get("content-type", "") or "").lower()
    candidates = model_protocols or [model_protocol]
    if "smithy-rpc-v2-cbor" in candidates and (
        ctype.startswith("application/cbor") or request.headers.get("smithy-protocol")
    ):
        return "smithy-rpc-v2-cbor"
    if "json" in candidates and request.headers.get("x-amz-target"):
        return "json"
    if "query" in candidates and (
        ctype.startswith("application/x-www-form-urlencoded") or "Action=" in request.query_string
    ):
        return "query"
    if model_protocol == "smithy-rpc-v2-cbor" and "query" in candidates and request.method == "POST":
        return "query"
    return model_protocol
