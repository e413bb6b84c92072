"""CloudWatch metrics in the store, and the functions Gureum's own services
use to publish metrics (ECS CPU, ALB request counts…).

Store layout (per account+region scope):

* ``cloudwatch.metric`` – key: :func:`metric_key`, the JSON text
  ``["<namespace>","<name>",[["<dim>","<value>"],…]]`` with dimensions sorted
  by name, so a metric has exactly one key whatever order its dimensions came
  in, and keys of one namespace (or namespace + name) share a prefix.  Doc:
  ``Namespace``, ``MetricName``, ``Dimensions`` and ``lastPut`` (epoch s) for
  ListMetrics' ``RecentlyActive`` (later puts: ``cloudwatch.active``, see
  :mod:`metric_activity`).
* ``cloudwatch.data`` – one series per metric under the same key; record time
  is the sample time and the doc the sample (see :func:`encode_sample`).

:func:`publish` skips the "no ``AWS/`` namespace" rule that PutMetricData
applies to users: it is how built-in services write their own namespaces.

What :func:`record_points` stores is also noted in the store's
:mod:`sample_window` (the alarm evaluator's in-memory samples), if it has one.

Publishing: :func:`publish_many` stores many values in one transaction (what
Gureum's own collectors use once a minute); :func:`publish` is one value.

``lastPut`` and RecentlyActive: see :mod:`metric_activity` — a metric's
document is written when this process first stores data for it; later put
times live in memory and, in a publish's transaction when a put is
:data:`ACTIVE_REFRESH` seconds ahead of the time the store holds for its
metric, in one activity document per namespace (or, for a few metrics put
now and then, in their own documents' ``lastPut``);
:func:`find_metrics` reads the newest of the three (after a ``kill -9`` the
stored time is at most :data:`ACTIVE_REFRESH` seconds old).  A reset store
gets its documents again.

Stored text: a one-value sample is ``{"x":<value>}`` (with ``"u"``/``"r"``
only when not unit None at 60 s); every sample of finite floats is written
without the JSON encoder (the same text: ``float.__repr__`` is how it writes
one), and a batch appended through ``Store.append_columns``;
:func:`decode_sample` reads that and every older form.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from gureum.core.store import Scope, Store
from gureum.services.cloudwatch import metric_activity, sample_window, stats
from gureum.services.cloudwatch.datum import Dimensions, Point

METRIC = "cloudwatch.metric"
DATA = "cloudwatch.data"
ACTIVE_REFRESH = metric_activity.ACTIVE_REFRESH


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def metric_key(namespace: str, name: str, dimensions: Dimensions) -> str:
    return _metric_key(namespace, name, tuple((str(n), str(v)) for n, v in dimensions))


@functools.lru_cache(maxsize=8192)  # the evaluator and publishers ask for the same keys every minute
def _metric_key(namespace: str, name: str, dimensions: Dimensions) -> str:
    return _json([namespace, name, [list(d) for d in sorted(dimensions)]])


@functools.lru_cache(maxsize=1024)
def key_prefix(namespace: str | None, name: str | None = None) -> str:
    if namespace is None:
        return ""
    if name is None:
        return _json([namespace])[:-1] + ","
    return _json([namespace, name])[:-1] + ","


def canonical(dimensions: Iterable[Mapping[str, Any]] | Mapping[str, str] | None) -> Dimensions:
    if dimensions is None:
        return ()
    if type(dimensions) is dict or isinstance(dimensions, Mapping):  # (a plain dict: no ABC check)
        if len(dimensions) == 1:  # the usual one dimension: nothing to sort
            ((k, v),) = dimensions.items()
            return ((str(k), str(v)),)
        return tuple(sorted((str(k), str(v)) for k, v in dimensions.items()))
    return tuple(sorted((str(d["Name"]), str(d["Value"])) for d in dimensions))


def encode_sample(s: stats.Sample, resolution: int) -> dict[str, Any]:
    """A sample as stored: ``{"x": value}`` for one value (count 1), with ``"u"`` (unit) unless it is
    ``"None"`` and ``"r"`` (resolution) unless it is 60; else its statistics (``n``, ``s``, ``lo``,
    ``hi``, ``u``, ``r``) and its ``v`` (value, count) pairs.  (Rows written before also hold ``u`` and
    ``r`` with a one value; :func:`decode_sample` reads every form.)"""
    if _one_value(s):
        doc: dict[str, Any] = {"x": s.total}
        if s.unit != "None":
            doc["u"] = s.unit
        if resolution != 60:
            doc["r"] = resolution
        return doc
    doc = {"n": s.count, "s": s.total, "lo": s.minimum, "hi": s.maximum, "u": s.unit, "r": resolution}
    if s.values:
        doc["v"] = [list(p) for p in s.values]
    return doc


def _one_value(s: stats.Sample) -> bool:
    return s.count == 1.0 and len(s.values) == 1 and s.values[0] == (s.total, 1.0) \
        and s.minimum == s.total == s.maximum


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@functools.lru_cache(maxsize=256)
def _tail(unit: str, resolution: int) -> str:
    """What follows a one value's ``"x"`` in its stored text (``""`` for unit None at 60 s)."""
    return _encode(encode_sample(stats.from_value(0.0, 0.0, unit), resolution))[len('{"x":0.0'):-1]


