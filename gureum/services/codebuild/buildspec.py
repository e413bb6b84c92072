"""Buildspec (version 0.2) text → a frozen :class:`Buildspec` plan.  Pure: no I/O.

What is read (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html):

* ``version`` — ``0.2`` (``0.1`` is accepted and run the 0.2 way: one shell
  session carries ``cd`` and variables from command to command);
* ``run-as``, ``env.shell``, ``env.variables``, ``env.parameter-store``,
  ``env.secrets-manager`` (recorded; Gureum cannot resolve them, so the
  build fails with a clear message), ``env.exported-variables``;
* ``phases.install|pre_build|build|post_build`` with ``commands``,
  ``finally``, ``on-failure`` (``ABORT`` — the default — or ``CONTINUE``),
  ``run-as`` and, for install, ``runtime-versions`` (recorded, not enforced);
* ``artifacts`` (``files``, ``name``, ``base-directory``, ``discard-paths``,
  ``exclude-paths``); ``reports`` (per report group: ``files``,
  ``base-directory``, ``discard-paths``, ``file-format``).  ``cache``,
  ``proxy`` and ``batch`` are accepted and ignored.

Problems raise :class:`BuildspecError`, whose message follows CodeBuild's
``YAML_FILE_ERROR`` wording where it has one — e.g. a command with ``: `` in
it that YAML reads as a map gives "Expected Commands[0] to be of string
type: found subkeys instead at line 6, value of the key tag on line 5 might
be empty".  YAML scalars are turned into strings as YAML wrote them
(``version: 0.2`` → ``"0.2"``, ``discard-paths: yes`` → true).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml  # type: ignore[import-untyped]

PHASES = ("install", "pre_build", "build", "post_build")
VERSIONS = ("0.1", "0.2")
ON_FAILURE = ("ABORT", "CONTINUE")
_TOP_KEYS = {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}


class BuildspecError(ValueError):
    """The buildspec cannot be run; ``str()`` is the phase context message."""

    status_code = "YAML_FILE_ERROR"


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    name: str
    commands: tuple[str, ...] = ()
    finally_commands: tuple[str, ...] = ()
    on_failure: str = "ABORT"
    run_as: str = ""
    runtime_versions: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.commands and not self.finally_commands


@dataclass(frozen=True, slots=True)
class FileSet:
    """Files picked from the source dir: ``files`` globs under ``base_directory``."""

    files: tuple[str, ...]
    base_directory: str = ""
    discard_paths: bool = False
    exclude_paths: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True, slots=True)
class ReportSpec:
    name: str
    files: FileSet
    file_format: str = "JUNITXML"


@dataclass(frozen=True, slots=True)
class Buildspec:
    version: str
    phases: tuple[PhaseSpec, ...] = field(default_factory=lambda: tuple(PhaseSpec(p) for p in PHASES))
    shell: str = ""
    run_as: str = ""
    variables: tuple[tuple[str, str], ...] = ()
    parameter_store: tuple[tuple[str, str], ...] = ()
    secrets_manager: tuple[tuple[str, str], ...] = ()
    exported_variables: tuple[str, ...] = ()
    artifacts: FileSet | None = None
    reports: tuple[ReportSpec, ...] = ()

    def phase(self, name: str) -> PhaseSpec:
        for p in self.phases:
            if p.name == name:
                return p
        return PhaseSpec(name)


def looks_inline(spec: str) -> bool:
    """Whether a project's ``buildspec`` value is YAML itself rather than a file name.

    CodeBuild takes either; a file name parses as a plain scalar, YAML text as a map.
    """
    if "\n" in spec.strip():
        return True
    try:
        return isinstance(yaml.safe_load(spec), dict)
    except yaml.YAMLError:
        return False


def parse_buildspec(text: str) -> Buildspec:
    """Parse and validate buildspec YAML; raises :class:`BuildspecError`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BuildspecError(f"{exc.problem or exc.context or 'invalid YAML'}{where}") from None
    except yaml.YAMLError as exc:
        raise BuildspecError(f"invalid YAML: {exc}") from None
    if data is None:
        raise BuildspecError("YAML file is empty")
    if not isinstance(data, dict):
        raise BuildspecError(f"Expected buildspec to be a map: found {_kind(data)} instead")
    version = _scalar(data.get("version"))
    if version is None:
        raise BuildspecError("no version specified in buildspec: version 0.2 is required")
    if version not in VERSIONS:
        raise BuildspecError(f"invalid buildspec version {version}: supported versions are 0.1 and 0.2")
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise BuildspecError(f"Unknown buildspec key(s): {', '.join(unknown)}")
    env = _mapping(data.get("env"), "env")
    phases = _mapping(data.get("phases"), "phases")
    bad = sorted(set(map(str, phases)) - set(PHASES))
    if bad:
        raise BuildspecError(f"Unknown phase name(s): {', '.join(bad)}; phases are {', '.join(PHASES)}")
    phase_nodes = _children(_child(root, "phases"))
    return Buildspec(
        version=version,
        phases=tuple(_phase(name, phases.get(name), phase_nodes.get(name)) for name in PHASES),
        shell=_scalar(env.get("shell")) or "",
        run_as=_scalar(data.get("run-as")) or "",
        variables=_pairs(env.get("variables"), "env/variables"),
        parameter_store=_pairs(env.get("parameter-store"), "env/parameter-store"),
        secrets_manager=_pairs(env.get("secrets-manager"), "env/secrets-manager"),
        exported_variables=_names(env.get("exported-variables"), "env/exported-variables"),
        artifacts=_artifacts(data.get("artifacts")),
        reports=_reports(data.get("reports")),
    )


