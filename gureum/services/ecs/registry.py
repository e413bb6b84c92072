"""A small collector so each api_*.py module can declare its operations and
api.py can assemble them into the one ``ServiceApi("ecs")``."""

from __future__ import annotations

from collections.abc import Callable

from gureum.services.api import Handler


class Operations:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def operation(self, name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if name in self.handlers:
                raise ValueError(f"ecs.{name} declared twice")
            self.handlers[name] = fn
            return fn

        return register
