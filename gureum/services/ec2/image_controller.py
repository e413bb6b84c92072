"""The image controller: pending AMIs become available (or failed), and
deregistered ones leave the engine.

One reconcile of ``account|region|ami-…``:

* **pending, from RegisterImage** — the container image must exist (pulled
  when it is not here); then ``available``, else ``failed`` with a
  StateReason;
* **pending, from CreateImage** — commit the source instance's container to
  ``gureum/ami:<ami id>`` (``driver.commit``); ``failed`` when the instance
  has no container any more;
* **deregistered** — a baked image is removed from the engine, and the
  record is deleted.  While an instance's container still uses the image
  the engine refuses; the removal is retried for :data:`REMOVE_PATIENCE`
  seconds, then the image is left behind.

Idempotent: committing twice makes the same tag; a failed step is retried
by the runner.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gureum.core.errors import TemporaryError
from gureum.core.runner import Requeue
from gureum.core.store import Scope
from gureum.runtime.base import (
    DriverError,
    EngineUnavailable,
    ImageNotFound,
    NotFound,
    RuntimeDriver,
)
from gureum.services.ec2.names import IMAGE, INSTANCE, scoped_key, split_scoped_key

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.ec2.images")

RESYNC = 10.0
REMOVE_PATIENCE = 600.0  # how long a deregistered AMI's image waits for its last instance


class ImageController:
    def __init__(self, app: App) -> None:
        self.app = app

    def keys(self) -> list[str]:
        store = self.app.store
        out = []
        for scope in store.list_scopes(IMAGE):
            for key, doc in store.list(IMAGE, scope):
                if doc.get("State") == "pending" or doc.get("_deregistered"):
                    out.append(scoped_key(scope, key))
        return out

    async def reconcile(self, skey: str) -> Requeue | None:
        scope, image_id = split_scoped_key(skey)
        doc = self.app.store.get(IMAGE, scope, image_id)
        if doc is None:
            return None
        if not doc.get("_deregistered") and doc.get("State") != "pending":
            return None
        try:
            driver: RuntimeDriver = await self.app.get_runtime()
        except EngineUnavailable as exc:
            raise TemporaryError(f"no runtime for EC2 images: {exc}", delay=5.0) from exc
        if doc.get("_deregistered"):
            await self._forget(driver, scope, image_id, doc)
            return None
        if doc.get("_sourceInstance"):
            state, reason = await self._bake(driver, scope, doc)
        else:
            state, reason = await self._check(driver, doc)
        self._finish(scope, image_id, state, reason)
        return None

    async def _check(self, driver: RuntimeDriver, doc: dict[str, object]) -> tuple[str, str]:
        image = str(doc["_dockerImage"])
        try:
            if not await driver.image_exists(image):
                await driver.pull(image)
        except ImageNotFound as exc:
            return "failed", f"Client.InvalidImage: the container image {image} is not here and could not be pulled ({exc})"
        return "available", ""

    async def _bake(self, driver: RuntimeDriver, scope: Scope, doc: dict[str, object]) -> tuple[str, str]:
        instance = self.app.store.get(INSTANCE, scope, str(doc["_sourceInstance"]))
        cid = (instance or {}).get("_cid")
        if not cid:
            if instance is not None and instance["State"]["Name"] == "pending":
                raise TemporaryError("the source instance has no container yet", delay=1.0)
            return "failed", "Server.InternalError: the source instance has no container to image"
        try:
            await driver.commit(str(cid), str(doc["_dockerImage"]))
        except NotFound:
            return "failed", "Server.InternalError: the source instance's container is gone"
        return "available", ""

    def _finish(self, scope: Scope, image_id: str, state: str, reason: str) -> None:
        store = self.app.store
        with store.transaction():
            fresh = store.get(IMAGE, scope, image_id)
            if fresh is None or fresh.get("_deregistered"):
                return
            fresh["State"] = state
            if reason:
                code = reason.split(":", 1)[0]
                fresh["StateReason"] = {"Code": code, "Message": reason}
            store.put(IMAGE, scope, image_id, fresh)

    async def _forget(self, driver: RuntimeDriver, scope: Scope, image_id: str, doc: dict[str, object]) -> None:
        if doc.get("_baked") and doc.get("State") == "available":
            try:
                await driver.remove_image(str(doc["_dockerImage"]))
            except NotFound:
                pass
            except DriverError as exc:  # still used by an instance's container: try again later
                waited = self.app.clock.now() - float(doc.get("_deregisteredAt") or 0)  # type: ignore[arg-type]
                if waited < REMOVE_PATIENCE:
                    raise TemporaryError(f"image {doc['_dockerImage']} is still in use: {exc}", delay=5.0) from exc
                log.info("leaving image %s in the engine: %s", doc["_dockerImage"], exc)
        self.app.store.delete(IMAGE, scope, image_id)


def register(app: App, controller: ImageController) -> None:
    async def reconcile(key: str) -> Requeue | None:
        return await controller.reconcile(key)

    from gureum.services.ec2.names import IMAGE_CONTROLLER

    app.runner.register(IMAGE_CONTROLLER, reconcile, list_keys=controller.keys, period=RESYNC)
