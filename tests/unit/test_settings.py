"""Settings: defaults, GUREUM_* environment, flags over environment, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from gureum.settings import Settings


def test_defaults_without_environment() -> None:
    s = Settings.from_env({})
    assert (s.host, s.port, s.runtime, s.time_scale) == ("127.0.0.1", 4566, "auto", 1.0)
    assert s.default_account == "000000000000" and s.default_region == "us-east-1"
    assert s.data_path == Path.home() / ".gureum"
    assert s.endpoint == "http://127.0.0.1:4566"


def test_environment_sets_and_coerces_every_field() -> None:
    env = {
        "GUREUM_HOST": "0.0.0.0",
        "GUREUM_PORT": "5000",
        "GUREUM_DATA_DIR": "/tmp/g",
        "GUREUM_RUNTIME": "process",
        "GUREUM_TIME_SCALE": "60",
        "GUREUM_DEFAULT_ACCOUNT": "123456789012",
        "GUREUM_DEFAULT_REGION": "eu-central-1",
        "GUREUM_LOG_LEVEL": "debug",
        "GUREUM_MAX_BODY_SIZE": "1024",
    }
    s = Settings.from_env(env)
    assert s.port == 5000 and isinstance(s.port, int)
    assert s.time_scale == 60.0 and isinstance(s.time_scale, float)
    assert s.max_body_size == 1024
    assert (s.host, s.data_dir, s.runtime) == ("0.0.0.0", "/tmp/g", "process")
    assert (s.default_account, s.default_region, s.log_level) == ("123456789012", "eu-central-1", "debug")
    # A wildcard listen address is reached on loopback.
    assert s.endpoint == "http://127.0.0.1:5000"


def test_flags_win_over_environment_and_none_means_not_given() -> None:
    env = {"GUREUM_PORT": "5000", "GUREUM_TIME_SCALE": "10", "GUREUM_RUNTIME": "docker"}
    s = Settings.from_env(env, port=6000, time_scale=None, runtime="process")
    assert s.port == 6000  # flag
    assert s.time_scale == 10.0  # env, since the flag was not given
    assert s.runtime == "process"


def test_empty_and_unknown_variables_are_ignored() -> None:
    s = Settings.from_env({"GUREUM_PORT": "", "GUREUM_NOPE": "1", "PORT": "1"})
    assert s.port == 4566


def test_data_dir_expands_home() -> None:
    s = Settings.from_env({"GUREUM_DATA_DIR": "~/somewhere"})
    assert s.data_path == Path.home() / "somewhere"


def test_ipv6_host_endpoint_is_bracketed() -> None:
    assert Settings.from_env({"GUREUM_HOST": "::1", "GUREUM_PORT": "4567"}).endpoint == "http://[::1]:4567"
    assert Settings.from_env({"GUREUM_HOST": "::"}).endpoint == "http://127.0.0.1:4566"


@pytest.mark.parametrize(
    ("env", "overrides", "fragment"),
    [
        ({"GUREUM_PORT": "abc"}, {}, "GUREUM_PORT='abc' is not a number"),
        ({"GUREUM_TIME_SCALE": "fast"}, {}, "GUREUM_TIME_SCALE"),
        ({"GUREUM_TIME_SCALE": "0"}, {}, "time-scale must be positive"),
        ({}, {"time_scale": -2.0}, "time-scale must be positive"),
        ({"GUREUM_RUNTIME": "kubernetes"}, {}, "runtime must be auto, docker or process"),
        ({}, {"port": 70000}, "port out of range"),
        ({"GUREUM_PORT": "-1"}, {}, "port out of range"),
        ({"GUREUM_DEFAULT_ACCOUNT": "12345"}, {}, "12 digits"),
        ({}, {"default_account": "abcdefghijkl"}, "12 digits"),
    ],
)
def test_invalid_values_are_rejected_with_a_clear_message(env: dict[str, str], overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        Settings.from_env(env, **overrides)
    assert fragment in str(info.value)


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUREUM_PORT", "4999")
    assert Settings.from_env().port == 4999
