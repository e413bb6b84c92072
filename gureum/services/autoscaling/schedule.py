"""When scheduled actions run: cron, rate and at expressions.  Pure.

Two dialects, shared by both scaling services:

* EC2 Auto Scaling ``Recurrence`` — Unix cron, five fields
  ``minute hour day-of-month month day-of-week`` (day-of-week 0–7, Sunday is
  0 or 7; names JAN… and SUN… accepted); when both day fields are
  restricted, either may match (Vixie cron's rule).
* Application Auto Scaling ``Schedule`` — ``at(yyyy-mm-ddThh:mm:ss)``,
  ``rate(N minute|minutes|hour|hours|day|days)`` or ``cron(…)`` with six
  fields ``minute hour day-of-month month day-of-week year`` where
  day-of-week is 1–7 with Sunday = 1, and one of the day fields is ``?``.

Fields take ``*``, ``?``, numbers, names, ranges ``a-b``, steps ``*/n`` and
``a-b/n``, and lists.  Times are evaluated in the action's IANA time zone
(UTC by default).  :func:`next_time` returns the first firing strictly after
a moment, or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
SEARCH_DAYS = 366 * 5


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    doms: frozenset[int] | None  # None: any
    months: frozenset[int]
    dows: frozenset[int] | None  # 0 = Sunday; None: any
    years: frozenset[int] | None = None

    def day_matches(self, day: datetime) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        dow = (day.weekday() + 1) % 7
        if self.doms is not None and self.dows is not None:
            return day.day in self.doms or dow in self.dows
        if self.doms is not None:
            return day.day in self.doms
        if self.dows is not None:
            return dow in self.dows
        return True


def _value(text: str, names: dict[str, int], offset: int) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper] + offset
    if not text.isdigit():
        raise ScheduleError(f"'{text}' is not a valid cron value")
    return int(text)


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None, offset: int = 0,
           ) -> frozenset[int] | None:
    if text in ("*", "?"):
        return None
    names = names or {}
    out: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ScheduleError(f"'{part}' has an invalid step")
        if body in ("*", "?"):
            a, b = low, high
        elif "-" in body:
            x, y = body.split("-", 1)
            a, b = _value(x, names, offset), _value(y, names, offset)
        else:
            a = _value(body, names, offset)
            b = high if step else a
        if not (low <= a <= high and low <= b <= high) or a > b:
            raise ScheduleError(f"'{part}' is out of range {low}-{high}")
        out.update(range(a, b + 1, step or 1))
    return frozenset(out)


def _all(low: int, high: int, got: frozenset[int] | None) -> frozenset[int]:
    return frozenset(range(low, high + 1)) if got is None else got


def parse_unix_cron(expr: str) -> Cron:
    parts = expr.split()
    if len(parts) != 5:
        raise ScheduleError(f"'{expr}' is not a valid cron expression (5 fields expected)")
    dows = _field(parts[4], 0, 7, DAYS)
    if dows is not None:
        dows = frozenset(d % 7 for d in dows)
    return Cron(_all(0, 59, _field(parts[0], 0, 59)), _all(0, 23, _field(parts[1], 0, 23)),
                _field(parts[2], 1, 31), _all(1, 12, _field(parts[3], 1, 12, MONTHS)), dows)


def parse_aws_cron(body: str) -> Cron:
    parts = body.split()
    if len(parts) != 6:
        raise ScheduleError(f"'cron({body})' is not a valid cron expression (6 fields expected)")
    if "?" not in (parts[2], parts[4]):
        raise ScheduleError("One of the day-of-month and day-of-week fields must be '?'")
    dows = _field(parts[4], 1, 7, DAYS, offset=1)
    if dows is not None:
        dows = frozenset(d - 1 for d in dows)  # AWS: SUN = 1
    return Cron(_all(0, 59, _field(parts[0], 0, 59)), _all(0, 23, _field(parts[1], 0, 23)),
                _field(parts[2], 1, 31), _all(1, 12, _field(parts[3], 1, 12, MONTHS)), dows,
                _field(parts[5], 1970, 2199))


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"Invalid time zone: {name}") from exc


def next_cron(cron: Cron, after: float, tz: ZoneInfo) -> float | None:
    local = datetime.fromtimestamp(after, UTC).astimezone(tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(SEARCH_DAYS):
        if cron.day_matches(day):
            for h in sorted(cron.hours):
                for m in sorted(cron.minutes):
                    when = datetime(day.year, day.month, day.day, h, m, tzinfo=tz).timestamp()
                    if when > after:
                        return when
        day = day + timedelta(days=1)  # aware arithmetic is wall-clock: the next local midnight
    return None


def parse_at(expr: str, tz: ZoneInfo) -> float:
    m = _AT.match(expr)
    if not m:
        raise ScheduleError(f"'{expr}' is not a valid at expression")
    try:
        return datetime.fromisoformat(m.group(1)).replace(tzinfo=tz).timestamp()
    except ValueError as exc:
        raise ScheduleError(f"'{expr}' is not a valid at expression: {exc}") from None


def check_expression(expr: str) -> None:
    """Raise :class:`ScheduleError` unless ``expr`` is a valid Application Auto Scaling schedule."""
    if _RATE.match(expr):
        if int(_RATE.match(expr).group(1)) < 1:  # type: ignore[union-attr]
            raise ScheduleError("The rate value must be at least 1")
        return
    if _AT.match(expr):
        parse_at(expr, zone("UTC"))
        return
    m = _CRON.match(expr)
    if not m:
        raise ScheduleError(f"Schedule expression '{expr}' must be an at(), rate() or cron() expression")
    parse_aws_cron(m.group(1))


def next_time(expr: str, after: float, *, start: float, tz_name: str | None = None) -> float | None:
    """The first firing of an Application Auto Scaling schedule strictly after ``after``.

    ``start`` anchors ``rate()`` (the action's StartTime or creation time).
    """
    tz = zone(tz_name)
    m = _RATE.match(expr)
    if m:
        period = int(m.group(1)) * _UNIT[m.group(2).rstrip("s")]
        k = max(1, int((after - start) // period) + 1)
        return start + k * period
    if _AT.match(expr):
        when = parse_at(expr, tz)
        return when if when > after else None
    cm = _CRON.match(expr)
    if not cm:
        raise ScheduleError(f"Schedule expression '{expr}' must be an at(), rate() or cron() expression")
    return next_cron(parse_aws_cron(cm.group(1)), after, tz)


def next_recurrence(recurrence: str, after: float, tz_name: str | None = None) -> float | None:
    """The next firing of an EC2 Auto Scaling ``Recurrence`` (Unix cron) strictly after ``after``."""
    return next_cron(parse_unix_cron(recurrence), after, zone(tz_name))
