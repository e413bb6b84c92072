"""Generated documentation: which operations each service really implements.

The list is read from the handlers themselves (``api.handlers`` of every
module in :data:`gureum.services.SERVICES`), so it can never drift from the
code.  The README table depends on Gureum's code only, not on the installed
botocore (whose models gain operations with every release); ``--models``
adds each model's protocols and operation count to the printed table:

    python -m gureum.docs                    # print the markdown table
    python -m gureum.docs --models           # … with "N of M" and protocols from botocore
    python -m gureum.docs --write README.md  # rewrite the README section
    python -m gureum.docs --check README.md  # exit 1 when the section is stale

The README section sits between ``<!-- ops:start -->`` and ``<!-- ops:end -->``.
A test compares it with :func:`render_operations`, so the README is never
kept by hand.  A service module that is missing is reported as "not yet"; one
that fails to import is an error (a broken service must not look absent).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from gureum.services import SERVICES

START = "<!-- ops:start -->"
END = "<!-- ops:end -->"


@dataclass(frozen=True, slots=True)
class ServiceOps:
    name: str
    protocols: tuple[str, ...]
    implemented: tuple[str, ...]
    in_model: int
    present: bool


def _load(name: str, module: str) -> ServiceOps:
    from gureum.protocol import models

    if name not in models.available_services():
        raise ValueError(f"SERVICES names {name!r}, which has no service model")
    model = models.service_model(name)
    protocols = tuple(model.metadata.get("protocols") or [model.protocol])
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return ServiceOps(name, protocols, (), len(model.operation_names), False)
        raise
    ops = tuple(sorted(mod.api.handlers))
    unknown = [op for op in ops if op not in model.operation_names]
    if unknown:
        raise ValueError(f"{name} registers operations its model does not have: {unknown}")
    return ServiceOps(name, protocols, ops, len(model.operation_names), True)


def collect() -> list[ServiceOps]:
    return [_load(name, module) for name, module in sorted(SERVICES.items())]


def render_operations(services: list[ServiceOps] | None = None, *, models: bool = False) -> str:
    """The markdown table that goes between the README markers."""
    rows = services if services is not None else collect()
    if models:
        lines = ["| service | wire protocol(s) | implemented | operations |", "|---|---|---|---|"]
    else:
        lines = ["| service | implemented | operations |", "|---|---|---|"]
    for s in rows:
        ops = ", ".join(s.implemented) if s.implemented else "—"
        if models:
            count = f"{len(s.implemented)} of {s.in_model}" if s.present else "not yet"
            lines.append(f"| `{s.name}` | {', '.join(s.protocols)} | {count} | {ops} |")
        else:
            count = str(len(s.implemented)) if s.present else "not yet"
            lines.append(f"| `{s.name}` | {count} | {ops} |")
    total = sum(len(s.implemented) for s in rows)
    lines += ["", f"{total} operations in {sum(1 for s in rows if s.implemented)} services."]
    return "\n".join(lines)


def replace_section(text: str, body: str) -> str:
    """``text`` with the part between the markers replaced by ``body``."""
    try:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"the markers {START} and {END} are missing") from None
    return f"{head}{START}\n{body}\n{END}{tail}"


def section(text: str) -> str:
    """The current content between the markers (without them)."""
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gureum.docs", description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--write", metavar="FILE", help="rewrite the operations section of FILE")
    g.add_argument("--check", metavar="FILE", help="exit 1 when FILE's operations section is stale")
    g.add_argument("--models", action="store_true", help="print protocols and operation counts from botocore too")
    args = p.parse_args(argv)
    body = render_operations(models=args.models)
    if args.write:
        path = Path(args.write)
        path.write_text(replace_section(path.read_text(), body))
        print(f"wrote the operations section of {path}")
        return 0
    if args.check:
        if section(Path(args.check).read_text()) != body:
            print(f"{args.check}: operations section is stale; run python -m gureum.docs --write {args.check}", file=sys.stderr)
            return 1
        return 0
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
