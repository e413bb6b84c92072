"""The instance init script, run for real by the host's ``sh`` in a folder
(as the process driver runs it): user data on the first boot of an
instance id only, the cloud-init files, a clean exit on SIGTERM."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gureum.services.ec2.instance_runtime import USER_DATA_ENV, init_script

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="no sh")


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def boot(tmp_path: Path) -> Iterator[Callable[[str, str], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(instance_id: str, user_data: str) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
               USER_DATA_ENV: base64.b64encode(user_data.encode()).decode()}
        p = subprocess.Popen(["sh", "-c", init_script(instance_id, "process"), "gureum-init"],
                             cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(5)
        assert p.stdout is not None
        p.stdout.close()


def log(tmp_path: Path) -> str:
    path = tmp_path / "var/log/cloud-init-output.log"
    return path.read_text() if path.exists() else ""


def shut_down(p: subprocess.Popen[bytes]) -> int:
    p.send_signal(signal.SIGTERM)
    return p.wait(10)


def test_user_data_runs_once_per_instance_id(tmp_path: Path, boot: Callable[[str, str], subprocess.Popen[bytes]]) -> None:
    p = boot("i-0aaa", "#!/bin/sh\necho hello > marker\necho from-user-data\n")
    wait_for(lambda: "user data exited with 0" in log(tmp_path))
    assert (tmp_path / "marker").read_text() == "hello\n"
    inst = tmp_path / "var/lib/cloud/instances/i-0aaa"
    assert (inst / "sem/config_scripts_user").exists()
    assert (inst / "user-data.txt").read_text().startswith("#!/bin/sh")
    assert (tmp_path / "var/lib/cloud/instance").resolve() == inst.resolve()
    assert "from-user-data" in log(tmp_path)
    assert shut_down(p) == 0  # SIGTERM is a clean shutdown

    # A reboot of the same instance: the semaphore is there, the user data is not looked at again.
    p = boot("i-0aaa", "not a script")
    wait_for(lambda: log(tmp_path).count("i-0aaa is up") == 2)
    assert "unhandled" not in log(tmp_path)
    assert shut_down(p) == 0

    # Another instance from the same files (an AMI baked from this one) runs its own user data.
    p = boot("i-0bbb", "#!/no/such/bash\necho second > marker2\n")  # no such interpreter: sh
    wait_for(lambda: "user data exited with 0" in log(tmp_path).partition("booting i-0bbb")[2])
    assert (tmp_path / "marker2").read_text() == "second\n"
    shut_down(p)


def test_user_data_without_a_shebang_is_stored_not_run(tmp_path: Path, boot: Callable[[str, str], subprocess.Popen[bytes]]) -> None:
    p = boot("i-0ccc", "#cloud-config\nruncmd: [touch, nope]\n")
    wait_for(lambda: "i-0ccc is up" in log(tmp_path))
    assert "unhandled non-multipart user data" in log(tmp_path)
    assert (tmp_path / "var/lib/cloud/instances/i-0ccc/user-data.txt").read_text().startswith("#cloud-config")
    assert not (tmp_path / "nope").exists()
    assert shut_down(p) == 0
