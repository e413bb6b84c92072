"""The offline base image ``gureum/busybox``, built FROM scratch from the host's busybox.

No registry is reachable from where Gureum runs tests, so nothing may need
Docker Hub.  Debian's ``busybox-static`` gives a statically linked
``/bin/busybox``; this module puts it into an in-memory build context with a
symlink for each applet (``/bin/sh``, ``/bin/httpd``, ``/usr/bin/wget``…),
a minimal ``/etc/passwd`` and a ``/tmp``, and asks the Docker Engine API to
build it.  No docker CLI and no ``RUN`` step are needed, so the build works
even where containers cannot run yet.

Rules: the busybox must be static (a FROM scratch image has no libc);
:func:`is_static_elf` checks that from the ELF headers.  The context is
deterministic (fixed mtimes, sorted entries) so rebuilding gives the same
layers.

Command line::

    python -m gureum.runtime.images build-base [--tag T] [--busybox PATH] [--force]
"""

from __future__ import annotations

import argparse
import io
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

BASE_IMAGE = "gureum/busybox:latest"
BASE_NAMES = ("gureum/busybox", "gureum/busybox:latest")

_PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = b"root:x:0:\nnogroup:x:65534:\n"
_DOCKERFILE = b"""FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title="gureum/busybox" org.opencontainers.image.description="busybox from the host, FROM scratch"
CMD ["sh"]
"""


class BaseImageError(Exception):
    pass


def is_static_elf(head: bytes) -> bool:
    """Whether an ELF file (its first few KiB) has no program interpreter (PT_INTERP)."""
    if head[:4] != b"\x7fELF":
        return False
    is64 = head[4] == 2
    end = "<" if head[5] == 1 else ">"
    if is64:
        phoff, = struct.unpack_from(end + "Q", head, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", head, 0x36)
    else:
        phoff, = struct.unpack_from(end + "I", head, 0x1C)
        phentsize, phnum = struct.unpack_from(end + "HH", head, 0x2A)
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 4 > len(head):
            raise BaseImageError("ELF program headers lie beyond the bytes read")
        p_type, = struct.unpack_from(end + "I", head, off)
        if p_type == 3:  # PT_INTERP: needs a dynamic loader
            return False
    return True


def find_busybox(explicit: str | None = None) -> Path:
    """The host's static busybox, or a clear error saying how to get one."""
    candidates = [explicit] if explicit else ["/bin/busybox", shutil.which("busybox") or ""]
    for cand in candidates:
        if cand and Path(cand).is_file():
            path = Path(cand)
            with path.open("rb") as f:
                head = f.read(65536)
            if not is_static_elf(head):
                raise BaseImageError(f"{path} is not a static ELF binary; install busybox-static")
            return path
    raise BaseImageError("no busybox found; install it: apt-get install -y busybox-static")


def applet_paths(busybox: Path) -> list[str]:
    """Where each applet lives (``bin/sh``, ``usr/bin/wget``…), from ``busybox --list-full``."""
    out = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, check=True, timeout=10
    ).stdout.decode()
    return sorted({line.strip().lstrip("/") for line in out.splitlines() if line.strip()})


def build_context(busybox: Path) -> bytes:
    """The tar build context: ``Dockerfile`` and ``rootfs/``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        _add_file(tar, "Dockerfile", _DOCKERFILE, 0o644)
        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "var", "www"):
            _add_dir(tar, f"rootfs/{d}", 0o755)
        _add_dir(tar, "rootfs/tmp", 0o1777)
        _add_file(tar, "rootfs/bin/busybox", busybox.read_bytes(), 0o755)
        _add_file(tar, "rootfs/etc/passwd", _PASSWD, 0o644)
        _add_file(tar, "rootfs/etc/group", _GROUP, 0o644)
        for path in applet_paths(busybox):
            if path == "bin/busybox":
                continue
            info = tarfile.TarInfo(f"rootfs/{path}")
            info.type = tarfile.SYMTYPE
            info.linkname = "/bin/busybox"
            info.mtime = 0
            tar.addfile(info)
    return buf.getvalue()


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 0
    tar.addfile(info)


def base_image_present(client: Any, tag: str = BASE_IMAGE) -> bool:
    import docker.errors  # type: ignore[import-untyped]

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_base(
    client: Any, tag: str = BASE_IMAGE, busybox: str | None = None, force: bool = False
) -> str:
    """Build ``tag`` unless it exists (or ``force``); return the image id."""
    import docker.errors

    if not force and base_image_present(client, tag):
        return str(client.images.get(tag).id)
    context = build_context(find_busybox(busybox))
    try:
        image, _logs = client.images.build(
            fileobj=io.BytesIO(context), custom_context=True, tag=tag, rm=True, forcerm=True
        )
    except docker.errors.BuildError as exc:
        lines = [str(c.get("stream") or c.get("error") or "") for c in exc.build_log]
        raise BaseImageError(f"building {tag} failed: {exc.msg}\n{''.join(lines)}") from exc
    return str(image.id)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gureum images", description="Local images for Gureum.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build-base", help=f"build {BASE_IMAGE} from the host's static busybox")
    b.add_argument("--tag", default=BASE_IMAGE)
    b.add_argument("--busybox", help="path of a static busybox (default /bin/busybox)")
    b.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    args = p.parse_args(argv)
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        print(f"gureum images: no Docker engine answers: {exc}", file=sys.stderr)
        return 1
    try:
        image_id = build_base(client, args.tag, args.busybox, args.force)
    except BaseImageError as exc:
        print(f"gureum images: {exc}", file=sys.stderr)
        return 1
    print(f"{args.tag} {image_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
