"""The AppSpec file: parsing and checking, for each compute platform.  Pure.

``parse_server`` / ``parse_ecs`` / ``parse_lambda`` take the file's text
(YAML, or JSON — YAML reads both) and return a frozen description, or raise
:class:`AppSpecError` with the message the deployment fails with
(``INVALID_REVISION``).

Server (EC2/on-premises)::

    version: 0.0
    os: linux
    files:
      - source: /            # relative to the bundle root
        destination: /var/www/html
    file_exists_behavior: OVERWRITE    # DISALLOW (default) | OVERWRITE | RETAIN
    hooks:
      ApplicationStop:
        - location: scripts/stop.sh     # relative to the bundle root
          timeout: 300                  # seconds, at most 3600 (the default)
          runas: root

ECS::

    version: 0.0
    Resources:
      - TargetService:
          Type: AWS::ECS::Service
          Properties:
            TaskDefinition: arn:aws:ecs:…:task-definition/web:2
            LoadBalancerInfo: {ContainerName: web, ContainerPort: 80}
            PlatformVersion: LATEST                       # optional
            NetworkConfiguration: {AwsvpcConfiguration: {Subnets: [...], SecurityGroups: [...], AssignPublicIp: DISABLED}}
            CapacityProviderStrategy: [{CapacityProvider: FARGATE, Base: 1, Weight: 1}]
    Hooks:
      - BeforeInstall: my-hook-function
      - AfterAllowTestTraffic: my-test-function

Lambda: ``Resources`` of ``Type: AWS::Lambda::Function`` with ``Name``,
``Alias``, ``CurrentVersion``, ``TargetVersion``; ``Hooks``
BeforeAllowTraffic/AfterAllowTraffic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml  # type: ignore[import-untyped]

SERVER_HOOKS = (
    "ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService",
    "BeforeBlockTraffic", "AfterBlockTraffic", "BeforeAllowTraffic", "AfterAllowTraffic",
)  # fmt: skip
ECS_HOOKS = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")
LAMBDA_HOOKS = ("BeforeAllowTraffic", "AfterAllowTraffic")
MAX_SCRIPT_TIMEOUT = 3600
FILE_EXISTS = ("DISALLOW", "OVERWRITE", "RETAIN")


class AppSpecError(ValueError):
    """The AppSpec file is missing, unreadable or invalid."""


@dataclass(frozen=True, slots=True)
class Script:
    location: str
    timeout: int = MAX_SCRIPT_TIMEOUT
    runas: str | None = None


@dataclass(frozen=True, slots=True)
class FileMapping:
    source: str
    destination: str


@dataclass(frozen=True, slots=True)
class ServerAppSpec:
    files: tuple[FileMapping, ...] = ()
    hooks: dict[str, tuple[Script, ...]] = field(default_factory=dict)
    file_exists_behavior: str | None = None


@dataclass(frozen=True, slots=True)
class EcsAppSpec:
    task_definition: str
    container_name: str
    container_port: int
    platform_version: str | None = None
    network_configuration: dict[str, Any] | None = None  # ECS wire shape (awsvpcConfiguration…)
    capacity_provider_strategy: tuple[dict[str, Any], ...] = ()
    hooks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LambdaAppSpec:
    name: str
    alias: str
    current_version: str
    target_version: str
    hooks: dict[str, str] = field(default_factory=dict)


def load(text: str | bytes) -> dict[str, Any]:
    """The AppSpec document as a mapping (YAML or JSON)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AppSpecError("The AppSpec file is not UTF-8 text.") from exc
    if not text.strip():
        raise AppSpecError("The AppSpec file is empty.")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        try:
            doc = json.loads(text)
        except ValueError:
            raise AppSpecError(f"The AppSpec file is neither valid YAML nor JSON: {_first_line(str(exc))}") from None
    if not isinstance(doc, dict):
        raise AppSpecError("The AppSpec file must be a YAML or JSON mapping at the top level.")
    _check_version(doc)
    return doc


