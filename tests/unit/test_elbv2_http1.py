"""HTTP/1.1 heads, framing and hop-by-hop rules of the proxy; redirect
locations; attribute checks."""

from __future__ import annotations

import pytest

from gureum.services.elbv2 import attributes
from gureum.services.elbv2.http1 import (
    Malformed,
    keep_alive,
    parse_chunk_size,
    parse_request_head,
    parse_response_head,
    request_framing,
    response_framing,
    strip_hop_by_hop,
)
from gureum.services.elbv2.redirects import location


def head(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode() + b"\r\n\r\n"


def test_request_head() -> None:
    h = parse_request_head(head("POST /a?b=1 HTTP/1.1\nHost: x\nContent-Length: 5"))
    assert (h.method, h.path, h.query, h.version) == ("POST", "/a", "b=1", "HTTP/1.1")
    assert request_framing(h).kind == "length" and request_framing(h).length == 5
    chunked = parse_request_head(head("POST / HTTP/1.1\nHost: x\nTransfer-Encoding: gzip, chunked"))
    assert request_framing(chunked).kind == "chunked"
    assert request_framing(parse_request_head(head("GET / HTTP/1.1\nHost: x"))).kind == "none"


@pytest.mark.parametrize(
    "text",
    [
        "GET / HTTP/2.0\nHost: x",
        "GET /\nHost: x",
        "GET  / HTTP/1.1\nHost: x",
        "GET / HTTP/1.1\nHost x",
        "GET / HTTP/1.1\nBad Name: x",
        "GET / HTTP/1.1\nHost: x\n folded",
        "GET / HTTP/1.1\nHost: a\x01b",
    ],
)
def test_malformed_request_heads(text: str) -> None:
    with pytest.raises(Malformed):
        parse_request_head(head(text))


@pytest.mark.parametrize(
    "text",
    [
        "POST / HTTP/1.1\nHost: x\nContent-Length: 5\nContent-Length: 6",
        "POST / HTTP/1.1\nHost: x\nContent-Length: -1",
        "POST / HTTP/1.1\nHost: x\nContent-Length: 5\nTransfer-Encoding: chunked",  # smuggling
        "POST / HTTP/1.1\nHost: x\nTransfer-Encoding: gzip",
        "POST / HTTP/1.0\nTransfer-Encoding: chunked",
    ],
)
def test_refused_framing(text: str) -> None:
    with pytest.raises(Malformed):
        request_framing(parse_request_head(head(text)))


def test_response_framing() -> None:
    r = parse_response_head(head("HTTP/1.1 200 OK\nContent-Length: 3"))
    assert response_framing("GET", r).length == 3
    assert response_framing("HEAD", r).kind == "none"
    assert response_framing("GET", parse_response_head(head("HTTP/1.1 204 No Content"))).kind == "none"
    assert response_framing("GET", parse_response_head(head("HTTP/1.0 200 OK"))).kind == "close"
    assert parse_response_head(head("HTTP/1.1 200")).reason == ""
    for bad in ("garbage", "HTTP/1.1 2000 OK", "SSH-2.0-OpenSSH"):
        with pytest.raises(Malformed):
            parse_response_head(head(bad))


def test_keep_alive_and_hop_by_hop() -> None:
    assert keep_alive("HTTP/1.1", [])
    assert not keep_alive("HTTP/1.1", [("Connection", "close")])
    assert not keep_alive("HTTP/1.0", [])
    assert keep_alive("HTTP/1.0", [("Connection", "Keep-Alive")])
    hs = [("Connection", "x-private, close"), ("X-Private", "1"), ("Keep-Alive", "5"), ("A", "b"), ("Upgrade", "ws")]
    assert strip_hop_by_hop(hs) == [("A", "b")]
    assert ("Upgrade", "ws") in strip_hop_by_hop(hs, keep_upgrade=True)


def test_chunk_sizes() -> None:
    assert parse_chunk_size(b"1a") == 26
    assert parse_chunk_size(b"0;ext=1") == 0
    for bad in (b"", b"zz", b"1" * 17):
        with pytest.raises(Malformed):
            parse_chunk_size(bad)


@pytest.mark.parametrize(
    ("cfg", "url"),
    [
        ({}, "http://h.example/a/b?q=1"),
        ({"Protocol": "HTTPS", "Port": "443"}, "https://h.example/a/b?q=1"),
        ({"Protocol": "HTTPS", "Port": "8443"}, "https://h.example:8443/a/b?q=1"),
        ({"Host": "new.example", "Path": "/v2/#{path}", "Query": "from=#{host}"}, "http://new.example/v2/a/b?from=h.example"),
        ({"Query": ""}, "http://h.example/a/b"),
    ],
)
def test_redirect_locations(cfg: dict[str, str], url: str) -> None:
    assert location(cfg, "HTTP", 80, "h.example", "/a/b", "q=1") == url


def test_attribute_checks() -> None:
    table = attributes.LOAD_BALANCER
    base = attributes.defaults(table)
    assert base["idle_timeout.timeout_seconds"] == "60"
    out, err = attributes.apply(table, base, [{"Key": "idle_timeout.timeout_seconds", "Value": "5"}])
    assert err is None and out["idle_timeout.timeout_seconds"] == "5"
    for key, value in [("idle_timeout.timeout_seconds", "0"), ("deletion_protection.enabled", "yes"), ("nope", "1")]:
        assert attributes.apply(table, base, [{"Key": key, "Value": value}])[1]
    tg = attributes.defaults(attributes.TARGET_GROUP)
    assert tg["deregistration_delay.timeout_seconds"] == "300" and tg["stickiness.type"] == "lb_cookie"
    assert attributes.apply(attributes.TARGET_GROUP, tg, [{"Key": "slow_start.duration_seconds", "Value": "10"}])[1]
    assert attributes.apply(
        attributes.TARGET_GROUP, tg, [{"Key": "stickiness.app_cookie.cookie_name", "Value": "AWSALBX"}]
    )[1]
