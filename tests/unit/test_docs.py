"""The README's operations list is generated from the handlers, never kept by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gureum import docs
from gureum.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_readme_operations_section_is_current() -> None:
    current = docs.section(README.read_text())
    expected = docs.render_operations()
    assert current == expected, "README.md is stale: run  python -m gureum.docs --write README.md"


def test_every_service_is_listed_with_its_real_handlers() -> None:
    import importlib

    table = {s.name: s for s in docs.collect()}
    assert set(table) == set(SERVICES)
    sts = importlib.import_module(SERVICES["sts"]).api
    assert table["sts"].implemented == tuple(sorted(sts.handlers))
    assert "GetCallerIdentity" in table["sts"].implemented
    assert table["sts"].protocols == ("query",)
    assert table["sts"].in_model > len(table["sts"].implemented)


def test_render_marks_missing_services_and_counts() -> None:
    rows = [
        docs.ServiceOps("alpha", ("json",), ("A", "B"), 10, True),
        docs.ServiceOps("beta", ("query",), (), 5, False),
    ]
    out = docs.render_operations(rows, models=True)
    assert "| `alpha` | json | 2 of 10 | A, B |" in out
    assert "| `beta` | query | not yet | — |" in out
    assert out.endswith("2 operations in 1 services.")
    # The README's table does not depend on the installed botocore's models.
    out = docs.render_operations(rows)
    assert "| `alpha` | 2 | A, B |" in out and "| `beta` | not yet | — |" in out
    assert "10" not in out and "json" not in out


def test_replace_section_keeps_the_rest_of_the_file() -> None:
    text = f"# T\nbefore\n{docs.START}\nold\n{docs.END}\nafter\n"
    new = docs.replace_section(text, "NEW")
    assert new == f"# T\nbefore\n{docs.START}\nNEW\n{docs.END}\nafter\n"
    assert docs.section(new) == "NEW"
    with pytest.raises(ValueError):
        docs.replace_section("no markers here", "x")


def test_cli_write_and_check(tmp_path: Path) -> None:
    f = tmp_path / "R.md"
    f.write_text(f"intro\n{docs.START}\nstale\n{docs.END}\n")
    cmd = [sys.executable, "-m", "gureum.docs"]
    assert subprocess.run([*cmd, "--check", str(f)], capture_output=True).returncode == 1
    assert subprocess.run([*cmd, "--write", str(f)], capture_output=True).returncode == 0
    assert docs.section(f.read_text()) == docs.render_operations()
    assert f.read_text().startswith("intro\n")
    assert docs.main(["--check", str(f)]) == 0
