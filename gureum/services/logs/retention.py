"""Log retention: the values AWS allows and the controller that expires events.

A group with ``retentionInDays`` keeps events whose timestamp is newer than
``now - retentionInDays``.  AWS deletes expired events lazily ("typically
within 72 hours"); here the ``logs.retention`` controller sweeps every
``SWEEP_SECONDS`` of virtual time (and right after PutRetentionPolicy), on
the injected clock, so a simulated or scaled clock expires events as fast as
it moves.  A sweep is idempotent: it trims what is older than the cutoff and
fixes the counters (``storedBytes``, ``firstEventTimestamp``) it touched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gureum.core.runner import Requeue
from gureum.core.store import Scope, Store
from gureum.services.logs.models import EVENTS, GROUP, STREAM, ms

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.logs.retention")

CONTROLLER = "logs.retention"
SWEEP_SECONDS = 600.0
DAY_SECONDS = 86_400

VALID_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)


def retention_key(scope: Scope, group: str) -> str:
    return json.dumps([scope.account, scope.region, group], separators=(",", ":"))


def parse_key(key: str) -> tuple[Scope, str]:
    account, region, group = json.loads(key)
    return Scope(account, region), group


def groups_with_retention(store: Store) -> Iterator[str]:
    for scope in store.list_scopes(GROUP):
        for name, doc in store.list(GROUP, scope):
            if doc.get("retentionInDays"):
                yield retention_key(scope, name)


def expire_events(store: Store, scope: Scope, group: str, cutoff: float) -> int:
    """Delete the group's events with timestamp before ``cutoff`` (epoch s); returns how many."""
    removed = 0
    freed = 0
    with store.transaction():
        gdoc = store.get(GROUP, scope, group)
        if gdoc is None:
            return 0
        for key, sdoc in store.list(STREAM, scope, prefix=f"{group}:"):
            old = store.series(EVENTS, scope, key, end=cutoff)
            if not old:
                continue
            size = sum(len(r.doc.get("m", "").encode("utf-8")) for r in old)
            removed += store.trim_series(EVENTS, scope, key, cutoff)
            freed += size
            first = store.series(EVENTS, scope, key, limit=1)
            sdoc["storedBytes"] = max(0, int(sdoc.get("storedBytes", 0)) - size)
            if first:
                sdoc["firstEventTimestamp"] = first[0].doc["t"]
            else:
                sdoc.pop("firstEventTimestamp", None)
            store.put(STREAM, scope, key, sdoc)
        if freed:
            gdoc["storedBytes"] = max(0, int(gdoc.get("storedBytes", 0)) - freed)
            store.put(GROUP, scope, group, gdoc)
    return removed


def start(app: App) -> None:
    """Register the retention controller on the app's runner (ServiceApi start-up hook)."""

    async def reconcile(key: str) -> Requeue | None:
        scope, group = parse_key(key)
        doc = app.store.get(GROUP, scope, group)
        days = (doc or {}).get("retentionInDays")
        if not days:
            return None
        cutoff = app.clock.now() - int(days) * DAY_SECONDS
        n = expire_events(app.store, scope, group, cutoff)
        if n:
            log.info("expired %d events of log group %s (before %d ms)", n, group, ms(cutoff))
        return None

    app.runner.register(
        CONTROLLER,
        reconcile,
        list_keys=lambda: list(groups_with_retention(app.store)),
        period=SWEEP_SECONDS,
    )

