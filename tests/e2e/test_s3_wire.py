"""S3 on the wire: raw HTTP uploads (cut short, aws-chunked), and virtual-hosted addressing."""

from __future__ import annotations

import http.client
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from gureum.services.s3.checksums import compute
from gureum.services.s3.chunked import encode_aws_chunked

pytestmark = pytest.mark.e2e


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"e2e-w-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


def raw_request(server: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def tmp_files(server: Any) -> list[str]:
    return [p.name for p in (server.data_dir / "s3" / "tmp").iterdir()]


def test_truncated_upload_leaves_no_object(server: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="kept", Body=b"previous version")
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"PUT /{bucket}/kept HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
    ).encode()
    sock.sendall(head + b"x" * 300_000)  # well short of the 1 MB announced
    deadline = time.monotonic() + 5
    while not tmp_files(server) and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until the server is receiving into its temp file
    assert len(tmp_files(server)) == 1, "the upload never reached the server's temp file"
    sock.close()
    deadline = time.monotonic() + 5
    while tmp_files(server) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tmp_files(server) == []
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"previous version"
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = head.replace(b"/kept", b"/new-key")
    sock.sendall(head + b"y" * 1000)
    sock.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the server notices the disconnect and keeps nothing
        with pytest.raises(ClientError) as exc:
            s3.head_object(Bucket=bucket, Key="new-key")
        if not tmp_files(server):
            break
        time.sleep(0.01)
    assert exc.value.response["Error"]["Code"] == "404"
    assert tmp_files(server) == []


def test_form_typed_upload(server: Any, s3: Any, bucket: str) -> None:
    # curl -d sends application/x-www-form-urlencoded; the gateway reads such bodies early.
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, _ = raw_request(server, "PUT", f"/{bucket}/form", headers, b"a=1&b=2")
    assert status == 200
    got = s3.get_object(Bucket=bucket, Key="form")
    assert got["Body"].read() == b"a=1&b=2" and got["ContentType"] == "application/x-www-form-urlencoded"


def chunked_headers(server: Any, payload: bytes, raw: bytes) -> dict[str, str]:
    return {
        "Host": f"127.0.0.1:{server.port}",
        "Content-Encoding": "aws-chunked",
        "Content-Length": str(len(raw)),
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(payload)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm": "CRC32",
    }


def test_aws_chunked_upload_with_trailer(server: Any, s3: Any, bucket: str) -> None:
    payload = bytes(range(256)) * 2000
    crc = compute("CRC32", payload)
    raw = encode_aws_chunked(payload, 65536, {"x-amz-checksum-crc32": crc})
    status, headers, _ = raw_request(server, "PUT", f"/{bucket}/chunked", chunked_headers(server, payload, raw), raw)
    assert status == 200
    assert headers["x-amz-checksum-crc32"] == crc
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == payload and got["ChecksumCRC32"] == crc
    assert "ContentEncoding" not in got

    bad = encode_aws_chunked(payload, 65536, {"x-amz-checksum-crc32": compute("CRC32", b"other")})
    status, _, body = raw_request(server, "PUT", f"/{bucket}/bad", chunked_headers(server, payload, bad), bad)
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_aws_chunked_framed_by_botocore(server: Any, s3: Any, bucket: str) -> None:
    """botocore's own aws-chunked encoder (what it sends over HTTPS) as the oracle."""
    import io

    from botocore.httpchecksum import AwsChunkedWrapper, Sha256Checksum

    payload = b"framed by botocore " * 20_000
    wrapper = AwsChunkedWrapper(
        io.BytesIO(payload), checksum_cls=Sha256Checksum, checksum_name="x-amz-checksum-sha256", chunk_size=50_000
    )
    raw = wrapper.read()
    headers = chunked_headers(server, payload, raw)
    headers["x-amz-trailer"] = "x-amz-checksum-sha256"
    headers["x-amz-sdk-checksum-algorithm"] = "SHA256"
    status, resp_headers, _ = raw_request(server, "PUT", f"/{bucket}/framed", headers, raw)
    assert status == 200 and resp_headers["x-amz-checksum-sha256"] == compute("SHA256", payload)
    assert s3.get_object(Bucket=bucket, Key="framed")["Body"].read() == payload


def test_signed_streaming_upload(server: Any, s3: Any, bucket: str) -> None:
    payload = b"signed chunks " * 5000
    raw = encode_aws_chunked(payload, 8192, signature="0" * 64)
    headers = chunked_headers(server, payload, raw)
    headers["x-amz-content-sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    del headers["x-amz-trailer"], headers["x-amz-sdk-checksum-algorithm"]
    status, _, _ = raw_request(server, "PUT", f"/{bucket}/signed", headers, raw)
    assert status == 200
    assert s3.get_object(Bucket=bucket, Key="signed")["Body"].read() == payload


def test_range_on_the_wire(server: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    status, headers, body = raw_request(server, "GET", f"/{bucket}/r", {"Range": "bytes=3-5"}, b"")
    assert (status, headers["content-range"], headers["content-length"], body) == (206, "bytes 3-5/10", "3", b"345")
    status, headers, body = raw_request(server, "GET", f"/{bucket}/r", {"Range": "bytes=50-"}, b"")
    assert status == 416 and b"<Code>InvalidRange</Code>" in body


@pytest.fixture
def localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve ``*.localhost`` to 127.0.0.1 in this process, as systemd-resolved and browsers do."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_virtual_hosted_addressing(server: Any, localhost_subdomains: None) -> None:
    import boto3

    seen: list[str] = []
    vs3 = boto3.client(
        "s3",
        endpoint_url=f"http://localhost:{server.port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1}),
    )
    vs3.meta.events.register("before-send.s3", lambda request, **_: seen.append(request.url))
    name = f"e2e-vh-{uuid.uuid4().hex[:8]}"
    vs3.create_bucket(Bucket=name)
    vs3.put_object(Bucket=name, Key="dir/file.txt", Body=b"virtual")
    assert vs3.get_object(Bucket=name, Key="dir/file.txt")["Body"].read() == b"virtual"
    listed = vs3.list_objects_v2(Bucket=name, Prefix="dir/")
    assert [c["Key"] for c in listed["Contents"]] == ["dir/file.txt"]
    vs3.head_bucket(Bucket=name)
    vs3.delete_object(Bucket=name, Key="dir/file.txt")
    vs3.delete_bucket(Bucket=name)
    assert seen and all(url.startswith(f"http://{name}.localhost:{server.port}/") for url in seen)
