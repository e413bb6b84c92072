"""Function configuration: the checks AWS makes and the documents it returns.
Pure: no I/O; time comes in as ``now`` (epoch seconds).

Rules (AWS's limits, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):

* Runtime: Gureum runs ``python3.9`` … ``python3.14`` with the host's own
  ``python3`` (the runtime name is recorded, the interpreter is the host's);
  other runtimes and container images are refused with
  ``InvalidParameterValueException``.
* Timeout 1–900 s (default 3); MemorySize 128–10240 MB (default 128).
* Environment: names ``[a-zA-Z]([a-zA-Z0-9_])+``, none of Lambda's reserved
  keys, 4 KB at most all together (measured as AWS does, over the JSON text).
* Role: any string of the IAM role ARN shape (no IAM in Gureum to check it
  against).
* Layers, VPC, file systems, code signing are not run by Gureum; asking for
  them is refused rather than silently ignored.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gureum.core.errors import ValidationError
from gureum.services.lambda_.names import LATEST, check_role, function_arn, invalid, log_group_name

DEFAULT_TIMEOUT = 3
MAX_TIMEOUT = 900
DEFAULT_MEMORY = 128
MIN_MEMORY, MAX_MEMORY = 128, 10240
MAX_ENV_BYTES = 4096
RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")

RESERVED_ENV = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)
_ENV_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
_UNSUPPORTED = {
    "Layers": "Layers",
    "VpcConfig": "VPC configuration",
    "FileSystemConfigs": "file systems",
    "CodeSigningConfigArn": "code signing",
    "ImageConfig": "container images",
}


@dataclass(frozen=True, slots=True)
class CodeInfo:
    sha256_b64: str
    sha256_hex: str
    size: int


def timestamp(now: float) -> str:
    """Lambda's LastModified: ``2024-05-01T12:34:56.789+0000``."""
    dt = datetime.fromtimestamp(now, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def new_revision() -> str:
    return str(uuid.uuid4())


def check_runtime(runtime: str | None) -> None:
    if runtime is None:
        raise invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
    if runtime not in RUNTIMES:
        raise invalid(
            f"The runtime parameter of {runtime} is not supported by Gureum, which runs "
            f"{RUNTIMES[0]} to {RUNTIMES[-1]} functions with the host's python3."
        )


def check_limits(timeout: int | None, memory: int | None) -> None:
    if timeout is not None and timeout > MAX_TIMEOUT:
        raise ValidationError(
            f"1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_TIMEOUT}"
        )
    if memory is not None and not MIN_MEMORY <= memory <= MAX_MEMORY:
        bound = (
            f"greater than or equal to {MIN_MEMORY}" if memory < MIN_MEMORY else f"less than or equal to {MAX_MEMORY}"
        )
        raise invalid(f"'MemorySize' value failed to satisfy constraint: Member must have value {bound}")

def check_environment(variables: dict[str, str]) -> None:
    reserved = sorted(k for k in variables if k in RESERVED_ENV)
    if reserved:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {','.join(reserved)}"
        )
    for key in variables:
        if not _ENV_NAME_RE.fullmatch(key):
            raise ValidationError(
                "1 validation error detected: Value at 'environment.variables' failed to satisfy "
                "constraint: Map keys must satisfy constraint: [Member must satisfy regular "
                "expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
            )
    text = json.dumps(variables, separators=(",", ":"))
    if len(text.encode()) > MAX_ENV_BYTES:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {text}"
        )


def check_unsupported(req: dict[str, Any]) -> None:
    for member, what in _UNSUPPORTED.items():
        value = req.get(member)
        if value and (not isinstance(value, dict) or any(value.values())):
            raise invalid(f"Gureum does not run functions with {what} ({member}).")
    if req.get("PackageType", "Zip") != "Zip":
        raise invalid("Gureum runs .zip deployment packages only (PackageType Zip).")


def check_create(req: dict[str, Any]) -> None:
    check_unsupported(req)
    check_runtime(req.get("Runtime"))
    if not req.get("Handler"):
        raise invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
    check_role(str(req["Role"]))
    check_limits(req.get("Timeout"), req.get("MemorySize"))
    check_environment(((req.get("Environment") or {}).get("Variables")) or {})


