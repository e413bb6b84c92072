"""A CloudWatch agent in every instance that has a configuration.

How a user gives one (either; the tag wins):

* the instance tag ``gureum:cloudwatch-agent-config`` holding the JSON (tag
  values are at most 256 characters: enough for a small config);
* the file ``/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json``
  inside the instance (write it from user data), where the real agent's
  ``fetch-config -c file:`` reads it.  It is looked for (``cat`` through the
  runtime's exec) at most every :data:`CONFIG_RECHECK` seconds.

The config format is in :mod:`agent_config`.  Every :data:`TICK` seconds of
the app's clock (``ec2.agent``), per running instance with a config:

* metrics, every ``metrics_collection_interval`` (default 60 s): ``mem_*``
  from the container's memory use against the instance type's memory (the
  instance's RAM; ``/proc/meminfo`` in a container shows the host's), and
  ``disk_*`` from ``df -P <resource>`` run in the instance; published to the
  config's namespace (default ``CWAgent``);
* logs: each ``collect_list`` file is tailed from the last offset (``tail -c``
  in the instance); complete new lines become events of the stream (group
  and stream are created as the agent does); a file that shrank is read again
  from the start.  Offsets live in the store (kind ``ec2.agent``), so a restart
  does not send lines twice.

Without a config nothing is collected: those metrics do not exist, as on AWS.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.base import DriverError, RuntimeDriver
from gureum.services.ec2 import agent_config, instance_types, tag_store
from gureum.services.ec2.names import INSTANCE

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ec2.agent")

Doc = dict[str, Any]
AGENT = "ec2.agent"
CONTROLLER = "ec2.agent"
TICK = 10.0
CONFIG_RECHECK = 300.0
MAX_CHUNK = 256 * 1024
ASG_TAG = "aws:autoscaling:groupName"
_TAIL = 'f=$1; [ -r "$f" ] || exit 3; wc -c < "$f"; tail -c +$(( $2 + 1 )) "$f" | head -c {max}'


class AgentController:
    def __init__(self, app: App) -> None:
        self.app = app

    async def reconcile(self, _key: str) -> Requeue | None:
        store = self.app.store
        work = [(scope, doc) for scope in store.list_scopes(INSTANCE) for _, doc in store.list(INSTANCE, scope)
                if doc["State"]["Name"] == "running" and doc.get("_cid")]
        forget_gone(self.app, AGENT)
        if not work:
            return None
        driver: RuntimeDriver = await self.app.get_runtime()
        await asyncio.gather(*(self._one(driver, scope, doc) for scope, doc in work))
        return None

    async def _one(self, driver: RuntimeDriver, scope: Scope, doc: Doc) -> None:
        iid, now = doc["InstanceId"], self.app.clock.now()
        stored = self.app.store.get(AGENT, scope, iid)
        state = json.loads(json.dumps(stored)) if stored else {}
        try:
            await self._collect(driver, scope, doc, state, now)
        finally:
            if state != (stored or {}):  # most instances have no agent: no write every tick
                self.app.store.put(AGENT, scope, iid, state)

    async def _collect(self, driver: RuntimeDriver, scope: Scope, doc: Doc, state: Doc, now: float) -> None:
        iid, cid = doc["InstanceId"], str(doc["_cid"])
        tags = tag_store.get(self.app.store, scope, iid)
        text = tags.get(agent_config.CONFIG_TAG)
        if text is None:
            text = await self._config_file(driver, cid, state, now)
        if not text:
            return
        try:
            config = agent_config.parse(text)
        except agent_config.ConfigError as exc:
            if state.get("error") != str(exc):
                log.warning("%s: %s", iid, exc)
            state["error"] = str(exc)
            return
        state.pop("error", None)
        try:
            if now - float(state.get("metricsAt", 0.0)) >= config.interval - 0.5:
                await self._metrics(driver, scope, doc, config, tags.get(ASG_TAG), now)
                state["metricsAt"] = now
            await self._logs(driver, scope, doc, config, state, now)
        except DriverError:
            pass  # stopped in between; next tick

    async def _config_file(self, driver: RuntimeDriver, cid: str, state: Doc, now: float) -> str | None:
        if state.get("cid") == cid and now - float(state.get("checkedAt", -1e18)) < CONFIG_RECHECK:
            return state.get("fileConfig")
        try:
            res = await driver.exec(cid, ["cat", agent_config.CONFIG_PATH])
        except DriverError:
            return state.get("fileConfig")
        state.update(cid=cid, checkedAt=now, fileConfig=res.stdout if res.exit_code == 0 else None)
        return state.get("fileConfig")

    async def _metrics(self, driver: RuntimeDriver, scope: Scope, doc: Doc, config: agent_config.AgentConfig,
                       group: str | None, now: float) -> None:
        from gureum.services.cloudwatch.metrics import publish

        dims = agent_config.dimensions(config, doc, group)
        points: list[tuple[str, float, dict[str, str]]] = []
        if config.mem:
            stats = await driver.stats(str(doc["_cid"]))
            itype = instance_types.lookup(doc["InstanceType"])
            total = itype.memory_bytes if itype else (stats.memory_limit or stats.memory_bytes)
            values = agent_config.mem_values(stats.memory_bytes, total)
            points += [(m, values[m], dims) for m in config.mem if m in values]
        for resource in config.disk_resources if config.disk else ():
            res = await driver.exec(str(doc["_cid"]), ["df", "-P", resource])
            parsed = agent_config.parse_df(res.stdout) if res.exit_code == 0 else None
            if parsed is None:
                continue
            values, extra = parsed
            points += [(m, values[m], {**dims, **extra, "fstype": "overlay"}) for m in config.disk if m in values]
        for name, value, d in points:
            publish(self.app.store, scope, config.namespace, name, value, dimensions=d,
                    unit=agent_config.unit(name), timestamp=now)

    async def _logs(self, driver: RuntimeDriver, scope: Scope, doc: Doc, config: agent_config.AgentConfig,
                    state: Doc, now: float) -> None:
        from gureum.services.logs.events import append_events, ensure_stream

        offsets: dict[str, int] = state.setdefault("offsets", {})
        for f in config.files:
            off = int(offsets.get(f.path, 0))
            script = _TAIL.replace("{max}", str(MAX_CHUNK))
            res = await driver.exec(str(doc["_cid"]), ["sh", "-c", script, "_", f.path, str(off)])
            if res.exit_code != 0 or "\n" not in res.stdout:
                continue
            size_text, chunk = res.stdout.split("\n", 1)
            size = int(size_text.strip() or 0)
            if size < off:  # truncated or rotated: from the start next time
                offsets[f.path] = 0
                continue
            lines, used = agent_config.complete_lines(chunk.encode("utf-8"))
            offsets[f.path] = off + used
            if not lines:
                continue
            stream = agent_config.stream_name(f.stream, doc)
            now_ms = int(now * 1000)
            ensure_stream(self.app.store, scope, f.group, stream, now_ms)
            append_events(self.app.store, scope, f.group, stream, [(now_ms, ln) for ln in lines], now_ms)


def forget_gone(app: App, kind: str) -> None:
    """Drop ``kind``'s documents of instances that are terminated or gone."""
    for scope in app.store.list_scopes(kind):
        for iid, _doc in app.store.list(kind, scope):
            inst = app.store.get(INSTANCE, scope, iid)
            if inst is None or inst["State"]["Name"] == "terminated":
                app.store.delete(kind, scope, iid)


def register(app: App) -> None:
    ctl = AgentController(app)
    app.runner.register(CONTROLLER, ctl.reconcile, list_keys=lambda: ["all"], period=TICK)
