"""Running one build for real, phase by phase.

:class:`BuildRun` loops: read the build, run its ``currentPhase``, record how
the phase ended, and let :func:`~gureum.services.codebuild.build_plan.next_phase`
say what comes next, until COMPLETED.  Progress lives in the build record
(each phase's entry is written when it starts and when it ends), so after a
restart the loop resumes at the phase it was in: SUBMITTED to
DOWNLOAD_SOURCE and UPLOAD_ARTIFACTS/FINALIZING simply run again; a command
phase whose container still runs is adopted, one that finished while Gureum
was down is read from its result file, and one whose container is gone
without a result ends FAULT.

What each phase does:

* PROVISIONING — the workspace, the log stream, the image (pulled when
  missing); unresolvable variables fail here;
* DOWNLOAD_SOURCE — unpack the source, read and parse the buildspec (its
  errors fail this phase with YAML_FILE_ERROR);
* INSTALL … POST_BUILD — one shell session each (:mod:`.session`,
  :mod:`.script`); a phase with no commands succeeds at once;
* UPLOAD_ARTIFACTS — :mod:`.artifacts`;
* FINALIZING — exported variables, reports, clean-up.

Before every phase up to UPLOAD_ARTIFACTS the stop flag and the deadline
(``startTime + timeoutInMinutes``, virtual time) are checked; during a
command phase they race the session.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.runtime.base import OWNER_LABEL, ContainerSpec, DriverError, Mount
from gureum.services.codebuild.build_plan import (
    COMMAND_PHASES,
    Phase,
    Status,
    build_status,
    next_phase,
    succeeding,
)
from gureum.services.codebuild.buildspec import Buildspec, BuildspecError, parse_buildspec
from gureum.services.codebuild.records import ACTIVE, BUILD, REPORT
from gureum.services.codebuild.runner import artifacts, script
from gureum.services.codebuild.runner.environment import (
    build_environment,
    runtime_image,
    unresolvable,
)
from gureum.services.codebuild.runner.logs import BuildLog, LogTarget
from gureum.services.codebuild.runner.session import (
    BUILD_LABEL,
    PHASE_LABEL,
    STOPPED,
    TIMED_OUT,
    run_session,
)
from gureum.services.codebuild.runner.workspace import (
    CONTAINER_ROOT,
    SourceError,
    buildspec_text,
    fetch_source,
    workspace_for,
)

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codebuild")

Doc = dict[str, Any]
Outcome = tuple[Status, list[dict[str, str]]]
LOGGED = (Phase.DOWNLOAD_SOURCE, *COMMAND_PHASES, Phase.UPLOAD_ARTIFACTS)
_MAX_FAULTS = 3


def context(code: str, message: str) -> list[dict[str, str]]:
    return [{"statusCode": code, "message": message}]


class BuildRun:
    def __init__(self, app: App, scope: Scope, build_id: str, stop: asyncio.Event) -> None:
        self.app = app
        self.scope = scope
        self.build_id = build_id
        self.stop = stop
        self.uuid = build_id.split(":", 1)[1]
        self.ws = workspace_for(app, self.uuid)
        self._spec: Buildspec | None = None
        self._log: BuildLog | None = None

    # -- the record ------------------------------------------------------------------------------

    def load(self) -> Doc | None:
        return self.app.store.get(BUILD, self.scope, self.build_id)

    def update(self, **run: Any) -> Doc:
        """Merge ``run`` into the build's ``_run`` (and top-level members given as ``top_<name>``)."""
        with self.app.store.transaction():
            doc = self.load()
            assert doc is not None
            for key, value in run.items():
                if key.startswith("top_"):
                    doc[key[4:]] = value
                else:
                    doc["_run"][key] = value
            self.app.store.put(BUILD, self.scope, self.build_id, doc)
        return doc

    @property
    def log(self) -> BuildLog:
        if self._log is None:
            doc = self.load() or {}
            self._log = BuildLog(self.app, self.scope, LogTarget(**doc["_run"]["log"]))
        return self._log

    def spec(self, doc: Doc) -> Buildspec | None:
        if self._spec is None and doc["_run"].get("buildspec"):
            self._spec = parse_buildspec(doc["_run"]["buildspec"])
        return self._spec

    # -- the loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        faults = 0
        while True:
            doc = self.load()
            if doc is None:
                return
            phase = Phase(doc["currentPhase"])
            if phase is Phase.COMPLETED:
                self.app.store.delete(ACTIVE, self.scope, self.build_id)
                return
            if doc["_run"].get("stop"):
                self.stop.set()
            try:
                outcome = await self.execute(phase, doc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # our bug, or the driver gave up: the phase faults
                faults += 1
                log.exception("build %s: phase %s failed", self.build_id, phase)
                if faults > _MAX_FAULTS:
                    raise
                outcome = (Status.FAULT, context("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"))
            self.advance(phase, outcome)

    async def execute(self, phase: Phase, doc: Doc) -> Outcome:
        if phase not in (Phase.FINALIZING, Phase.COMPLETED):
            if self.stop.is_set():
                return Status.STOPPED, context("BUILD_STOPPED", "Build was stopped by StopBuild")
            if self.app.clock.now() >= self.deadline(doc):
                return Status.TIMED_OUT, context("BUILD_TIMED_OUT", "Build has timed out. ")
        if phase in LOGGED:
            self.log.container(f"Entering phase {phase}")
        if phase is Phase.PROVISIONING:
            return await self.provision(doc)
        if phase is Phase.DOWNLOAD_SOURCE:
            return await self.download_source(doc)
        if phase in COMMAND_PHASES:
            return await self.command_phase(phase, doc)
        if phase is Phase.UPLOAD_ARTIFACTS:
            return await self.upload(doc)
        if phase is Phase.FINALIZING:
            return await self.finalize(doc)
        return Status.SUCCEEDED, []

    def deadline(self, doc: Doc) -> float:
        return float(doc["startTime"]) + 60.0 * int(doc["timeoutInMinutes"])

    def advance(self, phase: Phase, outcome: Outcome) -> None:
        status, contexts = outcome
        now = self.app.clock.now()
        if phase in LOGGED:
            self.log.container(f"Phase complete: {phase} State: {status}")
            for c in contexts:
                self.log.container(f"Phase context status code: {c['statusCode']} Message: {c['message']}")
        with self.app.store.transaction():
            doc = self.load()
            if doc is None:
                return
            entry = doc["phases"][-1]
            entry.update(
                endTime=now,
                durationInSeconds=max(0, int(now - float(entry["startTime"]))),
                phaseStatus=str(status),
                contexts=contexts,
            )
            spec = self._spec
            on_failure = spec.phase(COMMAND_PHASES[phase]).on_failure if spec and phase in COMMAND_PHASES else "ABORT"
            nxt = next_phase(phase, status, on_failure).next_phase
            doc["phases"].append({"phaseType": str(nxt), "startTime": now})
            doc["currentPhase"] = str(nxt)
            doc["_run"]["session"] = None
            doc["_run"]["started"] = False
            if nxt is Phase.COMPLETED:
                doc["buildStatus"] = str(build_status(p.get("phaseStatus") for p in doc["phases"]))
                doc["endTime"] = now
                doc["buildComplete"] = True
                self.app.store.delete(ACTIVE, self.scope, self.build_id)
            self.app.store.put(BUILD, self.scope, self.build_id, doc)

    # -- PROVISIONING, DOWNLOAD_SOURCE ------------------------------------------------------------------

    async def provision(self, doc: Doc) -> Outcome:
        self.ws.make()
        self.log.container("Running on Gureum (a local CodeBuild); waiting for DOWNLOAD_SOURCE")
        problem = unresolvable(doc["environment"].get("environmentVariables", []))
        if problem:
            return Status.FAILED, context("Decrypted Variables Error", problem)
        driver = await self.app.get_runtime()
        image = runtime_image(doc["environment"]["image"])
        try:
            if not await driver.image_exists(image):
                await driver.pull(image)
        except DriverError as exc:
            message = f"Unable to pull customer's container image {image}: {exc}"
            return Status.FAILED, context("CLIENT_ERROR", message)
        return Status.SUCCEEDED, []

    async def download_source(self, doc: Doc) -> Outcome:
        self.ws.make()
        await asyncio.to_thread(_empty_dir, self.ws.src)
        try:
            resolved = await asyncio.to_thread(fetch_source, self.app, doc["_run"]["source"], self.ws.src)
        except SourceError as exc:
            return Status.FAILED, context(exc.status_code, str(exc))
        if resolved:
            self.update(top_resolvedSourceVersion=resolved)
        try:
            text = buildspec_text(self.app, doc["source"].get("buildspec"), self.ws.src)
            spec = parse_buildspec(text)
        except BuildspecError as exc:
            return Status.FAILED, context(exc.status_code, str(exc))
        self._spec = spec
        self.update(buildspec=text)
        problem = unresolvable([], spec)
        if problem:
            return Status.FAILED, context("Decrypted Variables Error", problem)
        return Status.SUCCEEDED, []

    # -- command phases -----------------------------------------------------------------------------

    async def command_phase(self, phase: Phase, doc: Doc) -> Outcome:
        spec = self.spec(doc)
        if spec is None:
            return Status.FAULT, context("INTERNAL_ERROR", "the buildspec was not read")
        pspec = spec.phase(COMMAND_PHASES[phase])
        if pspec.empty:
            return Status.SUCCEEDED, []
        driver = await self.app.get_runtime()
        result_file = self.ws.tmp / f"{phase}.result"
        remaining = self.deadline(doc) - self.app.clock.now()
        end = None
        if doc["_run"].get("session") == str(phase) and doc["_run"].get("started"):
            # Started before a restart: adopt the running shell, or read what it left.
            states = await driver.list({OWNER_LABEL: doc["arn"]})
            adopt = next((s.id for s in states if s.labels.get(PHASE_LABEL) == str(phase) and s.running), None)
            if adopt is not None:
                end = await run_session(self.app, driver, None, self.log, self.stop, remaining, adopt=adopt)
            elif not result_file.exists():
                return Status.FAULT, context("INTERNAL_ERROR", f"the {phase} container went away while Gureum was down")
        else:
            await self.remove_containers(driver, str(phase))  # one created but never started
            result_file.unlink(missing_ok=True)
            self.update(session=str(phase), started=False)
            container = self.container_spec(driver.name, phase, doc, spec, pspec)
            end = await run_session(
                self.app, driver, container, self.log, self.stop, remaining, on_start=lambda: self.update(started=True)
            )
        self.carry_env(phase)
        if end is not None and end.how == STOPPED:
            return Status.STOPPED, context("BUILD_STOPPED", "Build was stopped by StopBuild")
        if end is not None and end.how == TIMED_OUT:
            return Status.TIMED_OUT, context("BUILD_TIMED_OUT", "Build has timed out. ")
        results = result_file.read_text() if result_file.exists() else None
        return script.phase_outcome(pspec, results, end.exit_code if end else None)

    def container_spec(self, driver_name: str, phase: Phase, doc: Doc, spec: Buildspec, pspec: Any) -> ContainerSpec:
        docker = driver_name == "docker"
        root = CONTAINER_ROOT if docker else str(self.ws.root)
        src, tmp = f"{root}/src", f"{root}/tmp"
        body = script.phase_script(str(phase), pspec, tmp, src)
        (self.ws.tmp / f"{phase}.sh").write_text(body)
        extra = {"AWS_ACCESS_KEY_ID": _access_key(self.scope.account), "AWS_SECRET_ACCESS_KEY": "gureum"}
        if not docker:  # a process reaches Gureum on the loopback; a container does not
            extra["AWS_ENDPOINT_URL"] = self.app.settings.endpoint
        ok = succeeding(p.get("phaseStatus") for p in doc["phases"])
        env = build_environment(doc, spec, src_dir=src, succeeding=ok, extra=extra)
        return ContainerSpec(
            name=f"codebuild-{self.uuid}-{str(phase).lower().replace('_', '-')}",
            image=runtime_image(doc["environment"]["image"]),
            owner=doc["arn"],
            command=(spec.shell or "sh", f"{tmp}/{phase}.sh"),
            env=env,
            labels={BUILD_LABEL: self.build_id, PHASE_LABEL: str(phase)},
            mounts=(Mount(str(self.ws.root), CONTAINER_ROOT),) if docker else (),
        )

    async def remove_containers(self, driver: Any, phase: str | None = None) -> None:
        """Remove this build's containers (of one phase, if given)."""
        try:
            for state in await driver.list({BUILD_LABEL: self.build_id}):
                if phase is None or state.labels.get(PHASE_LABEL) == phase:
                    await driver.remove(state.id, force=True)
        except DriverError as exc:
            log.info("build %s: removing its containers failed: %s", self.build_id, exc)

    def carry_env(self, phase: Phase) -> None:
        """Hand the session's variables and directory to the next phase's session."""
        env_out, cwd_out = self.ws.tmp / f"{phase}.env", self.ws.tmp / f"{phase}.cwd"
        if env_out.exists():
            carried = script.carried(script.parse_exported(env_out.read_text(errors="replace")))
            (self.ws.tmp / "env.sh").write_text(script.render_env(carried))
        if cwd_out.exists():
            (self.ws.tmp / "cwd").write_text(cwd_out.read_text().strip())

    def carried_env(self) -> dict[str, str]:
        path = self.ws.tmp / "env.sh"
        return script.parse_exported(path.read_text(errors="replace")) if path.exists() else {}

    # -- UPLOAD_ARTIFACTS, FINALIZING -----------------------------------------------------------------

    async def upload(self, doc: Doc) -> Outcome:
        spec = self.spec(doc)
        name = spec.artifacts.name if spec and spec.artifacts else ""
        target = artifacts.artifact_target(
            doc["_run"]["artifacts"], doc["projectName"], self.uuid, name, doc["_run"].get("artifactTarget")
        )
        if target is None or spec is None:
            return Status.SUCCEEDED, []
        self.log.container(f"Uploading artifacts to {target.location}")
        try:
            sums = await asyncio.to_thread(
                artifacts.upload_artifacts, self.app, self.ws.src, spec.artifacts, target, self.ws.tmp / "artifact.zip"
            )
        except artifacts.ArtifactError as exc:
            return Status.FAILED, context(exc.status_code, str(exc))
        self.update(top_artifacts={**doc.get("artifacts", {}), "location": target.location, **sums})
        return Status.SUCCEEDED, []

    async def finalize(self, doc: Doc) -> Outcome:
        spec = self.spec(doc)
        if spec is not None:
            env = self.carried_env()
            exported = [{"name": n, "value": env[n]} for n in spec.exported_variables if n in env]
            self.update(top_exportedEnvironmentVariables=exported, top_reportArns=self.record_reports(doc, spec))
        await self.remove_containers(await self.app.get_runtime())
        await asyncio.to_thread(self.ws.remove)
        return Status.SUCCEEDED, []

    def record_reports(self, doc: Doc, spec: Buildspec) -> list[str]:
        arns: list[str] = []
        if not self.ws.src.is_dir():
            return arns
        region, account = self.scope.region, self.scope.account
        for report in spec.reports:
            group = f"arn:aws:codebuild:{region}:{account}:report-group/{doc['projectName']}-{report.name}"
            arn = f"arn:aws:codebuild:{region}:{account}:report/{doc['projectName']}-{report.name}:{self.uuid}"
            found = artifacts.collect_report(self.ws.src, report)
            record = {
                "arn": arn, "type": "TEST", "name": report.name, "reportGroupArn": group,
                "executionId": doc["arn"], "created": self.app.clock.now(), "fileFormat": report.file_format, **found,
            }  # fmt: skip
            self.app.store.put(REPORT, self.scope, arn, record)
            arns.append(arn)
        return arns


def _empty_dir(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


def _access_key(account: str) -> str:
    from gureum.core.ids import access_key_id

    return access_key_id(account)
