"""The base image's build context, and the process driver's image names (no engine needed)."""

from __future__ import annotations

import io
import shutil
import struct
import tarfile
from pathlib import Path

import pytest

from gureum.runtime.images import BaseImageError, build_context, find_busybox, is_static_elf
from gureum.runtime.process_images import normalize, resolve


def _elf64(with_interp: bool) -> bytes:
    """A minimal little-endian ELF64 header with one or two program headers."""
    types = [1, 3] if with_interp else [1]
    head = bytearray(64)
    head[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", head, 0x20, 64)
    struct.pack_into("<HH", head, 0x36, 56, len(types))
    for t in types:
        ph = bytearray(56)
        struct.pack_into("<I", ph, 0, t)
        head += ph
    return bytes(head)


def test_is_static_elf() -> None:
    assert is_static_elf(_elf64(with_interp=False))
    assert not is_static_elf(_elf64(with_interp=True))
    assert not is_static_elf(b"#!/bin/sh\n")
    ls = shutil.which("ls")
    assert ls and not is_static_elf(Path(ls).read_bytes()[:65536]), "coreutils ls is dynamic on Debian"


def test_a_dynamic_busybox_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "busybox"
    fake.write_bytes(_elf64(with_interp=True))
    with pytest.raises(BaseImageError, match="busybox-static"):
        find_busybox(str(fake))


@pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static is not installed")
def test_build_context_has_applet_links_and_is_deterministic() -> None:
    busybox = find_busybox()
    first = build_context(busybox)
    assert first == build_context(busybox)
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert b"FROM scratch" in (tar.extractfile("Dockerfile") or io.BytesIO()).read()
    for applet in ("rootfs/bin/sh", "rootfs/usr/sbin/httpd", "rootfs/usr/bin/wget"):
        assert members[applet].issym() and members[applet].linkname == "/bin/busybox"
    assert members["rootfs/bin/busybox"].isfile() and members["rootfs/bin/busybox"].mode == 0o755
    assert members["rootfs/tmp"].mode == 0o1777


def test_process_image_names(tmp_path: Path) -> None:
    assert normalize("gureum/busybox") == "gureum/busybox:latest"
    assert normalize("127.0.0.1:4566/a/b") == "127.0.0.1:4566/a/b:latest"
    assert normalize("a/b:v1") == "a/b:v1"
    busybox = resolve(tmp_path, "gureum/busybox")
    assert busybox is not None and busybox.cmd == ["sh"]
    assert resolve(tmp_path, "gureum/host:latest") is not None
    assert resolve(tmp_path, "nginx") is None
