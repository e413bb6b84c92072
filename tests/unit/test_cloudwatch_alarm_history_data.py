"""HistoryData of a StateUpdate item: assembled from text pieces (each reason data's JSON encoded
once), it is exactly the compact JSON of the nested document CloudWatch writes.  Pure."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.services.cloudwatch import alarm_records as records

JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
    max_leaves=8,
)
REASON_DATA = st.one_of(
    st.none(), st.just(""), st.text(max_size=12),  # not JSON (SetAlarmState takes any text)
    JSON.map(lambda v: json.dumps(v)),  # spaced, as a client may send it
    JSON.map(lambda v: json.dumps(v, separators=(",", ":"))),
)
STATE = st.fixed_dictionaries({
    "StateValue": st.sampled_from(["OK", "ALARM", "INSUFFICIENT_DATA", None]),
    "StateReason": st.one_of(st.none(), st.text(max_size=20)),
    "StateReasonData": REASON_DATA,
})


def reference(old: dict[str, Any], new: dict[str, Any]) -> str:
    def part(a: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"stateValue": a.get("StateValue"), "stateReason": a.get("StateReason")}
        if a.get("StateReasonData"):
            try:
                out["stateReasonData"] = json.loads(a["StateReasonData"])
            except ValueError:
                out["stateReasonData"] = a["StateReasonData"]
        return out

    return json.dumps({"version": "1.0", "oldState": part(old), "newState": part(new)}, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(STATE, STATE)
def test_state_history_data_is_the_compact_json_of_both_states(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert records.state_history_data(old, new) == reference(old, new)
    assert records.state_history_data(old, new) == reference(old, new)  # the second time from the cache
