"""Table tests of the Logs filter-pattern core."""

from __future__ import annotations

import pytest

from gureum.services.logs.filter_pattern import FilterPatternError, parse

MESSAGES = [
    "[ERROR] connection reset by peer",
    "[WARN] disk almost full",
    "INFO request served in 12 ms",
    "ERROR Exception in thread main",
    "DEBUG cache hit",
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", [0, 1, 2, 3, 4]),
        ('""', [0, 1, 2, 3, 4]),
        ("ERROR", [0, 3]),
        ("error", []),  # case-sensitive
        ("ERROR Exception", [3]),
        ('"connection reset"', [0]),
        ('"reset connection"', []),
        ("-DEBUG", [0, 1, 2, 3]),
        ("ERROR -Exception", [0]),
        ("?WARN ?DEBUG", [1, 4]),
        ("?WARN ?DEBUG -cache", [1]),
        ('?"disk almost" ?served', [1, 2]),
        ("%[0-9]+ ms%", [2]),
        ("%^DEBUG%", [4]),
    ],
)
def test_pattern_table(pattern: str, expected: list[int]) -> None:
    fp = parse(pattern)
    assert [i for i, m in enumerate(MESSAGES) if fp.matches(m)] == expected


@pytest.mark.parametrize("pattern", ['{ $.level = "ERROR" }', "[ip, user, status=404]", '"open', "%(a|b)%"])
def test_unsupported_or_broken_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        parse(pattern)


def test_escaped_quote_inside_phrase() -> None:
    assert parse(r'"say \"hi\""').matches('they say "hi" twice')
    assert not parse(r'"say \"hi\""').matches("they say hi twice")
