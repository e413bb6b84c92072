"""One Settings object: command-line flags over ``GUREUM_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from gureum.core.ids import DEFAULT_ACCOUNT


def _default_data_dir() -> str:
    return str(Path.home() / ".gureum")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: str = field(default_factory=_default_data_dir)
    runtime: str = "auto"  # auto | docker | process
    time_scale: float = 1.0
    default_account: str = DEFAULT_ACCOUNT
    default_region: str = "us-east-1"
    log_level: str = "info"
    # Largest non-streamed request body accepted (streamed S3 uploads are not limited by this).
    max_body_size: int = 16 * 1024 * 1024
    # Largest single S3 object or part accepted through a streamed upload.
    max_object_size: int = 5 * 1024 * 1024 * 1024
    # ECR registry (/v2/): "optional" serves anonymous pulls and pushes, "required" wants docker login.
    ecr_auth: str = "optional"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``GUREUM_<FIELD>`` variables, then non-None overrides."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("GUREUM_" + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.type, raw, f.name)
        for k, v in overrides.items():
            if v is not None:
                values[k] = v
        s = cls(**values)  # type: ignore[arg-type]
        s.validate()
        return s

    def validate(self) -> None:
        if self.runtime not in ("auto", "docker", "process"):
            raise ValueError(f"runtime must be auto, docker or process, not {self.runtime!r}")
        if not (0 <= self.port <= 65535):
            raise ValueError(f"port out of range: {self.port}")
        if self.time_scale <= 0:
            raise ValueError("time-scale must be positive")
        if not (len(self.default_account) == 12 and self.default_account.isdigit()):
            raise ValueError("default account must be 12 digits")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def endpoint(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def _coerce(typ: object, raw: str, name: str) -> object:
    t = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if t == "int":
            return int(raw)
        if t == "float":
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"GUREUM_{name.upper()}={raw!r} is not a number") from exc
    return raw