def _first_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _check_version(doc: dict[str, Any]) -> None:
    version = doc.get("version")
    if version is None or str(version).strip() not in ("0.0", "0"):
        raise AppSpecError(
            f"The deployment failed because an invalid version value ({version}) was entered in the "
            'application specification file. Make sure your AppSpec file specifies "0.0" as the version, and then try again.'
        )


# -- Server -------------------------------------------------------------------------------------


def parse_server(text: str | bytes) -> ServerAppSpec:
    doc = load(text)
    os_name = doc.get("os")
    if os_name not in ("linux", "windows"):
        raise AppSpecError(f"The AppSpec file's os must be linux or windows, not {os_name!r}.")
    if os_name == "windows":
        raise AppSpecError("Gureum's instances run Linux: an AppSpec file for os windows cannot be deployed.")
    files = tuple(_file(f, i) for i, f in enumerate(_list(doc.get("files"), "files")))
    behavior = doc.get("file_exists_behavior")
    if behavior is not None and str(behavior).upper() not in FILE_EXISTS:
        raise AppSpecError(f"file_exists_behavior must be one of {', '.join(FILE_EXISTS)}, not {behavior!r}.")
    hooks_doc = doc.get("hooks") or {}
    if not isinstance(hooks_doc, dict):
        raise AppSpecError("The AppSpec file's hooks must be a mapping of lifecycle event names to scripts.")
    hooks: dict[str, tuple[Script, ...]] = {}
    for event, scripts in hooks_doc.items():
        if event not in SERVER_HOOKS:
            raise AppSpecError(
                f"The AppSpec file names an unknown lifecycle event {event!r}; valid events are {', '.join(SERVER_HOOKS)}."
            )
        hooks[event] = tuple(_script(event, s) for s in _list(scripts, f"hooks.{event}"))
    return ServerAppSpec(files, hooks, str(behavior).upper() if behavior else None)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise AppSpecError(f"The AppSpec file's {where} must be a list.")
    return value


def _file(item: Any, i: int) -> FileMapping:
    if not isinstance(item, dict) or not item.get("source") or not item.get("destination"):
        raise AppSpecError(f"files[{i}] of the AppSpec file needs a source and a destination.")
    dest = str(item["destination"])
    if not dest.startswith("/"):
        raise AppSpecError(f"files[{i}].destination must be an absolute path, not {dest!r}.")
    return FileMapping(str(item["source"]), dest)


def _script(event: str, item: Any) -> Script:
    if not isinstance(item, dict) or not item.get("location"):
        raise AppSpecError(f"Every script of the {event} hook needs a location.")
    timeout = item.get("timeout", MAX_SCRIPT_TIMEOUT)
    try:
        t = int(timeout)
    except (TypeError, ValueError):
        raise AppSpecError(f"The timeout of script {item['location']} must be a number of seconds.") from None
    if not 1 <= t <= MAX_SCRIPT_TIMEOUT:
        raise AppSpecError(f"The timeout of script {item['location']} must be between 1 and {MAX_SCRIPT_TIMEOUT} seconds.")
    runas = item.get("runas")
    return Script(str(item["location"]), t, str(runas) if runas else None)


# -- ECS and Lambda ---------------------------------------------------------------------------


