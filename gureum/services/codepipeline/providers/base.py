"""What an action provider gets (:class:`ActionCall`) and gives back (:class:`Outcome`).

A provider module has ``async def start(call) -> Outcome`` (begin the work;
it must return quickly — long work runs elsewhere and is observed by
``poll``), ``async def poll(call) -> Outcome`` (look at the work again) and
``TIMEOUT_MINUTES`` (AWS's action timeout, unless the action declares
``timeoutInMinutes``); optionally ``def abandon(call) -> None`` (the action
was abandoned or timed out).  ``call.state`` is the provider's own record,
kept in the action run across polls and restarts; an Outcome's ``state``
is merged into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.codepipeline.artifacts import ArtifactRef

if TYPE_CHECKING:
    from gureum.app import App

IN_PROGRESS, SUCCEEDED, FAILED = "InProgress", "Succeeded", "Failed"


@dataclass
class ActionCall:
    app: App
    scope: Scope
    pipeline: str
    pipeline_arn: str
    execution_id: str
    stage: str
    action: str
    run_id: str
    type_id: dict[str, str]
    config: dict[str, str]
    inputs: list[ArtifactRef]
    outputs: list[ArtifactRef]
    state: dict[str, Any]
    declaration: dict[str, Any]
    started: float
    override: dict[str, str] = field(default_factory=dict)  # StartPipelineExecution sourceRevisions / poll trigger

    def input_named(self, name: str | None) -> ArtifactRef | None:
        if not self.inputs:
            return None
        if not name:
            return self.inputs[0]
        return next((a for a in self.inputs if a.name == name), None)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    summary: str | None = None
    external_id: str | None = None
    url: str | None = None
    error: tuple[str, str] | None = None  # (code, message)
    variables: dict[str, str] | None = None
    state: dict[str, Any] | None = None
    poll_after: float | None = None  # real seconds until the next poll; None: when woken
    revision: dict[str, Any] | None = None  # a source action's revision
    percent: int | None = None
    token: str | None = None  # a manual approval's token


def running(**kw: Any) -> Outcome:
    return Outcome(IN_PROGRESS, **kw)


def succeeded(**kw: Any) -> Outcome:
    return Outcome(SUCCEEDED, **kw)


def failed(code: str, message: str, **kw: Any) -> Outcome:
    return Outcome(FAILED, error=(code, message), summary=kw.pop("summary", None), **kw)
