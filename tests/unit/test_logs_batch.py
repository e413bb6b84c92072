"""PutLogEvents batch rules: order, size, age windows, span."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.logs.batch import (
    DAY_MS,
    MAX_AGE_MS,
    MAX_BATCH_BYTES,
    MAX_FUTURE_MS,
    BatchError,
    batch_size,
    check_batch,
)

NOW = 1_700_000_000_000
HOUR = 3_600_000


def test_all_valid_events_are_kept() -> None:
    v = check_batch([NOW - 2 * HOUR, NOW - HOUR, NOW], ["a", "b", "c"], NOW)
    assert (v.start, v.stop) == (0, 3)
    assert v.rejected_info() == {}


def test_out_of_order_fails_whole_batch() -> None:
    with pytest.raises(BatchError, match="chronological order"):
        check_batch([NOW, NOW - 1], ["a", "b"], NOW)


def test_equal_timestamps_are_in_order() -> None:
    assert check_batch([NOW, NOW, NOW], ["a", "b", "c"], NOW).stop == 3


def test_size_counts_26_bytes_per_event() -> None:
    assert batch_size(["", "é"]) == 26 + 26 + 2
    msg = "x" * (MAX_BATCH_BYTES - 26)
    check_batch([NOW], [msg], NOW)
    with pytest.raises(BatchError, match="Upload too large"):
        check_batch([NOW], [msg + "x"], NOW)


def test_too_old_and_too_new_are_rejected_not_failed() -> None:
    stamps = [NOW - MAX_AGE_MS - 1, NOW - MAX_AGE_MS - 1, NOW - 1, NOW + MAX_FUTURE_MS + 1]
    v = check_batch(stamps, ["a"] * 4, NOW)
    assert (v.start, v.stop) == (2, 3)
    assert v.rejected_info() == {"tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 3}


def test_expired_by_retention() -> None:
    stamps = [NOW - 2 * DAY_MS, NOW - HOUR]
    v = check_batch(stamps, ["a", "b"], NOW, retention_days=1)
    assert v.rejected_info() == {"expiredLogEventEndIndex": 1}
    assert (v.start, v.stop) == (1, 2)


def test_kept_events_may_not_span_more_than_a_day() -> None:
    with pytest.raises(BatchError, match="24 hours"):
        check_batch([NOW - 25 * HOUR, NOW], ["a", "b"], NOW)
    # The span counts kept events only: a too-old one does not widen it.
    v = check_batch([NOW - MAX_AGE_MS - 5, NOW - HOUR, NOW], ["a", "b", "c"], NOW)
    assert (v.start, v.stop) == (1, 3)


@given(st.lists(st.integers(min_value=-20 * DAY_MS, max_value=3 * HOUR), min_size=1, max_size=50))
def test_kept_slice_is_exactly_the_events_inside_the_window(offsets: list[int]) -> None:
    stamps = sorted(NOW + o for o in offsets)
    try:
        v = check_batch(stamps, ["m"] * len(stamps), NOW)
    except BatchError:
        kept = [t for t in stamps if NOW - MAX_AGE_MS <= t <= NOW + MAX_FUTURE_MS]
        assert kept[-1] - kept[0] > DAY_MS
        return
    inside = [t for t in stamps if NOW - MAX_AGE_MS <= t <= NOW + MAX_FUTURE_MS]
    assert stamps[v.start : v.stop] == inside
