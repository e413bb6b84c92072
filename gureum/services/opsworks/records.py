"""OpsWorks records in the store: kinds, ids, ARNs, errors and lookups.

Every OpsWorks resource is one document in the scope (account, region) of
the request that made it, keyed by its id (a UUID, as OpsWorks' ids are):

=====================  ==========================================================
kind                   document
=====================  ==========================================================
``opsworks.stack``     the Stack as DescribeStacks shows it (+ ``_`` private fields)
``opsworks.layer``     the Layer (+ ``_lbas``: its load-based scaling configuration)
``opsworks.instance``  the Instance (+ the controller's ``_`` fields: heartbeat, boot…)
``opsworks.app``       the App
``opsworks.deployment`` the Deployment (its Status is computed from its commands)
``opsworks.command``   one Command (+ what it runs: ``_recipes``, ``_app`` snapshot…)
``opsworks.command-log`` ``{"text": …}`` the log of a finished command (LogUrl)
``opsworks.service-error`` a ServiceError (auto-healing, start failures)
``opsworks.elb``       a load balancer attachment, keyed by its name
``opsworks.tags``      ``{"Tags": {…}}`` keyed by the resource ARN
``opsworks.cookbooks`` a custom cookbooks snapshot, keyed by its sha256
``opsworks.ec2``       EC2 instance id → the OpsWorks instance (bus events)
=====================  ==========================================================

Fields starting with ``_`` never leave Gureum (:func:`public`).  Controller
keys carry their scope: ``account|region|id``.  Pure apart from store reads.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope, Store

Doc = dict[str, Any]

STACK = "opsworks.stack"
LAYER = "opsworks.layer"
INSTANCE = "opsworks.instance"
APP = "opsworks.app"
DEPLOYMENT = "opsworks.deployment"
COMMAND = "opsworks.command"
COMMAND_LOG = "opsworks.command-log"
SERVICE_ERROR = "opsworks.service-error"
ELB = "opsworks.elb"
TAGS = "opsworks.tags"
COOKBOOKS = "opsworks.cookbooks"
EC2_INDEX = "opsworks.ec2"

INSTANCE_CONTROLLER = "opsworks.instance"
SCALER_CONTROLLER = "opsworks.scaler"

# The agent version Gureum's agent reports (DescribeAgentVersions lists it first).
AGENT_VERSION = "4039-20200430042739"


# -- ids, keys, times ---------------------------------------------------------------


def new_id() -> str:
    return str(uuid.uuid4())


def scoped_key(scope: Scope, key: str) -> str:
    return f"{scope.account}|{scope.region}|{key}"


def split_scoped_key(skey: str) -> tuple[Scope, str]:
    account, region, key = skey.split("|", 2)
    return Scope(account, region), key


def iso(epoch: float) -> str:
    """OpsWorks' DateTime strings: ``2013-01-17T18:49:03+00:00``."""
    return datetime.fromtimestamp(int(epoch), UTC).isoformat()


def stack_arn(scope: Scope, stack_id: str) -> str:
    return f"arn:aws:opsworks:{scope.region}:{scope.account}:stack/{stack_id}/"


def layer_arn(scope: Scope, layer_id: str) -> str:
    return f"arn:aws:opsworks:{scope.region}:{scope.account}:layer/{layer_id}"


def instance_arn(scope: Scope, instance_id: str) -> str:
    return f"arn:aws:opsworks:{scope.region}:{scope.account}:instance/{instance_id}"


def public(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


# -- errors ----------------------------------------------------------------------------


def not_found(what: str, ident: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Unable to find {what} with ID {ident}", 400,
                        sender_fault=True)


def invalid(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400, sender_fault=True)


def check_json(value: str | None, member: str) -> None:
    """CustomJson members must hold a JSON object."""
    if value is None or value == "":
        return
    try:
        parsed = json.loads(value)
    except ValueError:
        raise invalid(f"{member} must be a valid JSON object: {value[:80]!r}") from None
    if not isinstance(parsed, dict):
        raise invalid(f"{member} must be a JSON object")


def json_object(value: str | None) -> Doc:
    """A CustomJson member as a dict ({} when unset or not an object)."""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


# -- lookups ----------------------------------------------------------------------------


def get_stack(store: Store, scope: Scope, stack_id: str | None) -> Doc:
    doc = store.get(STACK, scope, stack_id) if stack_id else None
    if doc is None:
        raise not_found("stack", str(stack_id))
    return doc


def get_layer(store: Store, scope: Scope, layer_id: str | None) -> Doc:
    doc = store.get(LAYER, scope, layer_id) if layer_id else None
    if doc is None:
        raise not_found("layer", str(layer_id))
    return doc


def get_instance(store: Store, scope: Scope, instance_id: str | None) -> Doc:
    doc = store.get(INSTANCE, scope, instance_id) if instance_id else None
    if doc is None:
        raise not_found("instance", str(instance_id))
    return doc


def get_app(store: Store, scope: Scope, app_id: str | None) -> Doc:
    doc = store.get(APP, scope, app_id) if app_id else None
    if doc is None:
        raise not_found("app", str(app_id))
    return doc


def of_stack(store: Store, kind: str, scope: Scope, stack_id: str) -> list[Doc]:
    """Documents of ``kind`` belonging to a stack, oldest first."""
    docs = [d for _, d in store.list(kind, scope) if d.get("StackId") == stack_id]
    return sorted(docs, key=lambda d: (d.get("_created", 0.0), d.get("_order", 0)))


def layers_of(store: Store, scope: Scope, instance: Doc) -> list[Doc]:
    out = []
    for lid in instance.get("LayerIds") or []:
        doc = store.get(LAYER, scope, lid)
        if doc is not None:
            out.append(doc)
    return out


def instances_of_layer(store: Store, scope: Scope, layer_id: str) -> list[Doc]:
    docs = [d for _, d in store.list(INSTANCE, scope) if layer_id in (d.get("LayerIds") or [])]
    return sorted(docs, key=lambda d: d.get("_created", 0.0))
