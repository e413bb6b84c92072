"""ECR control plane: repositories, tokens, lifecycle policies, tags.

Image operations (DescribeImages, ListImages, BatchGetImage, BatchDeleteImage,
PutImage) live in :mod:`.images`; the registry that ``docker push`` talks to
in :mod:`.registry`.  Both read and write the records of :mod:`.records`, so
an image pushed with docker is seen here at once.

``repositoryUri`` is ``127.0.0.1:<port>/<name>`` (the server's own port), not
AWS's ``<account>.dkr.ecr.<region>.amazonaws.com/<name>``: it is what the
local docker CLI and Gureum's ECS tasks can push to and pull from.
``GetAuthorizationToken`` gives ``AWS:<password>`` valid 12 hours with
``proxyEndpoint`` ``http://127.0.0.1:<port>`` (see :mod:`.auth`).

Lifecycle policies are stored and returned; they are not evaluated yet.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.ids import parse_arn
from gureum.core.store import Scope
from gureum.services.api import RequestContext, ServiceApi
from gureum.services.ecr import auth, images, records
from gureum.services.ecr.blobs import files_for
from gureum.services.ecr.common import invalid, page, repository_view, require_repo
from gureum.services.ecr.oci import valid_repository_name

if TYPE_CHECKING:
    from gureum.app import App

api = ServiceApi("ecr")

for _op, _fn in images.HANDLERS.items():
    api.operation(_op)(_fn)


@api.on_reset
def _wipe_files(app: App) -> None:
    files_for(app.data_path).wipe()


# -- repositories ----------------------------------------------------------------------


@api.operation("CreateRepository")
def create_repository(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["repositoryName"]
    if not valid_repository_name(name):
        raise invalid(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular "
            "expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''"
        )
    mutability = req.get("imageTagMutability") or "MUTABLE"
    exclusions = _exclusions(mutability, req.get("imageTagMutabilityExclusionFilters"))
    doc = {
        "repositoryName": name,
        "repositoryArn": records.repository_arn(ctx.scope, name),
        "registryId": ctx.account,
        "createdAt": ctx.clock.now(),
        "imageTagMutability": mutability,
        "imageTagMutabilityExclusionFilters": exclusions,
        "imageScanningConfiguration": req.get("imageScanningConfiguration") or {"scanOnPush": False},
        "encryptionConfiguration": req.get("encryptionConfiguration") or {"encryptionType": "AES256"},
        "tags": _merge_tags([], req.get("tags") or []),
    }
    if not ctx.store.insert(records.REPO, ctx.scope, name, doc):
        raise ServiceError(
            "RepositoryAlreadyExistsException",
            f"The repository with name '{name}' already exists in the registry with id '{ctx.account}'",
        )
    return {"repository": repository_view(ctx, doc)}


@api.operation("DescribeRepositories")
def describe_repositories(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    names = req.get("repositoryNames")
    if names:
        docs = [require_repo(ctx, n) for n in dict.fromkeys(names)]
        return {"repositories": [repository_view(ctx, d) for d in docs]}
    docs = [d for _, d in ctx.store.list(records.REPO, ctx.scope)]
    items, token = page(docs, req.get("maxResults"), req.get("nextToken"))
    out: dict[str, Any] = {"repositories": [repository_view(ctx, d) for d in items]}
    if token:
        out["nextToken"] = token
    return out


@api.operation("DeleteRepository")
def delete_repository(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["repositoryName"]
    doc = require_repo(ctx, name)
    if not req.get("force") and records.images(ctx.store, ctx.scope, name):
        raise ServiceError(
            "RepositoryNotEmptyException",
            f"The repository with name '{name}' in registry with id '{ctx.account}' cannot be deleted "
            "because it still contains images",
        )
    digests, uploads = records.drop_repository(ctx.store, ctx.scope, name)
    files = files_for(ctx.app.data_path)
    for upload_id in uploads:
        files.cancel(upload_id)
    for digest in digests:
        if not records.blob_in_use(ctx.store, digest):
            files.delete(digest)
    return {"repository": repository_view(ctx, doc)}


@api.operation("PutImageTagMutability")
def put_image_tag_mutability(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["repositoryName"]
    mutability = req["imageTagMutability"]
    exclusions = _exclusions(mutability, req.get("imageTagMutabilityExclusionFilters"))
    with ctx.store.transaction():
        doc = require_repo(ctx, name)
        doc["imageTagMutability"] = mutability
        doc["imageTagMutabilityExclusionFilters"] = exclusions
        ctx.store.put(records.REPO, ctx.scope, name, doc)
    out = {"registryId": ctx.account, "repositoryName": name, "imageTagMutability": mutability}
    if exclusions:
        out["imageTagMutabilityExclusionFilters"] = exclusions
    return out


def _exclusions(mutability: str, filters: list[dict[str, str]] | None) -> list[dict[str, str]]:
    if mutability.endswith("_WITH_EXCLUSION"):
        if not filters:
            raise invalid(f"imageTagMutabilityExclusionFilters are required with {mutability}")
        return list(filters)
    if filters:
        raise invalid(f"imageTagMutabilityExclusionFilters are only allowed with *_WITH_EXCLUSION, not {mutability}")
    return []


# -- authorization ----------------------------------------------------------------------


@api.operation("GetAuthorizationToken")
def get_authorization_token(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    key = auth.token_key(ctx.app.data_path)
    expires = ctx.clock.now() + auth.TOKEN_LIFETIME
    endpoint = f"http://127.0.0.1:{ctx.app.settings.port}"
    data = []
    for registry_id in req.get("registryIds") or [ctx.account]:
        password = auth.make_password(key, Scope(registry_id, ctx.region), expires)
        token = base64.b64encode(f"{auth.USER}:{password}".encode()).decode()
        data.append({"authorizationToken": token, "expiresAt": expires, "proxyEndpoint": endpoint})
    return {"authorizationData": data}


# -- lifecycle policies -------------------------------------------------------------------


@api.operation("PutLifecyclePolicy")
def put_lifecycle_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name, text = req["repositoryName"], req["lifecyclePolicyText"]
    _check_lifecycle(text)
    with ctx.store.transaction():
        doc = require_repo(ctx, name)
        doc["lifecyclePolicy"] = {"text": text, "updatedAt": ctx.clock.now()}
        ctx.store.put(records.REPO, ctx.scope, name, doc)
    return {"registryId": ctx.account, "repositoryName": name, "lifecyclePolicyText": text}


@api.operation("GetLifecyclePolicy")
def get_lifecycle_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["repositoryName"]
    policy = _policy(ctx, require_repo(ctx, name))
    return {"registryId": ctx.account, "repositoryName": name, "lifecyclePolicyText": policy["text"]}


@api.operation("DeleteLifecyclePolicy")
def delete_lifecycle_policy(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["repositoryName"]
    with ctx.store.transaction():
        doc = require_repo(ctx, name)
        policy = _policy(ctx, doc)
        del doc["lifecyclePolicy"]
        ctx.store.put(records.REPO, ctx.scope, name, doc)
    return {"registryId": ctx.account, "repositoryName": name, "lifecyclePolicyText": policy["text"]}


def _policy(ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
    policy = doc.get("lifecyclePolicy")
    if not policy:
        raise ServiceError(
            "LifecyclePolicyNotFoundException",
            f"Lifecycle policy does not exist for the repository with name '{doc['repositoryName']}' "
            f"in the registry with id '{ctx.account}'",
        )
    return dict(policy)


def _check_lifecycle(text: str) -> None:
    """The policy document's outline: ``{"rules": [{rulePriority, selection, action}]}``."""
    prefix = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: "
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise invalid(prefix + "the policy is not valid JSON'") from exc
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list) or not rules:
        raise invalid(prefix + "object has missing required properties ([\"rules\"])'")
    for rule in rules:
        if not isinstance(rule, dict) or not {"rulePriority", "selection", "action"} <= rule.keys():
            raise invalid(prefix + "a rule needs rulePriority, selection and action'")


