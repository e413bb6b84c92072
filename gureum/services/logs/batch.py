"""Checks on one PutLogEvents batch, before anything is stored.

AWS's rules (PutLogEvents API reference):

* at most 10,000 events, and at most 1,048,576 bytes counted as the UTF-8
  size of every message plus 26 bytes per event;
* events in chronological order (non-decreasing timestamps), else the whole
  call fails;
* events more than 2 hours in the future are rejected
  (``tooNewLogEventStartIndex``, inclusive), events older than 14 days
  (``tooOldLogEventEndIndex``, exclusive) or older than the group's retention
  (``expiredLogEventEndIndex``, exclusive) are rejected, and the rest stored;
* the events kept may not span more than 24 hours, else the call fails.

Because events are sorted, the rejected ones are a prefix (too old/expired)
and a suffix (too new).  Pure: timestamps and ``now`` in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_AGE_MS = 14 * 24 * 3600 * 1000
MAX_FUTURE_MS = 2 * 3600 * 1000
MAX_SPAN_MS = 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000


class BatchError(ValueError):
    """The whole call fails (InvalidParameterException)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    start: int  # first stored index
    stop: int  # one past the last stored index
    too_old_end: int | None = None
    expired_end: int | None = None
    too_new_start: int | None = None

    def rejected_info(self) -> dict[str, int]:
        info: dict[str, int] = {}
        if self.too_old_end is not None:
            info["tooOldLogEventEndIndex"] = self.too_old_end
        if self.expired_end is not None:
            info["expiredLogEventEndIndex"] = self.expired_end
        if self.too_new_start is not None:
            info["tooNewLogEventStartIndex"] = self.too_new_start
        return info


def batch_size(messages: Sequence[str]) -> int:
    return sum(len(m.encode("utf-8")) + EVENT_OVERHEAD for m in messages)


def check_batch(
    timestamps: Sequence[int], messages: Sequence[str], now_ms: int, retention_days: int | None = None
) -> Verdict:
    n = len(timestamps)
    if n > MAX_EVENTS:
        raise BatchError(f"The batch of log events exceeds the limit of {MAX_EVENTS} events.")
    size = batch_size(messages)
    if size > MAX_BATCH_BYTES:
        raise BatchError(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
    if any(timestamps[i] < timestamps[i - 1] for i in range(1, n)):
        raise BatchError("Log events in a single PutLogEvents request must be in chronological order.")

    too_old = sum(1 for t in timestamps if t < now_ms - MAX_AGE_MS)
    expired = 0
    if retention_days:
        expired = sum(1 for t in timestamps if t < now_ms - retention_days * DAY_MS)
    too_new_at = next((i for i, t in enumerate(timestamps) if t > now_ms + MAX_FUTURE_MS), n)
    start = max(too_old, expired)
    stop = max(start, too_new_at)
    if stop > start and timestamps[stop - 1] - timestamps[start] > MAX_SPAN_MS:
        raise BatchError(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        )
    return Verdict(
        start=start,
        stop=stop,
        too_old_end=too_old or None,
        expired_end=expired or None,
        too_new_start=too_new_at if too_new_at < n else None,
    )
