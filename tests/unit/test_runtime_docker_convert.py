"""Docker Engine API payloads ↔ runtime values (pure; payloads as the engine sends them)."""

from __future__ import annotations

import pytest

from gureum.runtime.base import (
    ContainerSpec,
    EventKind,
    Health,
    HealthCheck,
    PortMapping,
    PublishedPort,
    Status,
    Ulimit,
)
from gureum.runtime.docker_convert import (
    create_kwargs,
    event_from_raw,
    parse_time,
    split_image,
    split_log_line,
    state_from_inspect,
    stats_from_raw,
)

ZERO = "0001-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", 1714557600.0),
        ("2024-05-01T10:00:00.5Z", 1714557600.5),
        ("2024-05-01T10:00:00.123456789Z", 1714557600.123456789),
        ("2024-05-01T12:00:00+02:00", 1714557600.0),
        (ZERO, None),
        ("", None),
    ],
)
def test_parse_time(text: str, expected: float | None) -> None:
    got = parse_time(text)
    assert got == pytest.approx(expected) if expected is not None else got is None


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("busybox", ("busybox", "latest")),
        ("gureum/busybox:1.36", ("gureum/busybox", "1.36")),
        ("127.0.0.1:4566/team/app", ("127.0.0.1:4566/team/app", "latest")),
        ("127.0.0.1:4566/team/app:v2", ("127.0.0.1:4566/team/app", "v2")),
        ("repo@sha256:abc", ("repo@sha256:abc", "")),
    ],
)
def test_split_image(image: str, expected: tuple[str, str]) -> None:
    assert split_image(image) == expected


def test_create_kwargs_publish_on_the_private_ip_with_limits() -> None:
    spec = ContainerSpec(
        name="t1", image="gureum/busybox", owner="arn:o", command=("httpd", "-f"), env={"A": "1"},
        ip="127.0.1.7", ports=(PortMapping(80, 80), PortMapping(53, None, "udp"), PortMapping(8080, 0)),
        cpus=0.25, memory_bytes=512 << 20, ulimits=(Ulimit("nofile", 100, 200),),
        healthcheck=HealthCheck(("CMD-SHELL", "true"), interval=5, timeout=2, retries=4, start_period=1.5),
    )
    kw = create_kwargs(spec, {"gureum.owner": "arn:o"})
    assert kw["ports"] == {"80/tcp": ("127.0.1.7", 80), "53/udp": ("127.0.1.7", None), "8080/tcp": ("127.0.1.7", None)}
    assert kw["nano_cpus"] == 250_000_000 and kw["mem_limit"] == kw["memswap_limit"] == 512 << 20
    assert kw["environment"] == {"A": "1", "GUREUM_PRIVATE_IP": "127.0.1.7"}
    assert kw["labels"] == {"gureum.owner": "arn:o", "gureum.private-ip": "127.0.1.7"}
    assert kw["healthcheck"] == {"test": ["CMD-SHELL", "true"], "interval": 5_000_000_000, "timeout": 2_000_000_000, "retries": 4, "start_period": 1_500_000_000}
    assert kw["ulimits"] == [{"name": "nofile", "soft": 100, "hard": 200}]
    assert kw["command"] == ["httpd", "-f"] and "entrypoint" not in kw and "user" not in kw


def test_create_kwargs_without_ip_never_publish_on_every_interface() -> None:
    kw = create_kwargs(ContainerSpec(name="t", image="i", owner="o", ports=(PortMapping(80),)), {})
    assert kw["ports"] == {"80/tcp": ("127.0.0.1", None)}
    assert "command" not in kw and "nano_cpus" not in kw


def _inspect(state: dict, ports: dict | None = None) -> dict:
    return {
        "Id": "abc", "Name": "/web", "Created": "2024-05-01T10:00:00.1Z",
        "Config": {"Image": "gureum/busybox", "Labels": {"gureum.owner": "arn:o", "gureum.private-ip": "127.0.1.9"}},
        "State": {"StartedAt": ZERO, "FinishedAt": ZERO, "Pid": 0, "ExitCode": 0, "Error": "", "OOMKilled": False, **state},
        "NetworkSettings": {"Ports": ports or {}},
    }


