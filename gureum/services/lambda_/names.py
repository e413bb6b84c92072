"""Names, ARNs and the checks Lambda makes on them.  Pure: no I/O.

A function reference (``FunctionName`` in requests) is one of

* a name: ``my-function``
* a name with a qualifier: ``my-function:3`` / ``my-function:live``
* a partial ARN: ``123456789012:function:my-function[:qualifier]``
* a full ARN: ``arn:aws:lambda:us-east-1:123456789012:function:my-function[:qualifier]``

A qualifier is ``$LATEST``, a version number or an alias name.  Function and
alias names are ``[a-zA-Z0-9-_]+`` (64 characters at most for functions);
an alias name is never all digits (that would be a version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gureum.core.errors import ServiceError, ValidationError
from gureum.core.ids import arn

LATEST = "$LATEST"
MAX_NAME = 64

_NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_ALIAS_RE = re.compile(r"(?!^[0-9]+$)([a-zA-Z0-9_-]+)")
_QUALIFIER_RE = re.compile(r"\$LATEST|[a-zA-Z0-9_-]{1,128}")
# The model's pattern for Role (botocore lambda CreateFunctionRequest.Role).
ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
_ROLE_RE = re.compile(ROLE_PATTERN)
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)


@dataclass(frozen=True, slots=True)
class FunctionRef:
    name: str
    qualifier: str | None


def parse_ref(ref: str) -> FunctionRef:
    """Name and qualifier of any accepted spelling (the name is not checked here)."""
    parts = ref.split(":")
    if ref.startswith("arn:") and len(parts) >= 7:
        return FunctionRef(parts[6], parts[7] if len(parts) >= 8 and parts[7] else None)
    if len(parts) >= 3 and parts[1] == "function":
        return FunctionRef(parts[2], parts[3] if len(parts) >= 4 and parts[3] else None)
    if len(parts) == 2 and parts[0]:
        return FunctionRef(parts[0], parts[1] or None)
    return FunctionRef(ref, None)


def function_arn(account: str, region: str, name: str, qualifier: str | None = None) -> str:
    resource = f"function:{name}" + (f":{qualifier}" if qualifier else "")
    return arn("lambda", resource, account=account, region=region)


def not_found(account: str, region: str, name: str, qualifier: str | None = None) -> ServiceError:
    target = function_arn(account, region, name, qualifier)
    return ServiceError(
        "ResourceNotFoundException",
        f"Function not found: {target}",
        404,
        sender_fault=True,
        extra={"Type": "User"},
    )


def pattern_error(member: str, value: str, pattern: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {pattern}"
    )


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message, 400, sender_fault=True, extra={"Type": "User"})


def conflict(message: str) -> ServiceError:
    return ServiceError("ResourceConflictException", message, 409, sender_fault=True, extra={"Type": "User"})


def check_function_name(ref: str) -> FunctionRef:
    """The reference parsed, or AWS's ValidationException for a malformed one."""
    parsed = parse_ref(ref)
    if not _NAME_RE.fullmatch(parsed.name) or (
        parsed.qualifier is not None and not _QUALIFIER_RE.fullmatch(parsed.qualifier)
    ):
        raise pattern_error("functionName", ref, FUNCTION_NAME_PATTERN)
    return parsed


def check_alias_name(name: str) -> None:
    if not _ALIAS_RE.fullmatch(name) or len(name) > 128:
        raise pattern_error("name", name, "(?!^[0-9]+$)([a-zA-Z0-9-_]+)")


def check_role(role: str) -> None:
    if not _ROLE_RE.fullmatch(role):
        raise pattern_error("role", role, ROLE_PATTERN)


def is_version(qualifier: str) -> bool:
    return qualifier.isdigit()


def log_group_name(name: str) -> str:
    return f"/aws/lambda/{name}"
