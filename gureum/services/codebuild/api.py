"""CodeBuild (botocore ``codebuild``, protocol json): the handlers and the build controller.

Where things are:

* :mod:`.projects` — CreateProject, UpdateProject, BatchGetProjects,
  ListProjects, DeleteProject;
* :mod:`.builds` — StartBuild, BatchGetBuilds, StopBuild, ListBuilds,
  ListBuildsForProject, BatchDeleteBuilds;
* :mod:`.public` — ``start_build``/``get_build``/``stop_build`` for other
  services (CodePipeline);
* :mod:`.runner` — the controller that runs builds on the runtime driver.

Pure cores: :mod:`.buildspec` (buildspec YAML → plan), :mod:`.build_plan`
(phase transitions, build status), :mod:`.artifact_files` (artifact globs),
:mod:`.runner.script` (phase shell scripts), :mod:`.runner.environment`.
Store layout: :mod:`.records`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gureum.services.api import ServiceApi
from gureum.services.codebuild import builds, projects
from gureum.services.codebuild.runner import controller

if TYPE_CHECKING:
    from gureum.app import App

api = ServiceApi("codebuild")

for _name, _handler in {**projects.OPERATIONS, **builds.OPERATIONS}.items():
    api.operation(_name)(_handler)


@api.on_startup
def _start(app: App) -> None:
    controller.register(app)


@api.on_reset
def _reset(app: App) -> None:
    controller.reset(app)
