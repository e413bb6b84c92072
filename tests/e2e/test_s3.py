"""S3 through boto3 against a real server: buckets, objects, ranges, conditions, copies, listings, errors."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"e2e-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    r = exc.value.response
    return str(r["Error"]["Code"]), int(r["ResponseMetadata"]["HTTPStatusCode"])


def test_bucket_lifecycle(s3: Any, client: Callable[..., Any]) -> None:
    name = f"e2e-{uuid.uuid4().hex[:12]}"
    assert s3.create_bucket(Bucket=name)["Location"] == f"/{name}"
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=name)
    assert err(exc) == ("BucketNotEmpty", 409)
    assert exc.value.response["Error"]["BucketName"] == name
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert err(exc) == ("404", 404)  # HEAD: no body, botocore reads the status
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=name)
    assert err(exc) == ("NoSuchBucket", 404)
    assert exc.value.response["Error"]["BucketName"] == name


def test_create_bucket_errors(s3: Any, client: Callable[..., Any]) -> None:
    eu = client("s3", "eu-west-1")
    name = f"e2e-eu-{uuid.uuid4().hex[:8]}"
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as exc:
        eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert err(exc) == ("BucketAlreadyOwnedByYou", 409)
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="Bad_Name")
    assert err(exc) == ("InvalidBucketName", 400)
    with pytest.raises(ClientError) as exc:
        eu.create_bucket(Bucket=f"e2e-x-{uuid.uuid4().hex[:8]}")
    assert err(exc) == ("IllegalLocationConstraintException", 400)
    other = client("s3", aws_access_key_id="111122223333", aws_secret_access_key="x")
    with pytest.raises(ClientError) as exc:
        other.create_bucket(Bucket=name)
    assert err(exc) == ("BucketAlreadyExists", 409)


def test_put_get_head(s3: Any, bucket: str) -> None:
    body = b"hello, gureum " * 100
    put = s3.put_object(Bucket=bucket, Key="dir/héllo wörld+.txt", Body=body, ContentType="text/plain",
                        Metadata={"Color": "blue"}, CacheControl="max-age=60")
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ChecksumCRC32"]  # boto3 sends a CRC32 by default; S3 echoes it
    got = s3.get_object(Bucket=bucket, Key="dir/héllo wörld+.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "max-age=60" and got["ContentLength"] == len(body)
    assert got["AcceptRanges"] == "bytes"
    head = s3.head_object(Bucket=bucket, Key="dir/héllo wörld+.txt", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    assert head["ChecksumCRC32"] == put["ChecksumCRC32"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="missing")
    assert err(exc) == ("NoSuchKey", 404)
    assert exc.value.response["Error"]["Key"] == "missing"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="missing")
    assert err(exc) == ("404", 404)


def test_get_with_checksum_validation(s3: Any, bucket: str) -> None:
    data = b"validated by botocore" * 1000
    s3.put_object(Bucket=bucket, Key="v", Body=data)
    got = s3.get_object(Bucket=bucket, Key="v", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] and got["Body"].read() == data  # botocore checks the CRC on read


def test_bad_content_md5(s3: Any, bucket: str) -> None:
    import base64

    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="m", Body=b"data",
                      ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    assert err(exc) == ("BadDigest", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="m")


def test_ranges(s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=100-199")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes 100-199/{len(data)}" and got["ContentLength"] == 100
    assert got["Body"].read() == data[100:200]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-10")["Body"].read() == data[-10:]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(data)}-")
    assert err(exc) == ("InvalidRange", 416)


def test_conditional_get(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"v")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"v"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"nope"')
    assert err(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert err(exc) == ("304", 304)
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=later)
    assert err(exc) == ("304", 304)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=earlier)["Body"].read() == b"v"
    # the connection is still usable after a bodiless 304
    assert s3.head_object(Bucket=bucket, Key="c")["ContentLength"] == 1


def test_copy_object(s3: Any, bucket: str) -> None:
    src_key = "src dir/ü+?&.bin"
    s3.put_object(Bucket=bucket, Key=src_key, Body=b"copy me", Metadata={"a": "1"}, ContentType="text/x")
    out = s3.copy_object(Bucket=bucket, Key="copy1", CopySource={"Bucket": bucket, "Key": src_key})
    assert out["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="copy1")
    assert got["Body"].read() == b"copy me" and got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/x"
    s3.copy_object(Bucket=bucket, Key="copy2", CopySource=f"{bucket}/{src_key}", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="text/y")
    got = s3.head_object(Bucket=bucket, Key="copy2")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "text/y"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="copy1", CopySource={"Bucket": bucket, "Key": "copy1"})
    assert err(exc) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "nothing"})
    assert err(exc) == ("NoSuchKey", 404)


def test_list_objects_v2_delimiter_and_pages(s3: Any, bucket: str) -> None:
    keys = [f"logs/2024/{i:02d}.txt" for i in range(5)] + ["logs/2025/a.txt", "logs/top.txt", "readme.md", "z z/ü.txt"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [c["Key"] for c in top["Contents"]] == ["readme.md"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/", "z z/"]
    assert top["KeyCount"] == 3
    sub = s3.list_objects_v2(Bucket=bucket, Prefix="logs/", Delimiter="/")
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["logs/2024/", "logs/2025/"]
    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=3)
    assert first["IsTruncated"] and first["KeyCount"] == 3
    second = s3.list_objects_v2(Bucket=bucket, MaxKeys=3, ContinuationToken=first["NextContinuationToken"])
    assert [c["Key"] for c in second["Contents"]] == keys[3:6]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    assert [c["Key"] for p in pages for c in p.get("Contents", [])] == keys
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="logs/top.txt")
    assert [c["Key"] for c in after["Contents"]] == ["readme.md", "z z/ü.txt"]
    v1 = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert v1["IsTruncated"] and v1["NextMarker"] == "logs/"
    v1 = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=v1["NextMarker"])
    assert [c["Key"] for c in v1["Contents"]] == ["readme.md"] and not v1["IsTruncated"]
    pages = s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})
    assert [c["Key"] for p in pages for c in p.get("Contents", [])] == keys


def test_delete_objects(s3: Any, bucket: str) -> None:
    for k in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "nope"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b", "nope"]
    assert [c["Key"] for c in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


def test_tagging(s3: Any, bucket: str) -> None:
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "infra"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "infra"}]
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="a=1&b=two")
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    tags = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert tags == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two"}]
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "c", "Value": "3"}]
