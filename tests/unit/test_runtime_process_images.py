"""The process driver's busybox applet folder: made once, whole, even by racing callers."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gureum.runtime.images import applet_paths, find_busybox
from gureum.runtime.process_images import BUSYBOX, HOST_PATH, busybox_bin, path_for, resolve

pytestmark = pytest.mark.skipif(
    not Path("/bin/busybox").exists(), reason="busybox-static is not installed (/bin/busybox)"
)


def _race(root: Path, callers: int) -> tuple[list[Path], list[BaseException]]:
    """``callers`` threads call busybox_bin(root) at the same moment."""
    barrier = threading.Barrier(callers)
    results: list[Path] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        try:
            got = busybox_bin(root)
        except BaseException as exc:  # noqa: BLE001 - every failure is the finding
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(got)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def _assert_complete(folder: Path) -> None:
    busybox = find_busybox()
    names = {p.rsplit("/", 1)[-1] for p in applet_paths(busybox)}
    assert {p.name for p in folder.iterdir()} == names
    for applet in ("sh", "httpd", "wget"):
        assert os.readlink(folder / applet) == str(busybox)


def test_concurrent_callers_on_a_fresh_dir_all_get_the_one_complete_folder(tmp_path: Path) -> None:
    for round_ in range(5):  # several fresh dirs: a race shows up in one of them
        root = tmp_path / f"runtime-{round_}"
        results, errors = _race(root, callers=8)
        assert errors == []
        assert results == [root / "busybox-bin"] * 8
        _assert_complete(root / "busybox-bin")
        assert sorted(p.name for p in root.iterdir()) == ["busybox-bin"], "no staging or trash left behind"


def test_an_incomplete_folder_from_an_older_version_is_replaced(tmp_path: Path) -> None:
    stale = tmp_path / "busybox-bin"
    stale.mkdir()
    (stale / "wget").symlink_to("/bin/busybox")  # no sh: a half-made folder
    assert busybox_bin(tmp_path) == stale
    _assert_complete(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busybox-bin"]


def test_busybox_image_path_puts_the_applets_first(tmp_path: Path) -> None:
    image = resolve(tmp_path, "gureum/busybox")
    assert image is not None and image.base == BUSYBOX
    assert path_for(tmp_path, image) == f"{tmp_path / 'busybox-bin'}:{HOST_PATH}"
