"""Pure translations between Gureum's runtime values and the Docker Engine API's.

No I/O here: dicts in, values out, so each rule is a table test.

* :func:`create_kwargs` — a :class:`ContainerSpec` as keyword arguments of
  the SDK's ``containers.create`` (ports published on the spec's private
  IP, or on 127.0.0.1 when it has none: never on every interface).
* :func:`state_from_inspect` — ``GET /containers/{id}/json`` → state.  A
  container whose start failed stays "created" in Docker with an ``Error``
  and exit code 127/126; we report it ``exited`` so a controller sees a
  finished container with its reason.
* :func:`stats_from_raw` — the CPU % and memory ``docker stats`` shows:
  CPU = container delta / system delta × online CPUs × 100; memory = usage
  minus inactive page cache (``total_inactive_file`` on cgroup v1,
  ``inactive_file`` on v2).
* :func:`event_from_raw` — ``/events`` messages for start/die/oom/health.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from gureum.runtime.base import (
    PRIVATE_IP_ENV,
    ContainerSpec,
    ContainerState,
    Event,
    EventKind,
    Health,
    PublishedPort,
    Stats,
    Status,
)

PRIVATE_IP_LABEL = "gureum.private-ip"
_NS = 1_000_000_000
_EVENT_ATTRS = {"name", "image", "exitCode", "signal", "execDuration"}


def split_image(image: str) -> tuple[str, str]:
    """``host:5000/repo:tag`` → (``host:5000/repo``, ``tag``); no tag → ``latest``."""
    if "@" in image:
        return image, ""
    repo, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, "latest"
    return repo, tag


def create_kwargs(spec: ContainerSpec, labels: dict[str, str]) -> dict[str, Any]:
    env = dict(spec.env)
    labels = dict(labels)
    if spec.ip:
        env.setdefault(PRIVATE_IP_ENV, spec.ip)
        labels[PRIVATE_IP_LABEL] = spec.ip
    host_ip = spec.ip or "127.0.0.1"
    kw: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "labels": labels,
        "environment": env,
        "detach": True,
        "ports": {f"{p.container_port}/{p.protocol}": (host_ip, p.host_port or None) for p in spec.ports},
    }
    optional = {
        "command": list(spec.command) if spec.command is not None else None,
        "entrypoint": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "working_dir": spec.working_dir,
        "user": spec.user,
        "hostname": spec.hostname,
        "nano_cpus": int(spec.cpus * _NS) if spec.cpus else None,
        "mem_limit": spec.memory_bytes,
        "memswap_limit": spec.memory_bytes,  # no swap beyond the limit, as on ECS by default
        "mem_reservation": spec.memory_reservation_bytes,
        "read_only": spec.read_only or None,
        "ulimits": [{"name": u.name, "soft": u.soft, "hard": u.hard} for u in spec.ulimits] or None,
        # The Mounts API, not "src:dst" binds: a path may hold a colon.
        "mounts": [
            {"Type": "bind", "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
            for m in spec.mounts
        ] or None,
    }
    kw.update({k: v for k, v in optional.items() if v is not None})
    if spec.healthcheck is not None:
        hc = spec.healthcheck
        kw["healthcheck"] = {
            "test": list(hc.test),
            "interval": int(hc.interval * _NS),
            "timeout": int(hc.timeout * _NS),
            "retries": hc.retries,
            "start_period": int(hc.start_period * _NS),
        }
    return kw


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


def parse_time(value: str | None) -> float | None:
    """RFC 3339 with nanoseconds → epoch seconds; Docker's zero time → None."""
    if not value or value.startswith("0001-01-01"):
        return None
    m = _RFC3339.fullmatch(value)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    base, frac, tz = m.groups()
    offset = "+00:00" if tz in (None, "Z") else tz
    stamp = datetime.fromisoformat(base + offset).timestamp()
    return stamp + (float("0." + frac) if frac else 0.0)


_STATUS = {
    "created": Status.CREATED,
    "running": Status.RUNNING,
    "paused": Status.RUNNING,
    "restarting": Status.RUNNING,
}


