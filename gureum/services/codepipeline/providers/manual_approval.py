"""Approval: Manual — waits for PutApprovalResult with the action's token.

The token is in GetPipelineState (``actionStates[].latestExecution.token``)
while the approval waits.  Approved: the action succeeds with the summary;
Rejected: it fails ("Rejected: <summary>").  Nobody answering for 7 days
fails it, as on AWS.  ``NotificationArn`` is accepted; no message is sent
(Gureum has no SNS).
"""

from __future__ import annotations

from gureum.core.ids import uuid4
from gureum.services.codepipeline.providers.base import (
    ActionCall,
    Outcome,
    failed,
    running,
    succeeded,
)

TIMEOUT_MINUTES = 7 * 24 * 60.0


async def start(call: ActionCall) -> Outcome:
    token = uuid4()
    return running(token=token, state={"token": token})


async def poll(call: ActionCall) -> Outcome:
    result = call.state.get("result")
    if not result:
        return running(token=call.state.get("token"))
    summary = result.get("summary") or ""
    if result.get("status") == "Approved":
        return succeeded(summary=summary or "Approved", state={"token": None})
    return failed("JobFailed", f"Rejected: {summary}" if summary else "Rejected", summary=summary or None, state={"token": None})
