"""S3 across a kill -9 and restart: bodies and uploads survive, orphan files are swept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from conftest import start_server, stop_server

pytestmark = pytest.mark.e2e


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}),
    )


def test_restart_keeps_bodies_and_sweeps_orphans(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        s3 = s3_client(server.endpoint)
        s3.create_bucket(Bucket="restart-bucket")
        s3.put_object(Bucket="restart-bucket", Key="k", Body=b"survives")
        uid = s3.create_multipart_upload(Bucket="restart-bucket", Key="mp")["UploadId"]
        etag = s3.upload_part(Bucket="restart-bucket", Key="mp", UploadId=uid, PartNumber=1, Body=b"part one")["ETag"]
        server.proc.kill()  # SIGKILL: no shutdown hook
        server.proc.wait(10)
    finally:
        stop_server(server)
    root = data / "s3"
    (root / "tmp" / "cut-upload.tmp").write_bytes(b"half of an upload that was cut by the crash")
    stray = root / "blobs" / "ee" / ("ee" + "0" * 30)
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"a body whose record was never written")

    server = start_server(data)
    try:
        s3 = s3_client(server.endpoint)
        s3.head_bucket(Bucket="restart-bucket")  # loads S3, which sweeps
        assert list((root / "tmp").iterdir()) == []
        assert not stray.exists()
        assert s3.get_object(Bucket="restart-bucket", Key="k")["Body"].read() == b"survives"
        s3.complete_multipart_upload(
            Bucket="restart-bucket", Key="mp", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        )
        assert s3.get_object(Bucket="restart-bucket", Key="mp")["Body"].read() == b"part one"
    finally:
        stop_server(server)
