"""Phase scripts run by a real ``sh``: one session per phase, state carried between them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.codebuild.build_plan import Status
from gureum.services.codebuild.buildspec import PhaseSpec
from gureum.services.codebuild.runner.script import (
    carried,
    parse_exported,
    parse_results,
    phase_outcome,
    phase_script,
    quote,
    render_env,
)

SHELLS = [s for s in ("sh", "dash", "busybox") if shutil.which(s)]


class Session:
    """Runs phases like the build runner does, with a real shell, and carries their state."""

    def __init__(self, root: Path, shell: str) -> None:
        self.src, self.tmp, self.shell = root / "src", root / "tmp", shell
        self.src.mkdir(parents=True)
        self.tmp.mkdir()

    def run(self, phase: str, spec: PhaseSpec) -> tuple[Status, list[dict[str, str]], str]:
        path = self.tmp / f"{phase}.sh"
        path.write_text(phase_script(phase, spec, str(self.tmp), str(self.src)))
        argv = [self.shell, "sh", str(path)] if self.shell == "busybox" else [self.shell, str(path)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=20, env={"PATH": "/usr/bin:/bin"})
        results = (self.tmp / f"{phase}.result").read_text()
        env = carried(parse_exported((self.tmp / f"{phase}.env").read_text()))
        (self.tmp / "env.sh").write_text(render_env(env))
        (self.tmp / "cwd").write_text((self.tmp / f"{phase}.cwd").read_text().strip())
        status, contexts = phase_outcome(spec, results, proc.returncode)
        return status, contexts, proc.stdout


@pytest.fixture(params=SHELLS)
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Session:
    return Session(tmp_path, request.param)


def test_cd_and_variables_carry_across_commands_and_phases(session: Session) -> None:
    status, _, out = session.run(
        "INSTALL",
        PhaseSpec("install", ("mkdir -p sub && cd sub", "PLAIN=1", 'export QUOTED="it\'s a\nmulti-line"', "echo here $PWD")),
    )
    assert status is Status.SUCCEEDED
    assert "[Container] Running command mkdir -p sub && cd sub\n" in out
    assert f"here {session.src}/sub" in out
    status, _, out = session.run("BUILD", PhaseSpec("build", ('echo "$PLAIN|$QUOTED"', "pwd")))
    assert status is Status.SUCCEEDED
    assert "1|it's a\nmulti-line" in out
    assert out.rstrip().endswith(f"{session.src}/sub")


def test_first_failing_command_ends_the_block_and_finally_still_runs(session: Session) -> None:
    spec = PhaseSpec("build", ("echo one", "false", "echo never"), ("echo cleanup $((1+1))",))
    status, contexts, out = session.run("BUILD", spec)
    assert status is Status.FAILED
    assert contexts == [
        {"statusCode": "COMMAND_EXECUTION_ERROR", "message": "Error while executing command: false. Reason: exit status 1"}
    ]
    assert "never" not in out and "cleanup 2" in out


def test_exit_in_a_command_still_runs_finally(session: Session) -> None:
    spec = PhaseSpec("post_build", ("echo a", "exit 3", "echo never"), ("echo finally ran",))
    status, contexts, out = session.run("POST_BUILD", spec)
    assert status is Status.FAILED
    assert contexts[0]["message"] == "Error while executing command: exit 3. Reason: exit status 3"
    assert "finally ran" in out and "never" not in out


def test_a_failing_finally_fails_the_phase(session: Session) -> None:
    status, contexts, _ = session.run("BUILD", PhaseSpec("build", ("true",), ("echo x", "sh -c 'exit 4'")))
    assert status is Status.FAILED
    assert contexts[0]["message"] == "Error while executing command: sh -c 'exit 4'. Reason: exit status 4"


def test_commands_with_quotes_dollars_and_yaml_colons_run_verbatim(session: Session) -> None:
    status, _, out = session.run("BUILD", PhaseSpec("build", ("echo \"Hello: world\" '$HOME' `echo tick`",)))
    assert status is Status.SUCCEEDED
    assert "Hello: world $HOME tick" in out


def test_outcome_without_results_says_the_shell_ended() -> None:
    spec = PhaseSpec("build", ("make",))
    status, contexts = phase_outcome(spec, None, 137)
    assert status is Status.FAILED and contexts[0]["message"] == "Error while executing command: make. Reason: exit status 137"
    assert parse_results("commands 2 1\nfinally 0 0\ngarbage\n")["commands"].exit_code == 1


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(lambda n: not n.startswith("__gureum"))
values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@given(st.dictionaries(names, values, max_size=6))
def test_render_then_parse_round_trips(env: dict[str, str]) -> None:
    assert parse_exported(render_env(env)) == env


def test_parse_exported_reads_every_shells_format() -> None:
    text = "export A='x'\\''y'\ndeclare -x B=\"two words\"\nexport C\nexport __gureum_i='1'\nexport PWD='/x'\n"
    assert carried(parse_exported(text)) == {"A": "x'y", "B": "two words"}
    assert quote("it's") == "'it'\\''s'"
