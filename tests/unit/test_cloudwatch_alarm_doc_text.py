"""alarm_doc_text: an alarm document's text made from its template is the store encoder's text of it
(byte for byte, so it decodes to the same dict), through state updates, in-place changes, replaced
values and reordered members; the history item's HistoryData string made from escaped parts equals
the encoder's string of :func:`state_history_data`."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.core.store import Scope, SqliteStore
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch.alarm_doc_text import Texts

_encode = json.JSONEncoder(separators=(",", ":")).encode  # the store's encoder
S = Scope("123456789012", "us-east-1")

text_st = st.text(alphabet=st.characters(), max_size=40) | st.sampled_from(
    ["구름 알람", "a\"b\\c", "\u2028\x00\x1f\x7f", "é", "\U0001f600", ""])
float_st = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [-0.0, 0.0, 5e-324, 1e300, 1767225600.0, 0.1 + 0.2, math.inf, -math.inf])
scalar_st = st.none() | st.booleans() | st.integers() | float_st | text_st
value_st = st.recursive(scalar_st, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(text_st, inner, max_size=3), max_leaves=8)


def _alarm(config: dict[str, Any], reason_data: str | None) -> dict[str, Any]:
    alarm: dict[str, Any] = {"AlarmName": "a-구름", "AlarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:a",
                             "AlarmConfigurationUpdatedTimestamp": 1767225600.0, "ActionsEnabled": True,
                             "OKActions": [], "AlarmActions": ["arn:aws:sns:us-east-1:1:t"],
                             "StateValue": "INSUFFICIENT_DATA", "StateReason": records.INITIAL_REASON,
                             "StateUpdatedTimestamp": 1767225600.0, "StateTransitionedTimestamp": 1767225600.0}
    alarm.update({k: v for k, v in config.items() if not k.startswith("State")})
    if reason_data is not None:
        alarm["StateReasonData"] = reason_data
    return alarm


state_st = st.tuples(st.sampled_from(["OK", "ALARM", "INSUFFICIENT_DATA"]), text_st,
                     st.none() | text_st | st.just('{"version":"1.0","recentDatapoints":[1.5,null]}'), float_st,
                     st.booleans(), st.dictionaries(text_st, float_st, max_size=2))


@settings(max_examples=150, deadline=None)
@given(config=st.dictionaries(text_st, value_st, max_size=6), tags=st.lists(
    st.fixed_dictionaries({"Key": text_st, "Value": text_st}), max_size=2), updates=st.lists(state_st, max_size=6))
def test_text_is_the_encoders_through_state_updates(config: dict[str, Any], tags: list[dict[str, str]],
                                                    updates: list[tuple[Any, ...]]) -> None:
    texts = Texts()
    doc = {"type": "MetricAlarm", "alarm": _alarm(config, None), "tags": tags, "invoked": {}}
    assert texts.text("k", doc) == _encode(doc)
    for value, reason, data, now, moved, invoked in updates:  # as set_state changes a document
        alarm = doc["alarm"]
        alarm.update(StateValue=value, StateReason=reason, StateUpdatedTimestamp=now)
        if data:
            alarm["StateReasonData"] = data
        else:
            alarm.pop("StateReasonData", None)
        if moved:
            alarm["StateTransitionedTimestamp"] = now
        doc["invoked"].update(invoked)
        assert texts.text("k", doc) == _encode(doc)


@settings(max_examples=60, deadline=None)
@given(config=st.dictionaries(text_st, value_st, min_size=1, max_size=5), new=value_st)
def test_a_fixed_member_changed_or_replaced_is_seen(config: dict[str, Any], new: Any) -> None:
    texts = Texts()
    doc = {"type": "MetricAlarm", "alarm": _alarm(config, "{}"), "tags": [], "invoked": {}}
    texts.text("k", doc)
    key = next(iter(k for k in doc["alarm"] if not k.startswith("State")))
    doc["alarm"][key] = new
    assert texts.text("k", doc) == _encode(doc)


def test_in_place_changes_and_equal_values_of_another_type_are_seen() -> None:
    texts = Texts()
    doc = {"type": "MetricAlarm", "alarm": _alarm({"Threshold": 1, "Dimensions": [{"Name": "n", "Value": "v"}]},
                                                  '{"a":1}'), "tags": [], "invoked": {}}
    assert texts.text("k", doc) == _encode(doc)
    steps = [
        lambda a: a["AlarmActions"].append("arn:aws:sns:us-east-1:1:u"),  # a list changed in place
        lambda a: a["Dimensions"][0].update(Value="w"),  # a dict inside a list
        lambda a: a.update(Threshold=1.0),  # equal, another type
        lambda a: a.update(ActionsEnabled=1),  # True == 1
        lambda a: a.update(AlarmConfigurationUpdatedTimestamp=-0.0),
        lambda a: a.update(Threshold=math.nan),
        lambda a: a.update(Threshold=math.nan),  # NaN again (another object, not equal to itself)
        lambda a: a.pop("StateReasonData"),  # members reordered: added again at the end
        lambda a: a.update(StateReasonData="{}", StateValue="ALARM"),
        lambda a: a.update(Extra="구름"),  # a member added
    ]
    for step in steps:
        step(doc["alarm"])
        assert texts.text("k", doc) == _encode(doc)
    doc["tags"].append({"Key": "k", "Value": "v"})  # the document level too
    assert texts.text("k", doc) == _encode(doc)
    doc["type"] = "CompositeAlarm"
    assert texts.text("k", doc) == _encode(doc)


def test_documents_without_a_template() -> None:
    texts = Texts()
    for doc in ({"type": "MetricAlarm"}, {"alarm": [1]}, {"alarm": {1: "x"}}, {"alarm": {}, 2: "y"}):
        assert texts.text("k", doc) == json.dumps(doc, separators=(",", ":"))


def test_put_writes_text_that_reads_back_as_the_document(tmp_path: Any) -> None:
    store = SqliteStore(tmp_path / "s.db")
    doc = {"type": "MetricAlarm", "alarm": _alarm({"Threshold": 0.1 + 0.2, "AlarmDescription": "설명 \u2028"},
                                                  '{"x":1e-07}'), "tags": [], "invoked": {"arn:x": 1.5}}
    for n in range(3):
        doc["alarm"].update(StateValue=("OK", "ALARM")[n % 2], StateUpdatedTimestamp=1767225600.0 + n)
        records.put(store, S, "a-구름", doc)
        again = SqliteStore(tmp_path / "s.db")  # committed when put returns
        assert again.get(records.ALARM, S, "a-구름") == doc
        again.close()
    row = store._db.execute("SELECT body FROM docs").fetchone()[0]
    assert row == _encode(doc)
    store.close()


part_st = st.fixed_dictionaries({"StateValue": st.sampled_from(["OK", "ALARM"]), "StateReason": text_st},
                                optional={"StateReasonData": st.none() | text_st | st.sampled_from(
                                    ['{"version":"1.0","threshold":35.0}', '[1, 2]', "not json", '"s"'])})


@settings(max_examples=150, deadline=None)
@given(old=part_st, new=part_st, compact=st.booleans())
def test_history_literal_is_the_encoders_string_of_the_data(old: dict[str, Any], new: dict[str, Any],
                                                           compact: bool) -> None:
    if compact:  # the evaluator's reason data: compact JSON, taken as it is
        for part in (old, new):
            data = part.get("StateReasonData")
            if data:
                try:
                    records.note_compact(json.dumps(json.loads(data), separators=(",", ":")))
                except ValueError:
                    pass
    expected = json.encoder.encode_basestring_ascii(records.state_history_data(old, new))
    assert records.state_history_literal(old, new) == expected
    assert records.state_history_literal(old, new) == expected  # remembered parts: the same
