"""Multipart uploads over a real App and store (no HTTP)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from s3_helpers import S3, Body, make_s3

from gureum.core.errors import ServiceError
from gureum.services.s3.checksums import compute
from gureum.services.s3.completion import check_parts

MIB = 1024 * 1024


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


def upload(s3: S3, key: str = "big", **kw: Any) -> str:
    return s3.call("CreateMultipartUpload", Bucket="bkt", Key=key, **kw)["UploadId"]


def part(s3: S3, upload_id: str, n: int, data: bytes, key: str = "big", **kw: Any) -> dict[str, Any]:
    return s3.call("UploadPart", Bucket="bkt", Key=key, UploadId=upload_id, PartNumber=n, Body=Body([data]), **kw)


def test_complete_joins_parts(s3: S3) -> None:
    uid = upload(s3, ContentType="video/mp4", Metadata={"m": "1"})
    datas = [b"a" * (5 * MIB), b"b" * (5 * MIB), b"tail"]
    etags = [part(s3, uid, i + 1, d)["ETag"] for i, d in enumerate(datas)]
    listed = s3.call("ListParts", Bucket="bkt", Key="big", UploadId=uid)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, 5 * MIB), (2, 5 * MIB), (3, 4)]
    out = s3.call(
        "CompleteMultipartUpload", Bucket="bkt", Key="big", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
    )
    want = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in datas)).hexdigest() + "-3"
    assert out["ETag"] == f'"{want}"'
    assert out["Location"].endswith("/bkt/big")
    got, body = s3.get_bytes("bkt", "big")
    assert body == b"".join(datas) and got["ContentType"] == "video/mp4" and got["Metadata"] == {"m": "1"}
    assert len(s3.s3_files()) == 1  # part files gone
    assert error(lambda: s3.call("ListParts", Bucket="bkt", Key="big", UploadId=uid)).code == "NoSuchUpload"
    # partNumber reads one part
    got, body = s3.get_bytes("bkt", "big", PartNumber=3)
    assert body == b"tail" and got["PartsCount"] == 3 and got["ContentRange"] == f"bytes {10 * MIB}-{10 * MIB + 3}/{10 * MIB + 4}"


def test_part_replacement_and_list_paging(s3: S3) -> None:
    uid = upload(s3)
    for n in (1, 2, 3):
        part(s3, uid, n, b"x")
    part(s3, uid, 2, b"replaced")
    assert len(s3.s3_files()) == 3
    page = s3.call("ListParts", Bucket="bkt", Key="big", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2] and page["IsTruncated"]
    rest = s3.call("ListParts", Bucket="bkt", Key="big", UploadId=uid, PartNumberMarker=page["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["Parts"]] == [3] and not rest["IsTruncated"]


def test_completion_errors(s3: S3) -> None:
    uid = upload(s3)
    e1 = part(s3, uid, 1, b"small")["ETag"]
    e2 = part(s3, uid, 2, b"last")["ETag"]

    def complete(parts: list[dict[str, Any]]) -> Any:
        return s3.call("CompleteMultipartUpload", Bucket="bkt", Key="big", UploadId=uid, MultipartUpload={"Parts": parts})

    err = error(lambda: complete([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]))
    assert (err.code, err.status) == ("InvalidPartOrder", 400)
    err = error(lambda: complete([{"PartNumber": 1, "ETag": '"0000"'}]))
    assert (err.code, err.extra["PartNumber"]) == ("InvalidPart", "1")
    err = error(lambda: complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 7, "ETag": e2}]))
    assert err.code == "InvalidPart"
    err = error(lambda: complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]))
    assert (err.code, err.extra["ProposedSize"], err.extra["MinSizeAllowed"]) == ("EntityTooSmall", "5", str(5 * MIB))
    assert error(lambda: complete([])).code == "InvalidRequest"
    # A single small part is fine: only non-last parts have a minimum.
    complete([{"PartNumber": 2, "ETag": e2}])
    assert s3.get_bytes("bkt", "big")[1] == b"last"
    assert len(s3.s3_files()) == 1


def test_unknown_uploads_and_part_numbers(s3: S3) -> None:
    err = error(lambda: part(s3, "nope", 1, b"x"))
    assert (err.code, err.status, err.extra) == ("NoSuchUpload", 404, {"UploadId": "nope"})
    uid = upload(s3)
    assert error(lambda: part(s3, uid, 1, b"x", key="other-key")).code == "NoSuchUpload"
    assert error(lambda: part(s3, uid, 10001, b"x")).code == "InvalidArgument"
    assert error(lambda: s3.call("AbortMultipartUpload", Bucket="bkt", Key="big", UploadId="nope")).code == "NoSuchUpload"


def test_abort_removes_parts(s3: S3) -> None:
    uid = upload(s3)
    part(s3, uid, 1, b"x" * 1000)
    s3.call("AbortMultipartUpload", Bucket="bkt", Key="big", UploadId=uid)
    assert s3.s3_files() == []
    assert s3.call("ListMultipartUploads", Bucket="bkt")["Uploads"] == []


def test_list_multipart_uploads(s3: S3) -> None:
    ids = {k: upload(s3, k) for k in ("a/1", "a/2", "b", "c")}
    out = s3.call("ListMultipartUploads", Bucket="bkt")
    assert [u["Key"] for u in out["Uploads"]] == ["a/1", "a/2", "b", "c"]
    out = s3.call("ListMultipartUploads", Bucket="bkt", Delimiter="/")
    assert [u["Key"] for u in out["Uploads"]] == ["b", "c"] and out["CommonPrefixes"] == [{"Prefix": "a/"}]
    page = s3.call("ListMultipartUploads", Bucket="bkt", MaxUploads=2)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "a/2" and page["NextUploadIdMarker"] == ids["a/2"]
    rest = s3.call("ListMultipartUploads", Bucket="bkt", KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])
    assert [u["Key"] for u in rest["Uploads"]] == ["b", "c"]


def test_composite_and_full_object_checksums(s3: S3) -> None:
    uid = upload(s3, "cs", ChecksumAlgorithm="CRC32")
    d1, d2 = b"p" * (5 * MIB), b"q"
    c1 = part(s3, uid, 1, d1, key="cs", ChecksumCRC32=compute("CRC32", d1))
    c2 = part(s3, uid, 2, d2, key="cs")  # S3 computes the upload's algorithm itself
    assert c2["ChecksumCRC32"] == compute("CRC32", d2)
    out = s3.call(
        "CompleteMultipartUpload", Bucket="bkt", Key="cs", UploadId=uid,
        MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": c1["ETag"], "ChecksumCRC32": c1["ChecksumCRC32"]},
            {"PartNumber": 2, "ETag": c2["ETag"]},
        ]},
    )
    assert out["ChecksumCRC32"].endswith("-2") and out["ChecksumType"] == "COMPOSITE"
    uid = upload(s3, "full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    e = part(s3, uid, 1, b"whole", key="full")["ETag"]
    err = error(lambda: s3.call(
        "CompleteMultipartUpload", Bucket="bkt", Key="full", UploadId=uid,
        ChecksumCRC32=compute("CRC32", b"other"), MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]},
    ))
    assert err.code == "BadDigest"
    out = s3.call("CompleteMultipartUpload", Bucket="bkt", Key="full", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert out["ChecksumCRC32"] == compute("CRC32", b"whole") and out["ChecksumType"] == "FULL_OBJECT"


def test_upload_part_copy(s3: S3) -> None:
    s3.put("bkt", "src", b"0123456789")
    uid = upload(s3)
    out = s3.call("UploadPartCopy", Bucket="bkt", Key="big", UploadId=uid, PartNumber=1, CopySource="bkt/src", CopySourceRange="bytes=2-4")
    assert out["CopyPartResult"]["ETag"] == f'"{hashlib.md5(b"234").hexdigest()}"'
    s3.call("CompleteMultipartUpload", Bucket="bkt", Key="big", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": out["CopyPartResult"]["ETag"]}]})
    assert s3.get_bytes("bkt", "big")[1] == b"234"
    uid = upload(s3)
    err = error(lambda: s3.call("UploadPartCopy", Bucket="bkt", Key="big", UploadId=uid, PartNumber=1, CopySource="bkt/src", CopySourceRange="bytes=5-20"))
    assert err.code == "InvalidRange"


def test_check_parts_is_pure() -> None:
    stored = {1: {"PartNumber": 1, "ETag": '"aa"', "Size": 10}, 2: {"PartNumber": 2, "ETag": '"bb"', "Size": 1}}
    assert check_parts("u", [{"PartNumber": 1, "ETag": "aa"}, {"PartNumber": 2, "ETag": '"bb"'}], stored, min_size=10)
    with pytest.raises(ServiceError):
        check_parts("u", [{"PartNumber": 1, "ETag": "aa"}, {"PartNumber": 1, "ETag": "aa"}], stored, min_size=10)
