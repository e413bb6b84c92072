"""Versioning and listings over a real App and store (no HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from s3_helpers import S3, make_s3

from gureum.core.errors import ServiceError


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


def enable(s3: S3, status: str = "Enabled") -> None:
    s3.call("PutBucketVersioning", Bucket="bkt", VersioningConfiguration={"Status": status})


def test_versions_and_delete_markers(s3: S3) -> None:
    s3.put("bkt", "k", b"before")  # the null version
    enable(s3)
    v1 = s3.put("bkt", "k", b"one")["VersionId"]
    v2 = s3.put("bkt", "k", b"two")["VersionId"]
    assert len({v1, v2, "null"}) == 3
    got, body = s3.get_bytes("bkt", "k")
    assert body == b"two" and got["VersionId"] == v2
    assert s3.get_bytes("bkt", "k", VersionId=v1)[1] == b"one"
    assert s3.get_bytes("bkt", "k", VersionId="null")[1] == b"before"
    err = error(lambda: s3.get_bytes("bkt", "k", VersionId="f" * 32))
    assert (err.code, err.status, err.extra) == ("NoSuchVersion", 404, {"Key": "k", "VersionId": "f" * 32})

    marker = s3.call("DeleteObject", Bucket="bkt", Key="k")
    assert marker["DeleteMarker"] is True
    err = error(lambda: s3.get_bytes("bkt", "k"))
    assert err.code == "NoSuchKey" and err.headers["x-amz-delete-marker"] == "true"
    assert err.headers["x-amz-version-id"] == marker["VersionId"]
    err = error(lambda: s3.call("HeadObject", Bucket="bkt", Key="k", VersionId=marker["VersionId"]))
    assert (err.code, err.status) == ("MethodNotAllowed", 405)
    assert err.headers["x-amz-delete-marker"] == "true"
    assert s3.call("ListObjectsV2", Bucket="bkt")["KeyCount"] == 0

    out = s3.call("ListObjectVersions", Bucket="bkt")
    assert [(v["VersionId"], v["IsLatest"]) for v in out["Versions"]] == [(v2, False), (v1, False), ("null", False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in out["DeleteMarkers"]] == [(marker["VersionId"], True)]
    assert len(s3.s3_files()) == 3

    # Removing the marker brings v2 back; removing v2 for good makes v1 current.
    assert s3.call("DeleteObject", Bucket="bkt", Key="k", VersionId=marker["VersionId"]) == {
        "VersionId": marker["VersionId"],
        "DeleteMarker": True,
    }
    assert s3.get_bytes("bkt", "k")[1] == b"two"
    s3.call("DeleteObject", Bucket="bkt", Key="k", VersionId=v2)
    assert s3.get_bytes("bkt", "k")[1] == b"one"
    assert len(s3.s3_files()) == 2


def test_suspended_versioning_replaces_the_null_version(s3: S3) -> None:
    enable(s3)
    kept = s3.put("bkt", "k", b"kept")["VersionId"]
    enable(s3, "Suspended")
    s3.put("bkt", "k", b"null-1")
    s3.put("bkt", "k", b"null-2")
    ids = [v["VersionId"] for v in s3.call("ListObjectVersions", Bucket="bkt")["Versions"]]
    assert ids == ["null", kept]
    assert s3.get_bytes("bkt", "k")[1] == b"null-2"
    marker = s3.call("DeleteObject", Bucket="bkt", Key="k")
    assert marker == {"DeleteMarker": True, "VersionId": "null"}
    out = s3.call("ListObjectVersions", Bucket="bkt")
    assert [v["VersionId"] for v in out["Versions"]] == [kept]
    assert [m["VersionId"] for m in out["DeleteMarkers"]] == ["null"]
    assert len(s3.s3_files()) == 1


def test_delete_objects_with_versions(s3: S3) -> None:
    enable(s3)
    v = s3.put("bkt", "a", b"1")["VersionId"]
    out = s3.call("DeleteObjects", Bucket="bkt", Delete={"Objects": [{"Key": "a"}, {"Key": "a", "VersionId": v}]})
    first, second = out["Deleted"]
    assert first["DeleteMarker"] is True and first["DeleteMarkerVersionId"]
    assert second == {"Key": "a", "VersionId": v}


def test_copy_from_a_version(s3: S3) -> None:
    enable(s3)
    v1 = s3.put("bkt", "src", b"first")["VersionId"]
    s3.put("bkt", "src", b"second")
    out = s3.call("CopyObject", Bucket="bkt", Key="dst", CopySource=f"bkt/src?versionId={v1}")
    assert out["CopySourceVersionId"] == v1 and out["VersionId"]
    assert s3.get_bytes("bkt", "dst")[1] == b"first"
    marker = s3.call("DeleteObject", Bucket="bkt", Key="src")["VersionId"]
    err = error(lambda: s3.call("CopyObject", Bucket="bkt", Key="x", CopySource=f"bkt/src?versionId={marker}"))
    assert err.code == "InvalidRequest"
    assert error(lambda: s3.call("CopyObject", Bucket="bkt", Key="x", CopySource="bkt/src")).code == "NoSuchKey"


def test_list_object_versions_pages(s3: S3) -> None:
    enable(s3)
    made = []
    for key in ("a", "b"):
        for i in range(3):
            made.append((key, s3.put("bkt", key, str(i).encode())["VersionId"]))
    want = [(k, v) for k in ("a", "b") for k, v in reversed([m for m in made if m[0] == k])]
    seen, latest = [], []
    params: dict[str, Any] = {}
    for _ in range(10):
        out = s3.call("ListObjectVersions", Bucket="bkt", MaxKeys=2, **params)
        seen += [(v["Key"], v["VersionId"]) for v in out.get("Versions", [])]
        latest += [v["IsLatest"] for v in out.get("Versions", [])]
        if not out["IsTruncated"]:
            break
        params = {"KeyMarker": out["NextKeyMarker"], "VersionIdMarker": out["NextVersionIdMarker"]}
    assert seen == want
    assert latest == [True, False, False, True, False, False]
    # KeyMarker alone skips every version of that key
    out = s3.call("ListObjectVersions", Bucket="bkt", KeyMarker="a")
    assert {v["Key"] for v in out["Versions"]} == {"b"}


def test_list_objects_v2_pagination_and_delimiter(s3: S3) -> None:
    keys = ["photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/top.jpg", "readme", "z/1"]
    for k in keys:
        s3.put("bkt", k, b"x")
    out = s3.call("ListObjectsV2", Bucket="bkt", Delimiter="/")
    assert [c["Key"] for c in out["Contents"]] == ["readme"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["photos/", "z/"]
    assert out["KeyCount"] == 3
    out = s3.call("ListObjectsV2", Bucket="bkt", Prefix="photos/", Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["photos/2024/", "photos/2025/"]
    assert [c["Key"] for c in out["Contents"]] == ["photos/top.jpg"]
    got, token = [], None
    for _ in range(10):
        page = s3.call("ListObjectsV2", Bucket="bkt", MaxKeys=4, **({"ContinuationToken": token} if token else {}))
        got += [c["Key"] for c in page.get("Contents", [])]
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        token = page["NextContinuationToken"]
    assert got == keys
    out = s3.call("ListObjectsV2", Bucket="bkt", StartAfter="photos/top.jpg")
    assert [c["Key"] for c in out["Contents"]] == ["readme", "z/1"]
    assert out["StartAfter"] == "photos/top.jpg"
    err = error(lambda: s3.call("ListObjectsV2", Bucket="bkt", ContinuationToken="???"))
    assert err.code == "InvalidArgument"
    assert "Owner" not in s3.call("ListObjectsV2", Bucket="bkt")["Contents"][0]
    assert "Owner" in s3.call("ListObjectsV2", Bucket="bkt", FetchOwner=True)["Contents"][0]


def test_list_objects_v1_marker(s3: S3) -> None:
    for k in ("a/1", "a/2", "b", "c"):
        s3.put("bkt", k, b"x")
    out = s3.call("ListObjects", Bucket="bkt", MaxKeys=2, Delimiter="/")
    assert out["IsTruncated"] and out["NextMarker"] == "b"
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["a/"]
    out = s3.call("ListObjects", Bucket="bkt", Marker=out["NextMarker"], Delimiter="/")
    assert [c["Key"] for c in out["Contents"]] == ["c"] and not out["IsTruncated"]
    out = s3.call("ListObjects", Bucket="bkt", MaxKeys=1)
    assert out["IsTruncated"] and "NextMarker" not in out and out["Contents"][0]["Owner"]


def test_url_encoding_type(s3: S3) -> None:
    s3.put("bkt", "dir one/ü+&.txt", b"x")
    out = s3.call("ListObjectsV2", Bucket="bkt", EncodingType="url", Prefix="dir one/")
    assert out["Contents"][0]["Key"] == "dir%20one/%C3%BC%2B%26.txt"
    assert out["Prefix"] == "dir%20one/" and out["EncodingType"] == "url"
    out = s3.call("ListObjectsV2", Bucket="bkt", EncodingType="url", Delimiter=" ")
    assert out["CommonPrefixes"] == [{"Prefix": "dir%20"}] and out["Delimiter"] == "%20"
