"""Phase transitions and build status: AWS's table, on-failure, and a property over every path."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.codebuild.build_plan import (
    COMMAND_PHASES,
    ORDER,
    Phase,
    Status,
    build_status,
    next_phase,
    succeeding,
)

P, S = Phase, Status


def test_order_is_codebuilds() -> None:
    assert [p.value for p in ORDER] == [
        "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD",
        "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("phase", "status", "on_failure", "expected"),
    [
        (P.SUBMITTED, S.SUCCEEDED, "ABORT", P.QUEUED),
        (P.DOWNLOAD_SOURCE, S.SUCCEEDED, "ABORT", P.INSTALL),
        (P.BUILD, S.SUCCEEDED, "ABORT", P.POST_BUILD),
        (P.UPLOAD_ARTIFACTS, S.SUCCEEDED, "ABORT", P.FINALIZING),
        (P.FINALIZING, S.SUCCEEDED, "ABORT", P.COMPLETED),
        # failures, AWS's transitions
        (P.PROVISIONING, S.FAILED, "ABORT", P.FINALIZING),
        (P.DOWNLOAD_SOURCE, S.FAILED, "ABORT", P.FINALIZING),
        (P.INSTALL, S.FAILED, "ABORT", P.FINALIZING),
        (P.PRE_BUILD, S.FAILED, "ABORT", P.FINALIZING),
        (P.BUILD, S.FAILED, "ABORT", P.POST_BUILD),
        (P.POST_BUILD, S.FAILED, "ABORT", P.UPLOAD_ARTIFACTS),
        (P.UPLOAD_ARTIFACTS, S.FAILED, "ABORT", P.FINALIZING),
        (P.FINALIZING, S.FAILED, "ABORT", P.COMPLETED),
        # on-failure: CONTINUE goes on in order, only for command phases
        (P.INSTALL, S.FAILED, "CONTINUE", P.PRE_BUILD),
        (P.PRE_BUILD, S.FAILED, "CONTINUE", P.BUILD),
        (P.BUILD, S.FAILED, "CONTINUE", P.POST_BUILD),
        (P.POST_BUILD, S.FAILED, "continue", P.UPLOAD_ARTIFACTS),
        (P.DOWNLOAD_SOURCE, S.FAILED, "CONTINUE", P.FINALIZING),
        # stopped, timed out and faulted phases skip to FINALIZING
        (P.BUILD, S.STOPPED, "CONTINUE", P.FINALIZING),
        (P.INSTALL, S.TIMED_OUT, "ABORT", P.FINALIZING),
        (P.POST_BUILD, S.FAULT, "ABORT", P.FINALIZING),
        (P.COMPLETED, S.SUCCEEDED, "ABORT", P.COMPLETED),
    ],
)
def test_next_phase(phase: Phase, status: Status, on_failure: str, expected: Phase) -> None:
    assert next_phase(phase, status, on_failure).next_phase is expected


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], S.SUCCEEDED),
        ([S.SUCCEEDED, S.SUCCEEDED, None], S.SUCCEEDED),
        (["SUCCEEDED", "FAILED", "SUCCEEDED"], S.FAILED),
        ([S.FAILED, S.FAULT], S.FAULT),
        ([S.FAILED, S.TIMED_OUT, S.SUCCEEDED], S.TIMED_OUT),
        ([S.TIMED_OUT, S.STOPPED], S.STOPPED),
        ([S.IN_PROGRESS], S.SUCCEEDED),
    ],
)
def test_build_status_is_the_worst_phase(statuses: list[Status | str | None], expected: Status) -> None:
    assert build_status(statuses) is expected
    assert succeeding(statuses) is (expected is S.SUCCEEDED)


outcomes = st.lists(
    st.tuples(st.sampled_from([S.SUCCEEDED, S.FAILED, S.FAULT, S.TIMED_OUT, S.STOPPED]), st.sampled_from(["ABORT", "CONTINUE"])),
    min_size=11,
    max_size=11,
)


@given(outcomes)
def test_every_build_reaches_completed_through_finalizing_in_order(steps: list[tuple[Status, str]]) -> None:
    phase, seen = Phase.SUBMITTED, [Phase.SUBMITTED]
    for status, on_failure in steps:
        if phase is Phase.COMPLETED:
            break
        nxt = next_phase(phase, status, on_failure).next_phase
        assert ORDER.index(nxt) > ORDER.index(phase)  # never back, never stuck
        if phase in COMMAND_PHASES and phase is Phase.BUILD and status is S.FAILED:
            assert nxt is Phase.POST_BUILD
        phase = nxt
        seen.append(phase)
    assert phase is Phase.COMPLETED
    assert seen[-2] is Phase.FINALIZING
