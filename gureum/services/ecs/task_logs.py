"""awslogs: container output into CloudWatch Logs, named as ECS names it.

A container with ``logConfiguration.logDriver == "awslogs"`` writes to group
``awslogs-group`` in region ``awslogs-region`` (default: the task's), stream
``<awslogs-stream-prefix>/<container name>/<task id>`` (without a prefix, the
container's runtime id, as with the Docker awslogs driver).  The group must
exist unless ``awslogs-create-group`` is ``true``; otherwise the task fails
to start with ECS's ResourceInitializationError.

Lines are written with the logs service's public functions
(:func:`gureum.services.logs.events.ensure_stream` / ``append_events``), one
follower per container, which ends when the container's output ends.  A
follower restarted after a server restart resumes after the stream's last
event, so lines are not shipped twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.runtime.base import DriverError, RuntimeDriver

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ecs.logs")

Doc = dict[str, Any]


def awslogs_target(task: Doc, c: Doc, region: str, runtime_id: str = "") -> tuple[str, str, str, bool] | None:
    """(region, group, stream, create_group) for an awslogs container, else None."""
    cfg = c.get("logConfiguration") or {}
    if cfg.get("logDriver") != "awslogs":
        return None
    opts = cfg.get("options") or {}
    group = opts.get("awslogs-group")
    if not group:
        return None
    prefix = opts.get("awslogs-stream-prefix")
    stream = f"{prefix}/{c['name']}/{task['_id']}" if prefix else (runtime_id or task["_id"])
    create = str(opts.get("awslogs-create-group", "false")).lower() == "true"
    return opts.get("awslogs-region") or region, group, stream, create


def missing_group_reason(group: str) -> str:
    return (
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
        f"failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. "
        f"(group {group})"
    )


class LogShipper:
    def __init__(self, app: App) -> None:
        self.app = app
        self.followers: dict[str, asyncio.Task[Any]] = {}

    def check_group(self, account: str, target: tuple[str, str, str, bool]) -> str | None:
        """The reason the task cannot start (its log group is missing), if any."""
        from gureum.services.logs.models import GROUP

        region, group, _, create = target
        if not create and self.app.store.get(GROUP, Scope(account, region), group) is None:
            return missing_group_reason(group)
        return None

    def follow(self, driver: RuntimeDriver, container_id: str, account: str, target: tuple[str, str, str, bool]) -> None:
        """Create the stream (and the group, with awslogs-create-group) and ship the container's output."""
        from gureum.services.logs.events import ensure_stream

        task = self.followers.get(container_id)
        if task is not None and not task.done():
            return
        region, group, stream, _ = target
        ensure_stream(self.app.store, Scope(account, region), group, stream, int(self.app.clock.now() * 1000))
        self.followers[container_id] = self.app.spawn(self._ship(driver, container_id, account, target))

    async def _ship(self, driver: RuntimeDriver, container_id: str, account: str, target: tuple[str, str, str, bool]) -> None:
        from gureum.services.logs.events import append_events
        from gureum.services.logs.models import STREAM, stream_key

        region, group, stream, _ = target
        scope = Scope(account, region)
        sdoc = self.app.store.get(STREAM, scope, stream_key(group, stream)) or {}
        last = sdoc.get("lastEventTimestamp")
        since = (last + 1) / 1000.0 if last else None
        try:
            async for line in driver.logs(container_id, follow=True, since=since):
                now_ms = int(self.app.clock.now() * 1000)
                stamp = int(line.time * 1000) if line.time else now_ms
                try:
                    append_events(self.app.store, scope, group, stream, [(stamp, line.line)], now_ms)
                except ServiceError as exc:  # the group was deleted under us: stop shipping
                    log.info("shipping logs of %s to %s/%s stopped: %s", container_id, group, stream, exc)
                    return
        except DriverError as exc:
            log.debug("log follower of %s ended: %s", container_id, exc)
        finally:
            self.followers.pop(container_id, None)

    async def drain(self, container_id: str, timeout: float = 2.0) -> None:
        """Let a follower finish the last lines of an exited container."""
        task = self.followers.get(container_id)
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
