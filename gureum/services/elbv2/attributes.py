"""Load balancer and target group attributes: defaults and checks.

Pure.  Each table maps an attribute key to ``(default, check)``; a check
takes the string value and returns an error message or None.  Values stay
strings, as the API carries them; :func:`number` and :func:`flag` read them.

Defaults are AWS's for an Application Load Balancer and its instance/ip
target groups
(https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html,
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupAttribute.html).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[str], str | None]


def _bool(v: str) -> str | None:
    return None if v in ("true", "false") else "must be true or false"


def _int(lo: int, hi: int) -> Check:
    def check(v: str) -> str | None:
        if not re.fullmatch(r"-?\d+", v or ""):
            return "must be an integer"
        return None if lo <= int(v) <= hi else f"must be between {lo} and {hi}"

    return check


def _one_of(*values: str) -> Check:
    def check(v: str) -> str | None:
        return None if v in values else "must be one of " + ", ".join(values)

    return check


def _any(v: str) -> str | None:
    return None


def _slow_start(v: str) -> str | None:
    if not re.fullmatch(r"\d+", v or ""):
        return "must be an integer"
    n = int(v)
    return None if n == 0 or 30 <= n <= 900 else "must be 0 or between 30 and 900"


def _app_cookie_name(v: str) -> str | None:
    if v.startswith(("AWSALB", "AWSALBAPP", "AWSALBTG")):
        return "cannot start with AWSALB, AWSALBAPP or AWSALBTG (reserved)"
    if v and not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,255}", v):
        return "is not a valid cookie name"
    return None


def _percentage(v: str) -> str | None:
    return None if v == "off" or (v.isdigit() and 1 <= int(v) <= 100) else "must be off or 1-100"


LOAD_BALANCER: dict[str, tuple[str, Check]] = {
    "access_logs.s3.enabled": ("false", _bool),
    "access_logs.s3.bucket": ("", _any),
    "access_logs.s3.prefix": ("", _any),
    "connection_logs.s3.enabled": ("false", _bool),
    "connection_logs.s3.bucket": ("", _any),
    "connection_logs.s3.prefix": ("", _any),
    "client_keep_alive.seconds": ("3600", _int(60, 604800)),
    "deletion_protection.enabled": ("false", _bool),
    "idle_timeout.timeout_seconds": ("60", _int(1, 4000)),
    "load_balancing.cross_zone.enabled": ("true", _bool),
    "routing.http.desync_mitigation_mode": ("defensive", _one_of("monitor", "defensive", "strictest")),
    "routing.http.drop_invalid_header_fields.enabled": ("false", _bool),
    "routing.http.preserve_host_header.enabled": ("false", _bool),
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": ("false", _bool),
    "routing.http.xff_client_port.enabled": ("false", _bool),
    "routing.http.xff_header_processing.mode": ("append", _one_of("append", "preserve", "remove")),
    "routing.http2.enabled": ("true", _bool),
    "waf.fail_open.enabled": ("false", _bool),
    "zonal_shift.config.enabled": ("false", _bool),
}

TARGET_GROUP: dict[str, tuple[str, Check]] = {
    "deregistration_delay.timeout_seconds": ("300", _int(0, 3600)),
    "stickiness.enabled": ("false", _bool),
    "stickiness.type": ("lb_cookie", _one_of("lb_cookie", "app_cookie")),
    "stickiness.lb_cookie.duration_seconds": ("86400", _int(1, 604800)),
    "stickiness.app_cookie.cookie_name": ("", _app_cookie_name),
    "stickiness.app_cookie.duration_seconds": ("86400", _int(1, 604800)),
    "slow_start.duration_seconds": ("0", _slow_start),
    "load_balancing.algorithm.type": (
        "round_robin",
        _one_of("round_robin", "least_outstanding_requests", "weighted_random"),
    ),
    "load_balancing.algorithm.anomaly_mitigation": ("off", _one_of("on", "off")),
    "load_balancing.cross_zone.enabled": (
        "use_load_balancer_configuration",
        _one_of("true", "false", "use_load_balancer_configuration"),
    ),
    "target_group_health.dns_failover.minimum_healthy_targets.count": ("1", _int(1, 1000000)),
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": ("off", _percentage),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": ("1", _int(1, 1000000)),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": ("off", _percentage),
}

LAMBDA_TARGET_GROUP: dict[str, tuple[str, Check]] = {
    "lambda.multi_value_headers.enabled": ("false", _bool),
}


def defaults(table: Mapping[str, tuple[str, Check]]) -> dict[str, str]:
    return {k: d for k, (d, _) in table.items()}


def apply(
    table: Mapping[str, tuple[str, Check]], current: Mapping[str, str], changes: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, str], str | None]:
    """The attributes after ``changes`` (``[{"Key", "Value"}]``), or an error."""
    out = dict(current)
    for change in changes:
        key = str(change.get("Key", ""))
        value = str(change.get("Value", ""))
        if key not in table:
            return out, f"Key {key} not valid"
        problem = table[key][1](value)
        if problem:
            return out, f"{key} {problem}"
        out[key] = value
    return out, None


def as_list(attrs: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(attrs.items())]


def number(attrs: Mapping[str, str], key: str, default: float = 0.0) -> float:
    try:
        return float(attrs.get(key, default))
    except ValueError:
        return default


def flag(attrs: Mapping[str, str], key: str) -> bool:
    return attrs.get(key) == "true"