# -- tags ---------------------------------------------------------------------------------


@api.operation("TagResource")
def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        doc = _repo_by_arn(ctx, req["resourceArn"])
        doc["tags"] = _merge_tags(doc.get("tags") or [], req["tags"])
        ctx.store.put(records.REPO, ctx.scope, doc["repositoryName"], doc)
    return {}


@api.operation("UntagResource")
def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        doc = _repo_by_arn(ctx, req["resourceArn"])
        drop = set(req["tagKeys"])
        doc["tags"] = [t for t in doc.get("tags") or [] if t["Key"] not in drop]
        ctx.store.put(records.REPO, ctx.scope, doc["repositoryName"], doc)
    return {}


@api.operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    return {"tags": list(_repo_by_arn(ctx, req["resourceArn"]).get("tags") or [])}


def _repo_by_arn(ctx: RequestContext, value: str) -> dict[str, Any]:
    parts = parse_arn(value)
    if not parts or parts["service"] != "ecr" or not parts["resource"].startswith("repository/"):
        raise invalid(f"Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN {value}'")
    name = parts["resource"][len("repository/"):]
    if parts["account"] != ctx.account or parts["region"] != ctx.region:
        raise ServiceError(
            "RepositoryNotFoundException",
            f"The repository with name '{name}' does not exist in the registry with id '{parts['account']}'",
        )
    return require_repo(ctx, name)


def _merge_tags(current: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {t["Key"]: t["Value"] for t in current}
    merged.update({t["Key"]: t["Value"] for t in new})
    if len(merged) > 50:
        raise ServiceError("TooManyTagsException", "A repository can have at most 50 tags")
    return [{"Key": k, "Value": v} for k, v in merged.items()]
