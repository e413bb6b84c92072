"""The agent in a real instance: a process-driver container running busybox
``sh``, driven by :class:`AgentSession` exactly as the controller drives it
(install, heartbeat, copy a bundle in, launch, poll, read the log, kill).
No Gureum server: the bundles are built here from the pure pieces.
"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.runtime.base import ContainerSpec
from gureum.services.opsworks import bundle
from gureum.services.opsworks.agent import session as session_mod
from gureum.services.opsworks.agent.session import AgentSession
from gureum.services.opsworks.cookbooks import Cookbooks, render_templates, template_context
from gureum.services.opsworks.events import RecipeRun

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[tuple[Any, AgentSession, Path]]:
    from gureum.runtime.images import BaseImageError, find_busybox
    from gureum.runtime.process import ProcessDriver

    try:
        find_busybox()
    except BaseImageError as exc:
        pytest.skip(f"needs the host's busybox: {exc}")
    loop = asyncio.new_event_loop()
    driver = ProcessDriver(tmp_path / "rt", "opsworks-agent-test")
    spec = ContainerSpec(name="inst", image="gureum/busybox:latest", owner="arn:test",
                         entrypoint=("sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"))
    cid = loop.run_until_complete(driver.create(spec))
    loop.run_until_complete(driver.start(cid))
    state = loop.run_until_complete(driver.inspect(cid))
    agent = AgentSession(driver, cid, int(state.pid or 0))
    agent.loop = loop  # type: ignore[attr-defined]
    root = tmp_path / "rt" / "containers" / cid / "work"
    yield loop, agent, root
    loop.run_until_complete(driver.remove(cid, force=True))
    loop.run_until_complete(driver.close())
    loop.close()


def run(loop: Any, coro: Any) -> Any:
    return loop.run_until_complete(coro)


def wait_exit(loop: Any, agent: AgentSession, cid: str, timeout: float = 20.0) -> int | str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = run(loop, agent.poll(cid))
        if state != "running":
            return state  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"command {cid} still running")


def test_heartbeat_install_is_idempotent_and_stop_silences_it(instance: Any) -> None:
    loop, agent, root = instance
    run(loop, agent.install("boot-1"))
    run(loop, agent.install("boot-1"))  # a retried install does not start a second agent
    first = _first_beat(loop, agent)
    assert first[0] == "boot-1"
    later = _beat_after(loop, agent, first[1])  # the agent keeps beating on its own
    assert later[0] == "boot-1" and later[1] >= first[1] + 1
    pid = (root / "opt/aws/opsworks/run/agent.pid").read_text().strip()
    assert sum(1 for p in Path("/proc").glob("[0-9]*") if _cmdline(p).endswith(f"boot-1 {agent.init_pid} 1")) == 1
    out = run(loop, agent._ok(["sh", f"{root}/opt/aws/opsworks/bin/opsworks-agent-cli", "stop"], "stop"))
    assert f"agent {pid} stopped" in out
    stopped = run(loop, agent.heartbeat())
    time.sleep(1.5)  # silence has no condition to wait on: more than one beat interval (1 s) passes with no beat
    assert run(loop, agent.heartbeat()) == stopped


def _first_beat(loop: Any, agent: AgentSession) -> tuple[str, int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the heartbeat starts in the background
        beat = run(loop, agent.heartbeat())
        if beat is not None:
            return beat  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("no heartbeat")


def _beat_after(loop: Any, agent: AgentSession, count: int) -> tuple[str, int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        beat = run(loop, agent.heartbeat())
        if beat is not None and beat[1] > count:
            return beat  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"the heartbeat stayed at {count}")


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
    return buf.getvalue()


COOKBOOKS = Cookbooks({
    "web/recipes/hello.sh": b'echo "hello from $OPSWORKS_RECIPE in $(pwd) app=$OPSWORKS_APP_SHORTNAME MODE=$MODE"\n'
                            b'opsworks-template motd "$OPSWORKS_ROOT/etc/motd"\n',
    "web/recipes/fail.sh": b'echo "failing"; exit 3\n',
    "web/recipes/slow.sh": b"sleep 30\n",
    "web/templates/motd.j2": b"greeting={{ node.greeting }} app={{ app.application if app else '-' }}\n",
})


def _bundle(cid: str, plan: list[RecipeRun], archive: bytes | None = None, release: str = "r1",
            install: bool = False) -> bytes:
    attrs = {"greeting": "hi", "deploy": {"site": {"application": "site"}}}
    env = {"OPSWORKS_ROOT": "$R", "OPSWORKS_ATTRIBUTES": "$D/attributes.json", "OPSWORKS_HOSTNAME": "web1"}
    apps = {}
    if any(r.app for r in plan):
        app_env = {"OPSWORKS_APP_SHORTNAME": "site", "OPSWORKS_APP_TYPE": "other", "OPSWORKS_APP_DIR": "$R/srv/www/site",
                   "OPSWORKS_RELEASE": release, "OPSWORKS_RELEASE_DIR": f"$R/srv/www/site/releases/{release}",
                   "MODE": "prod"}
        if archive is not None:
            app_env.update(OPSWORKS_APP_ARCHIVE="$D/apps/site.archive", OPSWORKS_APP_ARCHIVE_FORMAT="zip")
        apps["site"] = bundle.AppPart("site", app_env, archive)
    templates = {key: render_templates(COOKBOOKS, template_context(attrs, view))
                 for key, view in (("_", None), ("site", {"application": "site"}))}
    return bundle.build(bundle.Bundle(command_id=cid, command_type="deploy", hostname="web1", plan=plan,
                                      cookbooks=COOKBOOKS, attributes=attrs, env=env, apps=apps,
                                      templates=templates, install_cookbooks=install))


def release_of(root: Path) -> str:
    return (root / "srv/www/site/current").resolve().name


def test_commands_deploy_roll_back_fail_and_time_out(instance: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    loop, agent, root = instance
    monkeypatch.setattr(session_mod, "CHUNK", 4096)  # many chunks and several execs per file
    monkeypatch.setattr(session_mod, "CHUNKS_PER_EXEC", 3)
    run(loop, agent.install("boot-1"))
    app_v1 = _zip({"index.html": "v1\n", "deploy/restart.sh": 'echo "restarted $OPSWORKS_RELEASE"\n',
                   "padding.bin": "x" * 50_000})
    deploy = [RecipeRun("deploy::default", "Deploy", True, "site"), RecipeRun("web::hello", "Deploy", False, "site")]
    run(loop, agent.launch("c1", _bundle("c1", deploy, app_v1, "20240101000000-aaaa", install=True)))
    run(loop, agent.launch("c1", b"ignored"))  # launching an acknowledged command again does nothing
    assert wait_exit(loop, agent, "c1") == 0
    log = run(loop, agent.read_log("c1"))
    assert "INFO: Running recipe deploy::default for app site (Deploy)" in log
    assert "restarted 20240101000000-aaaa" in log
    assert f"hello from web::hello in {root}/opt/aws/opsworks/site-cookbooks/web app=site MODE=prod" in log
    assert (root / "etc/motd").read_text() == "greeting=hi app=site\n"
    assert (root / "srv/www/site/current/index.html").read_text() == "v1\n"

    app_v2 = _zip({"index.html": "v2\n"})
    for n in range(2, 8):  # six more releases: only the newest five are kept
        cid = f"c{n}"
        run(loop, agent.launch(cid, _bundle(cid, deploy[:1], app_v2, f"2024010100000{n}-bbbb")))
        assert wait_exit(loop, agent, cid) == 0
    assert sorted(p.name for p in (root / "srv/www/site/releases").iterdir()) == [
        f"2024010100000{n}-bbbb" for n in range(3, 8)]
    rollback = [RecipeRun("deploy::rollback", "rollback", True, "site")]
    run(loop, agent.launch("rb", _bundle("rb", rollback)))
    assert wait_exit(loop, agent, "rb") == 0
    assert release_of(root) == "20240101000006-bbbb"
    assert "rolled site back from 20240101000007-bbbb to 20240101000006-bbbb" in run(loop, agent.read_log("rb"))

    run(loop, agent.launch("bad", _bundle("bad", [RecipeRun("web::fail", "Setup", False),
                                                   RecipeRun("web::hello", "Setup", False)])))
    assert wait_exit(loop, agent, "bad") == 3
    log = run(loop, agent.read_log("bad"))
    assert "failing" in log and "Recipe web::fail failed with exit code 3" in log and "web::hello" not in log

    run(loop, agent.launch("slow", _bundle("slow", [RecipeRun("web::slow", "Setup", False)])))
    assert run(loop, agent.poll("slow")) == "running"
    run(loop, agent.kill("slow"))
    assert wait_exit(loop, agent, "slow") == "lost"


def test_a_missing_recipe_is_refused_before_anything_runs() -> None:
    with pytest.raises(bundle.PrepareError, match="could not find recipe.*web::nope"):
        _bundle("x", [RecipeRun("web::nope", "Setup", False)])
    assert bundle.export("A", "$R/srv/www") == 'export A="$R/srv/www"'
    assert bundle.export("A", "it's $HOME") == "export A='it'\"'\"'s $HOME'"