def _resources(doc: dict[str, Any], wanted: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for res in _list(doc.get("Resources"), "Resources"):
        if not isinstance(res, dict):
            raise AppSpecError("Every item of the AppSpec file's Resources must be a mapping.")
        for name, body in res.items():
            if not isinstance(body, dict):
                raise AppSpecError(f"Resource {name} of the AppSpec file must be a mapping.")
            if body.get("Type") != wanted:
                raise AppSpecError(f"Resource {name} has Type {body.get('Type')!r}; expected {wanted}.")
            out.append((str(name), body.get("Properties") or {}))
    if len(out) != 1:
        raise AppSpecError(f"The AppSpec file must have exactly one resource of Type {wanted} (found {len(out)}).")
    return out


def _hooks(doc: dict[str, Any], valid: tuple[str, ...]) -> dict[str, str]:
    hooks: dict[str, str] = {}
    for item in _list(doc.get("Hooks"), "Hooks"):
        if not isinstance(item, dict):
            raise AppSpecError("Every item of the AppSpec file's Hooks must be a mapping of an event to a function.")
        for event, fn in item.items():
            if event not in valid:
                raise AppSpecError(
                    f"The AppSpec file names an unknown lifecycle hook {event!r}; valid hooks are {', '.join(valid)}."
                )
            if not fn or not isinstance(fn, str):
                raise AppSpecError(f"The {event} hook must name a Lambda function.")
            hooks[event] = fn
    return hooks


def parse_ecs(text: str | bytes) -> EcsAppSpec:
    doc = load(text)
    (_, props), = _resources(doc, "AWS::ECS::Service")
    td = props.get("TaskDefinition")
    if not td:
        raise AppSpecError("The AppSpec file's TargetService needs Properties.TaskDefinition.")
    lbi = props.get("LoadBalancerInfo") or {}
    if not lbi.get("ContainerName") or lbi.get("ContainerPort") in (None, ""):
        raise AppSpecError("The AppSpec file's TargetService needs LoadBalancerInfo with ContainerName and ContainerPort.")
    try:
        port = int(lbi["ContainerPort"])
    except (TypeError, ValueError):
        raise AppSpecError(f"LoadBalancerInfo.ContainerPort must be a port number, not {lbi['ContainerPort']!r}.") from None
    if not 1 <= port <= 65535:
        raise AppSpecError(f"LoadBalancerInfo.ContainerPort {port} is not a valid port.")
    cps = tuple(
        {"capacityProvider": s.get("CapacityProvider"), "base": int(s.get("Base") or 0), "weight": int(s.get("Weight") or 0)}
        for s in _list(props.get("CapacityProviderStrategy"), "CapacityProviderStrategy")
    )
    return EcsAppSpec(
        task_definition=str(td),
        container_name=str(lbi["ContainerName"]),
        container_port=port,
        platform_version=str(props["PlatformVersion"]) if props.get("PlatformVersion") else None,
        network_configuration=_network(props.get("NetworkConfiguration")),
        capacity_provider_strategy=cps,
        hooks=_hooks(doc, ECS_HOOKS),
    )


def _network(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    vpc = (value or {}).get("AwsvpcConfiguration") or (value or {}).get("awsvpcConfiguration")
    if not isinstance(vpc, dict):
        raise AppSpecError("NetworkConfiguration must hold AwsvpcConfiguration.")
    out: dict[str, Any] = {"subnets": list(vpc.get("Subnets") or vpc.get("subnets") or [])}
    groups = vpc.get("SecurityGroups") or vpc.get("securityGroups")
    if groups:
        out["securityGroups"] = list(groups)
    public = vpc.get("AssignPublicIp") or vpc.get("assignPublicIp")
    if public:
        out["assignPublicIp"] = str(public)
    return {"awsvpcConfiguration": out}


def parse_lambda(text: str | bytes) -> LambdaAppSpec:
    doc = load(text)
    (name, props), = _resources(doc, "AWS::Lambda::Function")
    missing = [k for k in ("Name", "Alias", "CurrentVersion", "TargetVersion") if not props.get(k)]
    if missing:
        raise AppSpecError(f"Resource {name} of the AppSpec file needs {', '.join(missing)}.")
    return LambdaAppSpec(
        str(props["Name"]), str(props["Alias"]), str(props["CurrentVersion"]), str(props["TargetVersion"]),
        _hooks(doc, LAMBDA_HOOKS),
    )
