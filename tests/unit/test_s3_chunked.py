"""The aws-chunked decoder: framing tables and Hypothesis round trips over arbitrary splits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.services.s3.chunked import AwsChunkedDecoder, ChunkedDecodeError, encode_aws_chunked


def decode(pieces: list[bytes]) -> tuple[bytes, AwsChunkedDecoder]:
    d = AwsChunkedDecoder()
    out = b"".join(b"".join(d.feed(p)) for p in pieces)
    d.finish()
    return out, d


def test_botocore_unsigned_trailer_framing() -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    data, d = decode([body])
    assert data == b"hello world"
    assert d.trailers == {"x-amz-checksum-crc32": "DUoRhQ=="}
    assert d.decoded_length == 11


def test_signed_chunks_record_signatures() -> None:
    body = (
        b"3;chunk-signature=aaaa\r\nabc\r\n"
        b"0;chunk-signature=bbbb\r\n\r\n"
    )
    data, d = decode([body])
    assert data == b"abc"
    assert d.signatures == ["aaaa", "bbbb"]
    assert d.trailers == {}


def test_missing_final_crlf_is_tolerated() -> None:
    data, d = decode([b"2\r\nhi\r\n0\r\nx-amz-checksum-sha256:abc=\r\n"])
    assert data == b"hi" and d.trailers["x-amz-checksum-sha256"] == "abc="


@pytest.mark.parametrize(
    "body",
    [
        b"5\r\nhel",  # data cut short
        b"5\r\nhello\r\n",  # no final chunk
        b"5\r\nhello",  # no CRLF after the data
        b"",  # nothing at all
    ],
)
def test_truncated_bodies_are_incomplete(body: bytes) -> None:
    d = AwsChunkedDecoder()
    d.feed(body)
    with pytest.raises(ChunkedDecodeError) as err:
        d.finish()
    assert err.value.code == "IncompleteBody"


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",  # size not hex
        b"\r\nhello\r\n0\r\n\r\n",  # empty size
        b"2\r\nhello\r\n0\r\n\r\n",  # chunk longer than declared
        b"0\r\nno-colon-here\r\n\r\n",  # malformed trailer
        b"0\r\n\r\nextra",  # bytes after the end
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    d = AwsChunkedDecoder()
    with pytest.raises(ChunkedDecodeError) as err:
        d.feed(body)
        d.finish()
    assert err.value.code == "InvalidRequest"


def test_size_line_without_end_is_bounded() -> None:
    d = AwsChunkedDecoder()
    with pytest.raises(ChunkedDecodeError):
        d.feed(b"1" * 5000)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


@settings(max_examples=200, deadline=None)
@given(
    payload=st.binary(max_size=3000),
    chunk_size=st.integers(min_value=1, max_value=700),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    signed=st.booleans(),
    with_trailer=st.booleans(),
)
def test_round_trip_over_any_split(
    payload: bytes, chunk_size: int, cuts: list[int], signed: bool, with_trailer: bool
) -> None:
    trailers = {"x-amz-checksum-crc32": "AAAAAA=="} if with_trailer else {}
    encoded = encode_aws_chunked(payload, chunk_size, trailers, signature="ab" * 32 if signed else None)
    data, d = decode(_split(encoded, cuts))
    assert data == payload
    assert d.trailers == trailers
    assert d.decoded_length == len(payload)


@settings(max_examples=100, deadline=None)
@given(payload=st.binary(min_size=1, max_size=500), cut=st.integers(min_value=0, max_value=10_000))
def test_any_strict_prefix_is_refused(payload: bytes, cut: int) -> None:
    encoded = encode_aws_chunked(payload, 64, {"x-amz-checksum-crc32": "AAAAAA=="})
    # Everything up to the trailer line is a prefix that must never pass for a whole body.
    limit = encoded.rindex(b"0\r\nx-amz")
    prefix = encoded[: cut % limit]
    d = AwsChunkedDecoder()
    with pytest.raises(ChunkedDecodeError):
        d.feed(prefix)
        d.finish()