def test_state_running_with_ports_and_health() -> None:
    st = state_from_inspect(_inspect(
        {"Status": "running", "Pid": 42, "StartedAt": "2024-05-01T10:00:01Z", "Health": {"Status": "healthy"}},
        {"80/tcp": [{"HostIp": "127.0.1.9", "HostPort": "80"}], "81/tcp": None},
    ))
    assert (st.status, st.pid, st.exit_code, st.health, st.name, st.owner, st.ip) == (
        Status.RUNNING, 42, None, Health.HEALTHY, "web", "arn:o", "127.0.1.9"
    )
    assert st.ports == (PublishedPort(80, "tcp", "127.0.1.9", 80),)
    assert st.started_at == 1714557601.0 and st.finished_at is None and st.created_at == pytest.approx(1714557600.1)


def test_state_exited_oom() -> None:
    st = state_from_inspect(_inspect({"Status": "exited", "ExitCode": 137, "OOMKilled": True, "FinishedAt": "2024-05-01T10:00:02Z"}))
    assert (st.status, st.exit_code, st.oom_killed, st.finished_at) == (Status.EXITED, 137, True, 1714557602.0)


def test_state_created_is_not_exited() -> None:
    st = state_from_inspect(_inspect({"Status": "created"}))
    assert (st.status, st.exit_code, st.error) == (Status.CREATED, None, "")


def test_state_failed_start_reads_as_exited_127() -> None:
    err = 'exec: "nope": executable file not found in $PATH: unknown'
    st = state_from_inspect(_inspect({"Status": "created", "ExitCode": 127, "Error": err}))
    assert (st.status, st.exit_code, st.error) == (Status.EXITED, 127, err)


def test_stats_like_docker_stats_cgroup_v1() -> None:
    raw = {
        "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000, "percpu_usage": [1, 1]}, "system_cpu_usage": 20_000_000_000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000}, "system_cpu_usage": 16_000_000_000},
        "memory_stats": {"usage": 10_000_000, "limit": 67_108_864, "stats": {"total_inactive_file": 2_000_000}},
    }
    s = stats_from_raw(raw)
    # 1 s of CPU in 4 s of system time on 2 CPUs = 50 %
    assert (s.cpu_percent, s.memory_bytes, s.memory_limit, s.online_cpus) == (50.0, 8_000_000, 67_108_864, 2)


def test_stats_of_a_stopped_container_are_zero() -> None:
    s = stats_from_raw({"cpu_stats": {"cpu_usage": {"total_usage": 0}}, "precpu_stats": {}, "memory_stats": {}})
    assert (s.cpu_percent, s.memory_bytes, s.memory_limit, s.online_cpus) == (0.0, 0, None, 1)


def test_stats_cgroup_v2_inactive_file() -> None:
    s = stats_from_raw({"memory_stats": {"usage": 5000, "stats": {"inactive_file": 1000}}})
    assert s.memory_bytes == 4000


def _event(action: str, **attrs: str) -> dict:
    return {"Type": "container", "Action": action, "Actor": {"ID": "abc", "Attributes": {"name": "web", "image": "i", "gureum.owner": "arn:o", **attrs}}, "time": 1714557600, "timeNano": 1714557600_500000000}


def test_events() -> None:
    die = event_from_raw(_event("die", exitCode="137"))
    assert die is not None
    assert (die.kind, die.container_id, die.name, die.exit_code, die.labels, die.time) == (
        EventKind.DIE, "abc", "web", 137, {"gureum.owner": "arn:o"}, 1714557600.5
    )
    health = event_from_raw(_event("health_status: unhealthy"))
    assert health is not None and (health.kind, health.health) == (EventKind.HEALTH, Health.UNHEALTHY)
    oom = event_from_raw(_event("oom"))
    assert oom is not None and oom.kind is EventKind.OOM
    assert event_from_raw(_event("exec_start: sh")) is None
    assert event_from_raw({"Type": "network", "Action": "connect"}) is None


def test_split_log_line() -> None:
    assert split_log_line("2024-05-01T10:00:00.25Z hello world") == (1714557600.25, "hello world")
    assert split_log_line("no stamp here") == (None, "no stamp here")
