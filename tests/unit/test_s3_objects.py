"""S3 object handlers over a real App and store: put/get/head, bodies, checksums, copies."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from s3_helpers import S3, Body, make_s3

from gureum.core.errors import ProtocolError, ServiceError
from gureum.services.s3.checksums import compute
from gureum.services.s3.chunked import encode_aws_chunked

NOW = 1_700_000_000


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[S3]:
    s = make_s3(tmp_path)
    s.call("CreateBucket", Bucket="bkt")
    yield s
    s.app.store.close()


def error(fn: Callable[[], Any]) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn()
    return info.value


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_put_and_get_round_trip(s3: S3) -> None:
    out = s3.put("bkt", "dir/a.txt", b"hello", Metadata={"color": "blue"}, ContentType="text/plain", CacheControl="no-cache")
    assert out["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    assert "VersionId" not in out
    got, body = s3.get_bytes("bkt", "dir/a.txt")
    assert body == b"hello"
    assert got["ContentLength"] == 5 and got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue"} and got["CacheControl"] == "no-cache"
    assert got["LastModified"] == datetime.fromtimestamp(NOW, UTC)
    assert s3.status is None
    head = s3.call("HeadObject", Bucket="bkt", Key="dir/a.txt")
    assert head["ETag"] == out["ETag"] and "Body" not in head


def test_default_content_type_and_overrides(s3: S3) -> None:
    s3.put("bkt", "k", b"x")
    got, _ = s3.get_bytes("bkt", "k", ResponseContentType="image/png", ResponseContentDisposition="attachment")
    assert got["ContentType"] == "image/png" and got["ContentDisposition"] == "attachment"
    assert s3.call("HeadObject", Bucket="bkt", Key="k")["ContentType"] == "binary/octet-stream"


def test_missing_things(s3: S3) -> None:
    err = error(lambda: s3.get_bytes("bkt", "nope"))
    assert (err.code, err.status, err.extra) == ("NoSuchKey", 404, {"Key": "nope"})
    err = error(lambda: s3.put("no-such-bucket", "k", b"x"))
    assert (err.code, err.extra) == ("NoSuchBucket", {"BucketName": "no-such-bucket"})
    # the body may be unread (Expect: 100-continue): the connection must not be reused
    assert err.headers["Connection"] == "close"


def test_body_in_many_pieces(s3: S3) -> None:
    pieces = [bytes([i]) * 70_000 for i in range(20)]
    s3.call("PutObject", Bucket="bkt", Key="big", Body=Body(pieces))
    _, body = s3.get_bytes("bkt", "big")
    assert body == b"".join(pieces)


def test_content_md5(s3: S3) -> None:
    s3.put("bkt", "ok", b"data", ContentMD5=md5_b64(b"data"))
    err = error(lambda: s3.put("bkt", "bad", b"data", ContentMD5=md5_b64(b"other")))
    assert (err.code, err.status) == ("BadDigest", 400)
    err = error(lambda: s3.put("bkt", "bad", b"data", ContentMD5="not-md5"))
    assert err.code == "InvalidDigest"
    assert error(lambda: s3.get_bytes("bkt", "bad")).code == "NoSuchKey"
    assert len(s3.s3_files()) == 1  # only "ok"; no temp file left


def test_checksum_header(s3: S3) -> None:
    good = compute("CRC32", b"payload")
    out = s3.put("bkt", "c", b"payload", ChecksumCRC32=good)
    assert out["ChecksumCRC32"] == good and out["ChecksumType"] == "FULL_OBJECT"
    got, _ = s3.get_bytes("bkt", "c", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == good
    got, _ = s3.get_bytes("bkt", "c")
    assert "ChecksumCRC32" not in got
    err = error(lambda: s3.put("bkt", "c2", b"payload", ChecksumSHA256=compute("SHA256", b"other")))
    assert (err.code, err.status) == ("BadDigest", 400)
    assert "SHA256" in err.message
    err = error(lambda: s3.put("bkt", "c2", b"payload", ChecksumCRC32="AAAA"))
    assert err.code == "InvalidRequest"
    # S3 computes the algorithm it is asked for even without a value.
    out = s3.put("bkt", "c3", b"payload", ChecksumAlgorithm="SHA1")
    assert out["ChecksumSHA1"] == compute("SHA1", b"payload")


def test_hex_content_sha256_is_verified(s3: S3) -> None:
    s3.put("bkt", "s", b"abc", headers={"x-amz-content-sha256": hashlib.sha256(b"abc").hexdigest()})
    err = error(lambda: s3.put("bkt", "s", b"abc", headers={"x-amz-content-sha256": "0" * 64}))
    assert err.code == "XAmzContentSHA256Mismatch"


def chunked_headers(payload: bytes, trailer: str | None = "x-amz-checksum-crc32") -> dict[str, str]:
    h = {
        "content-encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(payload)),
    }
    if trailer:
        h["x-amz-trailer"] = trailer
    return h


def test_aws_chunked_with_trailer(s3: S3) -> None:
    payload = b"0123456789" * 10_000
    crc = compute("CRC32", payload)
    raw = encode_aws_chunked(payload, 8192, {"x-amz-checksum-crc32": crc})
    pieces = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]
    out = s3.call("PutObject", headers=chunked_headers(payload), Bucket="bkt", Key="ch", Body=Body(pieces), ContentEncoding="aws-chunked")
    assert out["ChecksumCRC32"] == crc
    assert out["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    got, body = s3.get_bytes("bkt", "ch")
    assert body == payload and "ContentEncoding" not in got


def test_aws_chunked_keeps_other_encodings(s3: S3) -> None:
    raw = encode_aws_chunked(b"gz", 10)
    h = chunked_headers(b"gz", trailer=None)
    h["content-encoding"] = "aws-chunked,gzip"
    s3.call("PutObject", headers=h, Bucket="bkt", Key="gz", Body=Body([raw]))
    assert s3.call("HeadObject", Bucket="bkt", Key="gz")["ContentEncoding"] == "gzip"


def test_aws_chunked_failures_leave_nothing(s3: S3) -> None:
    payload = b"x" * 5000
    bad_trailer = encode_aws_chunked(payload, 1000, {"x-amz-checksum-crc32": compute("CRC32", b"y")})
    err = error(lambda: s3.call("PutObject", headers=chunked_headers(payload), Bucket="bkt", Key="k", Body=Body([bad_trailer])))
    assert (err.code, err.status) == ("BadDigest", 400)
    good = encode_aws_chunked(payload, 1000, {"x-amz-checksum-crc32": compute("CRC32", payload)})
    err = error(lambda: s3.call("PutObject", headers=chunked_headers(payload), Bucket="bkt", Key="k", Body=Body([good[:3000]])))
    assert err.code == "IncompleteBody"
    h = chunked_headers(payload)
    h["x-amz-decoded-content-length"] = "6000"
    err = error(lambda: s3.call("PutObject", headers=h, Bucket="bkt", Key="k", Body=Body([good])))
    assert err.code == "IncompleteBody"
    no_trailer = encode_aws_chunked(payload, 1000)
    err = error(lambda: s3.call("PutObject", headers=chunked_headers(payload), Bucket="bkt", Key="k", Body=Body([no_trailer])))
    assert err.code == "InvalidRequest"
    assert s3.s3_files() == []


def test_disconnect_mid_upload_leaves_nothing(s3: S3) -> None:
    s3.put("bkt", "k", b"old")
    with pytest.raises(ProtocolError):
        s3.call("PutObject", Bucket="bkt", Key="k", Body=Body([b"new" * 1000], cut=True))
    _, body = s3.get_bytes("bkt", "k")
    assert body == b"old"
    assert len(s3.s3_files()) == 1


def test_short_body_for_content_length(s3: S3) -> None:
    err = error(lambda: s3.put("bkt", "k", b"abc", ContentLength=10))
    assert err.code == "IncompleteBody"
    assert s3.s3_files() == []


def test_overwrite_unlinks_the_old_body(s3: S3) -> None:
    s3.put("bkt", "k", b"one")
    s3.put("bkt", "k", b"two")
    assert len(s3.s3_files()) == 1
    assert s3.get_bytes("bkt", "k")[1] == b"two"


def test_ranges(s3: S3) -> None:
    s3.put("bkt", "r", b"0123456789", ChecksumCRC32=compute("CRC32", b"0123456789"))
    got, body = s3.get_bytes("bkt", "r", Range="bytes=2-5", ChecksumMode="ENABLED")
    assert body == b"2345" and s3.status == 206
    assert got["ContentRange"] == "bytes 2-5/10" and got["ContentLength"] == 4
    assert "ChecksumCRC32" not in got  # a whole-object checksum does not describe a range
    assert s3.get_bytes("bkt", "r", Range="bytes=-3")[1] == b"789"
    assert s3.get_bytes("bkt", "r", Range="bytes=7-")[1] == b"789"
    err = error(lambda: s3.get_bytes("bkt", "r", Range="bytes=10-"))
    assert (err.code, err.status) == ("InvalidRange", 416)
    assert err.extra == {"RangeRequested": "bytes=10-", "ActualObjectSize": "10"}
    head = s3.call("HeadObject", Bucket="bkt", Key="r", Range="bytes=0-0")
    assert head["ContentLength"] == 1 and s3.status == 206


def test_conditional_reads(s3: S3) -> None:
    etag = s3.put("bkt", "c", b"v")["ETag"]
    t = datetime.fromtimestamp(NOW, UTC)
    assert s3.get_bytes("bkt", "c", IfMatch=etag)[1] == b"v"
    err = error(lambda: s3.get_bytes("bkt", "c", IfMatch='"nope"'))
    assert (err.code, err.status, err.extra) == ("PreconditionFailed", 412, {"Condition": "If-Match"})
    err = error(lambda: s3.get_bytes("bkt", "c", IfNoneMatch=etag))
    assert err.status == 304
    err = error(lambda: s3.call("HeadObject", Bucket="bkt", Key="c", IfModifiedSince=t))
    assert err.status == 304
    assert s3.get_bytes("bkt", "c", IfModifiedSince=datetime.fromtimestamp(NOW - 10, UTC))[1] == b"v"
    err = error(lambda: s3.get_bytes("bkt", "c", IfUnmodifiedSince=datetime.fromtimestamp(NOW - 10, UTC)))
    assert err.status == 412


def test_conditional_writes(s3: S3) -> None:
    s3.put("bkt", "w", b"1", IfNoneMatch="*")
    err = error(lambda: s3.put("bkt", "w", b"2", IfNoneMatch="*"))
    assert (err.code, err.status) == ("PreconditionFailed", 412)
    etag = s3.call("HeadObject", Bucket="bkt", Key="w")["ETag"]
    s3.put("bkt", "w", b"3", IfMatch=etag)
    assert error(lambda: s3.put("bkt", "w", b"4", IfMatch=etag)).status == 412
    assert error(lambda: s3.put("bkt", "absent", b"4", IfMatch=etag)).code == "NoSuchKey"
    assert s3.get_bytes("bkt", "w")[1] == b"3"


def test_limits(s3: S3) -> None:
    assert error(lambda: s3.put("bkt", "k" * 1025, b"")).code == "KeyTooLongError"
    assert error(lambda: s3.put("bkt", "k", b"", Metadata={"m": "x" * 3000})).code == "MetadataTooLarge"
    s3.app.settings.max_object_size = 100
    err = error(lambda: s3.put("bkt", "k", b"x" * 101))
    assert err.code == "EntityTooLarge"
    assert s3.s3_files() == []


def test_delete_objects_batch(s3: S3) -> None:
    for k in ("a", "b", "c"):
        s3.put("bkt", k, b"x")
    out = s3.call("DeleteObjects", Bucket="bkt", Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
    assert [d["Key"] for d in out["Deleted"]] == ["a", "b", "zz"]
    assert "Errors" not in out
    quiet = s3.call("DeleteObjects", Bucket="bkt", Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert quiet == {}
    assert s3.call("ListObjectsV2", Bucket="bkt")["KeyCount"] == 0
    assert s3.s3_files() == []


def test_copy_object(s3: S3) -> None:
    s3.put("bkt", "src key+?", b"copy me", Metadata={"a": "1"}, ContentType="text/x", Tagging="t=1")
    s3.call("CreateBucket", Bucket="dst")
    out = s3.call("CopyObject", Bucket="dst", Key="c1", CopySource="bkt/src%20key%2B%3F")
    assert out["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    got, body = s3.get_bytes("dst", "c1")
    assert body == b"copy me" and got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/x"
    assert got["TagCount"] == 1
    s3.call("CopyObject", Bucket="dst", Key="c2", CopySource="/bkt/src%20key%2B%3F", MetadataDirective="REPLACE", Metadata={"b": "2"})
    got, _ = s3.get_bytes("dst", "c2")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "binary/octet-stream"
    # the copy has its own file: deleting the source keeps it
    s3.call("DeleteObject", Bucket="bkt", Key="src key+?")
    assert s3.get_bytes("dst", "c1")[1] == b"copy me"
    err = error(lambda: s3.call("CopyObject", Bucket="dst", Key="c1", CopySource="dst/c1"))
    assert err.code == "InvalidRequest" and "copy an object to itself" in err.message
    s3.call("CopyObject", Bucket="dst", Key="c1", CopySource="dst/c1", MetadataDirective="REPLACE")
    assert error(lambda: s3.call("CopyObject", Bucket="dst", Key="x", CopySource="bkt/gone")).code == "NoSuchKey"
    assert error(lambda: s3.call("CopyObject", Bucket="dst", Key="x", CopySource="nobucket/k")).code == "NoSuchBucket"
    assert error(lambda: s3.call("CopyObject", Bucket="dst", Key="x", CopySource="justbucket")).code == "InvalidArgument"
    err = error(lambda: s3.call("CopyObject", Bucket="dst", Key="x", CopySource="dst/c1", CopySourceIfMatch='"nope"'))
    assert err.status == 412


def test_object_tagging(s3: S3) -> None:
    s3.put("bkt", "t", b"x", Tagging="a=1&b=2")
    assert s3.call("GetObjectTagging", Bucket="bkt", Key="t")["TagSet"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    s3.call("PutObjectTagging", Bucket="bkt", Key="t", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
    assert s3.call("GetObjectTagging", Bucket="bkt", Key="t")["TagSet"] == [{"Key": "c", "Value": "3"}]
    assert s3.call("HeadObject", Bucket="bkt", Key="t")["TagCount"] == 1
    s3.call("DeleteObjectTagging", Bucket="bkt", Key="t")
    assert s3.call("GetObjectTagging", Bucket="bkt", Key="t")["TagSet"] == []
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
    assert error(lambda: s3.call("PutObjectTagging", Bucket="bkt", Key="t", Tagging={"TagSet": too_many})).code == "InvalidTag"
