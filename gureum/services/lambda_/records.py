"""Where Lambda keeps its records, and how a reference finds its configuration.

Kinds, per account and region scope:

================  ==========================  ==================================================
kind              key                         document
================  ==========================  ==================================================
lambda.function   ``<name>``                  ``Configuration`` ($LATEST), ``Tags``,
                                              ``Policies`` (qualifier → statements),
                                              ``LastVersion`` (highest version number issued)
lambda.version    ``<name>:<n, 10 digits>``   ``Configuration`` of published version n
lambda.alias      ``<name>:<alias>``          the alias (``AliasArn``, ``Name``,
                                              ``FunctionVersion``, ``RoutingConfig``…)
================  ==========================  ==================================================

Names cannot hold ``:``, so ``<name>:`` prefixes list exactly one function's
versions or aliases.  Version numbers are never reused, even after a version
is deleted (``LastVersion`` only grows), as on AWS.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.lambda_.names import LATEST, is_version, not_found

FUNCTION = "lambda.function"
VERSION = "lambda.version"
ALIAS = "lambda.alias"

Doc = dict[str, Any]


def version_key(name: str, number: int | str) -> str:
    return f"{name}:{int(number):010d}"


def alias_key(name: str, alias: str) -> str:
    return f"{name}:{alias}"


def sha_hex(cfg: Doc) -> str:
    return base64.b64decode(cfg["CodeSha256"]).hex()


def get_function(store: Store, scope: Scope, name: str, qualifier: str | None = None) -> Doc:
    doc = store.get(FUNCTION, scope, name)
    if doc is None:
        raise not_found(scope.account, scope.region, name, qualifier)
    return doc


def get_version(store: Store, scope: Scope, name: str, version: str) -> Doc:
    doc = store.get(VERSION, scope, version_key(name, version)) if is_version(version) else None
    if doc is None:
        raise not_found(scope.account, scope.region, name, version)
    return doc


def list_versions(store: Store, scope: Scope, name: str) -> list[Doc]:
    return [d["Configuration"] for _, d in store.list(VERSION, scope, prefix=f"{name}:")]


def get_alias(store: Store, scope: Scope, name: str, alias: str) -> Doc | None:
    return store.get(ALIAS, scope, alias_key(name, alias))


def list_aliases(store: Store, scope: Scope, name: str) -> list[Doc]:
    return [d for _, d in store.list(ALIAS, scope, prefix=f"{name}:")]


def code_digests(store: Store, scope: Scope, name: str) -> set[str]:
    """Every package digest (hex) that $LATEST or a version of ``name`` still names."""
    keep = {sha_hex(cfg) for cfg in list_versions(store, scope, name)}
    doc = store.get(FUNCTION, scope, name)
    if doc is not None:
        keep.add(sha_hex(doc["Configuration"]))
    return keep


@dataclass(frozen=True, slots=True)
class Target:
    """What an invocation (or a qualified read) resolves to."""

    function: Doc  # the lambda.function document
    config: Doc  # the configuration that runs
    version: str  # "$LATEST" or "<n>": the executed version
    invoked_arn: str  # the ARN the caller named (with its alias, if any)
    qualifier: str | None  # as the caller gave it


def resolve(
    store: Store, scope: Scope, name: str, qualifier: str | None, pick: Callable[[], float] = random.random
) -> Target:
    """The configuration a reference names; an alias with weights picks a version by ``pick()``."""
    fn = get_function(store, scope, name, qualifier)
    latest = fn["Configuration"]
    arn = latest["FunctionArn"] + (f":{qualifier}" if qualifier else "")
    if qualifier in (None, LATEST):
        return Target(fn, latest, LATEST, arn, qualifier)
    assert qualifier is not None
    if is_version(qualifier):
        cfg = get_version(store, scope, name, qualifier)["Configuration"]
        return Target(fn, cfg, qualifier, arn, qualifier)
    alias = get_alias(store, scope, name, qualifier)
    if alias is None:
        raise not_found(scope.account, scope.region, name, qualifier)
    version = choose_version(alias, pick())
    cfg = latest if version == LATEST else get_version(store, scope, name, version)["Configuration"]
    return Target(fn, cfg, version, arn, qualifier)


def choose_version(alias: Doc, draw: float) -> str:
    """The version an alias routes one invocation to, for a uniform ``draw`` in [0, 1)."""
    weights = ((alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")) or {}
    for version, weight in sorted(weights.items()):
        if draw < weight:
            return str(version)
        draw -= weight
    return str(alias["FunctionVersion"])
