"""Blocking streams (Docker's event and log streams) as async iterators.

Each source runs in its own daemon thread (never in the shared executor: a
followed log or the event stream blocks for hours and would starve short
calls).  Items reach the event loop through ``call_soon_threadsafe``.  When
the consumer stops iterating (``break``, cancellation, ``aclose``) every
source is closed, which makes its blocked read fail and its thread end.

Several sources merge into one iterator of ``(tag, item)`` in arrival order;
the iterator ends when every source has ended, and re-raises the first
source error.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Opener = Callable[[], Iterator[T]]


@dataclass(slots=True)
class _End:
    error: BaseException | None = None


class _Source(Generic[T]):
    def __init__(self, tag: str, opener: Opener[T], close: Callable[[Any], None]) -> None:
        self.tag, self.opener, self.close_fn = tag, opener, close
        self.stream: Any = None
        self.closed = False
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            stream = self.stream
        if stream is not None:
            try:
                self.close_fn(stream)
            except Exception:
                pass


def _pump(source: _Source[T], loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any]) -> None:
    def post(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: nobody listens any more
            source.close()

    try:
        stream = source.opener()
        with source.lock:
            source.stream = stream
            closed = source.closed
        if closed:
            source.close()
            post((source.tag, _End()))
            return
        for item in stream:
            if source.closed:
                break
            post((source.tag, item))
    except BaseException as exc:  # reported to the consumer, unless it left
        post((source.tag, _End(None if source.closed else exc)))
    else:
        post((source.tag, _End()))


async def merge_blocking(
    sources: list[tuple[str, Opener[T]]], close: Callable[[Any], None]
) -> AsyncGenerator[tuple[str, T], None]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    running = [_Source(tag, opener, close) for tag, opener in sources]
    for src in running:
        threading.Thread(target=_pump, args=(src, loop, queue), daemon=True).start()
    left = len(running)
    try:
        while left:
            tag, item = await queue.get()
            if isinstance(item, _End):
                left -= 1
                if item.error is not None:
                    raise item.error
                continue
            yield tag, item
    finally:
        for src in running:
            src.close()
