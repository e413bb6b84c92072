"""The CloudWatch agent's configuration (a subset of the real agent's JSON) and
the pure pieces of collection: parsing ``df -P`` output, metric dimensions,
complete lines out of a tailed chunk.

Accepted (anything else in the file is ignored, as unknown plugins would be)::

    {"agent": {"metrics_collection_interval": 60},
     "metrics": {"namespace": "CWAgent",
                 "metrics_collection_interval": 60,
                 "append_dimensions": {"InstanceId": "${aws:InstanceId}",
                                       "InstanceType": "${aws:InstanceType}",
                                       "ImageId": "${aws:ImageId}",
                                       "AutoScalingGroupName": "${aws:AutoScalingGroupName}"},
                 "metrics_collected": {
                     "mem":  {"measurement": ["mem_used_percent", "mem_available_percent",
                                              "mem_used", "mem_total", "mem_available"]},
                     "disk": {"measurement": ["used_percent", "free", "used", "total"],
                              "resources": ["/"]}}},
     "logs": {"logs_collected": {"files": {"collect_list": [
                 {"file_path": "/var/log/app.log", "log_group_name": "app",
                  "log_stream_name": "{instance_id}"}]}}}}

Measurement names may be given with or without their plugin prefix
(``used_percent`` in ``mem`` is ``mem_used_percent``), as the real agent
allows.  Dimensions: ``append_dimensions`` when present (the ``${aws:…}``
values resolved), else ``host`` (the private DNS name); disk metrics add
``path``, ``device`` and ``fstype``.  Stream name placeholders:
``{instance_id}``, ``{hostname}``, ``{ip_address}``; the default stream name
is the instance id.  Only the disk resource ``/`` is measured (``df -P /``);
other resources are measured with ``df -P <path>`` too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DEFAULT_NAMESPACE = "CWAgent"
DEFAULT_INTERVAL = 60.0
CONFIG_TAG = "gureum:cloudwatch-agent-config"
CONFIG_PATH = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
_UNITS = {"percent": "Percent", "total": "Bytes", "used": "Bytes", "available": "Bytes", "free": "Bytes"}


class ConfigError(ValueError):
    """The agent configuration is not JSON or not the expected shape."""


@dataclass(frozen=True, slots=True)
class LogFile:
    path: str
    group: str
    stream: str


@dataclass(frozen=True, slots=True)
class AgentConfig:
    namespace: str = DEFAULT_NAMESPACE
    interval: float = DEFAULT_INTERVAL
    mem: tuple[str, ...] = ()
    disk: tuple[str, ...] = ()
    disk_resources: tuple[str, ...] = ("/",)
    append_dimensions: dict[str, str] = field(default_factory=dict)
    files: tuple[LogFile, ...] = ()


def _measurements(plugin: str, section: Any) -> tuple[str, ...]:
    out = []
    for item in (section or {}).get("measurement") or []:
        name = item.get("name") if isinstance(item, dict) else item
        name = str(name)
        out.append(name if name.startswith(plugin + "_") else f"{plugin}_{name}")
    return tuple(out)


def parse(text: str) -> AgentConfig:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"the agent configuration is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError("the agent configuration must be a JSON object")
    metrics = raw.get("metrics") or {}
    collected = metrics.get("metrics_collected") or {}
    interval = metrics.get("metrics_collection_interval") or (raw.get("agent") or {}).get(
        "metrics_collection_interval") or DEFAULT_INTERVAL
    files = []
    for entry in ((raw.get("logs") or {}).get("logs_collected") or {}).get("files", {}).get("collect_list") or []:
        if not entry.get("file_path") or not entry.get("log_group_name"):
            raise ConfigError("every collect_list entry needs file_path and log_group_name")
        files.append(LogFile(str(entry["file_path"]), str(entry["log_group_name"]),
                             str(entry.get("log_stream_name") or "{instance_id}")))
    return AgentConfig(
        namespace=str(metrics.get("namespace") or DEFAULT_NAMESPACE),
        interval=float(interval),
        mem=_measurements("mem", collected.get("mem")),
        disk=_measurements("disk", collected.get("disk")),
        disk_resources=tuple(str(r) for r in ((collected.get("disk") or {}).get("resources") or ["/"])),
        append_dimensions={str(k): str(v) for k, v in (metrics.get("append_dimensions") or {}).items()},
        files=tuple(files),
    )


def unit(metric: str) -> str:
    return _UNITS.get(metric.rsplit("_", 1)[-1], "None")


def dimensions(config: AgentConfig, instance: dict[str, Any], group: str | None) -> dict[str, str]:
    """The dimensions of every metric of this instance (before disk's own)."""
    if not config.append_dimensions:
        return {"host": str(instance.get("PrivateDnsName") or instance["InstanceId"])}
    values = {
        "${aws:InstanceId}": instance["InstanceId"], "${aws:InstanceType}": instance.get("InstanceType", ""),
        "${aws:ImageId}": instance.get("ImageId", ""), "${aws:AutoScalingGroupName}": group or "",
    }
    out = {k: values.get(v, v) for k, v in config.append_dimensions.items()}
    return {k: v for k, v in out.items() if v}


def stream_name(template: str, instance: dict[str, Any]) -> str:
    ip = str(instance.get("PrivateIpAddress") or "")
    return (template.replace("{instance_id}", instance["InstanceId"])
            .replace("{hostname}", str(instance.get("PrivateDnsName") or ""))
            .replace("{ip_address}", ip))


def mem_values(used: int, total: int) -> dict[str, float]:
    total = max(1, total)
    return {"mem_used_percent": used * 100.0 / total, "mem_available_percent": (total - used) * 100.0 / total,
            "mem_used": float(used), "mem_total": float(total), "mem_available": float(total - used)}


def parse_df(text: str) -> tuple[dict[str, float], dict[str, str]] | None:
    """``df -P <path>`` → (values of disk_*, {device, path}); None when unreadable."""
    lines = [ln.split() for ln in text.strip().splitlines()[1:] if ln.strip()]
    if not lines or len(lines[-1]) < 6:
        return None
    fields = lines[-1]
    try:
        used, avail = int(fields[-4]) * 1024, int(fields[-3]) * 1024
    except ValueError:
        return None
    total = used + avail
    percent = used * 100.0 / total if total else 0.0
    values = {"disk_used_percent": percent, "disk_used": float(used), "disk_free": float(avail),
              "disk_total": float(total)}
    return values, {"device": fields[0], "path": fields[-1]}


def complete_lines(chunk: bytes) -> tuple[list[str], int]:
    """The complete lines of a tailed chunk and how many bytes they take."""
    end = chunk.rfind(b"\n")
    if end < 0:
        return [], 0
    text = chunk[: end + 1].decode("utf-8", errors="replace")
    return [ln for ln in text.split("\n")[:-1] if ln.strip()], end + 1
