"""rest-xml: S3 and Route 53 requests as clients send them, good and bad, and exact documents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.handlers import parse_get_bucket_location
from xml_roundtrip import botocore_parse

from gureum.core.errors import ProtocolError, ServiceError, ValidationError
from gureum.protocol import models, rest_xml
from gureum.protocol.http import Headers, HttpRequest, ResponseMeta

S3 = models.service_model("s3")
ROUTE53 = models.service_model("route53")


def parse(
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    service: Any = S3,
) -> tuple[str, dict[str, Any]]:
    request = HttpRequest(method, path, query, Headers((headers or {}).items()), body)
    operation, labels = rest_xml.find_operation(service, request)
    return operation.name, rest_xml.parse_request(operation, request, labels)


def test_create_bucket_with_configuration_payload() -> None:
    body = (
        b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
    )
    name, params = parse("PUT", "/my-bucket", body=body, headers={"x-amz-acl": "private"})
    assert name == "CreateBucket"
    assert params == {
        "Bucket": "my-bucket",
        "ACL": "private",
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
    }
    assert parse("PUT", "/my-bucket")[1] == {"Bucket": "my-bucket"}


def test_complete_multipart_upload_reads_flattened_parts() -> None:
    body = (
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>"
        b'<Part><ETag>"b"</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>'
    )
    name, params = parse("POST", "/b/dir/key.txt", "uploadId=u-1", body)
    assert name == "CompleteMultipartUpload"
    assert params == {
        "Bucket": "b",
        "Key": "dir/key.txt",
        "UploadId": "u-1",
        "MultipartUpload": {
            "Parts": [{"PartNumber": 1, "ETag": '"a"'}, {"PartNumber": 2, "ETag": '"b"'}]
        },
    }


def test_delete_objects_and_quiet_flag() -> None:
    body = (
        b"<Delete><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v</VersionId></Object>"
        b"<Quiet>true</Quiet></Delete>"
    )
    assert parse("POST", "/b", "delete", body)[1]["Delete"] == {
        "Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "v"}],
        "Quiet": True,
    }


def test_put_object_passes_the_stream_and_binds_headers() -> None:
    stream = object()
    request = HttpRequest(
        "PUT",
        "/b/photos/2024/cat%20one.jpg",
        "",
        Headers(
            [("Content-Type", "image/jpeg"), ("x-amz-meta-owner", "me"), ("Content-Length", "3")]
        ),
    )
    request.stream = stream  # type: ignore[assignment]
    operation, labels = rest_xml.find_operation(S3, request)
    params = rest_xml.parse_request(operation, request, labels)
    assert params["Body"] is stream
    assert params["Key"] == "photos/2024/cat one.jpg"
    assert params["ContentType"] == "image/jpeg"
    assert params["ContentLength"] == 3
    assert params["Metadata"] == {"owner": "me"}


def test_route53_request_body_is_the_input_root() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
        b"<Name>example.com</Name><CallerReference>ref-1</CallerReference>"
        b"<HostedZoneConfig><Comment>hi</Comment><PrivateZone>false</PrivateZone></HostedZoneConfig>"
        b"</CreateHostedZoneRequest>"
    )
    name, params = parse("POST", "/2013-04-01/hostedzone", body=body, service=ROUTE53)
    assert name == "CreateHostedZone"
    assert params == {
        "Name": "example.com",
        "CallerReference": "ref-1",
        "HostedZoneConfig": {"Comment": "hi", "PrivateZone": False},
    }


@pytest.mark.parametrize(
    "body",
    [
        b"<CreateBucketConfiguration><LocationConstraint>eu",
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CreateBucketConfiguration/>',
    ],
)
def test_malformed_xml_is_400_malformed_xml(body: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        parse("PUT", "/b", body=body)
    assert (info.value.code, info.value.status) == ("MalformedXML", 400)


def test_badly_typed_xml_value_is_malformed_xml() -> None:
    body = b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber></Part></CompleteMultipartUpload>"
    with pytest.raises(ProtocolError) as info:
        parse("POST", "/b/k", "uploadId=u", body)
    assert info.value.code == "MalformedXML"


def test_badly_typed_header_is_invalid_argument() -> None:
    with pytest.raises(ProtocolError) as info:
        parse("PUT", "/b/k", headers={"Content-Length": "lots"})
    assert (info.value.code, info.value.status) == ("InvalidArgument", 400)


def test_missing_required_member_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        parse("POST", "/b/k")  # CompleteMultipartUpload without ?uploadId=
    assert "'UploadId'" in info.value.message and "must not be null" in info.value.message
    with pytest.raises(ValidationError) as info:
        parse("POST", "/2013-04-01/hostedzone", body=b"<CreateHostedZoneRequest/>", service=ROUTE53)
    assert "'Name'" in info.value.message and "'CallerReference'" in info.value.message


def test_unknown_s3_route_is_405_method_not_allowed() -> None:
    with pytest.raises(ProtocolError) as info:
        parse("PATCH", "/b/k")
    assert (info.value.code, info.value.status) == ("MethodNotAllowed", 405)
    response = rest_xml.serialize_error(
        S3, ServiceError(info.value.code, info.value.message, info.value.status), ResponseMeta("r")
    )
    parsed = botocore_parse("rest-xml", response, None)
    assert parsed["Error"]["Code"] == "MethodNotAllowed"
    assert response.status == 405


# -- responses ------------------------------------------------------------------------


def test_list_objects_v2_document() -> None:
    op = S3.operation_model("ListObjectsV2")
    output = {
        "Name": "b",
        "Contents": [{"Key": "a&b", "Size": 3}, {"Key": "c", "Size": 0}],
        "CommonPrefixes": [{"Prefix": "p/"}],
        "KeyCount": 2,
        "IsTruncated": False,
    }
    response = rest_xml.serialize_response(op, output, ResponseMeta("rid"))
    assert response.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<IsTruncated>false</IsTruncated>"
        b"<Contents><Key>a&amp;b</Key><Size>3</Size></Contents><Contents><Key>c</Key><Size>0</Size></Contents>"
        b"<Name>b</Name><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes><KeyCount>2</KeyCount>"
        b"</ListBucketResult>"
    )
    assert ("content-type", "application/xml") in response.headers


@pytest.mark.parametrize("region", ["eu-west-1", None])
def test_get_bucket_location_reads_in_boto3(region: str | None) -> None:
    op = S3.operation_model("GetBucketLocation")
    output = {"LocationConstraint": region} if region else {}
    response = rest_xml.serialize_response(op, output, ResponseMeta("rid"))
    parsed: dict[str, Any] = {}
    parse_get_bucket_location(parsed, SimpleNamespace(raw=object(), content=response.body))
    assert parsed["LocationConstraint"] == region


def test_get_object_streams_an_async_iterator_through() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"hel"
        yield b"lo"

    op = S3.operation_model("GetObject")
    body = chunks()
    response = rest_xml.serialize_response(
        op, {"Body": body, "ContentLength": 5, "ContentType": "text/plain"}, ResponseMeta("rid")
    )
    assert response.body is body
    headers = dict(response.headers)
    assert headers["content-length"] == "5" and headers["content-type"] == "text/plain"

    async def read() -> bytes:
        return b"".join([c async for c in body])

    assert asyncio.run(read()) == b"hello"


def test_error_document_with_extra_members() -> None:
    error = ServiceError(
        "NoSuchBucket", "The specified bucket does not exist", 404, extra={"BucketName": "b"}
    )
    response = rest_xml.serialize_error(S3, error, ResponseMeta("rid", {"host_id": "host-1"}))
    assert response.status == 404
    assert response.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code>'
        b"<Message>The specified bucket does not exist</Message><BucketName>b</BucketName>"
        b"<RequestId>rid</RequestId><HostId>host-1</HostId></Error>"
    )
    parsed = botocore_parse("rest-xml", response, None)
    assert parsed["Error"] == {
        "Code": "NoSuchBucket",
        "Message": "The specified bucket does not exist",
        "BucketName": "b",
    }
    assert parsed["ResponseMetadata"]["HostId"] == "host-1"


def test_head_errors_and_304_have_no_body() -> None:
    response = rest_xml.serialize_error(
        S3, ServiceError("NoSuchKey", "gone", 404), ResponseMeta("rid", {"method": "HEAD"})
    )
    assert (response.status, response.body) == (404, b"")
    parsed = botocore_parse("rest-xml", response, None)
    assert parsed["Error"]["Code"] == "404"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"
    not_modified = rest_xml.serialize_error(
        S3,
        ServiceError("NotModified", "Not Modified", 304, headers={"ETag": '"e"'}),
        ResponseMeta("r"),
    )
    assert (not_modified.status, not_modified.body) == (304, b"")
    assert ("etag", '"e"') in not_modified.headers


def test_route53_error_document() -> None:
    error = ServiceError("NoSuchHostedZone", "No hosted zone found with ID: Z1")
    response = rest_xml.serialize_error(ROUTE53, error, ResponseMeta("rid"))
    assert response.status == 404
    parsed = botocore_parse("rest-xml", response, None)
    assert parsed["Error"]["Code"] == "NoSuchHostedZone"
    assert parsed["Error"]["Type"] == "Sender"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"
    assert ("x-amzn-requestid", "rid") in response.headers
