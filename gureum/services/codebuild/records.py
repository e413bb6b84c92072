"""Where CodeBuild keeps its records, their names and ARNs, and its errors.

Kinds, per account and region:

==================  ====================  ================================================
kind                key                   document
==================  ====================  ================================================
codebuild.project   ``<name>``            the Project as the API shows it
codebuild.counter   ``<project name>``    ``{"next": n}``: the next build number
codebuild.build     ``<project>:<uuid>``  the Build as the API shows it, plus ``_run``:
                                          what the runner needs (stop flag, deadline,
                                          source to fetch, buildspec, env carried)
codebuild.active    ``<build id>``        present while the build runs (the runner's
                                          work list; also what brings CodeBuild back
                                          after a restart, see ``RESUME``)
codebuild.report    ``<report arn>``      a report recorded from the buildspec ``reports``
==================  ====================  ================================================

Members whose names start with ``_`` never leave through the API
(:func:`public_view`).
"""

from __future__ import annotations

import re
from typing import Any

from gureum.core.errors import ServiceError, ValidationError
from gureum.core.store import Scope, Store

PROJECT = "codebuild.project"
COUNTER = "codebuild.counter"
BUILD = "codebuild.build"
ACTIVE = "codebuild.active"
REPORT = "codebuild.report"

Doc = dict[str, Any]

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9\-_]{1,149}"
_NAME = re.compile(NAME_PATTERN + r"\Z")


def project_arn(scope: Scope, name: str) -> str:
    return f"arn:aws:codebuild:{scope.region}:{scope.account}:project/{name}"


def build_arn(scope: Scope, build_id: str) -> str:
    return f"arn:aws:codebuild:{scope.region}:{scope.account}:build/{build_id}"


def report_group_arn(scope: Scope, project: str, group: str) -> str:
    return f"arn:aws:codebuild:{scope.region}:{scope.account}:report-group/{project}-{group}"


def public_view(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {NAME_PATTERN}"
        )


# -- errors ----------------------------------------------------------------------------------


def invalid_input(message: str) -> ServiceError:
    return ServiceError("InvalidInputException", message, 400, sender_fault=True)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 400, sender_fault=True)


def already_exists(message: str) -> ServiceError:
    return ServiceError("ResourceAlreadyExistsException", message, 400, sender_fault=True)


# -- lookups -----------------------------------------------------------------------------------


def name_of(value: str) -> str:
    """A project name from a name or a project ARN (CodeBuild takes either)."""
    if value.startswith("arn:") and ":project/" in value:
        return value.split(":project/", 1)[1]
    return value


def build_id_of(value: str) -> str:
    """A build id from an id or a build ARN."""
    if value.startswith("arn:") and ":build/" in value:
        return value.split(":build/", 1)[1]
    return value


def get_project(store: Store, scope: Scope, name: str) -> Doc | None:
    return store.get(PROJECT, scope, name_of(name))


def require_project(store: Store, scope: Scope, name: str) -> Doc:
    doc = get_project(store, scope, name)
    if doc is None:
        raise not_found(f"Project cannot be found: {project_arn(scope, name_of(name))}")
    return doc


def get_build(store: Store, scope: Scope, build_id: str) -> Doc | None:
    return store.get(BUILD, scope, build_id_of(build_id))


def next_build_number(store: Store, scope: Scope, project: str) -> int:
    with store.transaction():
        doc = store.get(COUNTER, scope, project) or {"next": 1}
        number = int(doc["next"])
        store.put(COUNTER, scope, project, {"next": number + 1})
    return number


# -- runner keys ----------------------------------------------------------------------------------


def runner_key(scope: Scope, build_id: str) -> str:
    return f"{scope.account}/{scope.region}/{build_id}"


def split_runner_key(key: str) -> tuple[Scope, str]:
    account, region, build_id = key.split("/", 2)
    return Scope(account, region), build_id


def active_keys(store: Store) -> list[str]:
    keys: list[str] = []
    for scope in store.list_scopes(ACTIVE):
        keys.extend(runner_key(scope, k) for k, _ in store.list(ACTIVE, scope))
    return keys
