"""Alarm evaluation over days of simulated time.

The engine (:class:`AlarmEngine`) is driven minute by minute from a SimClock
against a real (in-memory) store, with metrics published the way Gureum's
own services publish them (:func:`metrics.publish`).  The last test runs the
same engine through the controller runner with the SimClock's autojump.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.store import Scope, SqliteStore
from gureum.services.api import RequestContext
from gureum.services.cloudwatch import alarm_controller, metrics
from gureum.services.cloudwatch.alarm_eval import AlarmSpec, Datapoint, window
from gureum.settings import Settings

DAY = 86_400
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a midnight
ACCOUNT, REGION = "123456789012", "us-east-1"
SCOPE = Scope(ACCOUNT, REGION)
ASG = f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:9f:autoScalingGroupName/web:policyName/out"
SNS = f"arn:aws:sns:{REGION}:{ACCOUNT}:ops"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    a = App(Settings(data_dir=str(tmp_path)), clock=SimClock(START), store=SqliteStore(":memory:"))
    a.service_api("cloudwatch")
    yield a
    a.store.close()


def call(app: App, op: str, **req: Any) -> dict[str, Any]:
    api = app.service_api("cloudwatch")
    assert api is not None
    ctx = RequestContext("cloudwatch", op, ACCOUNT, REGION, "rid", app)
    return api.handlers[op](ctx, req)  # type: ignore[return-value]


def put_alarm(app: App, name: str, **extra: Any) -> None:
    req: dict[str, Any] = dict(AlarmName=name, Namespace="Sim", MetricName="CPU", Statistic="Average", Period=60,
                               EvaluationPeriods=3, Threshold=80.0, ComparisonOperator="GreaterThanThreshold")
    req.update(extra)
    call(app, "PutMetricAlarm", **req)


def state_changes(app: App, name: str) -> list[tuple[float, str, str]]:
    items = call(app, "DescribeAlarmHistory", AlarmName=name, HistoryItemType="StateUpdate",
                 ScanBy="TimestampAscending")["AlarmHistoryItems"]
    out = []
    for i in items:
        data = json.loads(i["HistoryData"])
        out.append((float(i["Timestamp"]), data["oldState"]["stateValue"], data["newState"]["stateValue"]))
    return out


def simulate(app: App, minutes: int, cpu: Callable[[float], float | None], *, feed: bool = False) -> list[dict[str, Any]]:
    """Evaluate once a minute (5 s after it), ``minutes`` times, on the SimClock.

    ``cpu(minute start)`` gives each minute's value (None: no datapoint).  By default
    the value is published into the store for the minute that just ended, as Gureum's
    services publish, and the engine reads it back like GetMetricData; with ``feed``
    the engine is fed the values directly (days of evaluation without the metric I/O).
    """
    seen: list[dict[str, Any]] = []
    app.bus.subscribe("cloudwatch.alarm_action", lambda _t, p: seen.append(p))
    engine = alarm_controller.engine(app)
    if feed:
        engine = alarm_controller.AlarmEngine(app, source=_feed(cpu))
    clock = app.clock
    assert isinstance(clock, SimClock)

    async def run() -> None:
        await clock.advance(5)
        for _ in range(minutes):
            minute = clock.now() - 5 - 60  # start of the minute that just ended
            value = cpu(minute)
            if value is not None and not feed:
                metrics.publish(app.store, SCOPE, "Sim", "CPU", value, timestamp=minute)
            engine.tick(clock.now())
            await clock.advance(60)

    asyncio.run(run())
    return seen


def _feed(cpu: Callable[[float], float | None]) -> alarm_controller.Source:
    def source(_app: App, _scope: Scope, _alarm: dict[str, Any], spec: AlarmSpec, now: float) -> list[Datapoint]:
        start, end = window(spec, now)
        points = []
        for i in range(int((end - start) // spec.period)):
            ts = start + i * spec.period
            value = cpu(ts)
            if value is not None:
                points.append(Datapoint(ts, value, 1.0))
        return points

    return source


def busy_hours(minute: float) -> float:
    hour = (minute % DAY) // 3600
    return 90.0 if 9 <= hour < 17 else 30.0


def test_three_days_of_business_hours(app: App) -> None:
    put_alarm(app, "high", AlarmActions=[ASG, SNS], OKActions=[SNS])
    seen = simulate(app, 3 * 1440, busy_hours, feed=True)
    changes = state_changes(app, "high")
    assert [(old, new) for _, old, new in changes] == [("INSUFFICIENT_DATA", "OK")] + [("OK", "ALARM"), ("ALARM", "OK")] * 3
    for day in range(3):
        went_up, went_down = changes[1 + 2 * day][0], changes[2 + 2 * day][0]
        # 09:00–09:02 breach; evaluated at 09:03:05.  17:00 back to normal: evaluated at 17:01:05.
        assert went_up == START + day * DAY + 9 * 3600 + 3 * 60 + 5
        assert went_down == START + day * DAY + 17 * 3600 + 60 + 5
    sns = [p for p in seen if p["arn"] == SNS]
    asg = [p for p in seen if p["arn"] == ASG]
    assert [p["state"] for p in sns] == ["OK"] + ["ALARM", "OK"] * 3  # transitions only
    minutes_in_alarm = 3 * (8 * 60 - 2)  # from 09:03:05 to 17:00:05 inclusive, one invocation a minute
    assert len(asg) == minutes_in_alarm
    assert sum(1 for p in asg if not p["repeat"]) == 3
    assert all(p["value"] == 90.0 for p in asg)


def test_metric_that_stops_flowing(app: App) -> None:
    # Breaching for 10 minutes, then nothing: the alarm keeps evaluating what is left
    # in its 5-period range and goes INSUFFICIENT_DATA when the range is empty.
    put_alarm(app, "missing")
    put_alarm(app, "breaching", TreatMissingData="breaching")
    put_alarm(app, "ignore", TreatMissingData="ignore")
    put_alarm(app, "notBreaching", TreatMissingData="notBreaching")
    simulate(app, 30, lambda m: 95.0 if m < START + 10 * 60 else None)
    last_period_end = START + 10 * 60
    missing = state_changes(app, "missing")
    assert [new for _, _, new in missing] == ["ALARM", "INSUFFICIENT_DATA"]
    assert missing[-1][0] == last_period_end + 5 * 60 + 5
    assert [new for _, _, new in state_changes(app, "breaching")] == ["ALARM"]
    assert [new for _, _, new in state_changes(app, "ignore")] == ["ALARM"]
    nb = state_changes(app, "notBreaching")
    assert [new for _, _, new in nb] == ["OK", "ALARM", "OK"]  # nothing yet at first: OK
    # [X X -]: 2 real → 1 fill → still ALARM; [X - -] → OK
    assert nb[-1][0] == last_period_end + 3 * 60 + 5


def test_m_of_n_with_spikes(app: App) -> None:
    put_alarm(app, "2of5", EvaluationPeriods=5, DatapointsToAlarm=2)
    put_alarm(app, "5of5", EvaluationPeriods=5)
    spikes = {7, 9, 30, 50, 51}  # minutes with a breaching value

    def cpu(m: float) -> float:
        return 95.0 if int((m - START) // 60) in spikes else 20.0

    simulate(app, 70, cpu)
    two = state_changes(app, "2of5")
    assert [new for _, _, new in two] == ["OK", "ALARM", "OK", "ALARM", "OK"]
    # spikes at minutes 7 and 9: the second is seen at 10:05; at 13:05 the newest five are
    # minutes 8–12, one breach: OK.  Minutes 50, 51: ALARM at 52:05, OK at 56:05.
    assert [t - START for t, _, _ in two[1:]] == [10 * 60 + 5, 13 * 60 + 5, 52 * 60 + 5, 56 * 60 + 5]
    assert [new for _, _, new in state_changes(app, "5of5")] == ["OK"]


def test_runner_drives_the_engine_on_the_simulated_clock(app: App) -> None:
    # The real controller runner, ticking on the SimClock: evaluations land 5 s after each minute.
    clock = app.clock
    assert isinstance(clock, SimClock)

    async def run() -> None:
        app.runner.start()
        alarm_controller.start(app)
        put_alarm(app, "live", EvaluationPeriods=2)
        for i in range(10):
            minute = clock.now() // 60 * 60
            metrics.publish(app.store, SCOPE, "Sim", "CPU", 99.0 if i >= 4 else 10.0, timestamp=minute)
            await clock.run_until_idle(60)
        await app.runner.stop()

    asyncio.run(run())
    changes = state_changes(app, "live")
    assert [new for _, _, new in changes] == ["OK", "ALARM"]
    assert all((t - 5) % 60 == 0 for t, _, _ in changes)  # on the evaluation schedule
    assert changes[-1][0] == START + 6 * 60 + 5  # breaching minutes 4 and 5, evaluated after minute 5 closes
