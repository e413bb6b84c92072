"""Variables: ``#{namespace.name}`` references in action configuration (pure).

Where values come from, at the time an action starts:

* ``codepipeline`` — system variables of the execution
  (``#{codepipeline.PipelineExecutionId}``);
* ``variables`` — V2 pipeline-level variables, declared in the pipeline
  with an optional ``defaultValue`` and overridden by StartPipelineExecution;
* an action's ``namespace`` — the output variables that action produced
  (S3 source: ``ETag``, ``VersionId``…; CodeBuild: the buildspec's
  ``exported-variables``; Lambda and custom actions: the ``outputVariables``
  of PutJobSuccessResult).

Rules: a reference names a namespace of an action that runs *before* the
referring one (checked at CreatePipeline by :mod:`.pipeline_validation`);
a reference whose value does not exist when the action starts fails the
action (:class:`UnresolvedVariable`), as on AWS.  Text that merely looks like
``#{`` without a closing brace is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SYSTEM = "codepipeline"
PIPELINE = "variables"
SYSTEM_NAMES = frozenset({"PipelineExecutionId"})

_REF = re.compile(r"#\{([A-Za-z0-9@_-]+)\.([A-Za-z0-9@_.-]+)\}")

Values = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class UnresolvedVariable(Exception):
    reference: str

    def __str__(self) -> str:
        return f"Unable to resolve the variable reference {self.reference}: no such variable was produced"


def references(text: str) -> list[tuple[str, str]]:
    """Every ``(namespace, name)`` referenced in ``text``, in order."""
    return [(m.group(1), m.group(2)) for m in _REF.finditer(text)]


def resolve(text: str, values: Values) -> str:
    def value_of(m: re.Match[str]) -> str:
        ns, name = m.group(1), m.group(2)
        found = values.get(ns, {}).get(name)
        if found is None:
            raise UnresolvedVariable(m.group(0))
        return found

    return _REF.sub(value_of, text)


def resolve_configuration(config: Mapping[str, str], values: Values) -> dict[str, str]:
    return {k: resolve(v, values) for k, v in config.items()}


def pipeline_values(declared: list[dict[str, str]], given: list[dict[str, str]] | None) -> tuple[dict[str, str], list[str]]:
    """Values of V2 pipeline variables: defaults overridden by ``given``.

    Returns ``(values, problems)``; a problem is an undeclared name given or
    a declared variable with neither a default nor a value.
    """
    names = {v["name"]: v.get("defaultValue") for v in declared}
    values: dict[str, str] = {n: d for n, d in names.items() if d is not None}
    problems: list[str] = []
    for item in given or []:
        if item["name"] not in names:
            problems.append(f"Variable '{item['name']}' is not declared in the pipeline")
            continue
        values[item["name"]] = item["value"]
    for n in names:
        if n not in values:
            problems.append(f"Variable '{n}' has no default value and no value was provided")
    return values, problems
