"""Blocking streams as async iterators, and the process driver's log tail."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gureum.runtime.process_state import LogReader
from gureum.runtime.streams import merge_blocking


class Blocking:
    """An endless blocking stream that ends when closed from another thread."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[int]:
        yield 1
        yield 2
        self.closed.wait(10)

    def close(self) -> None:
        self.closed.set()


def test_merge_ends_when_every_source_ends() -> None:
    async def scenario() -> list[tuple[str, int]]:
        sources = [("a", lambda: iter([1, 2])), ("b", lambda: iter([3]))]
        return [x async for x in merge_blocking(sources, lambda s: None)]

    got = asyncio.run(scenario())
    assert sorted(got) == [("a", 1), ("a", 2), ("b", 3)]


def test_leaving_early_closes_the_blocked_source() -> None:
    stream = Blocking()

    async def scenario() -> list[int]:
        got = []
        merged = merge_blocking([("s", lambda: iter(stream))], lambda s: stream.close())
        async for _tag, item in merged:
            got.append(item)
            if len(got) == 2:
                break
        await merged.aclose()
        return got

    assert asyncio.run(scenario()) == [1, 2]
    assert stream.closed.is_set()


def test_a_source_error_reaches_the_consumer() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise OSError("engine went away")

    async def scenario() -> None:
        async for _ in merge_blocking([("s", broken)], lambda s: None):
            pass

    with pytest.raises(OSError, match="engine went away"):
        asyncio.run(scenario())


def test_log_reader_keeps_partial_lines_and_filters_since(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    reader = LogReader(path, since=10.0)
    assert reader.read_available() == []
    old = json.dumps({"t": 9.0, "s": "stdout", "l": "old"}) + "\n"
    new = json.dumps({"t": 11.0, "s": "stderr", "l": "new"}) + "\n"
    path.write_text(old + new[:10])
    assert reader.read_available() == []
    with path.open("a") as f:
        f.write(new[10:])
    [line] = reader.read_available()
    assert (line.time, line.stream, line.line) == (11.0, "stderr", "new")
    assert reader.read_available() == []
