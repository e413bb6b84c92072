"""What a service module gives the gateway: handlers by operation name.

    api = ServiceApi("logs")

    @api.operation("CreateLogGroup")
    def create_log_group(ctx: RequestContext, req: dict) -> dict:
        ...

A handler gets the request context and the validated input dict (model member
names) and returns the output dict, or raises ``ServiceError``.  It may be a
plain function or a coroutine function; it records intent and returns fast.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope

if TYPE_CHECKING:
    from gureum.app import App
    from gureum.core.bus import Bus
    from gureum.core.clock import Clock
    from gureum.core.store import Store
    from gureum.protocol.http import HttpRequest


@dataclass
class RequestContext:
    service: str
    operation: str
    account: str
    region: str
    request_id: str
    app: App
    request: HttpRequest | None = None
    # Headers a handler wants on the response beyond the modelled ones.
    response_headers: dict[str, str] = field(default_factory=dict)
    # A status a handler answers instead of the operation's default (S3's 206
    # for a ranged GetObject: no output member carries it).
    response_status: int | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.account, self.region)

    @property
    def clock(self) -> Clock:
        return self.app.clock

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def bus(self) -> Bus:
        return self.app.bus


Handler = Callable[[RequestContext, dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any]]]


class ServiceApi:
    def __init__(self, service: str) -> None:
        self.service = service
        self.handlers: dict[str, Handler] = {}
        # Called once with the App when the service is first loaded
        # (start controllers, subscribe to the bus).
        self.startup: list[Callable[[App], Any]] = []
        # Called by reset (drop files under the data dir and the like).
        self.reset_hooks: list[Callable[[App], Any]] = []

    def operation(self, name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if name in self.handlers:
                raise ValueError(f"{self.service}.{name} registered twice")
            self.handlers[name] = fn
            return fn

        return register

    def on_startup(self, fn: Callable[[App], Any]) -> Callable[[App], Any]:
        self.startup.append(fn)
        return fn

    def on_reset(self, fn: Callable[[App], Any]) -> Callable[[App], Any]:
        self.reset_hooks.append(fn)
        return fn
