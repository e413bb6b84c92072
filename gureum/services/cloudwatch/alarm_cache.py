"""The evaluator's decoded alarms, kept in memory between evaluations.

Reading every alarm from the store each minute decodes every alarm
document again; an :class:`AlarmCache` keeps each alarm decoded (its
document, its :class:`~alarm_eval.AlarmSpec`, the metric key and the
statistic it reads) and reads it again only when it changed.

Rules:

* the store stays the truth.  Every alarm write goes through
  :mod:`alarm_records` (``put``/``delete``), which bumps the store's
  :class:`~alarm_records.Versions`; an entry is used only while its version
  is the alarm's current one;
* an entry whose alarm was last written *as this very document object*
  (the evaluator's own writes: a transition, re-invoked actions) is still
  the stored document, so it is kept and takes the new version;
* when the listing generation moves, the alarms written since are looked
  at (new ones loaded, deleted ones dropped); a reset of the store —
  announced by CloudWatch's reset hook (``alarm_controller.reset`` →
  :func:`alarm_records.forget`) — reloads everything;
* a caller that fails half-way through a write drops the entry
  (:meth:`AlarmCache.drop`): the next use reads the store;
* :meth:`AlarmCache.scopes` (every minute) keeps its answer and looks
  again only at the alarms written since (the :class:`Versions` journal);
  it starts over when an entry was replaced, created or dropped, or the
  journal moved past what it saw.

Nothing here writes; single-threaded use (the event loop) as the rest of
the evaluator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gureum.core.store import Scope, Store
from gureum.services.cloudwatch import alarm_records as records
from gureum.services.cloudwatch import metric_query, metrics
from gureum.services.cloudwatch.alarm_config import STATE_ACTIONS, spec_of
from gureum.services.cloudwatch.alarm_eval import AlarmSpec
from gureum.services.cloudwatch.alarm_track import Judge
from gureum.services.cloudwatch.alarm_transitions import is_autoscaling
from gureum.services.cloudwatch.sample_window import Slide

Doc = dict[str, Any]


def alarm_key(scope: Scope, name: str) -> str:
    """The evaluator's controller key of an alarm: ``["account","region","name"]``."""
    return json.dumps([scope.account, scope.region, name], separators=(",", ":"))


@dataclass(slots=True)
class Entry:
    """One alarm as the evaluator uses it."""

    scope: Scope
    name: str
    version: int
    doc: Doc
    key: str = ""  # the evaluator's controller key
    ident: tuple[str, str, str] = ("", "", "")  # (account, region, name), as alarm_records.Versions keys it
    spec: AlarmSpec | None = None  # None: a composite alarm
    query: metric_query.StatQuery | None = None  # a single-metric alarm's statistic
    metric: str | None = None  # … and its metric key
    step: int = 60  # spec.step, spec.range_size and the range's length in seconds, precomputed
    count: int = 0
    span: int = 0
    reader: tuple[Any, Any] | None = None  # metric_query.reader(query)
    judge: Judge | None = None  # its breach flags, carried from evaluation to evaluation
    slide: Slide | None = None  # the datapoints of the last evaluation (metric_query.slide_datapoints)
    # state → the Auto Scaling actions of that state's list (re-invoked every period)
    autoscaling: dict[str, tuple[str, ...]] = field(default_factory=dict)
    composite: bool = False  # a composite alarm (the evaluator's tick lists them per scope)


