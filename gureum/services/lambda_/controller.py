"""The function controller: unpack the code, flip the states, drop unused packages.

Key: ``<account>|<region>|<name>``.  One reconcile:

1. If ``$LATEST`` is ``Pending`` or its ``LastUpdateStatus`` is
   ``InProgress``: unpack its package into its task root (idempotent), then
   write ``State: Active`` / ``LastUpdateStatus: Successful`` — or
   ``Failed`` with the reason when the package cannot be unpacked.  The
   write happens only if the configuration is still the one looked at (same
   ``RevisionId``); otherwise the key is looked at again.
2. Remove packages and task roots that neither ``$LATEST`` nor any version
   names any more (under the function's lock, so a package being stored is
   never taken for garbage).

Handlers enqueue the key after every change; a periodic resync (which also
runs after a restart) picks up functions left ``Pending``/``InProgress``.
"""

from __future__ import annotations

import asyncio
import zipfile
from typing import TYPE_CHECKING

from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.services.lambda_.code import ZipProblem
from gureum.services.lambda_.common import CONTROLLER
from gureum.services.lambda_.config import mark_failed, mark_ready
from gureum.services.lambda_.records import FUNCTION, code_digests, sha_hex

if TYPE_CHECKING:
    from gureum.app import App

RESYNC_SECONDS = 30.0


def needs_work(cfg: dict[str, object]) -> bool:
    return cfg.get("State") == "Pending" or cfg.get("LastUpdateStatus") == "InProgress"


def register(app: App) -> None:
    async def reconcile(key: str) -> Requeue | None:
        return await reconcile_function(app, key)

    def unsettled() -> list[str]:
        keys = []
        for scope in app.store.list_scopes(FUNCTION):
            for name, doc in app.store.list(FUNCTION, scope):
                if needs_work(doc["Configuration"]):
                    keys.append(f"{scope.account}|{scope.region}|{name}")
        return keys

    app.runner.register(CONTROLLER, reconcile, list_keys=unsettled, period=RESYNC_SECONDS)


async def reconcile_function(app: App, key: str) -> Requeue | None:
    from gureum.services.lambda_.state import state

    account, region, name = key.split("|", 2)
    scope = Scope(account, region)
    st = state(app)
    doc = app.store.get(FUNCTION, scope, name)
    if doc is None:
        return None
    cfg = doc["Configuration"]
    if needs_work(cfg):
        try:
            await asyncio.to_thread(st.code.ensure_unpacked, scope, name, sha_hex(cfg))
            settled = mark_ready(cfg)
        except (ZipProblem, zipfile.BadZipFile, OSError) as exc:
            reason = f"Gureum could not unpack the function's code: {exc}"
            settled = mark_failed(cfg, reason, creating=cfg.get("State") == "Pending")
        with app.store.transaction():
            current = app.store.get(FUNCTION, scope, name)
            if current is None:
                return None
            if current["Configuration"].get("RevisionId") != cfg.get("RevisionId"):
                return Requeue(0.0)
            current["Configuration"] = settled
            app.store.put(FUNCTION, scope, name, current)
    async with st.lock(scope, name):
        keep = code_digests(app.store, scope, name)
        if keep:
            await asyncio.to_thread(st.code.collect, scope, name, keep)
    return None
