"""S3 bucket handlers over a real App and store (no HTTP)."""

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
    yield s
    s.app.store.close()


def error(fn: Callable[[], Any]) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn()
    return info.value


@pytest.mark.parametrize("name", ["ab", "Upper", "under_score", "10.0.0.1", "a..b", "x" * 64])
def test_invalid_names(s3: S3, name: str) -> None:
    err = error(lambda: s3.call("CreateBucket", Bucket=name))
    assert (err.code, err.status, err.extra) == ("InvalidBucketName", 400, {"BucketName": name})


def test_create_head_location_list(s3: S3) -> None:
    assert s3.call("CreateBucket", Bucket="one")["Location"] == "/one"
    s3.call("CreateBucket", Bucket="two", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.call("HeadBucket", Bucket="one") == {"BucketRegion": "us-east-1"}
    assert s3.call("GetBucketLocation", Bucket="one") == {}
    assert s3.call("GetBucketLocation", Bucket="two") == {"LocationConstraint": "eu-west-1"}
    out = s3.call("ListBuckets")
    assert [b["Name"] for b in out["Buckets"]] == ["one", "two"]
    assert [b["BucketRegion"] for b in out["Buckets"]] == ["us-east-1", "eu-west-1"]
    assert len(out["Owner"]["ID"]) == 64
    err = error(lambda: s3.call("HeadBucket", Bucket="nope"))
    assert (err.code, err.status, err.extra) == ("NoSuchBucket", 404, {"BucketName": "nope"})


def test_list_buckets_pages_and_filters(s3: S3) -> None:
    for name in ("aaa", "aab", "abc", "bbb"):
        s3.call("CreateBucket", Bucket=name)
    first = s3.call("ListBuckets", MaxBuckets=2)
    assert [b["Name"] for b in first["Buckets"]] == ["aaa", "aab"]
    rest = s3.call("ListBuckets", MaxBuckets=2, ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in rest["Buckets"]] == ["abc", "bbb"] and "ContinuationToken" not in rest
    assert [b["Name"] for b in s3.call("ListBuckets", Prefix="aa")["Buckets"]] == ["aaa", "aab"]


def test_recreate_own_bucket(s3: S3) -> None:
    s3.call("CreateBucket", Bucket="mine")
    s3.call("CreateBucket", Bucket="mine")  # us-east-1: 200, S3's legacy behaviour
    s3.region = "eu-west-1"
    s3.call("CreateBucket", Bucket="mine-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    err = error(lambda: s3.call("CreateBucket", Bucket="mine-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}))
    assert (err.code, err.status, err.extra) == ("BucketAlreadyOwnedByYou", 409, {"BucketName": "mine-eu"})


def test_bucket_names_are_global_across_accounts(s3: S3) -> None:
    s3.call("CreateBucket", Bucket="shared-name")
    s3.account = "111122223333"
    err = error(lambda: s3.call("CreateBucket", Bucket="shared-name"))
    assert (err.code, err.status) == ("BucketAlreadyExists", 409)
    assert s3.call("ListBuckets")["Buckets"] == []


def test_location_constraint_rules(s3: S3) -> None:
    err = error(lambda: s3.call("CreateBucket", Bucket="bb1", CreateBucketConfiguration={"LocationConstraint": "us-east-1"}))
    assert err.code == "InvalidLocationConstraint"
    s3.region = "us-west-2"
    err = error(lambda: s3.call("CreateBucket", Bucket="bb2"))
    assert err.code == "IllegalLocationConstraintException"
    assert "unspecified" in err.message
    err = error(lambda: s3.call("CreateBucket", Bucket="bb3", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}))
    assert err.code == "IllegalLocationConstraintException"
    s3.call("CreateBucket", Bucket="bb4", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})


def test_delete_bucket(s3: S3) -> None:
    s3.call("CreateBucket", Bucket="full")
    s3.put("full", "k", b"x")
    err = error(lambda: s3.call("DeleteBucket", Bucket="full"))
    assert (err.code, err.status, err.extra) == ("BucketNotEmpty", 409, {"BucketName": "full"})
    s3.call("DeleteObject", Bucket="full", Key="k")
    up = s3.call("CreateMultipartUpload", Bucket="full", Key="mp")
    s3.call("UploadPart", Bucket="full", Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"part")
    s3.call("DeleteBucket", Bucket="full")
    assert s3.s3_files() == []  # the upload's part went with the bucket
    assert error(lambda: s3.call("DeleteBucket", Bucket="full")).code == "NoSuchBucket"


def test_versioned_bucket_with_only_markers_is_not_empty(s3: S3) -> None:
    s3.call("CreateBucket", Bucket="ver")
    s3.call("PutBucketVersioning", Bucket="ver", VersioningConfiguration={"Status": "Enabled"})
    s3.call("DeleteObject", Bucket="ver", Key="never-existed")  # leaves a delete marker
    assert error(lambda: s3.call("DeleteBucket", Bucket="ver")).code == "BucketNotEmpty"


def test_versioning_configuration(s3: S3) -> None:
    s3.call("CreateBucket", Bucket="vvv")
    assert s3.call("GetBucketVersioning", Bucket="vvv") == {}
    s3.call("PutBucketVersioning", Bucket="vvv", VersioningConfiguration={"Status": "Enabled"})
    assert s3.call("GetBucketVersioning", Bucket="vvv") == {"Status": "Enabled"}
    s3.call("PutBucketVersioning", Bucket="vvv", VersioningConfiguration={"Status": "Suspended"})
    assert s3.call("GetBucketVersioning", Bucket="vvv") == {"Status": "Suspended"}
    err = error(lambda: s3.call("PutBucketVersioning", Bucket="vvv", VersioningConfiguration={}))
    assert err.code == "MalformedXML"


def test_bucket_tagging(s3: S3) -> None:
    s3.call("CreateBucket", Bucket="tagged")
    err = error(lambda: s3.call("GetBucketTagging", Bucket="tagged"))
    assert (err.code, err.status) == ("NoSuchTagSet", 404)
    tags = [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}]
    s3.call("PutBucketTagging", Bucket="tagged", Tagging={"TagSet": tags})
    assert s3.call("GetBucketTagging", Bucket="tagged") == {"TagSet": tags}
    dup = [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]
    assert error(lambda: s3.call("PutBucketTagging", Bucket="tagged", Tagging={"TagSet": dup})).code == "InvalidTag"
    s3.call("DeleteBucketTagging", Bucket="tagged")
    assert error(lambda: s3.call("GetBucketTagging", Bucket="tagged")).code == "NoSuchTagSet"
