"""In-process event bus.

Publishers call ``publish(topic, payload)``; subscribers register a callback
for a topic (or ``"*"``).  Callbacks run synchronously and must be cheap: a
controller subscribes by enqueueing a key on its work queue.  A failing
subscriber is logged and never breaks the publisher.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("gureum.bus")

Handler = Callable[[str, dict[str, Any]], None]


class Bus:
    def __init__(self) -> None:
        self._subs: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        self._subs[topic].append(handler)

        def unsubscribe() -> None:
            if handler in self._subs[topic]:
                self._subs[topic].remove(handler)

        return unsubscribe

    def publish(self, topic: str, payload: dict[str, Any] | None = None) -> None:
        data = payload or {}
        for handler in [*self._subs.get(topic, ()), *self._subs.get("*", ())]:
            try:
                handler(topic, data)
            except Exception:  # a subscriber's bug must not break the publisher
                log.exception("bus subscriber failed on %s", topic)
