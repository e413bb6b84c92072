"""Alarms and alarm history in the store.

Store layout (per account+region scope):

* ``cloudwatch.alarm`` – key: the alarm name (metric and composite alarms
  share one namespace, as on AWS).  Doc: ``type`` (``MetricAlarm`` |
  ``CompositeAlarm``), ``alarm`` (the members DescribeAlarms returns, AWS
  names, timestamps as epoch seconds), ``tags`` and ``invoked`` (action ARN →
  epoch of its last invocation, for the Auto Scaling re-invocation rule, as of
  the document's last write: a re-invocation writes only its ``Action`` item,
  and :func:`invocations_since` finds the newer ones in the history).
* ``cloudwatch.alarm_history`` – one series per scope under key
  :data:`HISTORY_KEY`; record time is the item's time, doc the
  ``AlarmHistoryItem``.  Items older than two weeks are trimmed
  (:func:`trim_history`), as CloudWatch keeps history for two weeks; the
  history of a deleted alarm stays until then.

HistoryData is the JSON CloudWatch writes: ``{"version":"1.0","oldState":…,
"newState":…}`` for StateUpdate, ``{"type":"Create","createdAlarm":…}`` for
ConfigurationUpdate (config in camelCase, ``OKActions`` → ``okactions`` as
AWS spells it), ``{"actionState":"Succeeded",…}`` for Action.

Every alarm write goes through :func:`put` and :func:`delete`; each bumps
the store's :class:`Versions` (a counter per store, the version and the
document last written per alarm, and a listing generation that moves when
an alarm may have appeared or gone), so the evaluator can keep decoded
alarms in memory and know exactly when one must be read again.  The text
:func:`put` writes is the store's encoding of the document, made by
:mod:`alarm_doc_text` (a state update encodes the state members only) and
written with ``store.put_encoded``; a StateUpdate item's HistoryData string is
made from each state's escaped part (:func:`state_history_literal`, the same
text as the encoder's).
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from gureum.core.ids import arn
from gureum.core.store import Scope, Store
from gureum.services.cloudwatch.alarm_doc_text import Texts, quoted
from gureum.services.cloudwatch.alarm_eval import iso_millis

ALARM = "cloudwatch.alarm"
HISTORY = "cloudwatch.alarm_history"
HISTORY_KEY = "history"
HISTORY_SECONDS = 14 * 86_400
INITIAL_REASON = "Unchecked: Initial alarm creation"
_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(…, separators=…), made once
_string = json.encoder.encode_basestring_ascii  # how that encoder writes a str


def _number(x: float) -> str:
    """A number as the JSON encoder writes it."""
    return float.__repr__(x) if type(x) is float and math.isfinite(x) else _compact(x)

Doc = dict[str, Any]


def alarm_arn(scope: Scope, name: str) -> str:
    return arn("cloudwatch", f"alarm:{name}", account=scope.account, region=scope.region)


class Versions:
    """What was written to a store's alarms since this process opened it.

    ``latest``: (account, region, name) → (version, the doc object written,
    None once deleted); an alarm not in it was not written since (version 0).
    ``listing`` moves when an alarm may have been created or deleted,
    ``epoch`` when the store was reset (every alarm must be read again).
    ``journal``: the alarms written, in order; ``journal[i]`` is write number
    ``journal_base + i`` (the oldest half is dropped now and then).
    """

    __slots__ = ("counter", "latest", "listing", "epoch", "journal", "journal_base", "__weakref__")

    JOURNAL_MAX = 4096

    def __init__(self) -> None:
        self.counter = 0
        self.latest: dict[tuple[str, str, str], tuple[int, Doc | None]] = {}
        self.listing = 0
        self.epoch = 0
        self.journal: list[tuple[str, str, str]] = []
        self.journal_base = 0

    def version(self, scope: Scope, name: str) -> int:
        seen = self.latest.get((scope.account, scope.region, name))
        return 0 if seen is None else seen[0]

    def wrote(self, scope: Scope, name: str, doc: Doc | None) -> int:
        self.counter += 1
        key = (scope.account, scope.region, name)
        before = self.latest.get(key)
        if doc is None or before is None or before[1] is None:
            self.listing += 1  # deleted, or perhaps a new alarm
        self.latest[key] = (self.counter, doc)
        self.journal.append(key)
        if len(self.journal) > self.JOURNAL_MAX:
            half = len(self.journal) // 2
            del self.journal[:half]
            self.journal_base += half
        return self.counter

    def journal_end(self) -> int:
        """The number of the next write (see ``journal``)."""
        return self.journal_base + len(self.journal)

    def forget(self) -> None:
        self.counter += 1
        self.latest.clear()
        self.listing += 1
        self.epoch += 1
        self.journal_base += len(self.journal)
        self.journal.clear()


_VERSIONS: weakref.WeakKeyDictionary[Any, Versions] = weakref.WeakKeyDictionary()


def versions(store: Store) -> Versions:
    v = _VERSIONS.get(store)
    if v is None:
        v = _VERSIONS[store] = Versions()
    return v


def get(store: Store, scope: Scope, name: str) -> Doc | None:
    return store.get(ALARM, scope, name)


_TEXTS = Texts()  # the alarms' document texts, made again only where they changed (alarm_doc_text)


def put(store: Store, scope: Scope, name: str, doc: Doc) -> int:
    """Write an alarm; its new version (see :class:`Versions`).  The text written is the store's
    encoding of ``doc``, made by :class:`~alarm_doc_text.Texts` (a transition encodes its state only)."""
    store.put_encoded(ALARM, scope, name, _TEXTS.text((scope.account, scope.region, name), doc))
    return versions(store).wrote(scope, name, doc)


def delete(store: Store, scope: Scope, name: str) -> bool:
    found = store.delete(ALARM, scope, name)
    versions(store).wrote(scope, name, None)
    _TEXTS.forget((scope.account, scope.region, name))
    return found


def forget(store: Store) -> None:
    """The store was reset (or changed behind this module's back): every alarm must be read again."""
    versions(store).forget()


def all_alarms(store: Store, scope: Scope) -> list[tuple[str, Doc]]:
    return store.list(ALARM, scope)


def every_scope(store: Store) -> Iterator[Scope]:
    yield from store.list_scopes(ALARM)


# -- history ------------------------------------------------------------------------------


def _camel(name: str) -> str:
    return name.lower() if name.isupper() or name == "OKActions" else name[:1].lower() + name[1:]


def _config_json(value: Any, timestamp_keys: frozenset[str] = frozenset()) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            key = _camel(str(k))
            out[key] = iso_millis(float(v)) if k in timestamp_keys and v is not None else _config_json(v)
        return out
    if isinstance(value, list):
        return [_config_json(v) for v in value]
    return value


_TIMES = frozenset({"AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp"})


def config_history_data(kind: str, alarm: Mapping[str, Any], original: Mapping[str, Any] | None = None) -> str:
    """HistoryData of a ConfigurationUpdate item (``kind``: Create, Update or Delete)."""
    body: dict[str, Any] = {"version": "1.0", "type": kind}
    shown = {k: v for k, v in alarm.items() if k != "StateReasonData"}
    key = {"Create": "createdAlarm", "Update": "updatedAlarm", "Delete": "deletedAlarm"}[kind]
    body[key] = _config_json(shown, _TIMES)
    if original is not None:
        body["originalAlarm"] = _config_json({k: v for k, v in original.items() if k != "StateReasonData"}, _TIMES)
    return json.dumps(body, separators=(",", ":"))


_COMPACT: dict[str, str] = {}  # StateReasonData → its compact JSON (see _reason_data_text)
_COMPACT_MAX = 4096


def note_compact(text: str) -> None:
    """``text`` is compact JSON already (``json.dumps(…, separators=(",", ":"))`` of plain data, as
    the evaluator's StateReasonData is): HistoryData takes it as it is, without decoding it."""
    if len(_COMPACT) >= _COMPACT_MAX:
        _COMPACT.clear()
    _COMPACT[text] = text


def _reason_data_text(text: str) -> str:
    """A StateReasonData as it appears inside HistoryData: its JSON re-encoded compactly (a string
    if it is not JSON).  Remembered: a state's reason data is written again when the next state
    comes."""
    found = _COMPACT.get(text)
    if found is None:
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        found = _compact(value)
        if len(_COMPACT) >= _COMPACT_MAX:
            _COMPACT.clear()
        _COMPACT[text] = found
    return found


def _text(value: Any) -> str:
    return _string(value) if type(value) is str else _compact(value)


_PARTS: dict[tuple[Any, Any, Any], str] = {}  # (value, reason, data) → its _state_part: a state's
# part is made when it becomes the new state and asked for again when it becomes the old one


def _state_part(a: Mapping[str, Any]) -> str:
    key = (a.get("StateValue"), a.get("StateReason"), a.get("StateReasonData"))
    try:
        return _PARTS[key]
    except (KeyError, TypeError):  # not made yet, or not strings
        pass
    text = '{"stateValue":' + _text(key[0]) + ',"stateReason":' + _text(key[1])
    if key[2]:
        text += ',"stateReasonData":' + _reason_data_text(key[2])
    text += "}"
    if type(key[0]) is str and type(key[1]) is str and (key[2] is None or type(key[2]) is str):
        if len(_PARTS) >= _COMPACT_MAX:
            _PARTS.clear()
        _PARTS[key] = text
    return text


_ESCAPED: dict[tuple[Any, Any, Any], str] = {}  # (value, reason, data) → its _state_part as it appears
# inside the history item's HistoryData string (escaped), made from the state's memoized pieces


def _escaped(text: str) -> str:
    return quoted(text)[1:-1]


def _escaped_part(a: Mapping[str, Any]) -> str:
    key = (a.get("StateValue"), a.get("StateReason"), a.get("StateReasonData"))
    try:
        return _ESCAPED[key]
    except (KeyError, TypeError):
        pass
    if not (type(key[0]) is str and type(key[1]) is str and (key[2] is None or type(key[2]) is str)):
        return _escaped(_state_part(a))
    text = _escaped('{"stateValue":' + quoted(key[0]) + ',"stateReason":' + quoted(key[1]))
    if key[2]:
        text += _escaped(',"stateReasonData":') + _escaped(_reason_data_text(key[2]))
    text += "}"
    if len(_ESCAPED) >= _COMPACT_MAX:
        _ESCAPED.clear()
    _ESCAPED[key] = text
    return text


_ESCAPED_HEAD = _escaped('{"version":"1.0","oldState":')
_ESCAPED_MID = _escaped(',"newState":')


def state_history_literal(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """:func:`state_history_data` as a JSON string (the encoder's ``"…"`` of it), made from each
    state's escaped part (the new state's reason data escaped once for its document and this item,
    the old one's remembered from when it was new)."""
    return '"' + _ESCAPED_HEAD + _escaped_part(old) + _ESCAPED_MID + _escaped_part(new) + '}"'


def state_history_data(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``{"version":"1.0","oldState":{…},"newState":{…}}``, compact; each reason data's JSON is
    encoded once and reused when that state becomes the old one."""
    return '{"version":"1.0","oldState":' + _state_part(old) + ',"newState":' + _state_part(new) + "}"


def add_history(
    store: Store, scope: Scope, name: str, alarm_type: str, item_type: str, summary: str, data: str, now: float
) -> None:
    add_history_items(store, scope, name, alarm_type, [(item_type, summary, data)], now)


def add_history_items(
    store: Store, scope: Scope, name: str, alarm_type: str, items: list[tuple[str, str, str]], now: float
) -> None:
    """History items of one alarm at ``now`` — (item type, summary, data) — in order, in one append."""
    add_history_literals(store, scope, name, alarm_type,
                         [(item_type, summary, _string(data)) for item_type, summary, data in items], now)


def add_history_literals(
    store: Store, scope: Scope, name: str, alarm_type: str, items: list[tuple[str, str, str]], now: float
) -> None:
    """:func:`add_history_items` of items whose data is given as the encoder writes that string
    (``"…"``, quotes included: :func:`state_history_literal`).

    Each item is encoded here as the store's encoder would write its dict (compact, ASCII, the
    members in the order below): the names and strings through the encoder's string function."""
    head = ('{"AlarmName":' + _string(name) + ',"AlarmType":' + _string(alarm_type) + ',"Timestamp":'
            + _number(now) + ',"HistoryItemType":')
    store.append_encoded(HISTORY, scope, [
        (HISTORY_KEY, now, head + _string(item_type) + ',"HistorySummary":' + _string(summary)
         + ',"HistoryData":' + data + "}")
        for item_type, summary, data in items])


ACTION_SUMMARY = "Successfully executed action "  # + the ARN: an Action item's HistorySummary


def invocations_since(store: Store, scope: Scope, name: str, since: float) -> dict[str, float]:
    """The time of each action ARN's newest ``Action`` item of an alarm at or after ``since``."""
    found: dict[str, float] = {}
    for rec in store.series(HISTORY, scope, HISTORY_KEY, start=since):
        item = rec.doc
        if item.get("AlarmName") != name or item.get("HistoryItemType") != "Action":
            continue
        summary = str(item.get("HistorySummary") or "")
        if summary.startswith(ACTION_SUMMARY):
            action, at = summary[len(ACTION_SUMMARY):], float(item["Timestamp"])
            if at > found.get(action, float("-inf")):
                found[action] = at
    return found


def history(
    store: Store,
    scope: Scope,
    *,
    start: float | None,
    end: float | None,
    newest_first: bool,
    after_seq: int | None,
) -> list[tuple[int, Doc]]:
    """History records of a scope in time order (either way), after a paging mark."""
    kw: dict[str, Any] = {"start": start, "end": end, "newest_first": newest_first}
    if after_seq is not None:
        kw["before_seq" if newest_first else "after_seq"] = after_seq
    return [(r.seq, r.doc) for r in store.series(HISTORY, scope, HISTORY_KEY, **kw)]


def trim_history(store: Store, now: float) -> int:
    removed = 0
    for scope in store.list_scopes(ALARM):
        removed += store.trim_series(HISTORY, scope, HISTORY_KEY, now - HISTORY_SECONDS)
    return removed
