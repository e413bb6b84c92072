"""Packages on disk: checks, content addressing, unpacking, collection."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from gureum.core.store import Scope
from gureum.services.lambda_.code import BAD_ZIP, MAX_UNZIPPED, CodeStore, ZipProblem, check_zip

SCOPE = Scope("000000000000", "us-east-1")


def make_zip(files: dict[str, bytes | str], modes: dict[str, int] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            if modes and name in modes:
                info.external_attr = (stat.S_IFREG | modes[name]) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def test_store_bytes_is_content_addressed(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    package = make_zip({"app.py": "def h(e, c): return 1\n"})
    info = store.store_bytes(SCOPE, "fn", package)
    digest = hashlib.sha256(package).hexdigest()
    assert info.sha256_hex == digest and info.size == len(package)
    assert info.sha256_b64 == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert store.zip_path(SCOPE, "fn", digest).read_bytes() == package
    assert list(store.tmp.iterdir()) == []


def test_store_file_streams_from_an_open_file(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    package = make_zip({"a.py": "x" * 5_000_000})
    src = tmp_path / "src.zip"
    src.write_bytes(package)
    with open(src, "rb") as f:
        info = store.store_file(SCOPE, "fn", f)
    assert info.sha256_hex == hashlib.sha256(package).hexdigest() and info.size == len(package)


@pytest.mark.parametrize(
    "data",
    [b"not a zip at all", b"PK\x03\x04 truncated", b""],
)
def test_what_is_not_a_zip_is_refused_with_aws_message(tmp_path: Path, data: bytes) -> None:
    store = CodeStore(tmp_path)
    with pytest.raises(ZipProblem, match="Could not unzip uploaded file"):
        store.store_bytes(SCOPE, "fn", data)
    assert list(store.tmp.iterdir()) == []
    assert not store.function_dir(SCOPE, "fn").exists() or not any(store.function_dir(SCOPE, "fn").iterdir())


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py"])
def test_members_outside_the_task_root_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "p.zip"
    path.write_bytes(make_zip({name: "x"}))
    with pytest.raises(ZipProblem) as exc:
        check_zip(path)
    assert str(exc.value) == BAD_ZIP


def test_unzipped_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gureum.services.lambda_ import code

    monkeypatch.setattr(code, "MAX_UNZIPPED", 1000)
    path = tmp_path / "big.zip"
    path.write_bytes(make_zip({"a.bin": b"\0" * 600, "b.bin": b"\0" * 600}))
    with pytest.raises(ZipProblem, match="Unzipped size must be smaller than 1000 bytes"):
        check_zip(path)
    path.write_bytes(make_zip({"a.bin": b"\0" * 600}))
    check_zip(path)
    assert MAX_UNZIPPED == 262_144_000


def test_unpack_is_idempotent_and_keeps_exec_bits(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    package = make_zip({"app.py": "print(1)\n", "bin/tool": "#!/bin/sh\n", "pkg/__init__.py": ""}, {"bin/tool": 0o755})
    info = store.store_bytes(SCOPE, "fn", package)
    root = store.ensure_unpacked(SCOPE, "fn", info.sha256_hex)
    assert (root / "app.py").read_text() == "print(1)\n" and (root / "pkg" / "__init__.py").exists()
    assert os.access(root / "bin" / "tool", os.X_OK)
    (root / "marker").write_text("kept")
    assert store.ensure_unpacked(SCOPE, "fn", info.sha256_hex) == root
    assert (root / "marker").read_text() == "kept"  # not unpacked twice
    assert [p.name for p in root.parent.iterdir() if p.name.startswith(".")] == []


def test_collect_keeps_only_named_digests(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    a = store.store_bytes(SCOPE, "fn", make_zip({"a.py": "a"}))
    b = store.store_bytes(SCOPE, "fn", make_zip({"b.py": "b"}))
    store.ensure_unpacked(SCOPE, "fn", a.sha256_hex)
    store.ensure_unpacked(SCOPE, "fn", b.sha256_hex)
    store.collect(SCOPE, "fn", {b.sha256_hex})
    names = sorted(p.name for p in store.function_dir(SCOPE, "fn").iterdir())
    assert names == sorted([b.sha256_hex, f"{b.sha256_hex}.zip"])
    store.remove_function(SCOPE, "fn")
    assert not store.function_dir(SCOPE, "fn").exists()


def test_functions_of_different_scopes_do_not_share_folders(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    assert store.function_dir(SCOPE, "fn") != store.function_dir(Scope("000000000000", "eu-west-1"), "fn")
