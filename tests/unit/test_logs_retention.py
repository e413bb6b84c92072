"""The retention controller expires events on the injected (simulated) clock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.services.api import RequestContext
from gureum.services.logs import retention
from gureum.settings import Settings

START = 1_700_000_000.0
DAY = 86_400.0


def test_events_beyond_retention_are_removed_by_the_controller(tmp_path: Path) -> None:
    clock = SimClock(START)
    app = App(Settings(data_dir=str(tmp_path)), clock=clock)
    api = app.service_api("logs")
    assert api is not None

    def call(op: str, **req: Any) -> dict[str, Any]:
        ctx = RequestContext("logs", op, "123456789012", "us-east-1", "rid", app)
        return api.handlers[op](ctx, req)  # type: ignore[return-value]

    def messages() -> list[str]:
        return [e["message"] for e in call("GetLogEvents", logGroupName="g", logStreamName="s", startFromHead=True)["events"]]

    async def scenario() -> None:
        app.runner.start()
        try:
            call("CreateLogGroup", logGroupName="g")
            call("CreateLogStream", logGroupName="g", logStreamName="s")
            now_ms = int(clock.now() * 1000)
            # Two calls: one batch may not span more than 24 hours.
            for ts, msg in ((now_ms - 36 * 3_600_000, "old"), (now_ms - 3_600_000, "recent")):
                call("PutLogEvents", logGroupName="g", logStreamName="s", logEvents=[{"timestamp": ts, "message": msg}])
            call("PutRetentionPolicy", logGroupName="g", retentionInDays=1)
            await clock.run_until_idle(1.0)
            await app.runner.wait_idle()
            assert messages() == ["recent"]
            group = call("DescribeLogGroups")["logGroups"][0]
            assert group["storedBytes"] == len("recent")
            stream = call("DescribeLogStreams", logGroupName="g")["logStreams"][0]
            assert stream["firstEventTimestamp"] == now_ms - 3_600_000
            # A day later the periodic sweep (no new request) removes the rest.
            await clock.run_until_idle(DAY + retention.SWEEP_SECONDS)
            await app.runner.wait_idle()
            assert messages() == []
            assert call("DescribeLogGroups")["logGroups"][0]["storedBytes"] == 0
        finally:
            await app.runner.stop()

    asyncio.run(scenario())
    app.store.close()


def test_group_without_retention_keeps_everything(tmp_path: Path) -> None:
    app = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START))
    app.service_api("logs")
    assert list(retention.groups_with_retention(app.store)) == []
    from gureum.core.store import Scope
    from gureum.services.logs.events import append_events, ensure_stream

    scope = Scope("123456789012", "us-east-1")
    ensure_stream(app.store, scope, "g", "s", 0)
    append_events(app.store, scope, "g", "s", [(1000, "a")], 2000)
    assert retention.expire_events(app.store, scope, "g", START) == 1  # explicit cutoff still works
    app.store.close()
