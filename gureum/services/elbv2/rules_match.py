"""Listener rules: which rule a request matches, and rule validation.

Pure: no I/O.  The proxy builds a :class:`RequestView` from the request head
and calls :func:`select` with the listener's compiled rules.

Matching, as the ALB user guide describes it
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html):

* rules are evaluated by priority, lowest number first; the default rule
  (no conditions) is last and always matches;
* a rule matches when **all** its conditions match; a condition matches when
  **any** of its values matches;
* ``path-pattern`` — case-sensitive, against the path only (no query
  string), ``*`` matches any run of characters (``/`` included), ``?``
  exactly one;
* ``host-header`` — case-insensitive, against the Host without its port,
  same wildcards;
* ``http-header`` — the named header (name case-insensitive), any of its
  values, wildcards, values compared case-insensitively;
* ``http-request-method`` — exact and case-sensitive (``GET``);
* ``query-string`` — any of the key/value pairs (key optional), wildcards,
  case-insensitive, against the URL-decoded query parameters;
* ``source-ip`` — the client address inside any of the CIDR blocks (the
  address of the connection, never ``X-Forwarded-For``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

FIELDS = ("path-pattern", "host-header", "http-header", "http-request-method", "query-string", "source-ip")
# Fields a rule may carry at most once (http-header and query-string may repeat).
SINGLE_FIELDS = ("path-pattern", "host-header", "http-request-method", "source-ip")
CONFIG_OF = {
    "path-pattern": "PathPatternConfig",
    "host-header": "HostHeaderConfig",
    "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "query-string": "QueryStringConfig",
    "source-ip": "SourceIpConfig",
}
MAX_VALUE_LENGTH = 128
MAX_EVALUATIONS = 5  # "up to five match evaluations per rule"
_METHOD = re.compile(r"^[A-Z_-]{1,40}\Z")


@dataclass(frozen=True, slots=True)
class RequestView:
    method: str
    host: str  # without the port, as the client sent it
    path: str  # without the query string
    query: str  # the raw query string
    headers: dict[str, list[str]]  # lower-case name → values
    source_ip: str

    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    values: tuple[str, ...] = ()
    header: str = ""  # http-header: the header name, lower case
    pairs: tuple[tuple[str | None, str], ...] = ()  # query-string


@dataclass(frozen=True, slots=True)
class CompiledRule:
    priority: int  # the default rule sorts last
    conditions: tuple[Condition, ...]
    actions: tuple[dict[str, Any], ...]
    arn: str = ""
    is_default: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


class RuleError(ValueError):
    """A rule's conditions are not valid (the API answers ValidationError)."""


@lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` and ``?`` as ALB reads them; everything else literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}\\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _any(patterns: Iterable[str], value: str, ignore_case: bool) -> bool:
    return any(wildcard(p, ignore_case).match(value) for p in patterns)


def _in_cidrs(blocks: Sequence[str], ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for block in blocks:
        net = ipaddress.ip_network(block, strict=False)
        if addr.version == net.version and addr in net:
            return True
    return False


def matches(cond: Condition, req: RequestView) -> bool:
    f = cond.field
    if f == "path-pattern":
        return _any(cond.values, req.path, False)
    if f == "host-header":
        return _any(cond.values, req.host, True)
    if f == "http-request-method":
        return req.method in cond.values
    if f == "http-header":
        return any(_any(cond.values, v, True) for v in req.headers.get(cond.header, ()))
    if f == "query-string":
        got = req.query_pairs()
        return any(
            (key is None or wildcard(key, True).match(k)) and wildcard(value, True).match(v)
            for key, value in cond.pairs
            for k, v in got
        )
    if f == "source-ip":
        return _in_cidrs(cond.values, req.source_ip)
    return False


def rule_matches(rule: CompiledRule, req: RequestView) -> bool:
    return all(matches(c, req) for c in rule.conditions)


def select(rules: Sequence[CompiledRule], req: RequestView) -> CompiledRule | None:
    """The first matching rule; ``rules`` are sorted by priority, default last."""
    for rule in rules:
        if rule_matches(rule, req):
            return rule
    return None


def sort_rules(rules: Iterable[CompiledRule]) -> list[CompiledRule]:
    return sorted(rules, key=lambda r: (r.is_default, r.priority))


# -- API input → compiled conditions ------------------------------------------------


def compile_condition(raw: dict[str, Any]) -> Condition:
    """One ``RuleCondition`` of the API (already shape-checked) → :class:`Condition`."""
    f = raw.get("Field")
    if f not in FIELDS:
        raise RuleError(f"Condition field '{f}' is not supported")
    config = raw.get(CONFIG_OF[f])
    legacy = raw.get("Values")
    if config is not None and legacy:
        raise RuleError(f"You cannot specify both Values and {CONFIG_OF[f]} for condition '{f}'")
    if f in ("path-pattern", "host-header") and config is None:
        values = tuple(legacy or ())
        if len(values) != 1 and legacy is not None:
            raise RuleError(f"A '{f}' condition given as Values must have exactly one value")
        config = {"Values": list(values)}
    if config is None:
        raise RuleError(f"A condition of field '{f}' needs {CONFIG_OF[f]}")
    if f == "query-string":
        pairs = tuple((p.get("Key"), p.get("Value", "")) for p in config.get("Values") or [])
        if not pairs:
            raise RuleError("A 'query-string' condition needs at least one key/value pair")
        for k, v in pairs:
            _check_value(v, f)
            if k is not None:
                _check_value(k, f)
        return Condition(f, pairs=pairs)
    values = tuple(config.get("Values") or ())
    if not values:
        raise RuleError(f"A '{f}' condition needs at least one value")
    for v in values:
        _check_value(v, f)
    if f == "http-request-method" and not all(_METHOD.match(v) for v in values):
        raise RuleError("HTTP request methods must be upper case letters, '_' or '-'")
    if f == "source-ip":
        for v in values:
            try:
                ipaddress.ip_network(v, strict=False)
            except ValueError as exc:
                raise RuleError(f"'{v}' is not a valid CIDR block") from exc
    header = ""
    if f == "http-header":
        header = str(config.get("HttpHeaderName") or "").lower()
        if not header or not re.match(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}\Z", header):
            raise RuleError("An 'http-header' condition needs a valid HttpHeaderName")
    return Condition(f, values, header)


def _check_value(value: str, f: str) -> None:
    if len(value) > MAX_VALUE_LENGTH:
        raise RuleError(f"A '{f}' value must be at most {MAX_VALUE_LENGTH} characters")


def evaluations(cond: Condition) -> int:
    return len(cond.pairs) if cond.field == "query-string" else len(cond.values)


def compile_conditions(raws: Sequence[dict[str, Any]]) -> tuple[Condition, ...]:
    conds = tuple(compile_condition(r) for r in raws)
    seen: set[str] = set()
    for c in conds:
        if c.field in SINGLE_FIELDS and c.field in seen:
            raise RuleError(f"A rule can have at most one '{c.field}' condition")
        seen.add(c.field)
    if sum(evaluations(c) for c in conds) > MAX_EVALUATIONS:
        raise RuleError(f"A rule can have at most {MAX_EVALUATIONS} condition values in total")
    return conds
