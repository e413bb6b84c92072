"""Server-side validation of an input dict against its botocore shape.

Checks what AWS's front ends check before an operation runs: required
members, enum values, string/list/map/blob lengths and numeric ranges.
Messages follow AWS's wording, e.g.::

    1 validation error detected: Value null at 'logGroupName' failed to
    satisfy constraint: Member must not be null

Patterns are not checked: the models' patterns are Java regular
expressions and a wrong translation would refuse valid input.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ValidationError

_MAX_REPORTED = 5


def validate_input(shape: Any, params: dict[str, Any]) -> None:
    """Raise :class:`ValidationError` listing what ``params`` breaks (if anything)."""
    if shape is None:
        return
    problems: list[str] = []
    _check_structure(shape, params, "", problems)
    if problems:
        n = len(problems)
        head = f"{n} validation error{'s' if n != 1 else ''} detected: "
        raise ValidationError(head + "; ".join(problems[:_MAX_REPORTED]))


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (bytes, bytearray)):
        return "'<binary>'"
    return f"'{value}'"


def _check(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if value is None:
        return
    if kind == "structure":
        if isinstance(value, dict):
            _check_structure(shape, value, path, problems)
        return
    if kind == "list":
        if isinstance(value, list):
            _check_length(shape, len(value), value, path, problems)
            for i, item in enumerate(value):
                _check(shape.member, item, f"{path}.{i + 1}.member", problems)
        return
    if kind == "map":
        if isinstance(value, dict):
            _check_length(shape, len(value), value, path, problems)
            for k, v in value.items():
                _check(shape.key, k, f"{path}.{k}.key", problems)
                _check(shape.value, v, f"{path}.{k}.value", problems)
        return
    if kind == "string":
        if isinstance(value, str):
            enum = shape.enum
            if enum and value not in enum:
                problems.append(
                    f"Value {_show(value)} at '{path}' failed to satisfy constraint: "
                    f"Member must satisfy enum value set: [{', '.join(enum)}]"
                )
            _check_length(shape, len(value), value, path, problems)
        return
    if kind == "blob":
        if isinstance(value, (bytes, bytearray)):
            _check_length(shape, len(value), value, path, problems)
        return
    if kind in ("integer", "long", "float", "double", "bigdecimal", "biginteger"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lo = shape.metadata.get("min")
            hi = shape.metadata.get("max")
            if lo is not None and value < lo:
                problems.append(
                    f"Value {_show(value)} at '{path}' failed to satisfy constraint: "
                    f"Member must have value greater than or equal to {_num(lo)}"
                )
            if hi is not None and value > hi:
                problems.append(
                    f"Value {_show(value)} at '{path}' failed to satisfy constraint: "
                    f"Member must have value less than or equal to {_num(hi)}"
                )


def _num(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _check_length(shape: Any, n: int, value: Any, path: str, problems: list[str]) -> None:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if lo is not None and n < lo:
        problems.append(
            f"Value {_show(value) if shape.type_name == 'string' else 'null' if n == 0 else _show(value)} "
            f"at '{path}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {_num(lo)}"
        )
    if hi is not None and n > hi:
        problems.append(
            f"Value {_show(value)} at '{path}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {_num(hi)}"
        )


def _check_structure(shape: Any, value: dict[str, Any], prefix: str, problems: list[str]) -> None:
    members = shape.members
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(
                f"Value null at '{_path(prefix, _wire(members.get(name), name))}' failed to satisfy "
                "constraint: Member must not be null"
            )
    for name, member in members.items():
        if name in value:
            _check(member, value[name], _path(prefix, _wire(member, name)), problems)


def _wire(member: Any, name: str) -> str:
    # AWS names the member as it appears on the wire in JSON services
    # (camelCase for logs, PascalCase for most others) – the model name.
    return name