# -- pieces -----------------------------------------------------------------------------------


def _phase(name: str, raw: Any, node: Any) -> PhaseSpec:
    if raw is None:
        return PhaseSpec(name)
    if not isinstance(raw, dict):
        raise BuildspecError(f"Expected phase {name} to be a map: found {_kind(raw)} instead")
    on_failure = (_scalar(raw.get("on-failure")) or "ABORT").upper()
    if on_failure not in ON_FAILURE:
        raise BuildspecError(
            f"Invalid on-failure value {raw.get('on-failure')!r} in phase {name}: must be ABORT or CONTINUE"
        )
    versions = raw.get("runtime-versions") if name == "install" else None
    return PhaseSpec(
        name=name,
        commands=_commands(raw.get("commands"), "Commands", _child(node, "commands"), _key_line(node, "commands")),
        finally_commands=_commands(raw.get("finally"), "Finally", _child(node, "finally"), _key_line(node, "finally")),
        on_failure=on_failure,
        run_as=_scalar(raw.get("run-as")) or "",
        runtime_versions=_pairs(versions, "runtime-versions") if versions is not None else (),
    )


def _commands(raw: Any, label: str, node: Any, key_line: int) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BuildspecError(f"Expected {label} to be of list type: found {_kind(raw)} instead at line {key_line}")
    out: list[str] = []
    items = node.value if isinstance(node, yaml.SequenceNode) else []
    for i, item in enumerate(raw):
        if isinstance(item, dict | list):
            line = items[i].start_mark.line + 1 if i < len(items) else key_line
            found = "subkeys" if isinstance(item, dict) else "a list"
            raise BuildspecError(
                f"Expected {label}[{i}] to be of string type: found {found} instead at line {line}, "
                f"value of the key tag on line {key_line} might be empty"
            )
        text = _scalar(item)
        if text is None:
            raise BuildspecError(f"Expected {label}[{i}] to be of string type: found null instead")
        out.append(text)
    return tuple(out)


def _artifacts(raw: Any) -> FileSet | None:
    if raw is None:
        return None
    raw = _mapping(raw, "artifacts")
    files = _names(raw.get("files"), "artifacts/files")
    if not files:
        raise BuildspecError("artifacts/files must list at least one path")
    return _fileset(raw, files)


def _reports(raw: Any) -> tuple[ReportSpec, ...]:
    out: list[ReportSpec] = []
    for name, body in _mapping(raw, "reports").items():
        body = _mapping(body, f"reports/{name}")
        files = _names(body.get("files"), f"reports/{name}/files")
        if not files:
            raise BuildspecError(f"reports/{name}/files must list at least one path")
        fmt = (_scalar(body.get("file-format")) or "JUNITXML").upper()
        out.append(ReportSpec(str(name), _fileset(body, files), fmt))
    return tuple(out)


def _fileset(raw: Mapping[str, Any], files: tuple[str, ...]) -> FileSet:
    return FileSet(
        files=files,
        base_directory=(_scalar(raw.get("base-directory")) or "").strip("/"),
        discard_paths=_flag(raw.get("discard-paths")),
        exclude_paths=_names(raw.get("exclude-paths"), "exclude-paths"),
        name=_scalar(raw.get("name")) or "",
    )


# -- YAML values ------------------------------------------------------------------------------


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        raise BuildspecError(f"Expected a string: found {_kind(value)} instead")
    return str(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "true", "on", "1") if value is not None else False


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BuildspecError(f"Expected {where} to be a map: found {_kind(value)} instead")
    return {str(k): v for k, v in value.items()}


def _pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, _scalar(v) or "") for k, v in _mapping(value, where).items())


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise BuildspecError(f"Expected {where} to be a list: found {_kind(value)} instead")
    return tuple(s for s in (_scalar(v) for v in value) if s)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return f"the {type(value).__name__} {value!r}"


# -- nodes, for line numbers in messages --------------------------------------------------------


def _children(node: Any) -> dict[str, Any]:
    """The value nodes of a mapping node by key."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v for k, v in node.value}


def _child(node: Any, key: str) -> Any:
    return _children(node).get(key)


def _key_line(node: Any, key: str) -> int:
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if str(k.value) == key:
                return int(k.start_mark.line) + 1
    return 0
