"""The shell script that runs one build phase, and reading back what it left.  Pure: no I/O.

Buildspec 0.2 runs every command of a build in one shell instance, so ``cd``
and variables carry from command to command and from phase to phase.
Gureum runs one shell session per phase (one container each, so output can
be streamed and a phase killed on its own); to carry state across phases
each session ends by writing ``export -p`` and ``pwd`` to the build's tmp
dir, and the next one starts by sourcing what :func:`render_env` made of
it.  ``set -a`` exports every variable a command sets, so plain
assignments carry too.

Inside a session, each command is ``eval``\\ ed in the shell itself (not a
subshell); the first that fails ends the ``commands`` block, then the
``finally`` block runs whatever happened — also when a command ran
``exit``, through the EXIT trap.  The session appends ``<block> <index>
<exit status>`` lines to ``<PHASE>.result``; :func:`phase_outcome` turns
them into the phase's status and context, worded as CodeBuild words them
("Error while executing command: make. Reason: exit status 2").

Lines the script prints as ``[Container] Running command …`` get their
timestamp from the log shipper (virtual time), like Gureum's own lines.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gureum.services.codebuild.build_plan import Status
from gureum.services.codebuild.buildspec import PhaseSpec

INTERNAL_PREFIX = "__gureum"
# Set fresh for every phase by Gureum, or owned by the shell: never carried over.
NOT_CARRIED = frozenset({"CODEBUILD_BUILD_SUCCEEDING", "PWD", "OLDPWD", "SHLVL", "_", "HOSTNAME"})
COMMAND_ERROR = "COMMAND_EXECUTION_ERROR"


def quote(text: str) -> str:
    """A single-quoted shell word for ``text`` (any bytes but NUL)."""
    return "'" + text.replace("'", "'\\''") + "'"


def phase_script(phase: str, spec: PhaseSpec, tmp_dir: str, src_dir: str) -> str:
    """The script one phase's shell session runs (see the module docstring)."""
    tmp = quote(tmp_dir)
    lines = [
        f"# Gureum CodeBuild: phase {phase}",
        "set -a",
        f"__gureum_tmp={tmp}",
        'if [ -f "$__gureum_tmp/env.sh" ]; then . "$__gureum_tmp/env.sh"; fi',
        f'if [ -f "$__gureum_tmp/cwd" ]; then cd "$(cat "$__gureum_tmp/cwd")" 2>/dev/null || cd {quote(src_dir)}; '
        f"else cd {quote(src_dir)}; fi",
        "__gureum_part=commands",
        "__gureum_i=0",
        "__gureum_fi=0",
        "__gureum_record() {",
        f"  printf '%s %s %s\\n' \"$1\" \"$2\" \"$3\" >> \"$__gureum_tmp/{phase}.result\"",
        "}",
        "__gureum_save() {",
        f'  export -p > "$__gureum_tmp/{phase}.env"',
        f'  pwd > "$__gureum_tmp/{phase}.cwd"',
        "}",
        *_block("__gureum_commands", "__gureum_i", spec.commands),
        *_block("__gureum_finally", "__gureum_fi", spec.finally_commands),
        "__gureum_on_exit() {",
        "  __gureum_code=$1",
        "  trap - EXIT",
        '  if [ "$__gureum_part" = commands ]; then',
        '    __gureum_record commands "$__gureum_i" "$__gureum_code"',
        "    __gureum_part=finally",
        "    __gureum_finally",
        '    __gureum_record finally "$__gureum_fi" "$?"',
        '  elif [ "$__gureum_part" = finally ]; then',
        '    __gureum_record finally "$__gureum_fi" "$__gureum_code"',
        "  fi",
        "  __gureum_save",
        "}",
        "trap '__gureum_on_exit $?' EXIT",
        "__gureum_commands",
        '__gureum_record commands "$__gureum_i" "$?"',
        "__gureum_part=finally",
        "__gureum_finally",
        '__gureum_record finally "$__gureum_fi" "$?"',
        "__gureum_part=done",
        "",
    ]
    return "\n".join(lines)


def _block(name: str, counter: str, commands: Sequence[str]) -> list[str]:
    out = [f"{name}() {{"]
    for i, cmd in enumerate(commands, 1):
        out.append(f"  {counter}={i}")
        out.append(f"  printf '[Container] Running command %s\\n' {quote(cmd)}")
        out.append(f"  eval {quote(cmd)} || return $?")
    out.append("  return 0")
    out.append("}")
    return out


# -- what a session leaves behind ---------------------------------------------------------------


def parse_exported(text: str) -> dict[str, str]:
    """Variables from ``export -p`` output (ash/dash ``export A='v'``, bash ``declare -x A="v"``)."""
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        words = []
    out: dict[str, str] = {}
    for word in words:
        if word in ("export", "declare", "readonly") or word.startswith("-"):
            continue
        name, sep, value = word.partition("=")
        if sep and name.replace("_", "a").isalnum() and not name[:1].isdigit():
            out[name] = value
    return out


def carried(env: Mapping[str, str]) -> dict[str, str]:
    """The variables one phase hands to the next (Gureum's own and the shell's dropped)."""
    return {k: v for k, v in env.items() if not k.startswith(INTERNAL_PREFIX) and k not in NOT_CARRIED}


def render_env(env: Mapping[str, str]) -> str:
    """A file the next session sources to get ``env`` back."""
    return "".join(f"export {k}={quote(v)}\n" for k, v in sorted(env.items()))


@dataclass(frozen=True, slots=True)
class BlockResult:
    index: int  # 1-based index of the last command started (0: none)
    exit_code: int


def parse_results(text: str | None) -> dict[str, BlockResult]:
    """``<block> <index> <exit status>`` lines → the last result of each block."""
    out: dict[str, BlockResult] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[2].lstrip("-").isdigit():
            out[parts[0]] = BlockResult(int(parts[1]), int(parts[2]))
    return out


def phase_outcome(spec: PhaseSpec, results: str | None, exit_code: int | None = None) -> tuple[Status, list[dict[str, str]]]:
    """The status and contexts of a phase whose session ended by itself."""
    got = parse_results(results)
    contexts: list[dict[str, str]] = []
    for block, commands in (("commands", spec.commands), ("finally", spec.finally_commands)):
        res = got.get(block)
        if res is None:
            if block == "commands" or commands:
                reason = f"exit status {exit_code}" if exit_code else "the build shell ended without running it"
                first = commands[0] if commands else ""
                contexts.append(_context(first, reason))
            break
        if res.exit_code != 0:
            cmd = commands[res.index - 1] if 1 <= res.index <= len(commands) else ""
            contexts.append(_context(cmd, f"exit status {res.exit_code}"))
    return (Status.FAILED if contexts else Status.SUCCEEDED), contexts[:1]


def _context(command: str, reason: str) -> dict[str, str]:
    return {"statusCode": COMMAND_ERROR, "message": f"Error while executing command: {command}. Reason: {reason}"}
