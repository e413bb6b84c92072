"""PublishVersion and ListVersionsByFunction.

A published version is an immutable copy of ``$LATEST``'s configuration
under the next number (numbers are never reused).  Its code is the package
with the digest it was published with (packages are content-addressed and
never rewritten, see :mod:`.code`), so later updates of ``$LATEST`` do not
reach it.  As on AWS, publishing when neither code nor settings changed
since the newest version returns that version instead of making a new one.

A version is published ``Active``: its package was checked at upload, and
the task root is unpacked on first use if the controller has not yet.
"""

from __future__ import annotations

from typing import Any

from gureum.services.api import RequestContext
from gureum.services.lambda_.common import api, check_revision, paged, reference
from gureum.services.lambda_.config import mark_ready, new_revision, same_for_publishing, timestamp
from gureum.services.lambda_.names import invalid
from gureum.services.lambda_.records import (
    FUNCTION,
    VERSION,
    get_function,
    list_versions,
    version_key,
)


def publish(ctx: RequestContext, name: str, description: str | None) -> dict[str, Any]:
    """Publish ``$LATEST`` of ``name`` (call inside a store transaction); the version's configuration."""
    doc = get_function(ctx.store, ctx.scope, name)
    latest = doc["Configuration"]
    existing = list_versions(ctx.store, ctx.scope, name)
    if existing and same_for_publishing(latest, existing[-1]):
        return dict(existing[-1])
    number = int(doc.get("LastVersion") or 0) + 1
    cfg = mark_ready(dict(latest))
    cfg.update(
        Version=str(number),
        FunctionArn=f"{latest['FunctionArn']}:{number}",
        Description=latest.get("Description", "") if description is None else description,
        RevisionId=new_revision(),
        LastModified=timestamp(ctx.clock.now()),
    )
    doc["LastVersion"] = number
    ctx.store.put(FUNCTION, ctx.scope, name, doc)
    ctx.store.put(VERSION, ctx.scope, version_key(name, number), {"Configuration": cfg})
    return cfg


@api.operation("PublishVersion")
def publish_version(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    with ctx.store.transaction():
        latest = get_function(ctx.store, ctx.scope, ref.name)["Configuration"]
        check_revision(latest, req.get("RevisionId"))
        given = req.get("CodeSha256")
        if given and given != latest["CodeSha256"]:
            raise invalid(
                f"CodeSHA256 ({given}) is different from current CodeSHA256 in $LATEST "
                f"({latest['CodeSha256']}). Please try again with the correct CodeSHA256."
            )
        return publish(ctx, ref.name, req.get("Description"))


@api.operation("ListVersionsByFunction")
def list_versions_by_function(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    ref = reference(req)
    latest = get_function(ctx.store, ctx.scope, ref.name)["Configuration"]
    items = [(f"{0:010d}", latest)]
    items += [(f"{int(c['Version']):010d}", c) for c in list_versions(ctx.store, ctx.scope, ref.name)]
    versions, marker = paged(items, req)
    out: dict[str, Any] = {"Versions": versions}
    if marker:
        out["NextMarker"] = marker
    return out
