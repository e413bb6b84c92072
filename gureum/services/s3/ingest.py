"""Receiving an object or part body: stream → (aws-chunked decode) → temp file → verify → commit.

The body is read piece by piece from the request stream; each piece is
hashed and written to a temp file (see :mod:`.blobs`), so memory stays flat
whatever the size.  Before the file is committed the upload must prove
itself, in S3's terms:

* the stream ended where the framing says (``IncompleteBody`` otherwise — a
  client that disconnects makes the stream raise, and nothing is kept);
* ``Content-MD5`` matches (``InvalidDigest`` / ``BadDigest``);
* a hex ``x-amz-content-sha256`` matches (``XAmzContentSHA256Mismatch``);
* the ``x-amz-checksum-<alg>`` header or aws-chunked trailer matches
  (``BadDigest``).

The result is a committed :class:`BlobInfo`; the caller writes the record.

:func:`streaming_handler` wraps the handlers that take a body: an error they
raise closes the connection, because the body may not have been read (a
client that sent ``Expect: 100-continue`` never sends it once it sees the
error) and the next request on the connection would be read from its bytes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gureum.core.errors import ServiceError
from gureum.protocol.http import Headers
from gureum.services.api import RequestContext
from gureum.services.s3.blobs import BlobInfo, BlobWriter
from gureum.services.s3.checksums import MEMBERS, algorithm_of_header, header_name, well_formed
from gureum.services.s3.chunked import AwsChunkedDecoder, ChunkedDecodeError
from gureum.services.s3.errors import bad_digest, invalid_request
from gureum.services.s3.records import state

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class Received:
    blob: BlobInfo
    content_encoding: str  # Content-Encoding to store (aws-chunked removed)


StreamingHandler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def streaming_handler(fn: StreamingHandler) -> StreamingHandler:
    """Answer errors of a body-taking handler with ``Connection: close``."""

    @functools.wraps(fn)
    async def wrapper(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        try:
            return await fn(ctx, req)
        except ServiceError as exc:
            exc.headers.setdefault("Connection", "close")
            raise

    return wrapper


def _headers(ctx: RequestContext) -> Headers:
    return ctx.request.headers if ctx.request is not None else Headers()


def _plan(ctx: RequestContext, req: dict[str, Any], extra: tuple[str, ...]) -> tuple[dict[str, str], set[str], set[str]]:
    """(expected header values, trailer algorithms, algorithms to compute)."""
    headers = _headers(ctx)
    expected: dict[str, str] = {}
    for alg, member in MEMBERS.items():
        value = req.get(member) or headers.get(header_name(alg))
        if value:
            if not well_formed(alg, value):
                raise invalid_request(f"Value for {header_name(alg)} header is invalid.")
            expected[alg] = value
    trailer_algs = {
        found
        for name in (headers.get("x-amz-trailer") or "").split(",")
        if (found := algorithm_of_header(name)) is not None
    }
    if len(expected) + len(trailer_algs - set(expected)) > 1:
        raise invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    wanted = set(expected) | trailer_algs | {a for a in extra if a}
    asked = (req.get("ChecksumAlgorithm") or headers.get("x-amz-sdk-checksum-algorithm") or "").upper()
    if asked in MEMBERS:
        wanted.add(asked)
    return expected, trailer_algs, wanted


async def receive_body(
    ctx: RequestContext, req: dict[str, Any], extra_algorithms: tuple[str, ...] = ()
) -> Received:
    """Read, verify and commit the request's body; raises S3 errors, leaving nothing behind."""
    headers = _headers(ctx)
    encodings = [e.strip() for e in (headers.get("content-encoding") or req.get("ContentEncoding") or "").split(",") if e.strip()]
    sha_header = headers.get("x-amz-content-sha256") or ""
    chunked = "aws-chunked" in encodings or sha_header.startswith("STREAMING-")
    expected, trailer_algs, wanted = _plan(ctx, req, extra_algorithms)
    verify_sha = bool(_HEX64.match(sha_header)) and not chunked
    writer = state(ctx.app).blobs.writer(sorted(wanted), sha256=verify_sha)
    try:
        decoder = AwsChunkedDecoder() if chunked else None
        await _pump(ctx, req.get("Body"), writer, decoder)
        _check_length(headers, req, writer, decoder)
        info = writer.finish()
        _verify(headers, req, info, expected, trailer_algs, decoder, sha_header if verify_sha else "")
        blob = await writer.commit()
    except BaseException:
        writer.abort()
        raise
    kept = ", ".join(e for e in encodings if e.lower() != "aws-chunked")
    return Received(blob, kept)


