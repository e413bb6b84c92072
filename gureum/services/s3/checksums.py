"""Checksums S3 computes over object bodies (``x-amz-checksum-<algorithm>``).

CRC32, SHA1, SHA256, SHA512 and MD5 use zlib/hashlib; CRC32C and CRC64NVME
are table-driven reflected CRCs in pure Python (slow, but SDKs only send them
when asked to: without the AWS CRT, botocore defaults to CRC32).  Values on
the wire are the big-endian digest in base64.  Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

# Algorithm name (as in ``x-amz-sdk-checksum-algorithm``) → output/input member.
MEMBERS: dict[str, str] = {
    "CRC32": "ChecksumCRC32",
    "CRC32C": "ChecksumCRC32C",
    "CRC64NVME": "ChecksumCRC64NVME",
    "SHA1": "ChecksumSHA1",
    "SHA256": "ChecksumSHA256",
    "SHA512": "ChecksumSHA512",
    "MD5": "ChecksumMD5",
}
SUPPORTED = tuple(MEMBERS)
# CRCs can be combined into a full-object checksum of a multipart upload; hashes cannot.
FULL_OBJECT_CAPABLE = frozenset({"CRC32", "CRC32C", "CRC64NVME"})


def header_name(algorithm: str) -> str:
    return "x-amz-checksum-" + algorithm.lower()


def algorithm_of_header(name: str) -> str | None:
    """``x-amz-checksum-crc32`` → ``CRC32`` (None for names we do not know)."""
    name = name.strip().lower()
    if not name.startswith("x-amz-checksum-"):
        return None
    alg = name[len("x-amz-checksum-") :].upper()
    return alg if alg in MEMBERS else None


class Checksum(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


def _table(poly: int) -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        out.append(crc)
    return tuple(out)


class _ReflectedCrc:
    """A reflected CRC with all-ones init and final xor (CRC32C, CRC64NVME)."""

    def __init__(self, table: tuple[int, ...], width: int) -> None:
        self._table = table
        self._width = width
        self._mask = (1 << width) - 1
        self._crc = self._mask

    def update(self, data: bytes) -> None:
        crc, table = self._crc, self._table
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self._crc = crc

    def digest(self) -> bytes:
        return (self._crc ^ self._mask).to_bytes(self._width // 8, "big")


_CRC32C_TABLE = _table(0x82F63B78)
_CRC64NVME_TABLE = _table(0x9A6C9329AC4BC9B5)


def new_checksum(algorithm: str) -> Checksum:
    if algorithm == "CRC32":
        return _Crc32()
    if algorithm == "CRC32C":
        return _ReflectedCrc(_CRC32C_TABLE, 32)
    if algorithm == "CRC64NVME":
        return _ReflectedCrc(_CRC64NVME_TABLE, 64)
    if algorithm in ("SHA1", "SHA256", "SHA512", "MD5"):
        return hashlib.new(algorithm.lower())
    raise ValueError(f"unknown checksum algorithm {algorithm!r}")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def compute(algorithm: str, data: bytes) -> str:
    c = new_checksum(algorithm)
    c.update(data)
    return b64(c.digest())


def composite(algorithm: str, part_values: list[str]) -> str:
    """The COMPOSITE checksum of a multipart object: checksum of the part checksums, ``-N``."""
    c = new_checksum(algorithm)
    for value in part_values:
        c.update(base64.b64decode(value))
    return f"{b64(c.digest())}-{len(part_values)}"


def well_formed(algorithm: str, value: str) -> bool:
    """Whether ``value`` is base64 of a digest of the algorithm's size."""
    sizes = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32, "SHA512": 64, "MD5": 16}
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        return False
    return len(raw) == sizes.get(algorithm, -1)
