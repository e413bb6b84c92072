"""What a build's shell sessions see: image and environment variables.  Pure: no I/O.

Images: CodeBuild's curated images (``aws/codebuild/standard:7.0``,
``aws/codebuild/amazonlinux2-x86_64-standard:5.0``,
``public.ecr.aws/codebuild/…``) cannot be pulled here, so they run as
``gureum/busybox:latest`` — on the docker driver a FROM-scratch busybox
(``sh`` and the busybox applets, no python), on the process driver the
host's programs with the busybox applets first on ``PATH``.  Any other image
is used as named.

Variables, later sources winning (CodeBuild's precedence: StartBuild
override > project > buildspec): buildspec ``env.variables``, the build's
PLAINTEXT environment variables (project merged with overrides at
StartBuild), then CodeBuild's own (``CODEBUILD_*``, ``AWS_REGION``…).
PARAMETER_STORE and SECRETS_MANAGER values cannot be resolved by Gureum:
:func:`unresolvable` names them so the build fails saying so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gureum.services.codebuild.buildspec import Buildspec

BUILD_IMAGE = "gureum/busybox:latest"
_CURATED = ("aws/codebuild/", "public.ecr.aws/codebuild/")


def runtime_image(image: str) -> str:
    return BUILD_IMAGE if image.startswith(_CURATED) else image


def merge_variables(base: Iterable[dict[str, Any]], overrides: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The project's variables with StartBuild's overrides applied by name (order kept)."""
    out: dict[str, dict[str, Any]] = {}
    for var in list(base) + list(overrides or []):
        out[var["name"]] = {"name": var["name"], "value": var.get("value", ""), "type": var.get("type") or "PLAINTEXT"}
    return list(out.values())


def unresolvable(variables: Iterable[dict[str, Any]], spec: Buildspec | None = None) -> str | None:
    """A message naming variables Gureum cannot resolve, or None."""
    names = [f"{v['name']} ({v['type']} {v.get('value', '')})" for v in variables if v.get("type", "PLAINTEXT") != "PLAINTEXT"]
    if spec is not None:
        names += [f"{k} (parameter-store {v})" for k, v in spec.parameter_store]
        names += [f"{k} (secrets-manager {v})" for k, v in spec.secrets_manager]
    if not names:
        return None
    return (
        "Gureum has no Systems Manager Parameter Store or Secrets Manager to resolve "
        f"{', '.join(names)}: use PLAINTEXT variables"
    )


def build_environment(
    build: dict[str, Any],
    spec: Buildspec | None,
    *,
    src_dir: str,
    succeeding: bool,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    env: dict[str, str] = {}
    if spec is not None:
        env.update(dict(spec.variables))
    for var in build.get("environment", {}).get("environmentVariables", []):
        if var.get("type", "PLAINTEXT") == "PLAINTEXT":
            env[var["name"]] = str(var.get("value", ""))
    region = build["arn"].split(":")[3]
    env.update(
        {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "CODEBUILD_BUILD_ARN": build["arn"],
            "CODEBUILD_BUILD_ID": build["id"],
            "CODEBUILD_BUILD_IMAGE": build.get("environment", {}).get("image", ""),
            "CODEBUILD_BUILD_NUMBER": str(build["buildNumber"]),
            "CODEBUILD_BUILD_SUCCEEDING": "1" if succeeding else "0",
            "CODEBUILD_INITIATOR": build.get("initiator", ""),
            "CODEBUILD_KMS_KEY_ID": build.get("encryptionKey", ""),
            "CODEBUILD_LOG_PATH": build.get("logs", {}).get("streamName", ""),
            "CODEBUILD_RESOLVED_SOURCE_VERSION": build.get("resolvedSourceVersion", ""),
            "CODEBUILD_SOURCE_VERSION": build.get("sourceVersion", ""),
            "CODEBUILD_SRC_DIR": src_dir,
            "CODEBUILD_START_TIME": str(int(float(build["startTime"]) * 1000)),
        }
    )
    env.update(extra or {})
    return env
