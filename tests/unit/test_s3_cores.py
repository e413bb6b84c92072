"""Pure cores of S3: bucket names, checksums, ranges and preconditions, listing pages."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.services.s3 import checksums
from gureum.services.s3.listing import decode_token, encode_token, key_before_sep, list_page
from gureum.services.s3.names import is_valid_bucket_name
from gureum.services.s3.preconditions import (
    ByteRange,
    RangeNotSatisfiable,
    check_preconditions,
    etag_matches,
    parse_range,
)

# -- bucket names ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc", "my-bucket.v2", "a" * 63, "0-0", "bucket-with.dots-and-1"])
def test_valid_bucket_names(name: str) -> None:
    assert is_valid_bucket_name(name)


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "Upper", "under_score", "-start", "end-", ".dot", "dot.", "two..dots",
     "192.168.1.1", "xn--punycode", "sthree-x", "name-s3alias", "name--ol-s3", "a b", ""],
)
def test_invalid_bucket_names(name: str) -> None:
    assert not is_valid_bucket_name(name)


# -- checksums ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "hexdigest"),
    [
        ("CRC32", "cbf43926"),
        ("CRC32C", "e3069283"),
        ("CRC64NVME", "ae8b14860a799888"),
        ("SHA1", hashlib.sha1(b"123456789").hexdigest()),
        ("SHA256", hashlib.sha256(b"123456789").hexdigest()),
    ],
)
def test_checksum_check_values(alg: str, hexdigest: str) -> None:
    # "123456789" is the standard CRC check input.
    assert checksums.compute(alg, b"123456789") == base64.b64encode(bytes.fromhex(hexdigest)).decode()


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=300))
def test_checksums_are_incremental(data: bytes, cut: int) -> None:
    for alg in ("CRC32", "CRC32C", "CRC64NVME"):
        c = checksums.new_checksum(alg)
        c.update(data[:cut])
        c.update(data[cut:])
        assert checksums.b64(c.digest()) == checksums.compute(alg, data)


def test_composite_checksum_of_parts() -> None:
    parts = [checksums.compute("CRC32", b"a" * 10), checksums.compute("CRC32", b"b" * 3)]
    raw = b"".join(base64.b64decode(p) for p in parts)
    expected = base64.b64encode((zlib.crc32(raw)).to_bytes(4, "big")).decode()
    assert checksums.composite("CRC32", parts) == f"{expected}-2"


def test_well_formed_and_header_names() -> None:
    assert checksums.well_formed("CRC32", "AAAAAA==")
    assert not checksums.well_formed("CRC32", "AAAA")  # 3 bytes
    assert not checksums.well_formed("SHA256", "not base64!")
    assert checksums.algorithm_of_header("X-Amz-Checksum-CRC32C") == "CRC32C"
    assert checksums.algorithm_of_header("x-amz-checksum-bogus") is None


# -- ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "want"),
    [
        ("bytes=0-4", 10, ByteRange(0, 4)),
        ("bytes=5-", 10, ByteRange(5, 9)),
        ("bytes=-3", 10, ByteRange(7, 9)),
        ("bytes=-30", 10, ByteRange(0, 9)),
        ("bytes=8-100", 10, ByteRange(8, 9)),
        ("bytes=9-9", 10, ByteRange(9, 9)),
        (None, 10, None),
        ("items=0-4", 10, None),  # another unit: ignored
        ("bytes=0-1,3-4", 10, None),  # several ranges: whole object
        ("bytes=5-2", 10, None),  # last < first: invalid, ignored
        ("bytes=a-b", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, want: ByteRange | None) -> None:
    assert parse_range(header, size) == want


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=10-20", 10), ("bytes=-0", 10), ("bytes=0-", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


def test_content_range_text() -> None:
    assert ByteRange(2, 5).content_range(10) == "bytes 2-5/10"
    assert ByteRange(2, 5).length == 4


# -- preconditions --------------------------------------------------------------------------------

ETAG = '"abc"'
T = 1_700_000_000.0


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.mark.parametrize(
    ("kwargs", "want"),
    [
        ({}, None),
        ({"if_match": '"abc"'}, None),
        ({"if_match": "abc"}, None),
        ({"if_match": '"x", "abc"'}, None),
        ({"if_match": "*"}, None),
        ({"if_match": '"zzz"'}, (412, "If-Match")),
        ({"if_none_match": '"abc"'}, (304, "If-None-Match")),
        ({"if_none_match": '"zzz"'}, None),
        ({"if_modified_since": at(T)}, (304, "If-Modified-Since")),
        ({"if_modified_since": at(T - 1)}, None),
        ({"if_modified_since": at(T + 0.5)}, (304, "If-Modified-Since")),
        ({"if_unmodified_since": at(T - 1)}, (412, "If-Unmodified-Since")),
        ({"if_unmodified_since": at(T)}, None),
        # If-Match true wins over a failing If-Unmodified-Since (S3 answers 200).
        ({"if_match": '"abc"', "if_unmodified_since": at(T - 100)}, None),
        # If-None-Match false (etag differs) wins over If-Modified-Since.
        ({"if_none_match": '"zzz"', "if_modified_since": at(T + 100)}, None),
        ({"if_match": '"zzz"', "if_none_match": '"abc"'}, (412, "If-Match")),
        ({"if_modified_since": "Tue, 14 Nov 2023 22:13:20 GMT"}, (304, "If-Modified-Since")),
        ({"if_modified_since": "garbage"}, None),
    ],
)
def test_preconditions(kwargs: dict, want: tuple[int, str] | None) -> None:
    failed = check_preconditions(ETAG, T, **kwargs)
    assert (None if failed is None else (failed.status, failed.condition)) == want


def test_etag_matches_weak_and_lists() -> None:
    assert etag_matches('W/"abc"', '"abc"')
    assert not etag_matches("", '"abc"')


# -- listing pages ------------------------------------------------------------------------------


def fetcher(keys: list[str]):
    rows = sorted((k, {"Key": key_before_sep(k)}) for k in keys)
    calls = []

    def fetch(after: str, limit: int):
        calls.append(after)
        return [r for r in rows if r[0] > after][:limit]

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


KEYS = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "other/x", "z"]


def test_delimiter_rolls_up_common_prefixes() -> None:
    page = list_page(fetcher(KEYS), delimiter="/")
    assert [k for k, _ in page.entries] == ["a.txt", "z"]
    assert page.prefixes == ["dir/", "other/"]
    assert not page.truncated


def test_prefix_and_delimiter() -> None:
    keys = [k for k in KEYS if k.startswith("dir/")]
    page = list_page(fetcher(keys), prefix="dir/", delimiter="/")
    assert [k for k, _ in page.entries] == ["dir/1", "dir/2"]
    assert page.prefixes == ["dir/sub/"]


def test_max_keys_counts_prefixes_and_truncates_exactly() -> None:
    page = list_page(fetcher(KEYS), delimiter="/", max_keys=2)
    assert [k for k, _ in page.entries] == ["a.txt"] and page.prefixes == ["dir/"]
    assert page.truncated and page.last == "dir/"
    # resuming after the common prefix does not repeat it
    page2 = list_page(fetcher(KEYS), delimiter="/", after="dir/", marker_key="dir/", max_keys=2)
    assert page2.prefixes == ["other/"] and [k for k, _ in page2.entries] == ["z"]
    assert not page2.truncated
    full = list_page(fetcher(KEYS), delimiter="/", max_keys=4)
    assert not full.truncated


def test_max_keys_zero() -> None:
    page = list_page(fetcher(KEYS), max_keys=0)
    assert page.entries == [] and page.truncated


def test_a_common_prefix_is_skipped_in_one_jump() -> None:
    keys = ["a"] + [f"big/{i:04d}" for i in range(500)] + ["c"]
    fetch = fetcher(keys)
    page = list_page(fetch, delimiter="/", batch=10)
    assert page.prefixes == ["big/"] and [k for k, _ in page.entries] == ["a", "c"]
    assert len(fetch.calls) <= 3  # did not walk the 500 keys under big/


@settings(max_examples=100, deadline=None)
@given(
    keys=st.sets(st.text(alphabet="ab/", min_size=1, max_size=6), max_size=40),
    max_keys=st.integers(min_value=1, max_value=7),
    delimiter=st.sampled_from(["", "/"]),
)
def test_paging_visits_everything_once(keys: set[str], max_keys: int, delimiter: str) -> None:
    fetch = fetcher(sorted(keys))
    whole = list_page(fetch, delimiter=delimiter, max_keys=10_000)
    seen_keys: list[str] = []
    seen_prefixes: list[str] = []
    after = ""
    for _ in range(100):
        page = list_page(fetch, delimiter=delimiter, after=after, marker_key=after, max_keys=max_keys, batch=3)
        seen_keys += [k for k, _ in page.entries]
        seen_prefixes += page.prefixes
        if not page.truncated:
            break
        after = page.last
    assert seen_keys == [k for k, _ in whole.entries]
    assert seen_prefixes == whole.prefixes


def test_tokens_round_trip() -> None:
    assert decode_token(encode_token("dir/ü")) == "dir/ü"
    assert decode_token("!!!") is None
