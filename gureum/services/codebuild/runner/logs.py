"""A build's log: CloudWatch Logs group ``/aws/codebuild/<project>``, stream ``<build uuid>``.

The project's ``logsConfig.cloudWatchLogs`` may name another group and a
stream prefix (the stream is then ``<prefix>/<build uuid>``) or disable
logs.  Lines go through the logs service's public functions
(:func:`~gureum.services.logs.events.ensure_stream` / ``append_events``) as
they arrive, stamped with the (virtual) time they arrived, so a stream reads
in the order things happened.  Lines that start with ``[Container] ``
get CodeBuild's timestamp after that tag, as real build logs show it::

    [Container] 2024/05/01 10:00:00.123456 Running command npm test
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gureum.core.clock import to_datetime
from gureum.core.errors import ServiceError
from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codebuild")

TAG = "[Container] "


@dataclass(frozen=True, slots=True)
class LogTarget:
    enabled: bool
    group: str
    stream: str


def log_target(project: str, logs_config: dict[str, Any] | None, build_uuid: str) -> LogTarget:
    cw = (logs_config or {}).get("cloudWatchLogs") or {}
    group = cw.get("groupName") or f"/aws/codebuild/{project}"
    prefix = (cw.get("streamName") or "").strip("/")
    stream = f"{prefix}/{build_uuid}" if prefix else build_uuid
    return LogTarget(cw.get("status", "ENABLED") != "DISABLED", group, stream)


def logs_location(scope: Scope, target: LogTarget) -> dict[str, Any]:
    """The ``logs`` member of a build."""
    if not target.enabled:
        return {"cloudWatchLogs": {"status": "DISABLED"}, "s3Logs": {"status": "DISABLED"}}
    region = scope.region
    return {
        "groupName": target.group,
        "streamName": target.stream,
        "deepLink": (
            f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logEvent:group={quote(target.group, safe='')};stream={quote(target.stream, safe='')}"
        ),
        "cloudWatchLogsArn": f"arn:aws:logs:{region}:{scope.account}:log-group:{target.group}:log-stream:{target.stream}",
        "cloudWatchLogs": {"status": "ENABLED", "groupName": target.group, "streamName": target.stream},
        "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
    }


def stamp(line: str, now: float) -> str:
    if not line.startswith(TAG):
        return line
    when = to_datetime(now).strftime("%Y/%m/%d %H:%M:%S.%f")
    return f"{TAG}{when} {line[len(TAG):]}"


class BuildLog:
    """Appends a build's lines to its stream; a missing group or a disabled config drops them."""

    def __init__(self, app: App, scope: Scope, target: LogTarget) -> None:
        self.app = app
        self.scope = scope
        self.target = target
        self._ready = False

    def _ensure(self) -> bool:
        if not self.target.enabled:
            return False
        if not self._ready:
            from gureum.services.logs.events import ensure_stream

            self.app.service_api("logs")
            ensure_stream(self.app.store, self.scope, self.target.group, self.target.stream, self._ms())
            self._ready = True
        return True

    def _ms(self) -> int:
        return int(self.app.clock.now() * 1000)

    def write(self, lines: Iterable[str]) -> None:
        from gureum.services.logs.events import append_events

        if not self._ensure():
            return
        now = self.app.clock.now()
        stamp_ms = int(now * 1000)
        events = [(stamp_ms, stamp(line, now)) for line in lines]
        if not events:
            return
        try:
            append_events(self.app.store, self.scope, self.target.group, self.target.stream, events, stamp_ms)
        except ServiceError as exc:  # the group was deleted while the build ran: recreate it once
            log.info("writing the log of a build failed (%s); recreating the stream", exc)
            self._ready = False
            if self._ensure():
                append_events(self.app.store, self.scope, self.target.group, self.target.stream, events, stamp_ms)

    def container(self, text: str) -> None:
        """One line of Gureum's own, tagged as CodeBuild tags its agent's lines."""
        self.write([TAG + text])
