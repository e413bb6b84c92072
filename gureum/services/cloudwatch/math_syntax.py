"""Metric math syntax: tokens, the syntax tree and the parser.  Pure.

Grammar, loosest first: ``OR``/``||``; ``AND``/``&&``; one comparison
(``== != < <= > >=``); ``+ -``; ``* /``; unary ``- + NOT !``; ``^``
(right-associative); atoms: numbers, query Ids, ``"strings"`` (function
arguments), ``REPEAT``/``LINEAR``, ``FUNCTION(args)``, ``( … )`` and
``[a, b]`` arrays.  Unknown functions and wrong argument counts are refused
at parse time.  Evaluation lives in :mod:`metric_math`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gureum.core.errors import ValidationError


class MathError(ValidationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="ValidationError")


# -- tokens ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>"[^"]*"|'[^']*')
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/^(),<>!\[\]])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"AND": "&&", "OR": "||", "NOT": "!"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # num | name | str | op | end
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise MathError(f"Unexpected character '{text[pos]}' at position {pos + 1}")
        kind = m.lastgroup or "op"
        tok = m.group(kind)
        if kind == "name" and tok in _KEYWORDS:
            kind, tok = "op", _KEYWORDS[tok]
        out.append(_Tok(kind, tok, m.start(kind) + 1))
        pos = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


# -- syntax tree -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Ref:
    id: str


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Word:
    name: str  # REPEAT, LINEAR


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    arg: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class ArrayLit:
    items: tuple[Node, ...]


Node = Num | Ref | Text | Word | Call | Unary | Binary | ArrayLit

_LEVELS: list[tuple[str, ...]] = [("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">="), ("+", "-"), ("*", "/")]


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text or tok.kind not in ("op",):
            got = f"'{tok.text}'" if tok.kind != "end" else "the end of the expression"
            raise MathError(f"Syntax error at position {tok.pos}: expected '{text}' but found {got}")

    def parse(self) -> Node:
        node = self.binary(0)
        tok = self.peek()
        if tok.kind != "end":
            raise MathError(f"Syntax error at position {tok.pos}: unexpected '{tok.text}'")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        if level == 2:  # comparisons do not chain
            left = self.binary(level + 1)
            tok = self.peek()
            if tok.kind == "op" and tok.text in _LEVELS[level]:
                self.take()
                return Binary(tok.text, left, self.binary(level + 1))
            return left
        left = self.binary(level + 1)
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.text in _LEVELS[level]:
                self.take()
                left = Binary(tok.text, left, self.binary(level + 1))
            else:
                return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("-", "+", "!"):
            self.take()
            arg = self.binary(2) if tok.text == "!" else self.unary()
            return Unary(tok.text, arg)
        base = self.atom()
        if self.peek().kind == "op" and self.peek().text == "^":
            self.take()
            return Binary("^", base, self.unary())  # right-associative
        return base

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Num(float(tok.text))
        if tok.kind == "str":
            return Text(tok.text[1:-1])
        if tok.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                self.take()
                return Call(tok.text.upper(), self.arguments(")"))
            if tok.text in ("REPEAT", "LINEAR"):
                return Word(tok.text)
            return Ref(tok.text)
        if tok.kind == "op" and tok.text == "(":
            node = self.binary(0)
            self.expect(")")
            return node
        if tok.kind == "op" and tok.text == "[":
            return ArrayLit(self.arguments("]"))
        if tok.kind == "end":
            raise MathError(f"Syntax error at position {tok.pos}: the expression ends too early")
        raise MathError(f"Syntax error at position {tok.pos}: unexpected '{tok.text}'")

    def arguments(self, close: str) -> tuple[Node, ...]:
        args: list[Node] = []
        if self.peek().kind == "op" and self.peek().text == close:
            self.take()
            return ()
        while True:
            args.append(self.binary(0))
            tok = self.take()
            if tok.kind == "op" and tok.text == close:
                return tuple(args)
            if not (tok.kind == "op" and tok.text == ","):
                found = f"'{tok.text}'" if tok.kind != "end" else "the end of the expression"
                raise MathError(f"Syntax error at position {tok.pos}: expected ',' or '{close}' but found {found}")


def parse(text: str) -> Node:
    """The syntax tree of an expression, or :class:`MathError`."""
    if not text or not text.strip():
        raise MathError("The expression is empty")
    node = _Parser(text).parse()
    _check_calls(node)
    return node


def references(node: Node) -> set[str]:
    """Ids an expression names directly (METRICS() is not expanded here)."""
    if isinstance(node, Ref):
        return {node.id}
    if isinstance(node, Call | ArrayLit):
        items = node.args if isinstance(node, Call) else node.items
        return set().union(*(references(a) for a in items)) if items else set()
    if isinstance(node, Unary):
        return references(node.arg)
    if isinstance(node, Binary):
        return references(node.left) | references(node.right)
    return set()


def uses_metrics(node: Node) -> bool:
    if isinstance(node, Call):
        return node.name == "METRICS" or any(uses_metrics(a) for a in node.args)
    if isinstance(node, ArrayLit):
        return any(uses_metrics(a) for a in node.items)
    if isinstance(node, Unary):
        return uses_metrics(node.arg)
    if isinstance(node, Binary):
        return uses_metrics(node.left) or uses_metrics(node.right)
    return False


# Functions and how many arguments each takes (evaluated in :mod:`metric_math`).
ARITY: dict[str, tuple[int, int]] = {
    **{name: (1, 1) for name in ("SUM", "AVG", "MIN", "MAX", "STDDEV")},
    **{name: (1, 1) for name in ("ABS", "CEIL", "FLOOR", "SQRT", "LOG", "LOG10")},
    "METRICS": (0, 1),
    "FILL": (2, 2),
    "IF": (2, 3),
    "RATE": (1, 1),
    "DIFF": (1, 1),
    "DIFF_TIME": (1, 1),
    "RUNNING_SUM": (1, 1),
    "PERIOD": (1, 1),
    "TIME_SERIES": (1, 1),
    "REMOVE_EMPTY": (1, 1),
}

def _check_calls(node: Node) -> None:
    if isinstance(node, Call):
        if node.name not in ARITY:
            raise MathError(f"Unknown function {node.name}")
        lo, hi = ARITY[node.name]
        if not lo <= len(node.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise MathError(f"{node.name} takes {want} argument{'s' if hi != 1 else ''} ({len(node.args)} given)")
        for a in node.args:
            _check_calls(a)
    elif isinstance(node, ArrayLit):
        for a in node.items:
            _check_calls(a)
    elif isinstance(node, Unary):
        _check_calls(node.arg)
    elif isinstance(node, Binary):
        _check_calls(node.left)
        _check_calls(node.right)