def encode_text(s: stats.Sample, resolution: int) -> str:
    """The JSON text of :func:`encode_sample`; a sample of finite floats' without the JSON encoder."""
    if _one_value(s):
        if math.isfinite(s.total):
            return _value_text(s.total, s.unit, resolution)
    else:
        text = _stats_text(s, resolution)
        if text is not None:
            return text
    return _encode(encode_sample(s, resolution))


def _stats_text(s: stats.Sample, resolution: int) -> str | None:
    """:func:`encode_sample`'s text of statistics, or None unless every number is a finite float (the
    JSON encoder writes those with ``float.__repr__``, which refuses anything but a float)."""
    r = float.__repr__
    try:
        numbers = (r(s.count) + ',"s":' + r(s.total) + ',"lo":' + r(s.minimum) + ',"hi":' + r(s.maximum)
                   + ',"u":' + _unit_text(s.unit) + ',"r":' + _resolution_text(resolution))
        pairs = ",".join(["[" + r(v) + "," + r(c) + "]" for v, c in s.values])
    except TypeError:
        return None
    if "n" in numbers[:numbers.index(',"u":')] or "n" in pairs:  # (inf, nan: the encoder's words differ)
        return None
    return '{"n":' + numbers + (',"v":[' + pairs + "]}" if pairs else "}")


@functools.lru_cache(maxsize=256)
def _unit_text(unit: str) -> str:
    return _encode(unit)


def _resolution_text(resolution: int) -> str:
    if type(resolution) is not int:
        raise TypeError("not an int")
    return int.__repr__(resolution)


def _value_text(x: float, unit: str, resolution: int) -> str:
    # float.__repr__ is how the json module writes a finite float.
    if unit == "None" and resolution == 60:
        return '{"x":' + float.__repr__(x) + "}"
    return '{"x":' + float.__repr__(x) + _tail(unit, resolution) + "}"


def decode_sample(ts: float, doc: dict[str, Any]) -> stats.Sample:
    if "x" in doc:
        return stats.from_value(ts, float(doc["x"]), doc.get("u", "None"))
    values = tuple((float(v), float(c)) for v, c in doc.get("v", ()))
    return stats.Sample(ts, doc["n"], doc["s"], doc["lo"], doc["hi"], values, doc.get("u", "None"))


def record_points(store: Store, scope: Scope, namespace: str, points: Sequence[Point], now: float) -> None:
    """Store checked points (one transaction) and mark their metrics active at ``now``."""
    # Dimensions are canonical here (str pairs, sorted): the cached key directly.
    keys = [_metric_key(namespace, p.metric_name, p.dimensions) for p in points]
    samples = [p.sample for p in points]
    _record(store, scope, namespace, keys, [s.ts for s in samples],
            [encode_text(p.sample, p.resolution) for p in points], samples, now)


def _record(store: Store, scope: Scope, namespace: str, keys: list[str], times: list[float], texts: list[str],
            samples: list[stats.Sample], now: float) -> None:
    """Store ``samples`` (row ``i``: metric ``keys[i]``, at ``times[i]``, stored as ``texts[i]``) in one
    transaction, and mark their metrics put at ``now``."""
    activity = metric_activity.of(store)
    unique = set(keys)
    with store.transaction():
        ns = activity.space(scope, namespace)
        new = unique.difference(ns.puts)  # metrics without a document written by this process
        if activity.reset_seen(store, scope, namespace, key_prefix(namespace), len(new) < len(unique)):
            ns = activity.space(scope, namespace)  # the store was reset: every document again
            new = unique
        seqs = store.append_columns(DATA, scope, keys, times, texts)
        if new:
            _put_documents(store, scope, [key for key in dict.fromkeys(keys) if key in new], now)
        flushed = None
        due = ns.due(store, scope, namespace, unique - new if new else unique, now)  # (new: document says now)
        if due is metric_activity.FLUSH:
            flushed = ns.activity(store, scope, namespace, unique, now)
            store.put(metric_activity.ACTIVE, scope, namespace, {"puts": flushed})
        elif due:  # a few metrics put now and then: their own documents say when
            _put_documents(store, scope, due, now)
            new = new.union(due)
    # Committed: what this process knows of the documents, then the evaluator's samples.
    if flushed is not None:
        ns.stored, ns.flushed = flushed, now
    elif new:
        stored = ns.read(store, scope, namespace)
        for key in new:
            if not stored.get(key, now) > now:  # (a clock moved back keeps the newer time)
                stored[key] = now
    ns.put(unique, now)
    if len(unique) == len(keys):  # (the usual batch: one value per metric)
        by_key: dict[str, Any] = {key: ((seq, sample),) for key, seq, sample in zip(keys, seqs, samples, strict=True)}
    else:
        by_key = {}
        for key, seq, sample in zip(keys, seqs, samples, strict=True):
            by_key.setdefault(key, []).append((seq, sample))
    window = sample_window.held(store)
    if window is not None:  # the alarm evaluator's in-memory samples (committed ones only)
        window.note_many(scope, by_key)


