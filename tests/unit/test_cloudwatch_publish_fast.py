"""The publishing fast paths give what the general code gives: the stored text of a sample (JSON
encoder), a Values/Counts datum's sample (stats.from_values), and a collector's metric key (when the
activity is written: test_metric_activity_due)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gureum.core.store import Scope, SqliteStore
from gureum.services.cloudwatch import datum, metrics, stats

SCOPE = Scope("123456789012", "us-east-1")
_floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 5e-324, 1e16, 60.0])
_numbers = _floats | st.integers(-3, 3) | st.booleans()
_units = st.sampled_from(["None", "Milliseconds", "Count", 'q"\u00e9\\', "\u2603"])


@settings(max_examples=400, deadline=None)
@given(count=_numbers, total=_numbers, lo=_numbers, hi=_numbers,
       values=st.lists(st.tuples(_numbers, _numbers), max_size=5), unit=_units,
       resolution=st.sampled_from([1, 60, 60.0]))
def test_a_samples_text_is_the_json_encoders(count: float, total: float, lo: float, hi: float,
                                            values: list[tuple[float, float]], unit: str, resolution: int) -> None:
    sample = stats.Sample(0.0, count, total, lo, hi, tuple(values), unit)
    if metrics._one_value(sample) and type(total) is not float:
        return  # (a one value is always a float: publish and datum make it)
    expected = json.dumps(metrics.encode_sample(sample, resolution), separators=(",", ":"), ensure_ascii=False)
    assert metrics.encode_text(sample, resolution) == expected


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20), data=st.data())
def test_a_values_datums_sample_is_stats_from_values(values: list[float], data: st.DataObject) -> None:
    counts = data.draw(st.none() | st.lists(st.sampled_from([0.0, 0.5, 1.0, 4.0, 1e3]),
                                            min_size=len(values), max_size=len(values)))
    raw = {"MetricName": "Latency", "Values": values, "Unit": "Milliseconds", "Timestamp": 120.0}
    if counts is not None:
        raw["Counts"] = counts
    if counts is not None and not any(c > 0 for c in counts):
        return  # (refused: covered by the handler tests)
    point = datum.to_point(raw, 1, 130.0)
    assert point.sample == stats.from_values(120.0, values, counts, "Milliseconds")


def test_a_collectors_key_is_the_canonical_one_whatever_the_types() -> None:
    store = SqliteStore(":memory:")
    every: list[Any] = [{"Host": "1"}, {"Host": 1}, {"Host": True}, {"B": "2", "A": "1"}, None, {}]
    for dims in every:  # (a collector may hand in a number where text belongs)
        metrics.publish_many(store, SCOPE, "NS", [metrics.Value("M", 1.0, dims)], timestamp=600.0)
        key = metrics.metric_key("NS", "M", metrics.canonical(dims))
        assert store.series(metrics.DATA, SCOPE, key)[-1].doc == {"x": 1.0}
    keys = [k for k, _ in store.list(metrics.METRIC, SCOPE)]
    assert keys == sorted({metrics.metric_key("NS", "M", metrics.canonical(d))
                           for d in ({"Host": "1"}, {"Host": "True"}, {"A": "1", "B": "2"}, None)})
    store.close()
