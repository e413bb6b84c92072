"""Listener rule matching: conditions, wildcards, priorities; validation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gureum.services.elbv2.rules_match import (
    CompiledRule,
    RequestView,
    RuleError,
    compile_condition,
    compile_conditions,
    matches,
    select,
    sort_rules,
    wildcard,
)


def req(
    method: str = "GET",
    host: str = "api.example.com",
    path: str = "/",
    query: str = "",
    headers: dict[str, list[str]] | None = None,
    ip: str = "127.0.0.1",
) -> RequestView:
    return RequestView(method, host, path, query, headers or {}, ip)


def cond(field: str, **config: object) -> dict[str, object]:
    from gureum.services.elbv2.rules_match import CONFIG_OF

    return {"Field": field, CONFIG_OF[field]: config}


@pytest.mark.parametrize(
    ("pattern", "path", "ok"),
    [
        ("/api/*", "/api/users", True),
        ("/api/*", "/api/", True),
        ("/api/*", "/api", False),
        ("/api/*", "/API/users", False),  # path patterns are case-sensitive
        ("*.png", "/img/a.png", True),
        ("/a?c", "/abc", True),
        ("/a?c", "/ac", False),
        ("/img/*/big", "/img/x/y/big", True),  # * crosses slashes
        ("/exact", "/exact", True),
        ("/a.b", "/axb", False),  # a dot is literal
    ],
)
def test_path_pattern(pattern: str, path: str, ok: bool) -> None:
    c = compile_condition(cond("path-pattern", Values=[pattern]))
    assert matches(c, req(path=path)) is ok


def test_host_header_is_case_insensitive_with_wildcards() -> None:
    c = compile_condition(cond("host-header", Values=["*.Example.com"]))
    assert matches(c, req(host="API.example.COM"))
    assert not matches(c, req(host="example.org"))


def test_legacy_values_form() -> None:
    c = compile_condition({"Field": "path-pattern", "Values": ["/old/*"]})
    assert matches(c, req(path="/old/x"))


def test_http_header_method_query_source_ip() -> None:
    h = compile_condition(cond("http-header", HttpHeaderName="User-Agent", Values=["*Mobile*"]))
    assert matches(h, req(headers={"user-agent": ["Foo mobile Bar"]}))
    assert not matches(h, req(headers={"user-agent": ["desktop"]}))
    assert not matches(h, req())
    m = compile_condition(cond("http-request-method", Values=["POST", "PUT"]))
    assert matches(m, req(method="PUT")) and not matches(m, req(method="put"))
    q = compile_condition(cond("query-string", Values=[{"Key": "version", "Value": "v2*"}, {"Value": "beta"}]))
    assert matches(q, req(query="a=1&version=V2.1"))
    assert matches(q, req(query="x=beta"))  # a value under any key
    assert not matches(q, req(query="version=v1"))
    assert matches(q, req(query="version=v2%20x"))  # compared decoded
    s = compile_condition(cond("source-ip", Values=["127.0.0.0/8", "10.0.0.0/16"]))
    assert matches(s, req(ip="127.9.9.9")) and not matches(s, req(ip="192.168.1.1"))
    assert not matches(s, req(ip="::1"))


def rule(priority: int, *conds: dict[str, object], default: bool = False) -> CompiledRule:
    return CompiledRule(priority, compile_conditions(list(conds)), ({"Type": "forward", "n": priority},), is_default=default)


def test_select_by_priority_and_default_last() -> None:
    rules = sort_rules([
        rule(0, default=True),
        rule(20, cond("path-pattern", Values=["/api/*"])),
        rule(10, cond("path-pattern", Values=["/api/v2/*"]), cond("http-request-method", Values=["GET"])),
    ])  # fmt: skip
    assert [r.priority for r in rules] == [10, 20, 0]
    assert select(rules, req(path="/api/v2/x")).priority == 10
    assert select(rules, req(path="/api/v2/x", method="POST")).priority == 20  # all conditions must hold
    assert select(rules, req(path="/other")).is_default


@pytest.mark.parametrize(
    "conds",
    [
        [cond("path-pattern", Values=["/a"]), cond("path-pattern", Values=["/b"])],  # twice
        [cond("path-pattern", Values=["/" + "a" * 128])],  # too long
        [cond("source-ip", Values=["not-a-cidr"])],
        [cond("http-request-method", Values=["get"])],
        [cond("http-header", Values=["x"])],  # no header name
        [cond("path-pattern", Values=["/1", "/2", "/3"]), cond("host-header", Values=["a", "b", "c"])],  # > 5
        [{"Field": "cookie", "Values": ["x"]}],
        [cond("query-string", Values=[])],
    ],
)
def test_invalid_conditions(conds: list[dict[str, object]]) -> None:
    with pytest.raises(RuleError):
        compile_conditions(conds)


_plain = st.text(alphabet=st.characters(blacklist_characters="*?", codec="ascii"), max_size=20)


@given(_plain, _plain)
def test_a_pattern_without_wildcards_matches_only_itself(pattern: str, other: str) -> None:
    assert wildcard(pattern, False).match(pattern)
    assert bool(wildcard(pattern, False).match(other)) == (pattern == other)


@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30))
def test_star_matches_any_infix(prefix: str, middle: str, suffix: str) -> None:
    pattern = prefix.replace("*", "").replace("?", "") + "*" + suffix.replace("*", "").replace("?", "")
    value = pattern.replace("*", middle, 1)
    assert wildcard(pattern, False).match(value)


@given(st.text(alphabet="ab*?", max_size=8), st.text(alphabet="ab", max_size=8))
def test_wildcards_agree_with_a_regex_reference(pattern: str, value: str) -> None:
    ref = "^" + pattern.replace("*", ".*").replace("?", ".") + "$"
    assert bool(wildcard(pattern, False).match(value)) == bool(re.match(ref, value, re.DOTALL))
