"""Load- and time-based instances: the decisions.  Pure: ``now`` is passed in.

**Time-based** (SetTimeBasedAutoScaling): an instance of ``AutoScalingType``
``timer`` is online during the hours its weekly schedule switches ``on``
(``{"Monday": {"9": "on", "10": "on"}, …}``, hours 0–23 in UTC) and stopped
otherwise; one without a schedule stays stopped.

**Load-based** (SetLoadBasedAutoScaling, per layer): the layer's metric is
the per-minute average over its online instances (EC2's ``CPUUtilization``
with detailed monitoring, which OpsWorks instances get; the only metric
Gureum's instances report; ``MemoryThreshold`` and ``LoadThreshold``
have no data here and never breach).  It *breaches* up when the CPU is above
``UpScaling.CpuThreshold`` (or any of ``UpScaling.Alarms`` is in ALARM)
for ``ThresholdsWaitTime`` minutes, and down when it is below
``DownScaling.CpuThreshold`` (or all of ``DownScaling.Alarms`` are in ALARM)
for its wait time; a threshold of -1 is off.  Up starts ``InstanceCount``
stopped ``load`` instances of the layer, down stops ``InstanceCount`` online
ones.  After a scaling event metrics are ignored for ``IgnoreMetricsTime``
minutes (OpsWorks' own guard against flapping).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UP_DEFAULTS = {"InstanceCount": 1, "ThresholdsWaitTime": 5, "IgnoreMetricsTime": 5, "CpuThreshold": 80.0,
               "MemoryThreshold": -1.0, "LoadThreshold": -1.0}
DOWN_DEFAULTS = {"InstanceCount": 1, "ThresholdsWaitTime": 10, "IgnoreMetricsTime": 10, "CpuThreshold": 30.0,
                 "MemoryThreshold": -1.0, "LoadThreshold": -1.0}


def scheduled_on(schedule: Mapping[str, Mapping[str, str]] | None, now: float) -> bool:
    """Whether a time-based instance should be online at ``now`` (UTC)."""
    if not schedule:
        return False
    t = datetime.fromtimestamp(now, UTC)
    day = schedule.get(WEEKDAYS[t.weekday()]) or {}
    return str(day.get(str(t.hour), "off")).lower() == "on"


def thresholds(given: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    out.update({k: v for k, v in (given or {}).items() if v is not None})
    return out


@dataclass(frozen=True, slots=True)
class LoadDecision:
    start: int = 0
    stop: int = 0
    reason: str = ""


def _held(series: Sequence[tuple[float, float]], now: float, minutes: int, test: Any) -> bool:
    """The last ``minutes`` one-minute samples all pass ``test``.

    The window reaches one minute further back than ``minutes``: a minute's
    datapoint is stamped with its start and published after its end.
    """
    window = [v for ts, v in series if ts > now - (minutes + 1) * 60]
    return len(window) >= max(1, minutes) and all(test(v) for v in window)


def decide_load(config: Mapping[str, Any], cpu: Sequence[tuple[float, float]], now: float,
                last_event: float | None, *, stopped: int, online: int,
                alarms_up: Sequence[bool] = (), alarms_down: Sequence[bool] = ()) -> LoadDecision:
    """What the layer's load-based scaling does now.

    ``cpu`` is the layer's average CPU per minute ``(ts, percent)``; ``stopped``
    and ``online`` count its load-based instances; ``alarms_*`` are whether
    each configured alarm is in ALARM.
    """
    if not config.get("Enable"):
        return LoadDecision(reason="load-based scaling is off")
    up = thresholds(config.get("UpScaling"), UP_DEFAULTS)
    down = thresholds(config.get("DownScaling"), DOWN_DEFAULTS)
    if last_event is not None:
        ignore = max(int(up["IgnoreMetricsTime"]), int(down["IgnoreMetricsTime"]))
        if now - last_event < ignore * 60:
            return LoadDecision(reason="ignoring metrics after the last scaling event")
    cpu_up = float(up["CpuThreshold"])
    if stopped > 0 and ((cpu_up >= 0 and _held(cpu, now, int(up["ThresholdsWaitTime"]), lambda v: v > cpu_up))
                        or (alarms_up and any(alarms_up))):
        return LoadDecision(start=min(int(up["InstanceCount"]), stopped),
                            reason=f"CPU above {cpu_up}% for {up['ThresholdsWaitTime']} min")
    cpu_down = float(down["CpuThreshold"])
    if online > 0 and ((cpu_down >= 0 and _held(cpu, now, int(down["ThresholdsWaitTime"]), lambda v: v < cpu_down))
                       or (alarms_down and all(alarms_down))):
        return LoadDecision(stop=min(int(down["InstanceCount"]), online),
                            reason=f"CPU below {cpu_down}% for {down['ThresholdsWaitTime']} min")
    return LoadDecision(reason="within thresholds")


def layer_average(per_instance: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    """Per-minute average over instances of their ``(ts, value)`` series."""
    sums: dict[float, list[float]] = {}
    for series in per_instance:
        for ts, value in series:
            sums.setdefault(float(int(ts // 60) * 60), []).append(value)
    return sorted((ts, sum(vs) / len(vs)) for ts, vs in sums.items())