def new_configuration(account: str, region: str, name: str, req: dict[str, Any], code: CodeInfo, now: float) -> dict[str, Any]:
    """The $LATEST configuration of a function being created (State Pending)."""
    cfg: dict[str, Any] = {
        "FunctionName": name,
        "FunctionArn": function_arn(account, region, name),
        "Runtime": req["Runtime"],
        "Role": req["Role"],
        "Handler": req["Handler"],
        "CodeSize": code.size,
        "Description": req.get("Description") or "",
        "Timeout": int(req.get("Timeout") or DEFAULT_TIMEOUT),
        "MemorySize": int(req.get("MemorySize") or DEFAULT_MEMORY),
        "LastModified": timestamp(now),
        "CodeSha256": code.sha256_b64,
        "Version": LATEST,
        "TracingConfig": {"Mode": (req.get("TracingConfig") or {}).get("Mode") or "PassThrough"},
        "RevisionId": new_revision(),
        "State": "Pending",
        "StateReason": "The function is being created.",
        "StateReasonCode": "Creating",
        "LastUpdateStatus": "InProgress",
        "LastUpdateStatusReason": "The function is being created.",
        "LastUpdateStatusReasonCode": "Creating",
        "PackageType": "Zip",
        "Architectures": list(req.get("Architectures") or ["x86_64"]),
        "EphemeralStorage": {"Size": int((req.get("EphemeralStorage") or {}).get("Size") or 512)},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": _logging(name, req.get("LoggingConfig")),
    }
    variables = (req.get("Environment") or {}).get("Variables")
    if variables is not None:
        cfg["Environment"] = {"Variables": dict(variables)}
    if req.get("KMSKeyArn"):
        cfg["KMSKeyArn"] = req["KMSKeyArn"]
    return cfg


def _logging(name: str, given: dict[str, Any] | None, current: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(current or {"LogFormat": "Text", "LogGroup": log_group_name(name)})
    for k, v in (given or {}).items():
        if v:
            out[k] = v
    return out


_CONFIG_MEMBERS = ("Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime", "KMSKeyArn")


def check_update(req: dict[str, Any]) -> None:
    check_unsupported(req)
    if req.get("Runtime") is not None:
        check_runtime(req["Runtime"])
    if req.get("Role") is not None:
        check_role(str(req["Role"]))
    check_limits(req.get("Timeout"), req.get("MemorySize"))
    if req.get("Environment") is not None:
        check_environment((req["Environment"] or {}).get("Variables") or {})


def updated_configuration(cfg: dict[str, Any], req: dict[str, Any], now: float) -> dict[str, Any]:
    """$LATEST after UpdateFunctionConfiguration (LastUpdateStatus InProgress)."""
    out = dict(cfg)
    for member in _CONFIG_MEMBERS:
        if req.get(member) is not None:
            out[member] = req[member]
    if req.get("Environment") is not None:
        out["Environment"] = {"Variables": dict((req["Environment"] or {}).get("Variables") or {})}
    if req.get("TracingConfig"):
        out["TracingConfig"] = {"Mode": req["TracingConfig"].get("Mode") or "PassThrough"}
    if req.get("EphemeralStorage"):
        out["EphemeralStorage"] = {"Size": int(req["EphemeralStorage"]["Size"])}
    if req.get("LoggingConfig"):
        out["LoggingConfig"] = _logging(cfg["FunctionName"], req["LoggingConfig"], cfg.get("LoggingConfig"))
    return mark_updating(out, now)


def with_code(cfg: dict[str, Any], code: CodeInfo, now: float) -> dict[str, Any]:
    """$LATEST after UpdateFunctionCode."""
    out = dict(cfg, CodeSha256=code.sha256_b64, CodeSize=code.size)
    return mark_updating(out, now)


def mark_updating(cfg: dict[str, Any], now: float) -> dict[str, Any]:
    out = dict(cfg, LastModified=timestamp(now), RevisionId=new_revision())
    out["LastUpdateStatus"] = "InProgress"
    out["LastUpdateStatusReason"] = "The function is being updated."
    out["LastUpdateStatusReasonCode"] = "Updating"
    return out


def mark_ready(cfg: dict[str, Any]) -> dict[str, Any]:
    """What the controller writes once the code is unpacked: Active / Successful."""
    out = {k: v for k, v in cfg.items() if not k.startswith(("StateReason", "LastUpdateStatusReason"))}
    out["State"] = "Active"
    out["LastUpdateStatus"] = "Successful"
    return out


def mark_failed(cfg: dict[str, Any], reason: str, creating: bool) -> dict[str, Any]:
    out = dict(cfg, LastUpdateStatus="Failed", LastUpdateStatusReason=reason,
               LastUpdateStatusReasonCode="InvalidZipFileException")
    if creating:
        out.update(State="Failed", StateReason=reason, StateReasonCode="InvalidZipFileException")
    return out


def same_for_publishing(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether publishing ``a`` would repeat version ``b`` (same code and settings)."""
    keys = ("CodeSha256", "Handler", "Runtime", "Timeout", "MemorySize", "Environment", "Role", "LoggingConfig")
    return all(a.get(k) == b.get(k) for k in keys)