async def _pump(ctx: RequestContext, body: Any, writer: BlobWriter, decoder: AwsChunkedDecoder | None) -> None:
    limit = ctx.app.settings.max_object_size
    pieces: Any = [bytes(body)] if isinstance(body, (bytes, bytearray)) else (body or [])
    early = b""
    if ctx.request is not None and ctx.request.body and not isinstance(body, (bytes, bytearray)):
        early = ctx.request.body
    try:
        if early:
            # The gateway reads form-typed bodies before routing (a curl -d upload).
            _take(early, writer, decoder, limit)
        if hasattr(pieces, "__aiter__"):
            async for piece in pieces:
                _take(piece, writer, decoder, limit)
        else:
            for piece in pieces:
                _take(piece, writer, decoder, limit)
        if decoder is not None:
            decoder.finish()
    except ChunkedDecodeError as exc:
        raise ServiceError(exc.code, str(exc), 400) from None


def _take(piece: bytes, writer: BlobWriter, decoder: AwsChunkedDecoder | None, limit: int) -> None:
    for data in decoder.feed(piece) if decoder is not None else (piece,):
        writer.write(data)
    if writer.size > limit:
        raise ServiceError(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
            400,
            extra={"ProposedSize": str(writer.size), "MaxSizeAllowed": str(limit)},
        )


def _check_length(headers: Headers, req: dict[str, Any], writer: BlobWriter, decoder: AwsChunkedDecoder | None) -> None:
    if decoder is not None:
        declared = headers.get("x-amz-decoded-content-length")
    else:
        declared = req.get("ContentLength") if req.get("ContentLength") is not None else headers.get("content-length")
    if declared is None or str(declared).strip() == "":
        return
    try:
        want = int(str(declared))
    except ValueError:
        raise invalid_request("The Content-Length or x-amz-decoded-content-length header is invalid.") from None
    if writer.size != want:
        raise ServiceError(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
            400,
        )


def _verify(
    headers: Headers,
    req: dict[str, Any],
    info: BlobInfo,
    expected: dict[str, str],
    trailer_algs: set[str],
    decoder: AwsChunkedDecoder | None,
    sha_hex: str,
) -> None:
    md5 = req.get("ContentMD5") or headers.get("content-md5")
    if md5:
        try:
            raw = base64.b64decode(md5, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 16:
            raise ServiceError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
        if raw.hex() != info.md5_hex:
            raise bad_digest("Content-MD5")
    if sha_hex and sha_hex.lower() != info.sha256_hex:
        raise ServiceError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
            extra={"ClientComputedContentSHA256": sha_hex, "S3ComputedContentSHA256": info.sha256_hex},
        )
    for alg in trailer_algs:
        value = decoder.trailers.get(header_name(alg)) if decoder is not None else None
        if not value:
            raise invalid_request(f"The trailing checksum {header_name(alg)} was declared but not sent.")
        if not well_formed(alg, value):
            raise invalid_request(f"Value for {header_name(alg)} trailing header is invalid.")
        expected.setdefault(alg, value)
    for alg, value in expected.items():
        if info.checksums.get(alg) != value:
            raise bad_digest(alg)
