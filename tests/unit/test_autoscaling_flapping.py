"""The thrashing guard's pure core: counting flaps (Hypothesis properties), when to warn, the
settings, and diagnose_flapping's hints (table tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.autoscaling.flapping import (
    AlarmFacts,
    Change,
    FlapSettings,
    PolicyFacts,
    count_flaps,
    diagnose_flapping,
    observe,
    settings_from,
)


def walk(start: float, caps: list[int], step: float = 60.0) -> list[Change]:
    return [Change(start + i * step, a, b) for i, (a, b) in enumerate(zip(caps, caps[1:], strict=False))]


def test_alternating_changes_flap_each_time() -> None:
    history = walk(0, [1, 2, 1, 2, 1, 2])  # five changes, four reversals
    assert count_flaps(history, now=1000, window=3600) == 4
    assert count_flaps(walk(0, [1, 2, 3, 4, 3, 2, 1]), 1000, 3600) == 1


def test_only_the_window_counts() -> None:
    history = walk(0, [1, 2, 1, 2, 1, 2])  # changes at 0, 60, …, 240
    assert count_flaps(history, now=3600 + 120, window=3600) == 1  # 180 and 240 remain (0, 60, 120 are out)
    assert count_flaps(history, now=10_000, window=3600) == 0


caps = st.lists(st.integers(0, 6), min_size=1, max_size=30)
gaps = st.lists(st.floats(0, 900, allow_nan=False), min_size=30, max_size=30)


def timed(values: list[int], steps: list[float]) -> list[Change]:
    out, t = [], 0.0
    for (a, b), dt in zip(zip(values, values[1:], strict=False), steps, strict=False):
        t += dt
        out.append(Change(t, a, b))
    return out


@given(caps, gaps, st.floats(1, 20_000, allow_nan=False), st.integers(60, 7200))
def test_flaps_are_fewer_than_changes(values: list[int], steps: list[float], now: float, window: int) -> None:
    history = timed(values, steps)
    moves = [c for c in history if c.after != c.before and now - window < c.at <= now]
    assert 0 <= count_flaps(history, now, window) <= max(0, len(moves) - 1)


@given(st.lists(st.integers(0, 6), min_size=1, max_size=30).map(sorted), gaps, st.integers(60, 7200))
def test_a_monotone_walk_never_flaps(values: list[int], steps: list[float], window: int) -> None:
    assert count_flaps(timed(values, steps), 1e9, 1e12) == 0
    assert count_flaps(timed(values[::-1], steps), 1e9, window) == 0


@given(caps, gaps, st.floats(0, 20_000, allow_nan=False), st.integers(60, 7200))
def test_changes_outside_the_window_do_not_matter(values: list[int], steps: list[float], now: float,
                                                  window: int) -> None:
    history = timed(values, steps)
    inside = [c for c in history if now - window < c.at <= now]
    assert count_flaps(history, now, window) == count_flaps(inside, now, window)
    older = [Change(now - window - 1 - i, i % 2, 1 - i % 2) for i in range(5)]
    assert count_flaps(older + history, now, window) == count_flaps(history, now, window)


@given(st.integers(2, 20))
def test_a_strict_alternation_of_n_changes_has_n_minus_1_flaps(n: int) -> None:
    assert count_flaps(walk(0, [i % 2 for i in range(n + 1)]), 60 * n, 3600) == n - 1


def test_observe_warns_past_the_threshold_once_per_window() -> None:
    settings = FlapSettings(threshold=4, window=3600)
    history: tuple[Change, ...] = ()
    warned, warnings = None, []
    for change in walk(0, [1, 2] * 10):  # 19 changes a minute apart
        history, flaps, warn = observe(history, warned, change, settings)
        if warn:
            warned = change.at
            warnings.append((change.at, flaps))
    assert warnings == [(300.0, 5)]  # the fifth reversal; not again within the hour
    history, flaps, warn = observe(history, warned, Change(3800.0, 2, 3), settings)
    assert (flaps, warn) == (14, False)  # still flapping, but warned 3500 s ago
    history, flaps, warn = observe(history, warned, Change(3900.0, 3, 2), settings)
    assert (flaps, warn) == (13, True)  # an hour after the warning: again
    history, flaps, warn = observe(history, 3900.0, Change(9000.0, 1, 2), settings)
    assert (history, flaps, warn) == ((Change(9000.0, 1, 2),), 0, False)  # the rest is out of the window


@pytest.mark.parametrize(("env", "tags", "want"), [
    ({}, {}, FlapSettings(4, 3600)),
    ({"GUREUM_FLAP_THRESHOLD": "2", "GUREUM_FLAP_WINDOW": "600"}, {}, FlapSettings(2, 600)),
    ({"GUREUM_FLAP_THRESHOLD": "2"}, {"gureum:flap-threshold": "7"}, FlapSettings(7, 3600)),
    ({"GUREUM_FLAP_THRESHOLD": "zero"}, {"gureum:flap-window": "-5"}, FlapSettings(4, 3600)),
])
def test_settings(env: dict[str, str], tags: dict[str, str], want: FlapSettings) -> None:
    assert settings_from(env, tags) == want


OUT, IN = PolicyFacts("out", "out"), PolicyFacts("in", "in")


def alarm(name: str, policy: str, op: str, threshold: float, periods: int = 3, metric: str = "CPU",
          period: int = 60) -> AlarmFacts:
    return AlarmFacts(name, policy, metric, op, threshold, period, periods)


GT, LT = "GreaterThanThreshold", "LessThanThreshold"
HISTORY = walk(0, [1, 2, 1, 2, 1, 2, 1])


@pytest.mark.parametrize(("policies", "alarms", "want"), [
    ([OUT, IN], [alarm("hi", "out", GT, 60), alarm("lo", "in", LT, 55)],
     ["scale-in threshold 55 is within 10% of scale-out threshold 60 (alarms lo and hi on CPU)"]),
    ([OUT, IN], [alarm("hi", "out", GT, 60), alarm("lo", "in", LT, 70)],
     ["scale-in threshold 70 is not below scale-out threshold 60 (alarms lo and hi on CPU)"]),
    ([OUT, IN], [alarm("hi", "out", GT, 60, 1), alarm("lo", "in", LT, 30, 1)],
     ["alarms hi and lo act on a single datapoint (EvaluationPeriods 1): one noisy period scales the group"]),
    ([OUT, IN], [alarm("hi", "out", GT, 60), alarm("lo", "in", LT, 58, metric="Memory")],  # other metric
     ["no policy setting explains the desired capacity going up and down between 1 and 2: look at scheduled "
      "actions and SetDesiredCapacity calls"]),
    ([PolicyFacts("out", "out", cooldown=60, warmup=300), IN], [alarm("hi", "out", GT, 80), alarm("lo", "in", LT, 20)],
     ["cooldown 60 s is shorter than instance warm-up 300 s (policy out)"]),
    ([OUT, PolicyFacts("in", "in", cooldown=30)], [alarm("hi", "out", GT, 80), alarm("lo", "in", LT, 20, 2)],
     ["cooldown 30 s is shorter than the 120 s alarm lo needs to see the effect of a change "
      "(Period 60 × EvaluationPeriods 2) (policy in)"]),
    ([PolicyFacts("tt", "both", cooldown=300)], [alarm("tt-high", "tt", GT, 50, 3), alarm("tt-low", "tt", LT, 45, 15)],
     ["scale-in threshold 45 is within 10% of scale-out threshold 50 (alarms tt-low and tt-high on CPU)"]),
    ([OUT, IN], [alarm("hi", "in", GT, 60), alarm("lo", "out", LT, 58)],  # alarms wired the wrong way round
     ["no policy setting explains the desired capacity going up and down between 1 and 2: look at scheduled "
      "actions and SetDesiredCapacity calls"]),
])
def test_diagnose_flapping(policies: list[PolicyFacts], alarms: list[AlarmFacts], want: list[str]) -> None:
    assert diagnose_flapping(policies, alarms, HISTORY) == want
