"""Lambda's per-App state that is not in the store: packages on disk and warm pools.

:func:`state` makes it on first use.  A guard task (spawned on the App's
runner) reaps idle workers every minute and, when the runner stops it at
server stop, kills every worker; workers also end by themselves when
Gureum's end of their socket closes or Gureum dies (see :mod:`.bootstrap`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.services.lambda_.code import CodeStore
from gureum.services.lambda_.pool import Pools

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.lambda")

REAP_EVERY = 60.0


class LambdaState:
    def __init__(self, app: App) -> None:
        self.app = app
        self.code = CodeStore(app.data_path / "lambda")
        self.pools = Pools(app.clock)
        self.guard: asyncio.Task[Any] | None = None
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    def lock(self, scope: Scope, name: str) -> asyncio.Lock:
        """Held while a function's packages change (storing one and naming it, or collecting)."""
        key = (scope.account, scope.region, name)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def start_guard(self) -> None:
        if self.guard is not None and not self.guard.done():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test building an App by hand): nothing to guard yet
        self.guard = self.app.spawn(self._guard())

    async def _guard(self) -> None:
        try:
            while True:
                await self.app.clock.sleep(REAP_EVERY)
                reaped = self.pools.reap()
                if reaped:
                    log.info("lambda: stopped %d idle workers", reaped)
        finally:
            self.pools.kill_all()

    def reset(self) -> None:
        self.pools.kill_all()
        self.code.clear()


_states: weakref.WeakKeyDictionary[Any, LambdaState] = weakref.WeakKeyDictionary()


def state(app: App) -> LambdaState:
    st = _states.get(app)
    if st is None:
        st = LambdaState(app)
        _states[app] = st
    st.start_guard()
    return st
