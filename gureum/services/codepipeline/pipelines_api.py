"""Pipeline handlers: CreatePipeline, GetPipeline, UpdatePipeline, DeletePipeline,
ListPipelines, Disable/EnableStageTransition, and tags.

CreatePipeline validates the structure (:mod:`.pipeline_validation`), checks
that the artifact store bucket exists, records version 1 and starts the first
execution (trigger ``CreatePipeline``), as AWS does.  UpdatePipeline records
the next version; executions in progress are marked ``outdated`` — the
actions they are running finish, then they end Cancelled (the status AWS
gives "the pipeline's definition was updated before the execution could be
completed") — and it does not start a new execution.  A disabled inbound
transition holds executions in front of its stage (``Outbound`` of a stage
is the inbound transition of the next one).
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError, ValidationError
from gureum.services.api import RequestContext
from gureum.services.codepipeline import executions, records, source_watch
from gureum.services.codepipeline.action_types import ActionTypeSpec, builtin, custom_spec
from gureum.services.codepipeline.pipeline_validation import StructureError, normalize, validate
from gureum.services.codepipeline.records import Doc, err

OPERATIONS, op = records.operations()
MAX_TAGS = 50



def lookup_type(ctx: RequestContext) -> Any:
    def find(type_id: dict[str, str]) -> ActionTypeSpec | None:
        if type_id.get("owner") == "Custom":
            doc = ctx.store.get(records.ACTION_TYPE, ctx.scope, f"{type_id['category']}/{type_id['provider']}/{type_id['version']}")
            return None if doc is None or doc.get("deleted") else custom_spec(doc)
        return builtin(type_id["category"], type_id["owner"], type_id["provider"], type_id["version"])

    return find


def _checked(ctx: RequestContext, raw: Doc, version: int) -> Doc:
    decl = normalize(raw)
    decl["version"] = version
    try:
        validate(decl, lookup_type(ctx), ctx.region)
    except StructureError as exc:
        raise err(exc.code, exc.message) from None
    bucket = records.artifact_bucket(decl, ctx.region)
    from gureum.services.s3.public import bucket_versioning

    try:
        bucket_versioning(ctx.app, bucket)
    except ServiceError:
        raise err("InvalidStructureException", f"The artifact store bucket '{bucket}' does not exist: create it before the pipeline") from None
    return decl


def check_tags(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    tags = list(tags or [])
    if len(tags) > MAX_TAGS:
        raise err("TooManyTagsException", f"A resource can have at most {MAX_TAGS} tags")
    for t in tags:
        if t["key"].lower().startswith("aws:"):
            raise err("InvalidTagsException", f"Tag keys cannot start with 'aws:' ({t['key']})")
    return tags


@op("CreatePipeline")
def create_pipeline(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    decl = _checked(ctx, req["pipeline"], 1)
    name = decl["name"]
    tags = check_tags(req.get("tags"))
    now = ctx.clock.now()
    pdoc: Doc = {"declaration": decl, "arn": records.pipeline_arn(ctx.scope, name), "created": now, "updated": now,
                 "tags": tags, "transitions": {}, "latest": {}, "_seq": 0, "_enter": 0}  # fmt: skip
    with ctx.store.transaction():
        if not ctx.store.insert(records.PIPELINE, ctx.scope, name, pdoc):
            raise err("PipelineNameInUseException", f"A pipeline with the name '{name}' already exists in account '{ctx.account}'")
        ctx.store.put(records.VERSION, ctx.scope, records.version_key(name, 1), decl)
    source_watch.rebuild(ctx.app, ctx.scope, name, decl)
    executions.create(ctx.app, ctx.scope, name, {"triggerType": "CreatePipeline", "triggerDetail": records.caller_arn(ctx.scope)})
    out: dict[str, Any] = {"pipeline": decl}
    if tags:
        out["tags"] = tags
    return out


@op("GetPipeline")
def get_pipeline(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    pdoc = records.get_pipeline(ctx.store, ctx.scope, req["name"])
    decl = pdoc["declaration"]
    if req.get("version") is not None and int(req["version"]) != decl["version"]:
        decl = ctx.store.get(records.VERSION, ctx.scope, records.version_key(req["name"], int(req["version"])))
        if decl is None:
            raise err("PipelineVersionNotFoundException", f"Pipeline '{req['name']}' has no version {req['version']}")
    return {"pipeline": decl, "metadata": {"pipelineArn": pdoc["arn"], "created": pdoc["created"], "updated": pdoc["updated"]}}


@op("UpdatePipeline")
def update_pipeline(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["pipeline"]["name"]
    old = records.get_pipeline(ctx.store, ctx.scope, name)
    decl = _checked(ctx, req["pipeline"], int(old["declaration"]["version"]) + 1)
    with ctx.store.transaction():
        pdoc = records.get_pipeline(ctx.store, ctx.scope, name)
        pdoc.update(declaration=decl, updated=ctx.clock.now())
        names = set(records.stage_names(decl))
        pdoc["transitions"] = {s: t for s, t in (pdoc.get("transitions") or {}).items() if s in names}
        ctx.store.put(records.PIPELINE, ctx.scope, name, pdoc)
        ctx.store.put(records.VERSION, ctx.scope, records.version_key(name, decl["version"]), decl)
        for eid in records.active_ids(ctx.store, ctx.scope, name):
            executions.mutate(ctx.app, ctx.scope, name, eid, lambda d: d.update(outdated=True))
    source_watch.rebuild(ctx.app, ctx.scope, name, decl)
    executions.wake(ctx.app, ctx.scope, name)
    return {"pipeline": decl}


@op("DeletePipeline")
def delete_pipeline(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    name = req["name"]
    store, scope = ctx.store, ctx.scope
    with store.transaction():
        store.delete(records.PIPELINE, scope, name)
        for kind in (records.VERSION, records.EXECUTION, records.TOKEN):
            for key, _ in store.list(kind, scope, prefix=name + "/"):
                store.delete(kind, scope, key)
        for kind in (records.ACTIVE, records.WATCH):
            store.delete(kind, scope, name)
        for key, job in store.list(records.JOB, scope):
            if job["pipeline"] == name:
                store.delete(records.JOB, scope, key)
                if job.get("queueKey"):
                    store.delete(records.QUEUE, scope, job["queueKey"])
    return {}


def _page(req: dict[str, Any], default: int) -> tuple[int, int]:
    token = req.get("nextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise err("InvalidNextTokenException", "The next token is not valid") from None
    return start, int(req.get("maxResults") or default)


@op("ListPipelines")
def list_pipelines(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    start, size = _page(req, 100)
    docs = [d for _, d in ctx.store.list(records.PIPELINE, ctx.scope)]
    out: dict[str, Any] = {"pipelines": [
        {"name": d["declaration"]["name"], "version": d["declaration"]["version"], "pipelineType": d["declaration"]["pipelineType"],
         "executionMode": d["declaration"]["executionMode"], "created": d["created"], "updated": d["updated"]}
        for d in docs[start : start + size]
    ]}  # fmt: skip
    if start + size < len(docs):
        out["nextToken"] = str(start + size)
    return out


def _transition_stage(decl: Doc, stage: str, kind: str, name: str) -> str:
    names = records.stage_names(decl)
    if stage not in names:
        raise records.stage_not_found(stage, name)
    if kind == "Inbound":
        return stage
    i = names.index(stage)
    if i + 1 >= len(names):
        raise ValidationError(f"Stage '{stage}' is the last stage of pipeline '{name}': it has no outbound transition")
    return names[i + 1]


def _set_transition(ctx: RequestContext, req: dict[str, Any], enabled: bool) -> None:
    name = req["pipelineName"]
    with ctx.store.transaction():
        pdoc = records.get_pipeline(ctx.store, ctx.scope, name)
        target = _transition_stage(pdoc["declaration"], req["stageName"], req["transitionType"], name)
        t = {"enabled": enabled, "lastChangedBy": records.caller_arn(ctx.scope), "lastChangedAt": ctx.clock.now()}
        if not enabled:
            t["disabledReason"] = req["reason"]
        pdoc.setdefault("transitions", {})[target] = t
        ctx.store.put(records.PIPELINE, ctx.scope, name, pdoc)
    executions.wake(ctx.app, ctx.scope, name)


@op("DisableStageTransition")
def disable_stage_transition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _set_transition(ctx, req, False)
    return {}


@op("EnableStageTransition")
def enable_stage_transition(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _set_transition(ctx, req, True)
    return {}


# -- tags ----------------------------------------------------------------------------------------------


def _tagged(ctx: RequestContext, arn: str) -> tuple[str, str, Doc]:
    prefix = f"arn:aws:codepipeline:{ctx.region}:{ctx.account}:"
    if not arn.startswith(prefix):
        if arn.startswith("arn:aws:codepipeline:"):
            raise err("ResourceNotFoundException", f"The resource with the ARN '{arn}' does not exist")
        raise err("InvalidArnException", f"The ARN '{arn}' is not a valid CodePipeline ARN")
    rest = arn[len(prefix):]
    if rest.startswith("actiontype:Custom/"):
        kind, key = records.ACTION_TYPE, rest[len("actiontype:Custom/"):]
    else:
        kind, key = records.PIPELINE, rest
    doc = ctx.store.get(kind, ctx.scope, key)
    if doc is None or doc.get("deleted"):
        raise err("ResourceNotFoundException", f"The resource with the ARN '{arn}' does not exist")
    return kind, key, doc


@op("TagResource")
def tag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        kind, key, doc = _tagged(ctx, req["resourceArn"])
        tags = {t["key"]: t["value"] for t in doc.get("tags") or []}
        tags.update({t["key"]: t["value"] for t in check_tags(req["tags"])})
        doc["tags"] = check_tags([{"key": k, "value": v} for k, v in tags.items()])
        ctx.store.put(kind, ctx.scope, key, doc)
    return {}


@op("UntagResource")
def untag_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.transaction():
        kind, key, doc = _tagged(ctx, req["resourceArn"])
        doc["tags"] = [t for t in doc.get("tags") or [] if t["key"] not in set(req["tagKeys"])]
        ctx.store.put(kind, ctx.scope, key, doc)
    return {}


@op("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    _, _, doc = _tagged(ctx, req["resourceArn"])
    return {"tags": list(doc.get("tags") or [])}
