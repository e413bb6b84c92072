"""In-place deployments to EC2 instances: one background run per deployment.

The controller's reconcile only makes sure a run exists (:func:`ensure_run`);
the run does the rest, in virtual time, and survives nothing but its own
record — after a restart the next resync starts a new run that carries on
from the targets' records (instances done stay done; one that was in the
middle of an event runs that event again).

A run:

1. prepares, once: the instances the group covers (:mod:`instance_filters`;
   none: ``NO_INSTANCES``), the configuration's health constraint
   (:func:`inplace_plan.check_constraints`), the revision (an S3 bundle made
   into a tar, its AppSpec parsed: ``INVALID_REVISION`` when it is bad), one
   target record per instance with the platform's lifecycle events;
2. loops: a stop request or an alarm stops everything (in-flight agents are
   cancelled, their instances Failed, the rest Skipped); otherwise
   :func:`inplace_plan.decide_inplace` says which instances start now
   (each gets an :class:`agent.InstanceAgent`) and when the deployment is
   over; the run sleeps until an agent finishes, the controller wakes it
   (StopDeployment) or :data:`POLL` seconds pass (alarms);
3. finishes the deployment through :func:`controller.finish` (rollback
   included).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.codedeploy import controller, links, steps
from gureum.services.codedeploy import lifecycle_status as ls
from gureum.services.codedeploy.agent import InstanceAgent, Job
from gureum.services.codedeploy.appspec import AppSpecError, parse_server
from gureum.services.codedeploy.inplace_plan import check_constraints, decide_inplace
from gureum.services.codedeploy.instance_filters import select_instances
from gureum.services.codedeploy.records import (
    DEPLOYMENT,
    TARGET,
    Doc,
    runner_key,
    target_key,
    targets_of,
)
from gureum.services.codedeploy.revisions import RevisionError, convert_bundle, read_s3

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codedeploy.inplace")

POLL = 10.0  # seconds between alarm checks while instances deploy

_runs: weakref.WeakKeyDictionary[Any, dict[str, InplaceRun]] = weakref.WeakKeyDictionary()


def runs_of(app: App) -> dict[str, InplaceRun]:
    found = _runs.get(app)
    if found is None:
        found = _runs[app] = {}
    return found


def ensure_run(app: App, scope: Scope, dep_id: str) -> None:
    key = runner_key(scope, dep_id)
    runs = runs_of(app)
    run = runs.get(key)
    if run is not None and run.task is not None and not run.task.done():
        run.wake.set()  # a stop request or a resync: look now
        return
    run = InplaceRun(app, scope, dep_id)
    runs[key] = run
    run.task = app.spawn(run.main(key))


def reset(app: App) -> None:
    for run in list(runs_of(app).values()):
        if run.task is not None:
            run.task.cancel()
    runs_of(app).clear()


class InplaceRun:
    def __init__(self, app: App, scope: Scope, dep_id: str) -> None:
        self.app, self.scope, self.dep_id = app, scope, dep_id
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self.agents: dict[str, asyncio.Task[str]] = {}
        self.task: asyncio.Task[Any] | None = None

    async def main(self, key: str) -> None:
        try:
            await self.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("deployment %s: the run stopped on an error; the next resync starts it again", self.dep_id)
        finally:
            for task in self.agents.values():
                task.cancel()
            runs = runs_of(self.app)
            if runs.get(key) is self:
                runs.pop(key, None)

    def _doc(self) -> Doc | None:
        doc = self.app.store.get(DEPLOYMENT, self.scope, self.dep_id)
        return None if doc is None or doc["status"] in ls.TERMINAL else doc

    async def run(self) -> None:
        job = await self._prepare()
        while job is not None:
            doc = self._doc()
            if doc is None:
                return
            stop = controller.stop_reason(self.app, self.scope, doc)
            if stop is not None:
                await self._halt()
                code, message, rollback = stop
                controller.finish(self.app, self.scope, doc, ls.STOPPED, code, message, rollback=rollback)
                return
            if self._advance(job, doc):
                return
            await self._sleep(POLL)

    def _advance(self, job: Job, doc: Doc) -> bool:
        """Start agents and finish the deployment when it is over; whether it is."""
        targets = {t["targetId"]: t for t in targets_of(self.app.store, self.scope, self.dep_id)}
        order = [i for i in doc["_run"]["instances"] if i in targets]
        for iid in order:
            task = self.agents.get(iid)
            if targets[iid]["status"] not in (ls.IN_PROGRESS, ls.PENDING) or (task is None and targets[iid]["status"] == ls.PENDING):
                continue
            if task is None:
                self._spawn(job, iid)  # carried over from before a restart
            elif task.done() and (task.cancelled() or task.exception() is not None):
                log.error("deployment %s: the agent of %s crashed", self.dep_id, iid, exc_info=None if task.cancelled() else task.exception())
                _close(self.app, self.scope, targets[iid], ls.FAILED, self.app.clock.now())
                targets[iid]["status"] = ls.FAILED
        states = [(i, ls.IN_PROGRESS if i in self.agents and not self.agents[i].done() else targets[i]["status"]) for i in order]
        step = decide_inplace(states, doc["_config"].get("minimumHealthyHosts"))
        for iid in step.start:
            self._spawn(job, iid)
        if step.outcome is None:
            return False
        now = self.app.clock.now()
        for iid in step.skip:
            _close(self.app, self.scope, targets[iid], ls.SKIPPED, now)
        controller.finish(self.app, self.scope, doc, step.outcome, step.error_code, step.message)
        return True

    def _spawn(self, job: Job, iid: str) -> None:
        task = asyncio.ensure_future(InstanceAgent(self.app, self.scope, job, iid, self.stop).run())
        task.add_done_callback(lambda _: self.wake.set())
        self.agents[iid] = task

    async def _sleep(self, seconds: float) -> None:
        self.wake.clear()
        waiter = asyncio.ensure_future(self.wake.wait())
        timer = asyncio.ensure_future(self.app.clock.sleep(seconds))
        try:
            await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()

    async def _halt(self) -> None:
        self.stop.set()
        running = [t for t in self.agents.values() if not t.done()]
        for task in running:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*running, return_exceptions=True)
        now = self.app.clock.now()
        for t in targets_of(self.app.store, self.scope, self.dep_id):
            if t["status"] == ls.IN_PROGRESS:
                _close(self.app, self.scope, t, ls.FAILED, now)
            elif t["status"] == ls.PENDING:
                _close(self.app, self.scope, t, ls.SKIPPED, now)

    # -- preparing ---------------------------------------------------------------------------------

    async def _prepare(self) -> Job | None:
        doc = self._doc()
        if doc is None:
            return None
        group = doc["_group"]
        try:
            bundle = await asyncio.to_thread(_bundle, self.app, doc["revision"])
            spec = parse_server(bundle.appspec)
        except RevisionError as exc:
            self._fail(exc.code, exc.message)
            return None
        except AppSpecError as exc:
            self._fail("INVALID_REVISION", str(exc))
            return None
        tgs: list[str] = []
        if doc["deploymentStyle"].get("deploymentOption") == "WITH_TRAFFIC_CONTROL":
            for info in (doc.get("loadBalancerInfo") or {}).get("targetGroupInfoList") or []:
                tg = links.target_group_by_name(self.app, self.scope, info.get("name", ""))
                if tg is None:
                    self._fail("ELASTIC_LOAD_BALANCING_INVALID", f"The target group {info.get('name')} does not exist.")
                    return None
                tgs.append(tg["TargetGroupArn"])
        job = Job(
            deployment_id=self.dep_id, application=doc["applicationName"], group_name=doc["deploymentGroupName"],
            group_id=group["deploymentGroupId"], spec=spec, files=bundle.files, tar=bundle.tar,
            file_exists=doc.get("fileExistsBehavior") or "DISALLOW",
            ignore_stop_failures=bool(doc.get("ignoreApplicationStopFailures")), target_groups=tuple(tgs),
        )  # fmt: skip
        doc = self._doc()  # again: the awaits above let others write it
        if doc is None:
            return None
        if doc["_run"].get("instances") is None and not self._targets(doc, bool(tgs)):
            return None
        return job

    def _targets(self, doc: Doc, traffic: bool) -> bool:
        ids = select_instances(links.instances(self.app, self.scope), doc["_group"])
        if not ids:
            self._fail("NO_INSTANCES", (
                "The deployment failed because no instances were found for your deployment group. Check your deployment "
                "group settings to make sure the tags for your Amazon EC2 instances or Auto Scaling groups correctly "
                "identify the instances you want to deploy to, and then try again."
            ))  # fmt: skip
            return False
        problem = check_constraints(len(ids), doc["_config"].get("minimumHealthyHosts"))
        if problem is not None:
            self._fail("HEALTH_CONSTRAINTS_INVALID", problem)
            return False
        now = self.app.clock.now()
        events = ls.server_events(traffic)
        with self.app.store.transaction():
            for iid in ids:
                self.app.store.put(TARGET, self.scope, target_key(self.dep_id, iid), {
                    "deploymentId": self.dep_id, "targetId": iid, "type": "InstanceTarget",
                    "targetArn": f"arn:aws:ec2:{self.scope.region}:{self.scope.account}:instance/{iid}",
                    "status": ls.PENDING, "lastUpdatedAt": now, "lifecycleEvents": ls.new_events(events),
                })  # fmt: skip
            doc["_run"]["instances"] = ids
            controller.start(self.app, self.scope, doc)
            self.app.store.put(DEPLOYMENT, self.scope, self.dep_id, doc)
        return True

    def _fail(self, code: str, message: str) -> None:
        doc = self._doc()
        if doc is not None:
            controller.finish(self.app, self.scope, doc, ls.FAILED, code, message)


def _bundle(app: App, revision: Doc) -> Any:
    loc = revision.get("s3Location") or {}
    return convert_bundle(read_s3(app, revision), loc.get("bundleType") or "zip")


def _close(app: App, scope: Scope, target: Doc, status: str, now: float) -> None:
    steps.skip_rest(target["lifecycleEvents"], now)
    if status == ls.SKIPPED:
        for e in target["lifecycleEvents"]:
            e["status"] = ls.SKIPPED if e["status"] != ls.SUCCEEDED else e["status"]
    target["status"] = status
    target["lastUpdatedAt"] = now
    app.store.put(TARGET, scope, target_key(target["deploymentId"], target["targetId"]), target)
