"""Sans-IO decoder of the ``aws-chunked`` content encoding (streaming uploads).

SDKs that sign or checksum a streamed body send it framed like this::

    <size hex>[;chunk-signature=<sig>]\\r\\n
    <size bytes of data>\\r\\n
    ...
    0[;chunk-signature=<sig>]\\r\\n
    [<trailer-name>:<value>\\r\\n]*        e.g. x-amz-checksum-crc32:AAAAAA==
    \\r\\n

Feed it the raw body in pieces of any size; it returns the decoded data
pieces and collects the trailers.  ``finish()`` raises when the framing never
reached its end (a truncated upload).  Chunk signatures are recorded, not
verified (Gureum does not check SigV4 signatures).  Rules: bounded buffering
(a size line or the trailer section longer than its limit is an error), no
I/O, no asyncio.
"""

from __future__ import annotations

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)
MAX_LINE = 4096
MAX_TRAILER_BYTES = 16 * 1024


class ChunkedDecodeError(ValueError):
    """The body is not valid aws-chunked; ``code`` is the S3 error code to answer."""

    def __init__(self, message: str, code: str = "InvalidRequest") -> None:
        super().__init__(message)
        self.code = code


class AwsChunkedDecoder:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = _SIZE
        self._remaining = 0
        self._trailer_bytes = 0
        self.trailers: dict[str, str] = {}
        self.signatures: list[str] = []
        self.decoded_length = 0

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> list[bytes]:
        """Decode what ``data`` completes; returns the payload pieces found."""
        if self._state == _DONE:
            if data.strip(b"\r\n"):
                raise ChunkedDecodeError("Unexpected data after the final chunk of an aws-chunked body")
            return []
        self._buf += data
        out: list[bytes] = []
        while self._step(out):
            pass
        return out

    def finish(self) -> None:
        """The body ended: raise unless the framing is complete."""
        if self._state == _TRAILER and self._buf and b"\r\n" not in self._buf:
            # Lenient: a last trailer line without its CRLF.
            self._trailer_line(bytes(self._buf))
            self._buf.clear()
            self._state = _DONE
        elif self._state == _TRAILER and not self._buf:
            self._state = _DONE  # the final empty line is missing; all data arrived
        if self._state != _DONE:
            raise ChunkedDecodeError(
                "The request body terminated unexpectedly", code="IncompleteBody"
            )

    # -- states -------------------------------------------------------------------

    def _step(self, out: list[bytes]) -> bool:
        if self._state == _DATA:
            return self._data(out)
        if self._state == _DATA_END:
            if len(self._buf) < 2:
                return False
            if self._buf[:2] != b"\r\n":
                raise ChunkedDecodeError("A chunk of an aws-chunked body is longer than its declared size")
            del self._buf[:2]
            self._state = _SIZE
            return True
        if self._state == _DONE:
            if self._buf.strip(b"\r\n"):
                raise ChunkedDecodeError("Unexpected data after the final chunk of an aws-chunked body")
            self._buf.clear()
            return False
        line = self._line()
        if line is None:
            return False
        if self._state == _SIZE:
            self._size_line(line)
        elif line:
            self._trailer_line(line)
        else:
            self._state = _DONE
        return True

    def _line(self) -> bytes | None:
        end = self._buf.find(b"\r\n")
        limit = MAX_LINE if self._state == _SIZE else MAX_TRAILER_BYTES
        if end < 0:
            if len(self._buf) > limit:
                raise ChunkedDecodeError("An aws-chunked size or trailer line is too long")
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _size_line(self, line: bytes) -> None:
        size_text, _, ext = line.partition(b";")
        size_text = size_text.strip()
        try:
            if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise ValueError
            size = int(size_text, 16)
        except ValueError:
            raise ChunkedDecodeError(f"Invalid aws-chunked chunk size {size_text[:32]!r}") from None
        if ext:
            name, _, value = ext.partition(b"=")
            if name.strip() == b"chunk-signature":
                self.signatures.append(value.strip().decode("ascii", "replace"))
        if size == 0:
            self._state = _TRAILER
        else:
            self._state = _DATA
            self._remaining = size

    def _data(self, out: list[bytes]) -> bool:
        if not self._buf:
            return False
        n = min(self._remaining, len(self._buf))
        out.append(bytes(self._buf[:n]))
        del self._buf[:n]
        self._remaining -= n
        self.decoded_length += n
        if self._remaining == 0:
            self._state = _DATA_END
        return True

    def _trailer_line(self, line: bytes) -> None:
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > MAX_TRAILER_BYTES:
            raise ChunkedDecodeError("The trailers of an aws-chunked body are too long")
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise ChunkedDecodeError(f"Invalid aws-chunked trailer {line[:64]!r}")
        self.trailers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")


def encode_aws_chunked(
    payload: bytes,
    chunk_size: int,
    trailers: dict[str, str] | None = None,
    signature: str | None = None,
) -> bytes:
    """Frame ``payload`` as aws-chunked (for tests and tools; the inverse of the decoder)."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    ext = f";chunk-signature={signature}".encode() if signature else b""
    parts = []
    for i in range(0, len(payload), chunk_size):
        piece = payload[i : i + chunk_size]
        parts.append(b"%x%s\r\n%s\r\n" % (len(piece), ext, piece))
    parts.append(b"0%s\r\n" % ext)
    for name, value in (trailers or {}).items():
        parts.append(f"{name}:{value}\r\n".encode("latin-1"))
    parts.append(b"\r\n")
    return b"".join(parts)
