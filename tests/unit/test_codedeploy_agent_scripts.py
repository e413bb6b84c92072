"""The agent's shell, run for real by the host's sh against a folder standing for an instance's root."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from gureum.services.codedeploy import agent_scripts as sh
from gureum.services.codedeploy.appspec import FileMapping, Script

ARCHIVE = "/opt/codedeploy-agent/deployment-root/g/d-1/deployment-archive"
CLEANUP = "/opt/codedeploy-agent/deployment-root/deployment-instructions/g-cleanup"


def run(root: Path, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", f"R={root}\n" + script], capture_output=True, text=True, timeout=30)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    archive = tmp_path / ARCHIVE.lstrip("/")
    (archive / "www" / "css").mkdir(parents=True)
    (archive / "www" / "index.html").write_text("v1\n")
    (archive / "www" / "css" / "a.css").write_text("body{}\n")
    (archive / "scripts").mkdir()
    (archive / "scripts" / "env.sh").write_text("#!/bin/sh\necho \"$LIFECYCLE_EVENT $DEPLOYMENT_ID root=$GUREUM_ROOT\"\n")
    (archive / "scripts" / "plain.sh").write_text("echo plain $0\nexit 7\n")
    (archive / "scripts" / "slow.sh").write_text("sleep 5\n")
    return tmp_path


FILES = ("appspec.yml", "www/index.html", "www/css/a.css", "scripts/env.sh")


def test_install_pairs() -> None:
    pairs = sh.install_pairs(FILES, (FileMapping("www", "/var/www"), FileMapping("scripts/env.sh", "/usr/local/bin")))
    assert pairs == [("scripts/env.sh", "/usr/local/bin/env.sh"), ("www/css/a.css", "/var/www/css/a.css"), ("www/index.html", "/var/www/index.html")]
    everything = sh.install_pairs(FILES, (FileMapping("/", "/srv/app"),))
    assert [d for _, d in everything] == ["/srv/app/appspec.yml", "/srv/app/scripts/env.sh", "/srv/app/www/css/a.css", "/srv/app/www/index.html"]


def test_install_copies_and_records_what_it_installed(root: Path) -> None:
    pairs = sh.install_pairs(FILES, (FileMapping("www", "/var/www"),))
    res = run(root, sh.install(ARCHIVE, pairs, "DISALLOW", CLEANUP))
    assert res.returncode == 0, res.stderr
    assert (root / "var/www/index.html").read_text() == "v1\n" and (root / "var/www/css/a.css").exists()
    assert (root / CLEANUP.lstrip("/")).read_text().split() == ["/var/www/css/a.css", "/var/www/index.html"]
    # the next deployment removes what this one installed, so DISALLOW does not trip over it
    (root / ARCHIVE.lstrip("/") / "www/index.html").write_text("v2\n")
    res = run(root, sh.install(ARCHIVE, sh.install_pairs(("www/index.html",), (FileMapping("www", "/var/www"),)), "DISALLOW", CLEANUP))
    assert res.returncode == 0, res.stderr
    assert (root / "var/www/index.html").read_text() == "v2\n" and not (root / "var/www/css/a.css").exists()


@pytest.mark.parametrize(("behavior", "code", "content"), [("DISALLOW", 3, "mine\n"), ("OVERWRITE", 0, "v1\n"), ("RETAIN", 0, "mine\n")])
def test_file_exists_behavior(root: Path, behavior: str, code: int, content: str) -> None:
    (root / "var/www").mkdir(parents=True)
    (root / "var/www/index.html").write_text("mine\n")
    pairs = sh.install_pairs(FILES, (FileMapping("www", "/var/www"),))
    res = run(root, sh.install(ARCHIVE, pairs, behavior, CLEANUP))
    assert res.returncode == code
    assert (root / "var/www/index.html").read_text() == content
    if behavior == "DISALLOW":
        assert "already exists at this location: /var/www/index.html" in res.stderr
        assert not (root / "var/www/css/a.css").exists()  # refused before copying anything


def test_scripts_get_the_agent_environment(root: Path) -> None:
    env = {"LIFECYCLE_EVENT": "AfterInstall", "DEPLOYMENT_ID": "d-1"}
    res = run(root, sh.run_script(ARCHIVE, Script("scripts/env.sh"), env, run_as_ok=False))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"AfterInstall d-1 root={root}"


def test_script_without_shebang_runs_with_sh_and_exit_codes_count(root: Path) -> None:
    res = run(root, sh.run_script(ARCHIVE, Script("/scripts/plain.sh"), {}, run_as_ok=False))
    assert res.returncode == 7 and "plain" in res.stdout


def test_missing_and_timed_out_scripts(root: Path) -> None:
    res = run(root, sh.run_script(ARCHIVE, Script("scripts/nope.sh"), {}, run_as_ok=False))
    assert res.returncode == sh.MISSING and "Script does not exist at specified location: scripts/nope.sh" in res.stderr
    res = run(root, sh.run_script(ARCHIVE, Script("scripts/slow.sh", timeout=1), {}, run_as_ok=False))
    assert res.returncode == sh.TIMED_OUT


def test_upload_in_chunks_and_unpack(root: Path, tmp_path: Path) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        body = bytes(range(256)) * 1000
        info = tarfile.TarInfo("blob.bin")
        info.size = len(body)
        t.addfile(info, io.BytesIO(body))
    data = base64.b64encode(buf.getvalue()).decode()
    chunks = [data[i:i + 50_000] for i in range(0, len(data), 50_000)]
    assert len(chunks) > 2
    for i, c in enumerate(chunks):
        assert run(root, sh.upload_chunk("/x/bundle.tar", c, i == 0)).returncode == 0
    assert run(root, sh.unpack("/x/bundle.tar", "/x/out")).returncode == 0
    assert (root / "x/out/blob.bin").read_bytes() == body
    marker, _ = sh.instructions("g")
    assert run(root, sh.mark_success(marker, "/x/out")).returncode == 0
    assert run(root, sh.read_file(marker)).stdout == "/x/out"
    assert run(root, sh.read_file("/no/such")).stdout == ""
