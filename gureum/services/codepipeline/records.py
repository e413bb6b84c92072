"""Where CodePipeline keeps its records, ARNs and AWS-worded errors.

Kinds (scope = account and region):

=========================  ===============================  ===============================================
kind                       key                              document
=========================  ===============================  ===============================================
codepipeline.pipeline      ``<name>``                       ``declaration`` (current), ``arn``, ``created``,
                                                            ``updated``, ``tags``, ``transitions`` (disabled
                                                            inbound transitions), ``latest`` (stage → the
                                                            execution that entered it last), counters
codepipeline.version       ``<name>/<version:08d>``         the declaration of each version (GetPipeline)
codepipeline.execution     ``<name>/<execution id>``        one execution: position, stages, action runs,
                                                            artifacts, variables (:mod:`.executions`)
codepipeline.active        ``<name>``                       ids of the pipeline's non-terminal executions:
                                                            the controller's work list
codepipeline.watch         ``<name>``                       S3 sources with change detection and the object
                                                            version each last saw (:mod:`.source_watch`)
codepipeline.token         ``<name>/<clientRequestToken>``  the execution a StartPipelineExecution token made
codepipeline.job           ``<job id>``                     a job for a custom action or a Lambda invoke
codepipeline.queue         ``<type key>/<seq>/<job id>``    custom jobs waiting for PollForJobs
codepipeline.actiontype    ``<category>/<provider>/<ver>``  a custom action type (``deleted`` tombstone kept:
                                                            a deleted version cannot be created again)
=========================  ===============================  ===============================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.services.api import RequestContext

PIPELINE = "codepipeline.pipeline"
VERSION = "codepipeline.version"
EXECUTION = "codepipeline.execution"
ACTIVE = "codepipeline.active"
WATCH = "codepipeline.watch"
TOKEN = "codepipeline.token"
JOB = "codepipeline.job"
QUEUE = "codepipeline.queue"
ACTION_TYPE = "codepipeline.actiontype"

Doc = dict[str, Any]
Handler = Callable[["RequestContext", dict[str, Any]], dict[str, Any]]


def operations() -> tuple[dict[str, Handler], Callable[[str], Callable[[Handler], Handler]]]:
    """A module's handler table and the decorator that fills it."""
    table: dict[str, Handler] = {}

    def op(name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            table[name] = fn
            return fn

        return register

    return table, op


def pipeline_arn(scope: Scope, name: str) -> str:
    return f"arn:aws:codepipeline:{scope.region}:{scope.account}:{name}"


def action_type_arn(scope: Scope, category: str, provider: str, version: str) -> str:
    return f"arn:aws:codepipeline:{scope.region}:{scope.account}:actiontype:Custom/{category}/{provider}/{version}"


def caller_arn(scope: Scope) -> str:
    return f"arn:aws:iam::{scope.account}:root"


def version_key(name: str, version: int) -> str:
    return f"{name}/{version:08d}"


def execution_key(name: str, execution_id: str) -> str:
    return f"{name}/{execution_id}"


def type_key(type_id: dict[str, str]) -> str:
    return f"{type_id['category']}/{type_id['owner']}/{type_id['provider']}/{type_id['version']}"


def runner_key(scope: Scope, name: str) -> str:
    return f"{scope.account}|{scope.region}|{name}"


def split_runner_key(key: str) -> tuple[Scope, str]:
    account, region, name = key.split("|", 2)
    return Scope(account, region), name


# -- errors ---------------------------------------------------------------------------------


def err(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 400, sender_fault=True)


def pipeline_not_found(name: str, scope: Scope) -> ServiceError:
    return err("PipelineNotFoundException", f"Account '{scope.account}' does not have a pipeline with name '{name}'")


def execution_not_found(execution_id: str, name: str) -> ServiceError:
    return err("PipelineExecutionNotFoundException", f"Pipeline execution with id '{execution_id}' does not exist in pipeline with name '{name}'")


def stage_not_found(stage: str, name: str) -> ServiceError:
    return err("StageNotFoundException", f"Stage '{stage}' does not exist in pipeline '{name}'")


def job_not_found(job_id: str) -> ServiceError:
    return err("JobNotFoundException", f"Job with id '{job_id}' does not exist")


# -- loading ---------------------------------------------------------------------------------


def get_pipeline(store: Any, scope: Scope, name: str) -> Doc:
    doc = store.get(PIPELINE, scope, name)
    if doc is None:
        raise pipeline_not_found(name, scope)
    return doc  # type: ignore[no-any-return]


def get_execution(store: Any, scope: Scope, name: str, execution_id: str) -> Doc:
    doc = store.get(EXECUTION, scope, execution_key(name, execution_id))
    if doc is None:
        raise execution_not_found(execution_id, name)
    return doc  # type: ignore[no-any-return]


def active_ids(store: Any, scope: Scope, name: str) -> list[str]:
    doc = store.get(ACTIVE, scope, name)
    return list(doc["executions"]) if doc else []


def set_active(store: Any, scope: Scope, name: str, ids: list[str]) -> None:
    if ids:
        store.put(ACTIVE, scope, name, {"executions": ids})
    else:
        store.delete(ACTIVE, scope, name)


def stage_names(declaration: Doc) -> list[str]:
    return [s["name"] for s in declaration["stages"]]


def find_action(declaration: Doc, stage: str, action: str) -> Doc | None:
    for s in declaration["stages"]:
        if s["name"] == stage:
            return next((a for a in s["actions"] if a["name"] == action), None)
    return None


def artifact_bucket(declaration: Doc, region: str) -> str:
    store = declaration.get("artifactStore") or (declaration.get("artifactStores") or {}).get(region) or {}
    return str(store.get("location", ""))