def make_entry(scope: Scope, name: str, version: int, doc: Doc) -> Entry:
    entry = Entry(scope, name, version, doc, alarm_key(scope, name), (scope.account, scope.region, name))
    entry.composite = doc.get("type") == "CompositeAlarm"
    if doc.get("type") != "MetricAlarm":
        return entry
    alarm = doc["alarm"]
    entry.spec = spec = spec_of(alarm)
    if not alarm.get("Metrics"):
        dims = tuple(sorted((d["Name"], d["Value"]) for d in alarm.get("Dimensions") or []))
        entry.query = metric_query.StatQuery(alarm["Namespace"], alarm["MetricName"], dims, spec.period,
                                             str(spec.statistic), alarm.get("Unit"))
        entry.metric = metrics.metric_key(alarm["Namespace"], alarm["MetricName"], dims)
        entry.reader = metric_query.reader(entry.query)
    entry.judge = Judge(spec)
    entry.step, entry.count = spec.step, spec.range_size
    entry.span = spec.range_size * spec.period
    entry.autoscaling = {state: tuple(a for a in alarm.get(actions) or [] if is_autoscaling(a))
                         for state, actions in STATE_ACTIONS.items()}
    return entry


class AlarmCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.versions = records.versions(store)
        self._scopes: dict[Scope, dict[str, Entry]] = {}
        self._listing = -1
        self._epoch = -1
        self._out: list[tuple[Scope, list[Entry]]] | None = None  # the last scopes() answer …
        self._seen = 0  # … made with the journal up to this write number

    def _reload(self) -> None:
        self._out = None
        self._scopes = {}
        for scope in records.every_scope(self.store):
            self._scopes[scope] = {name: make_entry(scope, name, self.versions.version(scope, name), doc)
                                   for name, doc in records.all_alarms(self.store, scope)}

    def _relist(self) -> None:
        """Alarms written since the last look that were created or deleted."""
        self._out = None
        for (account, region, name), (_, doc) in list(self.versions.latest.items()):
            scope = Scope(account, region)
            entries = self._scopes.get(scope)
            if doc is None:
                if entries is not None:
                    entries.pop(name, None)
            elif entries is None or name not in entries:
                self._load(scope, name)

    def _load(self, scope: Scope, name: str) -> Entry | None:
        version = self.versions.version(scope, name)
        doc = records.get(self.store, scope, name)
        self._out = None
        entries = self._scopes.setdefault(scope, {})
        if doc is None:
            entries.pop(name, None)
            return None
        entry = entries[name] = make_entry(scope, name, version, doc)
        return entry

    def _sync(self) -> None:
        v = self.versions
        if v.epoch != self._epoch:
            self._epoch, self._listing = v.epoch, v.listing
            self._reload()
        elif v.listing != self._listing:
            self._listing = v.listing
            self._relist()

    def _fresh(self, entry: Entry) -> Entry | None:
        seen = self.versions.latest.get(entry.ident)
        version = 0 if seen is None else seen[0]
        if version == entry.version:
            return entry
        if seen is not None and seen[1] is entry.doc:  # our own write of this document
            entry.version = version
            return entry
        return self._load(entry.scope, entry.name)

    def scopes(self) -> list[tuple[Scope, list[Entry]]]:
        """Every alarm of every scope, current (the caller must not change the lists)."""
        self._sync()
        v = self.versions
        end = v.journal_end()
        out = self._out
        if out is not None and self._seen >= v.journal_base:
            written = set(v.journal[self._seen - v.journal_base:])
            self._seen = end
            for account, region, name in written:
                entry = self._scopes.get(Scope(account, region), {}).get(name)
                if entry is not None:
                    self._fresh(entry)  # our own write keeps the entry; any other replaces it (_load)
            if self._out is out:
                return out
        self._seen = end
        out = []
        latest = self.versions.latest
        for scope, entries in self._scopes.items():
            fresh = []
            for e in list(entries.values()):
                seen = latest.get(e.ident)
                if (0 if seen is None else seen[0]) != e.version:
                    e = self._fresh(e)  # type: ignore[assignment]
                    if e is None:
                        continue
                fresh.append(e)
            if fresh:
                out.append((scope, fresh))
        self._out = out
        return out

    def get(self, scope: Scope, name: str) -> Entry | None:
        self._sync()
        entry = self._scopes.get(scope, {}).get(name)
        if entry is None:
            return self._load(scope, name)
        return self._fresh(entry)

    def drop(self, scope: Scope, name: str) -> None:
        self._out = None
        self._scopes.get(scope, {}).pop(name, None)
