"""The registry's pure rules: digests, names, tags, manifests, ranges."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.ecr import oci
from gureum.services.ecr.oci import RegistryError

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64


def image_manifest(media_type: str | None = oci.DOCKER_MANIFEST, layers: int = 2) -> dict:
    doc: dict = {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100, "digest": D1},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000 + i, "digest": D2}
            for i in range(layers)
        ],
    }
    if media_type:
        doc["mediaType"] = media_type
    return doc


def test_digest_of_bytes_is_sha256_and_checks() -> None:
    assert oci.sha256_digest(b"hello") == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert oci.check_digest(D1) == D1


@pytest.mark.parametrize(
    "value",
    ["sha256:abc", "sha256:" + "A" * 64, "md5:" + "a" * 32, "nonsense", "sha512:" + "a" * 128, ""],
)
def test_bad_digests_are_digest_invalid(value: str) -> None:
    with pytest.raises(RegistryError) as e:
        oci.check_digest(value)
    assert e.value.code == "DIGEST_INVALID" and e.value.status == 400


@given(st.binary(max_size=256))
def test_every_computed_digest_is_accepted(data: bytes) -> None:
    assert oci.check_digest(oci.sha256_digest(data)) == oci.sha256_digest(data)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("ab", True),
        ("team/app", True),
        ("a.b_c__d--e/f-g", True),
        ("a", False),  # ECR needs at least 2 characters
        ("Upper", False),
        ("team//app", False),
        ("/lead", False),
        ("trail/", False),
        ("a_-b", False),
        ("x" * 257, False),
    ],
)
def test_repository_names(name: str, ok: bool) -> None:
    assert oci.valid_repository_name(name) is ok


@pytest.mark.parametrize(
    ("tag", "ok"),
    [("latest", True), ("v1.2.3", True), ("_x", True), ("-x", False), (".x", False), ("a" * 129, False), ("a:b", False)],
)
def test_tags(tag: str, ok: bool) -> None:
    assert oci.valid_tag(tag) is ok


@pytest.mark.parametrize(
    ("rule", "filters", "tag", "mutable"),
    [
        ("MUTABLE", [], "latest", True),
        ("IMMUTABLE", [], "latest", False),
        ("IMMUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "latest"}], "latest", True),
        ("IMMUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "dev-*"}], "dev-42", True),
        ("IMMUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "dev-*"}], "v1", False),
        ("MUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "v*"}], "v1", False),
        ("MUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "v*"}], "latest", True),
    ],
)
def test_tag_mutability(rule: str, filters: list, tag: str, mutable: bool) -> None:
    assert oci.tag_mutable(tag, rule, filters) is mutable


def test_image_manifest_lists_its_blobs_and_size() -> None:
    raw = json.dumps(image_manifest()).encode()
    m = oci.parse_manifest(raw, oci.DOCKER_MANIFEST)
    assert m.media_type == oci.DOCKER_MANIFEST
    assert m.digest == oci.sha256_digest(raw)
    assert [b.digest for b in m.blobs] == [D1, D2, D2]
    assert m.layers_size == 100 + 1000 + 1001
    assert m.config_media_type == "application/vnd.docker.container.image.v1+json"
    assert not m.is_index


def test_media_type_from_body_when_header_is_generic_and_from_shape_when_absent() -> None:
    raw = json.dumps(image_manifest(oci.OCI_MANIFEST)).encode()
    assert oci.parse_manifest(raw, "application/json").media_type == oci.OCI_MANIFEST
    raw = json.dumps(image_manifest(None)).encode()
    assert oci.parse_manifest(raw, None).media_type == oci.OCI_MANIFEST
    index = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert oci.parse_manifest(index, None).media_type == oci.OCI_INDEX


def test_index_lists_children() -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": oci.DOCKER_MANIFEST_LIST,
        "manifests": [{"mediaType": oci.DOCKER_MANIFEST, "size": 500, "digest": D1, "platform": {"os": "linux"}}],
    }
    m = oci.parse_manifest(json.dumps(doc).encode(), oci.DOCKER_MANIFEST_LIST)
    assert m.is_index and [c.digest for c in m.children] == [D1] and m.blobs == ()


def test_foreign_layers_are_not_required() -> None:
    doc = image_manifest()
    doc["layers"].append({"mediaType": oci.FOREIGN_LAYERS[0], "size": 5, "digest": "sha256:" + "c" * 64})
    m = oci.parse_manifest(json.dumps(doc).encode(), oci.DOCKER_MANIFEST)
    assert "sha256:" + "c" * 64 not in [b.digest for b in m.blobs]


@pytest.mark.parametrize(
    ("raw", "ctype"),
    [
        (b"not json at all", oci.DOCKER_MANIFEST),
        (b"\xff\xfe", oci.DOCKER_MANIFEST),
        (b"[1, 2]", oci.DOCKER_MANIFEST),
        (json.dumps({**image_manifest(), "schemaVersion": 1}).encode(), oci.DOCKER_MANIFEST),
        (json.dumps(image_manifest()).encode(), oci.OCI_MANIFEST),  # header and body disagree
        (json.dumps(image_manifest(None)).encode(), "application/vnd.docker.distribution.manifest.v1+prettyjws"),
        (json.dumps(image_manifest(None)).encode(), "text/plain"),
        (json.dumps({**image_manifest(), "config": {"digest": "nope", "size": 1}}).encode(), None),
        (json.dumps({**image_manifest(), "layers": [{"digest": D1, "size": -1}]}).encode(), None),
        (json.dumps({**image_manifest(), "layers": "x"}).encode(), None),
        (json.dumps({"schemaVersion": 2}).encode(), None),
    ],
)
def test_garbage_is_manifest_invalid(raw: bytes, ctype: str | None) -> None:
    with pytest.raises(RegistryError) as e:
        oci.parse_manifest(raw, ctype)
    assert e.value.code == "MANIFEST_INVALID" and e.value.status == 400
    assert json.loads(e.value.document())["errors"][0]["code"] == "MANIFEST_INVALID"


def test_oversized_manifest_is_size_invalid() -> None:
    with pytest.raises(RegistryError) as e:
        oci.parse_manifest(b" " * (oci.MAX_MANIFEST_SIZE + 1), None)
    assert e.value.code == "SIZE_INVALID"


def test_content_range_and_range() -> None:
    assert oci.parse_content_range("0-99") == (0, 99)
    assert oci.parse_content_range("bytes 100-199/*") == (100, 199)
    with pytest.raises(RegistryError):
        oci.parse_content_range("9-1")
    assert oci.parse_range("bytes=0-9", 100) == (0, 9)
    assert oci.parse_range("bytes=90-", 100) == (90, 99)
    assert oci.parse_range("bytes=-10", 100) == (90, 99)
    assert oci.parse_range("bytes=50-1000", 100) == (50, 99)
    assert oci.parse_range("", 100) is None
    with pytest.raises(RegistryError) as e:
        oci.parse_range("bytes=100-", 100)
    assert e.value.status == 416
    assert oci.upload_range(0) == "0-0" and oci.upload_range(10) == "0-9"


@given(st.integers(1, 10_000), st.integers(0, 20_000), st.integers(0, 20_000))
def test_ranges_stay_inside_the_blob(size: int, a: int, b: int) -> None:
    try:
        got = oci.parse_range(f"bytes={a}-{b}", size)
    except RegistryError:
        assert a >= size or b < a
        return
    assert got is not None
    first, last = got
    assert 0 <= first <= last < size
