"""The CodeDeploy agent of one instance in one in-place deployment.

:class:`InstanceAgent` runs the instance's lifecycle events in order through
the runtime driver's ``exec`` in the instance's container (the shell is
:mod:`agent_scripts`):

* ApplicationStop — the ``ApplicationStop`` scripts of the revision this
  group last installed successfully on the instance (Skipped on a first
  deployment); a failure is ignored with ``ignoreApplicationStopFailures``;
* DownloadBundle — the revision (a tar made by :mod:`revisions`) is copied
  into the instance in base64 chunks and unpacked in the deployment's
  ``deployment-archive`` folder;
* Install — the files of the last install are removed, the AppSpec's
  ``files`` copied (``file_exists_behavior``: DISALLOW, OVERWRITE, RETAIN);
* BeforeInstall, AfterInstall, ApplicationStart, ValidateService (and the
  traffic hooks) — the AppSpec's scripts, each with its ``timeout`` in virtual
  time, its exit code deciding (ScriptMissing, ScriptTimedOut, ScriptFailed);
* BlockTraffic / AllowTraffic (with traffic control) — the instance leaves
  its target groups (waiting for the drain) and comes back (waiting until
  healthy).

Each event is written to the instance's target record as it starts and ends
(the deployment's reader sees progress live).  A stop request (the run's
stop event) is honoured between events.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.runtime.base import DriverError
from gureum.services.codedeploy import agent_scripts as sh
from gureum.services.codedeploy import lifecycle_status as ls
from gureum.services.codedeploy import links, steps
from gureum.services.codedeploy.appspec import AppSpecError, ServerAppSpec, parse_server
from gureum.services.codedeploy.records import TARGET, target_key

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codedeploy.agent")

TRAFFIC_TIMEOUT = 3600.0
TRAFFIC_POLL = 1.0
SCRIPT_EVENTS = frozenset({
    "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService", "BeforeBlockTraffic", "AfterBlockTraffic",
    "BeforeAllowTraffic", "AfterAllowTraffic",
})  # fmt: skip


@dataclass
class Job:
    """What every agent of one deployment shares."""

    deployment_id: str
    application: str
    group_name: str
    group_id: str
    spec: ServerAppSpec
    files: tuple[str, ...]
    tar: bytes
    file_exists: str
    ignore_stop_failures: bool
    target_groups: tuple[str, ...]  # target group ARNs (with traffic control)


class InstanceAgent:
    def __init__(self, app: App, scope: Scope, job: Job, instance_id: str, stop: asyncio.Event) -> None:
        self.app, self.scope, self.job, self.instance_id, self.stop = app, scope, job, instance_id, stop
        self.key = target_key(job.deployment_id, instance_id)
        self.dir = sh.deployment_dir(job.group_id, job.deployment_id)
        self.archive = f"{self.dir}/deployment-archive"
        self.driver: Any = None
        self.cid = ""
        self.prelude = ""

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> str:
        """Run the remaining events; the target's final status."""
        problem = await self._connect()
        for name in self._remaining():
            if self.stop.is_set():
                return self._end(ls.FAILED, skip_message="The deployment was stopped.")
            self._update(name, lambda e: steps.begin(e, self.app.clock.now()))
            result = problem or await self._event(name)
            self._update(name, lambda e, r=result: steps.finish(e, r, self.app.clock.now()))
            if result.kind == "fail":
                return self._end(ls.FAILED)
        if problem is None:
            marker, _ = sh.instructions(self.job.group_id)
            await self._exec(sh.mark_success(marker, self.archive))  # the next ApplicationStop runs this revision's scripts
        return self._end(None)

    def _remaining(self) -> list[str]:
        doc = self.app.store.get(TARGET, self.scope, self.key) or {}
        return [e["lifecycleEventName"] for e in doc.get("lifecycleEvents") or [] if e["status"] in (ls.PENDING, ls.IN_PROGRESS)]

    def _update(self, name: str, change: Any) -> None:
        doc = self.app.store.get(TARGET, self.scope, self.key)
        if doc is None:
            return
        for e in doc["lifecycleEvents"]:
            if e["lifecycleEventName"] == name:
                change(e)
        doc["status"] = ls.IN_PROGRESS
        doc["lastUpdatedAt"] = self.app.clock.now()
        self.app.store.put(TARGET, self.scope, self.key, doc)

    def _end(self, status: str | None, skip_message: str = "") -> str:
        doc = self.app.store.get(TARGET, self.scope, self.key)
        if doc is None:
            return ls.FAILED
        now = self.app.clock.now()
        steps.skip_rest(doc["lifecycleEvents"], now)
        doc["status"] = status or ls.target_status(doc["lifecycleEvents"])
        doc["lastUpdatedAt"] = now
        self.app.store.put(TARGET, self.scope, self.key, doc)
        return str(doc["status"])

    async def _connect(self) -> steps.Step | None:
        cid = links.container_of(self.app, self.scope, self.instance_id)
        if not cid:
            return steps.fail("AGENT_ISSUE", f"The instance {self.instance_id} is not running: the CodeDeploy agent cannot reach it.")
        try:
            self.driver = await self.app.get_runtime()
        except DriverError as exc:
            return steps.fail("AGENT_ISSUE", f"No runtime to reach the instance: {exc}")
        self.cid = cid
        self.prelude = sh.prelude(self.driver.name == "process")
        return None

    # -- events ----------------------------------------------------------------------------------

    async def _event(self, name: str) -> steps.Step:
        try:
            if name == "ApplicationStop":
                return await self._application_stop()
            if name == "DownloadBundle":
                return await self._download()
            if name == "Install":
                return await self._install()
            if name in ("BlockTraffic", "AllowTraffic"):
                return await self._traffic(name == "AllowTraffic")
            if name in SCRIPT_EVENTS:
                return await self._scripts(name, self.job.spec, self.archive)
        except DriverError as exc:
            return steps.fail("AGENT_ISSUE", f"The CodeDeploy agent lost the instance {self.instance_id}: {exc}")
        return steps.fail("INTERNAL_ERROR", f"Unknown lifecycle event {name}.")

    async def _exec(self, script: str) -> tuple[int, str, str]:
        res = await self.driver.exec(self.cid, ["sh", "-c", self.prelude + script])
        return int(res.exit_code), str(res.stdout), str(res.stderr)

    async def _application_stop(self) -> steps.Step:
        marker, _ = sh.instructions(self.job.group_id)
        _, last, _ = await self._exec(sh.read_file(marker))
        last = last.strip()
        if not last:
            return steps.SKIP
        _, text, _ = await self._exec(sh.read_file(f"{last}/appspec.yml") + "; " + sh.read_file(f"{last}/appspec.yaml"))
        try:
            old = parse_server(text)
        except AppSpecError:
            return steps.SKIP  # the last revision's AppSpec is gone or unreadable: nothing to stop
        result = await self._scripts("ApplicationStop", old, last)
        if result.kind == "fail" and self.job.ignore_stop_failures:
            return steps.Step("done", message=f"ApplicationStop failed and was ignored: {result.message}", log_tail=result.log_tail)
        return result

    async def _download(self) -> steps.Step:
        data = base64.b64encode(self.job.tar).decode()
        path = f"{self.dir}/bundle.tar"
        for i in range(0, max(1, len(data)), sh.CHUNK):
            code, _, err = await self._exec(sh.upload_chunk(path, data[i:i + sh.CHUNK], i == 0))
            if code != 0:
                return steps.fail("AGENT_ISSUE", f"Copying the bundle into the instance failed: {err.strip()[:500]}")
        code, out, err = await self._exec(sh.unpack(path, self.archive))
        if code != 0:
            return steps.fail("INVALID_REVISION", f"Unpacking the bundle failed: {err.strip()[:500]}", log_tail=_tail(out, err))
        return steps.DONE

    async def _install(self) -> steps.Step:
        _, cleanup = sh.instructions(self.job.group_id)
        behavior = self.job.spec.file_exists_behavior or self.job.file_exists
        pairs = sh.install_pairs(self.job.files, self.job.spec.files)
        script = sh.install(self.archive, pairs, behavior, cleanup)
        path = f"{self.dir}/install.sh"
        data = base64.b64encode(script.encode()).decode()
        for i in range(0, len(data), sh.CHUNK):
            await self._exec(sh.upload_chunk(path, data[i:i + sh.CHUNK], i == 0))
        code, out, err = await self._exec(f"sh {sh.q(path)}")
        if code != 0:
            return steps.fail("INVALID_REVISION" if code == 3 else "AGENT_ISSUE", err.strip()[:1000] or f"Install failed ({code}).",
                              "ScriptFailed", log_tail=_tail(out, err))  # fmt: skip
        return steps.Step("done", message=f"Installed {len(pairs)} files.")

    async def _scripts(self, event: str, spec: ServerAppSpec, archive: str) -> steps.Step:
        scripts = spec.hooks.get(event) or ()
        tails: list[str] = []
        env = {
            "LIFECYCLE_EVENT": event, "DEPLOYMENT_ID": self.job.deployment_id, "APPLICATION_NAME": self.job.application,
            "DEPLOYMENT_GROUP_NAME": self.job.group_name, "DEPLOYMENT_GROUP_ID": self.job.group_id,
        }  # fmt: skip
        for s in scripts:
            cmd = sh.run_script(archive, s, env, run_as_ok=self.driver.name != "process")
            try:
                code, out, err = await self._timed(cmd, float(s.timeout))
            except TimeoutError:
                return steps.fail("HEALTH_CONSTRAINTS", f"Script at specified location: {s.location} failed to complete in {s.timeout} seconds",
                                  "ScriptTimedOut", "".join(tails), s.location)  # fmt: skip
            tails.append(_tail(out, err))
            if code == sh.MISSING:
                return steps.fail("HEALTH_CONSTRAINTS", f"Script does not exist at specified location: {s.location}", "ScriptMissing", "".join(tails), s.location)
            if code == sh.TIMED_OUT:
                return steps.fail("HEALTH_CONSTRAINTS", f"Script at specified location: {s.location} failed to complete in {s.timeout} seconds",
                                  "ScriptTimedOut", "".join(tails), s.location)  # fmt: skip
            if code != 0:
                return steps.fail("HEALTH_CONSTRAINTS", f"Script at specified location: {s.location} failed with exit code {code}",
                                  "ScriptFailed", "".join(tails), s.location)  # fmt: skip
        last = scripts[-1].location if scripts else ""
        return steps.Step("done", message="Succeeded", log_tail="".join(tails), script=last)

    async def _timed(self, cmd: str, timeout: float) -> tuple[int, str, str]:
        """Run ``cmd``; TimeoutError after ``timeout`` seconds of virtual time."""
        run = asyncio.ensure_future(self._exec(cmd))
        timer = asyncio.ensure_future(self.app.clock.sleep(timeout))
        try:
            done, _ = await asyncio.wait({run, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if run in done:
            return run.result()
        run.cancel()  # the script goes on in the instance until its own `timeout` ends it
        raise TimeoutError

    async def _traffic(self, allow: bool) -> steps.Step:
        elb = links.elb()
        target = [{"Id": self.instance_id}]
        for arn in self.job.target_groups:
            try:
                (elb.register_targets if allow else elb.deregister_targets)(self.app, self.scope, arn, target)
            except ServiceError as exc:
                if not allow and exc.code == "InvalidTarget":
                    continue  # not registered (a first deployment): nothing to take out
                return steps.fail("ELASTIC_LOAD_BALANCING_INVALID", f"{exc.code}: {exc.message}")
        deadline = self.app.clock.monotonic() + TRAFFIC_TIMEOUT
        while self.app.clock.monotonic() < deadline:
            states = []
            for arn in self.job.target_groups:
                states += [h["TargetHealth"]["State"] for h in elb.target_health(self.app, self.scope, arn, target)]
            if (allow and all(s == "healthy" for s in states)) or (not allow and all(s != "draining" for s in states)):
                return steps.DONE
            if self.stop.is_set():
                return steps.fail("MANUAL_STOP", "The deployment was stopped.")
            await self.app.clock.sleep(TRAFFIC_POLL)
        what = "healthy in its target groups" if allow else "drained from its target groups"
        return steps.fail("ELB_INVALID_INSTANCE", f"The instance {self.instance_id} did not become {what} within an hour.")


def _tail(out: str, err: str) -> str:
    lines = [f"[stdout]{line}\n" for line in out.splitlines()] + [f"[stderr]{line}\n" for line in err.splitlines()]
    return "".join(lines)
