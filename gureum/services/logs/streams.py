"""Log stream handlers: create, delete, describe.

A stream is one ``logs.stream`` document keyed ``"<group>:<stream>"``; its
events are the series under the same key.  DescribeLogStreams orders by name
(default) or by ``lastEventTimestamp`` (streams without events count as 0),
optionally descending, and pages with an opaque token holding the sort key
of the last stream returned, so paging stays correct while streams come and
go.
"""

from __future__ import annotations

from typing import Any

from gureum.core.errors import ServiceError
from gureum.services.api import RequestContext
from gureum.services.logs.models import (
    EVENTS,
    GROUP,
    STREAM,
    check_stream_name,
    decode_token,
    encode_token,
    get_group,
    get_stream,
    group_from_request,
    invalid,
    ms,
    stream_arn,
    stream_key,
)

DEFAULT_LIMIT = 50


def describe(ctx: RequestContext, group: str, doc: dict[str, Any]) -> dict[str, Any]:
    name = doc["logStreamName"]
    out: dict[str, Any] = {
        "logStreamName": name,
        "creationTime": doc["creationTime"],
        "arn": stream_arn(ctx.scope, group, name),
        "storedBytes": int(doc.get("storedBytes", 0)),
    }
    for field in ("firstEventTimestamp", "lastEventTimestamp", "lastIngestionTime", "uploadSequenceToken"):
        if doc.get(field) is not None:
            out[field] = doc[field]
    return out


def create_log_stream(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group, name = req["logGroupName"], req["logStreamName"]
    check_stream_name(name)
    with ctx.store.transaction():
        get_group(ctx.store, ctx.scope, group)
        doc = {"logStreamName": name, "creationTime": ms(ctx.clock.now()), "storedBytes": 0}
        if not ctx.store.insert(STREAM, ctx.scope, stream_key(group, name), doc):
            raise ServiceError(
                "ResourceAlreadyExistsException",
                "The specified log stream already exists",
                400,
                sender_fault=True,
            )
    return {}


def delete_log_stream(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group, name = req["logGroupName"], req["logStreamName"]
    store, scope = ctx.store, ctx.scope
    with store.transaction():
        gdoc = get_group(store, scope, group)
        sdoc = get_stream(store, scope, group, name)
        key = stream_key(group, name)
        store.drop_series(EVENTS, scope, key)
        store.delete(STREAM, scope, key)
        gdoc["storedBytes"] = max(0, int(gdoc.get("storedBytes", 0)) - int(sdoc.get("storedBytes", 0)))
        store.put(GROUP, scope, group, gdoc)
    return {}


def _sort_key(doc: dict[str, Any], by_time: bool) -> list[Any]:
    if by_time:
        return [int(doc.get("lastEventTimestamp") or 0), doc["logStreamName"]]
    return [doc["logStreamName"]]


def _valid_cursor(cursor: Any, by_time: bool) -> bool:
    if by_time:
        return (
            isinstance(cursor, list)
            and len(cursor) == 2
            and isinstance(cursor[0], int)
            and isinstance(cursor[1], str)
        )
    return isinstance(cursor, list) and len(cursor) == 1 and isinstance(cursor[0], str)


def describe_log_streams(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = group_from_request(req)
    get_group(ctx.store, ctx.scope, group)
    order = req.get("orderBy") or "LogStreamName"
    prefix = req.get("logStreamNamePrefix") or ""
    if order == "LastEventTime" and prefix:
        raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
    by_time = order == "LastEventTime"
    descending = bool(req.get("descending", False))
    limit = int(req.get("limit") or DEFAULT_LIMIT)
    docs = [doc for _, doc in ctx.store.list(STREAM, ctx.scope, prefix=f"{group}:{prefix}")]
    docs.sort(key=lambda d: _sort_key(d, by_time), reverse=descending)
    if req.get("nextToken"):
        cursor = decode_token(req["nextToken"])
        if not _valid_cursor(cursor, by_time):
            raise invalid("The specified nextToken is invalid.")
        if descending:
            docs = [d for d in docs if _sort_key(d, by_time) < cursor]
        else:
            docs = [d for d in docs if _sort_key(d, by_time) > cursor]
    page = docs[:limit]
    out: dict[str, Any] = {"logStreams": [describe(ctx, group, d) for d in page]}
    if len(docs) > limit:
        out["nextToken"] = encode_token(_sort_key(page[-1], by_time))
    return out


OPERATIONS = {
    "CreateLogStream": create_log_stream,
    "DeleteLogStream": delete_log_stream,
    "DescribeLogStreams": describe_log_streams,
}