def _put_documents(store: Store, scope: Scope, keys: Iterable[str], now: float) -> None:
    """The metric documents of ``keys`` (namespace, name and dimensions are what the key spells)."""
    for key in keys:
        namespace, name, dims = _spelled(key)
        store.put(METRIC, scope, key, {"Namespace": namespace, "MetricName": name,
                                       "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
                                       "lastPut": now})


@functools.lru_cache(maxsize=4096)
def _spelled(key: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    namespace, name, dims = json.loads(key)
    return namespace, name, tuple((n, v) for n, v in dims)


def publish(
    store: Store,
    scope: Scope,
    namespace: str,
    name: str,
    value: float,
    *,
    dimensions: Mapping[str, str] | None = None,
    unit: str = "None",
    timestamp: float,
    resolution: int = 60,
) -> None:
    """Record one value from inside Gureum (any namespace, ``AWS/…`` included)."""
    publish_many(store, scope, namespace, [Value(name, value, dimensions, unit)], timestamp=timestamp,
                 resolution=resolution)


class Value(NamedTuple):
    """One value for :func:`publish_many`."""

    name: str
    value: float
    dimensions: Mapping[str, str] | None = None
    unit: str = "None"


def publish_many(
    store: Store, scope: Scope, namespace: str, values: Iterable[Value], *, timestamp: float, resolution: int = 60
) -> None:
    """Record many values of one namespace at one time, in one transaction (Gureum's own collectors)."""
    ts = float(int(timestamp)) if resolution == 1 else float(int(timestamp // 60) * 60)
    keys: list[str] = []
    texts: list[str] = []
    samples: list[stats.Sample] = []
    add_key, add_text, add_sample = keys.append, texts.append, samples.append
    one_key = _one_dimension_key
    isfinite = math.isfinite
    text_of = float.__repr__
    plain = resolution == 60
    make = _new_sample
    for name, value, dimensions, unit in values:
        if type(dimensions) is dict and len(dimensions) == 1:  # a collector's usual one dimension
            ((k, v),) = dimensions.items()
            key = one_key(namespace, name, k, v)
        else:
            key = _metric_key(namespace, name, canonical(dimensions))
        x = float(value)
        sample = make((ts, 1.0, x, x, x, ((x, 1.0),), unit))  # stats.from_value, inlined
        if plain and unit == "None" and isfinite(x):  # _value_text, inlined for the usual sample
            add_text('{"x":' + text_of(x) + "}")
        else:
            add_text(encode_text(sample, resolution))
        add_key(key)
        add_sample(sample)
    if keys:
        _record(store, scope, namespace, keys, [ts] * len(keys), texts, samples, timestamp)


# stats.Sample of a 7-tuple in its field order (a NamedTuple's own __new__ is a Python function)
_new_sample = functools.partial(tuple.__new__, stats.Sample)


@functools.lru_cache(maxsize=8192, typed=True)  # (typed: a value 1 and a value "1" are not one key)
def _one_dimension_key(namespace: str, name: str, dimension: str, value: str) -> str:
    return _metric_key(namespace, name, canonical({dimension: value}))


def read_samples(
    store: Store, scope: Scope, namespace: str, name: str, dimensions: Dimensions, start: float, end: float
) -> list[stats.Sample]:
    key = metric_key(namespace, name, dimensions)
    return [decode_sample(r.ts, r.doc) for r in store.series(DATA, scope, key, start=start, end=end)]


def _has_dimensions(doc: dict[str, Any], wanted: Sequence[Mapping[str, Any]]) -> bool:
    have = {d["Name"]: d["Value"] for d in doc.get("Dimensions", [])}
    for f in wanted:
        name = f.get("Name")
        if name not in have:
            return False
        if f.get("Value") is not None and have[name] != f["Value"]:
            return False
    return True


def find_metrics(
    store: Store,
    scope: Scope,
    *,
    namespace: str | None = None,
    name: str | None = None,
    dimension_filters: Sequence[Mapping[str, Any]] = (),
    active_since: float | None = None,
    start_after: str = "",
) -> Iterable[tuple[str, dict[str, Any]]]:
    """Metric documents in key order; a dimension filter without Value needs only the name."""
    activity = metric_activity.of(store)
    stored: dict[str, dict[str, float]] = {}  # namespace → its activity document's puts
    for key, doc in store.list(METRIC, scope, prefix=key_prefix(namespace, name), start_after=start_after):
        if name is not None and doc.get("MetricName") != name:
            continue
        if not _has_dimensions(doc, dimension_filters):
            continue
        if active_since is not None:
            ns = str(doc.get("Namespace", ""))
            if ns not in stored:
                stored[ns] = metric_activity.stored_puts(store, scope, ns)
            last = max(float(doc.get("lastPut", 0)), float(stored[ns].get(key, 0.0)),
                       activity.newest(scope, ns, key))
            if last < active_since:
                continue
        yield key, doc
