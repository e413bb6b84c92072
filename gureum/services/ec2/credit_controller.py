"""CPU credits of running burstable instances, for real: the minute tick,
the throttle, the metrics, and the credit specification calls.

Every minute of the app's clock (``ec2.credits``), for each running t2/t3
instance: read the container's CPU from the runtime driver (one
``driver.stats`` sample stands for the minutes since the last tick), account
it with :mod:`credits`, store the new state (kind ``ec2.credits``, key the
instance id) and publish to ``AWS/EC2`` with dimension ``InstanceId``:
``CPUCreditUsage``, ``CPUCreditBalance``, ``CPUSurplusCreditBalance``,
``CPUSurplusCreditsCharged`` (AWS publishes these every 5 minutes; here every
minute — a 300 s period gives the same sums).

Standard mode: when the balance is gone the container's CPU limit is lowered
to the baseline (``driver.update_limits(cid, baseline × vCPUs)``, a real
CFS quota on docker; recorded only on the process driver), and raised back to
the type's vCPUs when credits are back.  A new container (start after stop)
starts with the full limit; a T2 starts over with fresh launch credits.

Modes: ``CreditSpecification.CpuCredits`` at RunInstances (kept on the
instance as ``_cpuCredits``), else T2 standard / T3 unlimited;
``ModifyInstanceCreditSpecification`` changes it (stored in the credit doc).
At most :data:`MAX_GAP` minutes are accounted at once (after a restart).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.base import DriverError, RuntimeDriver
from gureum.services.api import RequestContext
from gureum.services.ec2 import credits, errors, instance_types, paging
from gureum.services.ec2.instances import require_instances
from gureum.services.ec2.metrics import NAMESPACE, utilization
from gureum.services.ec2.names import INSTANCE

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ec2.credits")

Doc = dict[str, Any]
CREDITS = "ec2.credits"
CONTROLLER = "ec2.credits"
PERIOD = 60.0
MAX_GAP = 60.0


def mode_of(doc: Doc, cdoc: Doc | None) -> str:
    if cdoc and cdoc.get("mode"):
        return str(cdoc["mode"])
    if doc.get("_cpuCredits"):
        return str(doc["_cpuCredits"])
    itype = instance_types.lookup(doc["InstanceType"])
    return credits.default_mode(itype) if itype and itype.burstable else credits.STANDARD


def _state(cdoc: Doc) -> credits.Credits:
    return credits.Credits(earned=cdoc["earned"], launch=cdoc["launch"], surplus=cdoc["surplus"],
                           throttled=cdoc["throttled"])


class CreditController:
    def __init__(self, app: App) -> None:
        self.app = app

    async def reconcile(self, _key: str) -> Requeue | None:
        store = self.app.store
        work = []
        for scope in store.list_scopes(INSTANCE):
            for _iid, doc in store.list(INSTANCE, scope):
                itype = instance_types.lookup(doc["InstanceType"])
                if doc["State"]["Name"] == "running" and doc.get("_cid") and itype and itype.burstable:
                    work.append((scope, doc, itype))
        from gureum.services.ec2.agent import forget_gone

        forget_gone(self.app, CREDITS)
        if not work:
            return None
        driver: RuntimeDriver = await self.app.get_runtime()
        await asyncio.gather(*(self._one(driver, scope, doc, itype) for scope, doc, itype in work))
        return None

    async def _one(self, driver: RuntimeDriver, scope: Scope, doc: Doc, itype: instance_types.InstanceType) -> None:
        iid, cid, now = doc["InstanceId"], str(doc["_cid"]), self.app.clock.now()
        cdoc = self.app.store.get(CREDITS, scope, iid)
        mode = mode_of(doc, cdoc)
        if cdoc is None or "earned" not in cdoc:  # first sight: launch credits, nothing to account yet
            self._save(scope, iid, mode, credits.at_launch(itype, mode), cid, doc, now, cdoc)
            return
        state = _state(cdoc)
        if cdoc.get("boot") != doc.get("_since") or cdoc.get("cid") != cid:  # started again
            if state.throttled:  # the engine may keep the container's lowered limit
                await self._limit(driver, cid, itype, False, iid)
            state = credits.on_start(itype, mode, state)
            self._save(scope, iid, mode, state, cid, doc, now, cdoc)
            return
        try:
            sample = await driver.stats(cid)
        except DriverError:
            return  # it stopped in between
        cpu = utilization(sample.cpu_percent, itype.vcpus, os.cpu_count() or 1)
        minutes = min(MAX_GAP, max(0.0, now - float(cdoc["last"])) / 60.0)
        result = credits.minute(itype, mode, state, cpu, minutes)
        if result.throttled != state.throttled:
            await self._limit(driver, cid, itype, result.throttled, iid)
        self._save(scope, iid, mode, result.state, cid, doc, now, cdoc)
        self._publish(scope, iid, result, now)

    async def _limit(self, driver: RuntimeDriver, cid: str, itype: instance_types.InstanceType,
                     throttled: bool, iid: str) -> None:
        cpus = credits.baseline_cpus(itype) if throttled else instance_types.cpu_limit(itype, os.cpu_count() or 1)
        try:
            await driver.update_limits(cid, cpus)
            log.info("%s %s: CPU limit %.3f", iid, "throttled to its baseline" if throttled else "released", cpus)
        except DriverError as exc:
            log.warning("could not change the CPU limit of %s: %s", iid, exc)

    def _save(self, scope: Scope, iid: str, mode: str, state: credits.Credits, cid: str, doc: Doc,
              now: float, old: Doc | None) -> None:
        cdoc = dict(old or {})
        cdoc.update(mode=mode, earned=state.earned, launch=state.launch, surplus=state.surplus,
                    throttled=state.throttled, cid=cid, boot=doc.get("_since"), last=now)
        self.app.store.put(CREDITS, scope, iid, cdoc)

    def _publish(self, scope: Scope, iid: str, result: credits.Minute, now: float) -> None:
        from gureum.services.cloudwatch.metrics import publish

        values = {
            "CPUCreditUsage": result.usage,
            "CPUCreditBalance": result.state.balance,
            "CPUSurplusCreditBalance": result.state.surplus,
            "CPUSurplusCreditsCharged": result.charged,
        }
        for name, value in values.items():
            publish(self.app.store, scope, NAMESPACE, name, value, dimensions={"InstanceId": iid},
                    unit="Count", timestamp=now)


def register(app: App) -> None:
    ctl = CreditController(app)
    app.runner.register(CONTROLLER, ctl.reconcile, list_keys=lambda: ["all"], period=PERIOD)


# -- API ----------------------------------------------------------------------------


def _burstable(doc: Doc) -> bool:
    itype = instance_types.lookup(doc["InstanceType"])
    return bool(itype and itype.burstable)


def describe_instance_credit_specifications(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    ids = list(req.get("InstanceIds") or [])
    if ids:
        docs = require_instances(ctx.app, ctx.scope, ids)
    else:
        docs = [d for _, d in ctx.store.list(INSTANCE, ctx.scope) if d["State"]["Name"] != "terminated"]
    docs = [d for d in docs if _burstable(d)]
    items = [{"InstanceId": d["InstanceId"], "CpuCredits": mode_of(d, ctx.store.get(CREDITS, ctx.scope, d["InstanceId"]))}
             for d in docs]
    page, token = paging.page(items, lambda i: i["InstanceId"], req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {"InstanceCreditSpecifications": page}
    if token:
        out["NextToken"] = token
    return out


def modify_instance_credit_specification(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    ok: list[dict[str, str]] = []
    failed: list[dict[str, Any]] = []
    for item in req.get("InstanceCreditSpecifications") or []:
        iid, mode = str(item.get("InstanceId")), item.get("CpuCredits")
        doc = ctx.store.get(INSTANCE, ctx.scope, iid)
        if doc is None or doc["State"]["Name"] == "terminated":
            failed.append({"InstanceId": iid, "Error": {
                "Code": "InvalidInstanceID.NotFound", "Message": f"The instance ID '{iid}' does not exist"}})
            continue
        if mode not in credits.MODES or not _burstable(doc):
            failed.append({"InstanceId": iid, "Error": {
                "Code": "InvalidParameterValue",
                "Message": f"Invalid value '{mode}' for CpuCredits for instance type {doc['InstanceType']}."}})
            continue
        with ctx.store.transaction():
            cdoc = ctx.store.get(CREDITS, ctx.scope, iid) or {}
            cdoc["mode"] = mode
            ctx.store.put(CREDITS, ctx.scope, iid, cdoc)
        ok.append({"InstanceId": iid})
    return {"SuccessfulInstanceCreditSpecifications": ok, "UnsuccessfulInstanceCreditSpecifications": failed}


OPERATIONS = {
    "DescribeInstanceCreditSpecifications": describe_instance_credit_specifications,
    "ModifyInstanceCreditSpecification": modify_instance_credit_specification,
}