def state_from_inspect(attrs: dict[str, Any]) -> ContainerState:
    st = attrs.get("State") or {}
    cfg = attrs.get("Config") or {}
    labels = dict(cfg.get("Labels") or {})
    status = _STATUS.get(str(st.get("Status", "")), Status.EXITED)
    error = str(st.get("Error") or "")
    exit_code: int | None = int(st.get("ExitCode") or 0)
    if status is Status.CREATED and error:
        status = Status.EXITED  # the start failed: it will never run
    elif status is not Status.EXITED:
        exit_code = None
    health = str((st.get("Health") or {}).get("Status") or "")
    return ContainerState(
        id=str(attrs.get("Id", "")),
        name=str(attrs.get("Name", "")).lstrip("/"),
        image=str(cfg.get("Image", "")),
        status=status,
        labels=labels,
        exit_code=exit_code,
        pid=int(st.get("Pid") or 0) or None,
        created_at=parse_time(attrs.get("Created")),
        started_at=parse_time(st.get("StartedAt")),
        finished_at=parse_time(st.get("FinishedAt")),
        error=error,
        ip=labels.get(PRIVATE_IP_LABEL),
        ports=published_ports((attrs.get("NetworkSettings") or {}).get("Ports") or {}),
        health=Health(health) if health in Health._value2member_map_ else None,
        oom_killed=bool(st.get("OOMKilled")),
    )


def published_ports(ports: dict[str, Any]) -> tuple[PublishedPort, ...]:
    out = []
    for key, bindings in sorted(ports.items()):
        port, _, proto = key.partition("/")
        for b in bindings or ():
            out.append(PublishedPort(int(port), proto or "tcp", str(b["HostIp"]), int(b["HostPort"])))
    return tuple(out)


def stats_from_raw(raw: dict[str, Any]) -> Stats:
    cpu = raw.get("cpu_stats") or {}
    pre = raw.get("precpu_stats") or {}
    usage = (cpu.get("cpu_usage") or {}).get("total_usage") or 0
    pre_usage = (pre.get("cpu_usage") or {}).get("total_usage") or 0
    system = cpu.get("system_cpu_usage") or 0
    pre_system = pre.get("system_cpu_usage") or 0
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()) or 1
    cpu_delta, system_delta = usage - pre_usage, system - pre_system
    percent = cpu_delta / system_delta * online * 100.0 if cpu_delta > 0 and system_delta > 0 else 0.0
    mem = raw.get("memory_stats") or {}
    detail = mem.get("stats") or {}
    used = int(mem.get("usage") or 0)
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0)) or 0
    if inactive < used:
        used -= int(inactive)
    limit = mem.get("limit")
    return Stats(
        cpu_percent=round(percent, 3) if math.isfinite(percent) else 0.0,
        memory_bytes=used,
        memory_limit=int(limit) if limit else None,
        online_cpus=int(online),
    )


def event_from_raw(raw: dict[str, Any]) -> Event | None:
    if raw.get("Type") != "container":
        return None
    action = str(raw.get("Action") or raw.get("status") or "")
    actor = raw.get("Actor") or {}
    attrs = dict(actor.get("Attributes") or {})
    health: Health | None = None
    if action.startswith("health_status"):
        kind = EventKind.HEALTH
        value = action.partition(":")[2].strip()
        health = Health(value) if value in Health._value2member_map_ else None
    elif action in ("start", "die", "oom"):
        kind = EventKind(action)
    else:
        return None
    code = attrs.get("exitCode")
    nano = raw.get("timeNano")
    return Event(
        kind=kind,
        container_id=str(actor.get("ID") or raw.get("id") or ""),
        name=str(attrs.get("name", "")),
        labels={k: str(v) for k, v in attrs.items() if k not in _EVENT_ATTRS},
        time=nano / _NS if nano else float(raw.get("time") or 0),
        exit_code=int(code) if code not in (None, "") else None,
        health=health,
    )


def split_log_line(text: str) -> tuple[float | None, str]:
    """``2024-05-01T10:00:00.123456789Z hello`` → (epoch, ``hello``)."""
    stamp, sep, rest = text.partition(" ")
    if sep and len(stamp) >= 20 and stamp[4] == "-" and "T" in stamp:
        try:
            return parse_time(stamp), rest
        except ValueError:
            pass
    return None, text
