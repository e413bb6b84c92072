"""Moving HTTP/1.1 bodies between two connections, piece by piece.

A body is copied as it arrives, never held whole: at most one piece
(``PIECE`` bytes) is in our hands at a time, and a full send buffer on the
destination pauses the copy (``drain``).  Chunked bodies pass through with
their framing (size lines, extensions, trailers) intact; we only parse the
sizes to know where the body ends.

Errors say which side failed: reading the source raises what
:class:`~gureum.services.elbv2.conn.Conn` raises (``Closed``,
``IdleTimeout``, ``ClientGone``) or ``Malformed`` for bad chunk framing;
writing the destination raises :class:`WriteFailed`.
"""

from __future__ import annotations

from gureum.services.elbv2.conn import Closed, Conn, TooLong
from gureum.services.elbv2.http1 import Framing, Malformed, parse_chunk_size

PIECE = 64 * 1024
MAX_CHUNK_LINE = 4096
MAX_TRAILERS = 16 * 1024


class WriteFailed(Exception):
    """The destination connection went away while a body was copied to it."""


def put(dst: Conn, data: bytes) -> None:
    try:
        dst.write(data)
    except Closed as exc:
        raise WriteFailed(str(exc)) from exc


async def flush(dst: Conn) -> None:
    try:
        await dst.drain()
    except Closed as exc:
        raise WriteFailed(str(exc)) from exc


async def _copy_exact(src: Conn, dst: Conn | None, n: int) -> int:
    remaining = n
    while remaining:
        piece = await src.read_some(min(remaining, PIECE))
        if not piece:
            raise Closed("end of stream inside a body")
        remaining -= len(piece)
        if dst is not None:
            put(dst, piece)
            if dst.write_paused:
                await flush(dst)
    return n


async def _copy_chunked(src: Conn, dst: Conn | None) -> int:
    moved = 0
    while True:
        try:
            line = await src.read_until(b"\r\n", MAX_CHUNK_LINE)
        except TooLong:
            raise Malformed("chunk size line too long") from None
        size = parse_chunk_size(line[:-2])
        if dst is not None:
            put(dst, line)
        if size == 0:
            seen = 0
            while True:
                try:
                    trailer = await src.read_until(b"\r\n", MAX_TRAILERS)
                except TooLong:
                    raise Malformed("trailers too long") from None
                seen += len(trailer)
                if seen > MAX_TRAILERS:
                    raise Malformed("trailers too long")
                if dst is not None:
                    put(dst, trailer)
                if trailer == b"\r\n":
                    return moved
        moved += await _copy_exact(src, dst, size)
        end = await src.read_exactly(2)
        if end != b"\r\n":
            raise Malformed("chunk not followed by CRLF")
        if dst is not None:
            put(dst, end)


async def _copy_to_close(src: Conn, dst: Conn | None) -> int:
    moved = 0
    while True:
        piece = await src.read_some(PIECE)
        if not piece:
            return moved
        moved += len(piece)
        if dst is not None:
            put(dst, piece)
            if dst.write_paused:
                await flush(dst)


async def copy(src: Conn, dst: Conn | None, framing: Framing) -> int:
    """Copy one body framed as ``framing`` (``dst=None`` discards it); bytes of payload moved."""
    if framing.kind == "length":
        return await _copy_exact(src, dst, framing.length)
    if framing.kind == "chunked":
        return await _copy_chunked(src, dst)
    if framing.kind == "close":
        return await _copy_to_close(src, dst)
    return 0
