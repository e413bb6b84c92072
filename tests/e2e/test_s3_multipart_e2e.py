"""S3 multipart uploads and boto3's managed transfers against a real server."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"e2e-mp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    r = exc.value.response
    return str(r["Error"]["Code"]), int(r["ResponseMetadata"]["HTTPStatusCode"])


def test_multipart_upload_of_several_mib(s3: Any, bucket: str) -> None:
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"the small last part"]
    up = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", ContentType="application/x-big", Metadata={"k": "v"})
    uid = up["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [("big.bin", uid)]
    etags = []
    for i, data in enumerate(parts_data, start=1):
        etags.append(s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=uid, PartNumber=i, Body=data)["ETag"])
    parts = s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [
        (i + 1, len(d), e) for i, (d, e) in enumerate(zip(parts_data, etags, strict=True))
    ]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})
    assert code(exc) == ("InvalidPartOrder", 400)
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert code(exc) == ("InvalidPart", 400)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    want = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest() + "-3"
    assert done["ETag"] == f'"{want}"'
    got = s3.get_object(Bucket=bucket, Key="big.bin")
    assert got["ContentLength"] == sum(map(len, parts_data))
    assert got["ContentType"] == "application/x-big" and got["Metadata"] == {"k": "v"}
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(b"".join(parts_data)).digest()
    part2 = s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=2)
    assert part2["PartsCount"] == 3 and part2["Body"].read() == parts_data[1]
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=uid)
    assert code(exc) == ("NoSuchUpload", 404)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_small_parts_are_refused(s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"tiny")["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=2, Body=b"tiny too")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert code(exc) == ("EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=3, Body=b"x")
    assert code(exc) == ("NoSuchUpload", 404)
    assert exc.value.response["Error"]["UploadId"] == uid


def test_managed_transfer_upload_download_and_copy(s3: Any, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    data = os.urandom(11 * MIB + 123)
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4)
    s3.upload_file(str(src), bucket, "managed.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="managed.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    dest = tmp_path / "out.bin"
    s3.download_file(bucket, "managed.bin", str(dest), Config=config)  # ranged GETs in parallel
    assert dest.read_bytes() == data
    s3.copy({"Bucket": bucket, "Key": "managed.bin"}, bucket, "copied.bin", Config=config)  # UploadPartCopy
    assert s3.get_object(Bucket=bucket, Key="copied.bin")["Body"].read() == data
