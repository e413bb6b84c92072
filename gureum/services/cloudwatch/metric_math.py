"""Metric math: the expression language of GetMetricData and metric math
alarms, parsed and evaluated.  Pure (no store, no clock).

Values are scalars (``float``), time series (:class:`Series`: timestamp →
value, oldest first) and arrays of time series (``list[Series]``), as in
CloudWatch's "Metric math syntax and functions":

* ``+ - * / ^`` between scalars and series; between two series only the
  timestamps both have give a value; an array with a scalar or a series
  applies to each member.  A non-finite result (``x/0``) is no value.
* Comparisons ``== != < <= > >=`` give 1 or 0; ``AND``/``&&``,
  ``OR``/``||``, ``NOT``/``!`` treat non-zero as true.
* ``SUM AVG MIN MAX STDDEV`` of a series give a scalar, of an array the
  series of per-timestamp aggregates over the members that have a value;
  ``STDDEV`` is the population standard deviation.
* ``METRICS()`` is the array of the request's metrics (not expressions) in
  request order; ``METRICS("s")`` only those whose Id contains ``s``.
  ``[a, b]`` builds an array.
* ``FILL(x, v | REPEAT | LINEAR)`` fills every period of the query range
  without a value: with ``v``, with the last value before (the first value
  for a leading gap), or by linear interpolation (nearest value at the
  ends).  ``IF(c, a[, b])``: ``a`` where ``c`` is true, ``b`` (or no value)
  elsewhere.  ``ABS CEIL FLOOR SQRT LOG LOG10``, ``RATE`` (change per
  second), ``DIFF``, ``DIFF_TIME``, ``RUNNING_SUM``, ``PERIOD`` (seconds),
  ``TIME_SERIES(scalar)``, ``REMOVE_EMPTY(array)``.

The grammar and the parser are in :mod:`math_syntax`.  Errors are
:class:`MathError` (a ``ValidationError``); callers prefix them with the
query Id (:func:`evaluate_queries` does).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gureum.services.cloudwatch.math_syntax import (
    ArrayLit,
    Binary,
    Call,
    MathError,
    Node,
    Num,
    Ref,
    Text,
    Unary,
    Word,
    parse,
    references,
    uses_metrics,
)

__all__ = ["Env", "Expression", "MathError", "Series", "Value", "as_series", "evaluate", "evaluate_queries",
           "parse", "references", "uses_metrics"]


@dataclass
class Series:
    label: str
    points: dict[float, float] = field(default_factory=dict)  # ts → value, ascending ts
    id: str = ""


Value = float | Series | list[Series]

# -- evaluation --------------------------------------------------------------------------


@dataclass
class Env:
    values: Mapping[str, Value]  # results of the other queries, by Id
    metric_ids: Sequence[str]  # MetricStat query Ids in request order (METRICS())
    timestamps: Sequence[float]  # every period start of the query range (FILL, TIME_SERIES)
    period: int


def _finite(x: float) -> bool:
    return math.isfinite(x)


def _combine(a: Value, b: Value, fn: Callable[[float, float], float], what: str) -> Value:
    if isinstance(a, list) and isinstance(b, list):
        raise MathError(f"The operator {what} cannot be used between two arrays of time series")
    if isinstance(a, list):
        return [_as_series(_combine(s, b, fn, what), s) for s in a]
    if isinstance(b, list):
        return [_as_series(_combine(a, s, fn, what), s) for s in b]
    if isinstance(a, Series) and isinstance(b, Series):
        pts = {t: fn(v, b.points[t]) for t, v in a.points.items() if t in b.points}
        return Series(a.label, {t: v for t, v in pts.items() if _finite(v)}, a.id)
    if isinstance(a, Series):
        pts = {t: fn(v, float(b)) for t, v in a.points.items()}  # type: ignore[arg-type]
        return Series(a.label, {t: v for t, v in pts.items() if _finite(v)}, a.id)
    if isinstance(b, Series):
        pts = {t: fn(float(a), v) for t, v in b.points.items()}
        return Series(b.label, {t: v for t, v in pts.items() if _finite(v)}, b.id)
    return fn(float(a), float(b))


def _as_series(v: Value, like: Series) -> Series:
    if isinstance(v, Series):
        return v
    raise MathError("An array operation did not give a time series")  # cannot happen: member is a series


def _safe(fn: Callable[[float, float], float]) -> Callable[[float, float], float]:
    def wrapped(x: float, y: float) -> float:
        try:
            return fn(x, y)
        except (ZeroDivisionError, OverflowError, ValueError):
            return math.nan

    return wrapped


_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": _safe(lambda x, y: x / y),
    "^": _safe(lambda x, y: float(x**y) if not (x < 0 and not float(y).is_integer()) else math.nan),
    "==": lambda x, y: float(x == y),
    "!=": lambda x, y: float(x != y),
    "<": lambda x, y: float(x < y),
    "<=": lambda x, y: float(x <= y),
    ">": lambda x, y: float(x > y),
    ">=": lambda x, y: float(x >= y),
    "&&": lambda x, y: float(x != 0 and y != 0),
    "||": lambda x, y: float(x != 0 or y != 0),
}


def _map(v: Value, fn: Callable[[float], float]) -> Value:
    if isinstance(v, list):
        return [s for s in (_map(s, fn) for s in v) if isinstance(s, Series)]
    if isinstance(v, Series):
        pts = {}
        for t, x in v.points.items():
            try:
                y = fn(x)
            except (ValueError, OverflowError, ZeroDivisionError):
                continue
            if _finite(y):
                pts[t] = y
        return Series(v.label, pts, v.id)
    try:
        return fn(float(v))
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan


def evaluate(node: Node, env: Env) -> Value:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        if node.id not in env.values:
            raise MathError(f"Unrecognized metric or expression id {node.id}")
        return env.values[node.id]
    if isinstance(node, Text | Word):
        shown = node.value if isinstance(node, Text) else node.name
        raise MathError(f"'{shown}' can only be used as an argument of a function")
    if isinstance(node, Unary):
        arg = evaluate(node.arg, env)
        if node.op == "-":
            return _map(arg, lambda x: -x)
        if node.op == "!":
            return _map(arg, lambda x: float(x == 0))
        return arg
    if isinstance(node, Binary):
        return _combine(evaluate(node.left, env), evaluate(node.right, env), _BINARY[node.op], node.op)
    if isinstance(node, ArrayLit):
        out: list[Series] = []
        for item in node.items:
            v = evaluate(item, env)
            if isinstance(v, list):
                out.extend(v)
            elif isinstance(v, Series):
                out.append(v)
            else:
                raise MathError("An array can only hold time series")
        return out
    return _call(node, env)


# -- functions ---------------------------------------------------------------------------

_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": math.fsum,
    "AVG": lambda xs: math.fsum(xs) / len(xs),
    "MIN": min,
    "MAX": max,
    "STDDEV": lambda xs: statistics.pstdev(xs) if len(xs) > 1 else 0.0,
}
_ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "ABS": abs,
    "CEIL": lambda x: float(math.ceil(x)),
    "FLOOR": lambda x: float(math.floor(x)),
    "SQRT": math.sqrt,
    "LOG": math.log,
    "LOG10": math.log10,
}
def _aggregate(name: str, v: Value) -> Value:
    fn = _AGGREGATES[name]
    if isinstance(v, list):
        stamps = sorted({t for s in v for t in s.points})
        pts = {t: fn([s.points[t] for s in v if t in s.points]) for t in stamps}
        return Series(name, {t: x for t, x in pts.items() if _finite(x)})
    if isinstance(v, Series):
        return fn(list(v.points.values())) if v.points else math.nan
    return float(v)


def _per_series(v: Value, fn: Callable[[Series], Series], name: str) -> Value:
    if isinstance(v, list):
        return [fn(s) for s in v]
    if isinstance(v, Series):
        return fn(v)
    raise MathError(f"{name} needs a time series or an array of time series")


def _deltas(kind: str) -> Callable[[Series], Series]:
    def apply(s: Series) -> Series:
        items = list(s.points.items())
        out: dict[float, float] = {}
        for (t0, v0), (t1, v1) in zip(items, items[1:], strict=False):
            dt = t1 - t0
            if kind == "DIFF":
                out[t1] = v1 - v0
            elif kind == "DIFF_TIME":
                out[t1] = dt
            elif dt > 0:
                out[t1] = (v1 - v0) / dt
        return Series(s.label, out, s.id)

    return apply


def _running_sum(s: Series) -> Series:
    total = 0.0
    out = {}
    for t, v in s.points.items():
        total += v
        out[t] = total
    return Series(s.label, out, s.id)


def _fill(s: Series, how: Value | str, grid: Sequence[float]) -> Series:
    stamps = sorted(set(grid) | set(s.points))
    known = [(t, s.points[t]) for t in stamps if t in s.points]
    if not known:
        return Series(s.label, {t: float(how) for t in stamps} if isinstance(how, float) else {}, s.id)
    out: dict[float, float] = {}
    for t in stamps:
        if t in s.points:
            out[t] = s.points[t]
        elif isinstance(how, float):
            out[t] = how
        else:
            out[t] = _gap_value(known, t, how == "LINEAR")
    return Series(s.label, out, s.id)


def _gap_value(known: list[tuple[float, float]], t: float, linear: bool) -> float:
    before = [(k, v) for k, v in known if k < t]
    after = [(k, v) for k, v in known if k > t]
    if not before:
        return after[0][1]
    if not after or not linear:
        return before[-1][1]
    (t0, v0), (t1, v1) = before[-1], after[0]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def _fill_with(v: Value, arg: Node, env: Env) -> Value:
    if isinstance(arg, Word):
        how: Value | str = arg.name
    else:
        how = evaluate(arg, env)
        if not isinstance(how, float | int):
            raise MathError("The second argument of FILL must be a number, REPEAT or LINEAR")
        how = float(how)
    return _per_series(v, lambda s: _fill(s, how, env.timestamps), "FILL")


def _if(args: Sequence[Value]) -> Value:
    cond, a = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    if any(isinstance(x, list) for x in args):
        raise MathError("IF does not take arrays of time series")
    if isinstance(cond, list):
        raise MathError("IF does not take arrays of time series")
    if not isinstance(cond, Series):
        return a if float(cond) != 0 else (b if b is not None else Series("IF"))
    out: dict[float, float] = {}
    for t, c in cond.points.items():
        branch = a if c != 0 else b
        if branch is None:
            continue
        if isinstance(branch, Series):
            if t in branch.points:
                out[t] = branch.points[t]
        elif not isinstance(branch, list):
            out[t] = float(branch)
    return Series(cond.label, out, cond.id)


def _metrics(args: Sequence[Node], env: Env) -> list[Series]:
    needle = ""
    if args:
        if not isinstance(args[0], Text):
            raise MathError("The argument of METRICS must be a string")
        needle = args[0].value
    out: list[Series] = []
    for mid in env.metric_ids:
        value = env.values.get(mid)
        if needle in mid and isinstance(value, Series):
            out.append(value)
    return out


def _call(node: Call, env: Env) -> Value:
    name = node.name
    if name == "METRICS":
        return _metrics(node.args, env)
    if name == "FILL":
        return _fill_with(evaluate(node.args[0], env), node.args[1], env)
    args = [evaluate(a, env) for a in node.args]
    if name in _AGGREGATES:
        return _aggregate(name, args[0])
    if name in _ELEMENTWISE:
        return _map(args[0], _ELEMENTWISE[name])
    if name in ("RATE", "DIFF", "DIFF_TIME"):
        return _per_series(args[0], _deltas(name), name)
    if name == "RUNNING_SUM":
        return _per_series(args[0], _running_sum, name)
    if name == "IF":
        return _if(args)
    if name == "PERIOD":
        return float(env.period)
    if name == "TIME_SERIES":
        if not isinstance(args[0], float | int):
            raise MathError("TIME_SERIES takes a scalar")
        return Series("TIME_SERIES", {t: float(args[0]) for t in env.timestamps})
    if name == "REMOVE_EMPTY":
        if not isinstance(args[0], list):
            raise MathError("REMOVE_EMPTY takes an array of time series")
        return [s for s in args[0] if s.points]
    raise MathError(f"Unknown function {name}")  # pragma: no cover - _check_calls refuses it first


# -- a whole request ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expression:
    id: str
    text: str


def evaluate_queries(
    expressions: Sequence[Expression],
    metrics: Mapping[str, Series],
    timestamps: Sequence[float],
    period: int,
) -> dict[str, Value]:
    """Evaluate every expression of a request, each after those it uses.

    ``metrics`` are the MetricStat results by Id, in request order.  Errors
    name the expression: ``Error in expression e1: Unknown function FOO``.
    """
    trees: dict[str, Node] = {}
    for e in expressions:
        try:
            trees[e.id] = parse(e.text)
        except MathError as exc:
            raise MathError(f"Error in expression {e.id}: {exc.message}") from exc
    known = set(metrics) | set(trees)
    for eid, tree in trees.items():
        unknown = sorted(references(tree) - known)
        if unknown:
            raise MathError(f"Error in expression {eid}: Unrecognized metric or expression id {unknown[0]}")
        if eid in references(tree):
            raise MathError(f"Error in expression {eid}: An expression cannot refer to itself")
    values: dict[str, Value] = dict(metrics)
    done: set[str] = set()
    pending = dict(trees)
    while pending:
        ready = [i for i, t in pending.items() if not (references(t) & (set(pending) - {i}))]
        if not ready:
            raise MathError(f"Circular dependency between expressions {', '.join(sorted(pending))}")
        for eid in ready:
            env = Env(values, list(metrics), timestamps, period)
            try:
                values[eid] = evaluate(pending.pop(eid), env)
            except MathError as exc:
                raise MathError(f"Error in expression {eid}: {exc.message}") from exc
            done.add(eid)
    return {k: v for k, v in values.items() if k in done}


def as_series(value: Value, label: str, timestamps: Sequence[float]) -> list[Series]:
    """What a query returns: a scalar becomes a constant series over the range."""
    if isinstance(value, list):
        return value
    if isinstance(value, Series):
        return [Series(label or value.label, dict(value.points), value.id)]
    if not math.isfinite(float(value)):
        return [Series(label, {})]
    return [Series(label, {t: float(value) for t in timestamps})]
