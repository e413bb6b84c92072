"""Log events: PutLogEvents, GetLogEvents, FilterLogEvents, and the
functions other services use to write logs (container output, build logs).

Events of a stream are a store series ordered by (timestamp, seq); seq is the
store's global insertion counter, so (timestamp, seq) is also a total order
across streams, which FilterLogEvents uses to interleave streams and to page.

GetLogEvents tokens are positions in that order, like AWS's:

* ``f/<ms>/<seq>`` – the events strictly after that position;
* ``b/<ms>/<seq>`` – the events strictly before it (the newest ``limit`` of
  them, returned oldest first).

Without a token the read starts at the head (``startFromHead``) or takes the
newest ``limit`` events (the default).  When a direction has nothing more,
the token given comes back unchanged, which is how clients know to stop.
Pages hold at most ``limit`` (default 10,000) events and 1 MB of messages.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gureum.core.store import Record, Scope, Store
from gureum.services.api import RequestContext
from gureum.services.logs.batch import BatchError, check_batch
from gureum.services.logs.filter_pattern import FilterPattern, FilterPatternError, parse
from gureum.services.logs.models import (
    EVENTS,
    GROUP,
    STREAM,
    decode_token,
    encode_token,
    get_group,
    get_stream,
    group_from_request,
    invalid,
    ms,
    stream_key,
)

MAX_PAGE_EVENTS = 10_000
MAX_PAGE_BYTES = 1_048_576
# FilterLogEvents looks at no more than this many events per call; a page may
# then come back partly full (or empty) with a nextToken, as AWS allows.
SCAN_BUDGET = 50_000
_SCAN_CHUNK = 1_000
_FAR_FUTURE_MS = 10**15
_MAX_SEQ = 2**62

Position = tuple[int, int]  # (timestamp ms, seq)


# -- writing ----------------------------------------------------------------------------


def sequence_token(seq: int) -> str:
    return f"{seq:056d}"


def ensure_stream(store: Store, scope: Scope, group: str, stream: str, now_ms: int) -> None:
    """Create the group and stream if missing (what log drivers do with create-group)."""
    with store.transaction():
        store.insert(
            GROUP,
            scope,
            group,
            {"logGroupName": group, "creationTime": now_ms, "logGroupClass": "STANDARD", "tags": {}, "storedBytes": 0},
        )
        store.insert(STREAM, scope, stream_key(group, stream), {"logStreamName": stream, "creationTime": now_ms, "storedBytes": 0})


def append_events(
    store: Store, scope: Scope, group: str, stream: str, events: Sequence[tuple[int, str]], now_ms: int
) -> str:
    """Store ``(timestamp ms, message)`` events as they are; returns the next sequence token.

    No AWS batch checks here (callers inside Gureum produce valid events);
    raises ResourceNotFoundException if the group or stream is missing.
    """
    key = stream_key(group, stream)
    with store.transaction():
        gdoc = get_group(store, scope, group)
        sdoc = get_stream(store, scope, group, stream)
        seqs = store.append(EVENTS, scope, key, [(t / 1000.0, {"t": t, "m": m, "i": now_ms}) for t, m in events])
        if events:
            size = sum(len(m.encode("utf-8")) for _, m in events)
            first, last = min(t for t, _ in events), max(t for t, _ in events)
            sdoc["firstEventTimestamp"] = min(first, sdoc.get("firstEventTimestamp", first))
            sdoc["lastEventTimestamp"] = max(last, sdoc.get("lastEventTimestamp", last))
            sdoc["lastIngestionTime"] = now_ms
            sdoc["storedBytes"] = int(sdoc.get("storedBytes", 0)) + size
            sdoc["uploadSequenceToken"] = sequence_token(seqs[-1])
            gdoc["storedBytes"] = int(gdoc.get("storedBytes", 0)) + size
            store.put(GROUP, scope, group, gdoc)
            store.put(STREAM, scope, key, sdoc)
        return str(sdoc.get("uploadSequenceToken") or sequence_token(0))


def put_log_events(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group, stream = req["logGroupName"], req["logStreamName"]
    events = req["logEvents"]
    now_ms = ms(ctx.clock.now())
    with ctx.store.transaction():
        gdoc = get_group(ctx.store, ctx.scope, group)
        get_stream(ctx.store, ctx.scope, group, stream)
        stamps = [int(e["timestamp"]) for e in events]
        messages = [str(e["message"]) for e in events]
        try:
            verdict = check_batch(stamps, messages, now_ms, gdoc.get("retentionInDays"))
        except BatchError as exc:
            raise invalid(str(exc)) from exc
        kept = list(zip(stamps, messages, strict=True))[verdict.start : verdict.stop]
        token = append_events(ctx.store, ctx.scope, group, stream, kept, now_ms)
    out: dict[str, Any] = {"nextSequenceToken": token}
    info = verdict.rejected_info()
    if info:
        out["rejectedLogEventsInfo"] = info
    return out


# -- GetLogEvents -------------------------------------------------------------------------


def _token(direction: str, pos: Position) -> str:
    return f"{direction}/{pos[0]}/{pos[1]}"


def _parse_token(token: str) -> tuple[str, Position]:
    parts = token.split("/")
    try:
        if len(parts) != 3 or parts[0] not in ("f", "b"):
            raise ValueError(token)
        return parts[0], (int(parts[1]), int(parts[2]))
    except ValueError as exc:
        raise invalid("The specified nextToken is invalid.") from exc


def _pos(r: Record) -> Position:
    return (int(r.doc["t"]), r.seq)


def _secs(value: int | None) -> float | None:
    return None if value is None else value / 1000.0


def _forward(ctx: RequestContext, key: str, after: Position, start: int | None, end: int | None, limit: int) -> list[Record]:
    lo = after[0] if start is None else max(after[0], start)
    recs = ctx.store.series(EVENTS, ctx.scope, key, start=_secs(lo), end=_secs(end), after_seq=after[1], limit=limit)
    return [r for r in recs if _pos(r) > after]


def _backward(ctx: RequestContext, key: str, before: Position, start: int | None, end: int | None, limit: int) -> list[Record]:
    hi = before[0] + 0.5  # exclusive bound that still holds events at before[0]
    if end is not None:
        hi = min(hi, float(end))
    recs = ctx.store.series(
        EVENTS, ctx.scope, key, start=_secs(start), end=hi / 1000.0, before_seq=before[1], limit=limit, newest_first=True
    )
    return [r for r in reversed(recs) if _pos(r) < before]


def _cap_bytes(recs: list[Record], keep_newest: bool) -> list[Record]:
    total, out = 0, []
    for r in reversed(recs) if keep_newest else recs:
        total += len(r.doc["m"].encode("utf-8"))
        if total > MAX_PAGE_BYTES and out:
            break
        out.append(r)
    return list(reversed(out)) if keep_newest else out


def get_log_events(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = group_from_request(req)
    stream = req["logStreamName"]
    get_group(ctx.store, ctx.scope, group)
    get_stream(ctx.store, ctx.scope, group, stream)
    key = stream_key(group, stream)
    start, end = req.get("startTime"), req.get("endTime")
    limit = int(req.get("limit") or MAX_PAGE_EVENTS)
    token = req.get("nextToken")
    if token:
        direction, pos = _parse_token(token)
    elif req.get("startFromHead"):
        direction, pos = "f", (start or 0, 0)
    else:
        direction, pos = "b", ((end - 1) if end is not None else _FAR_FUTURE_MS, _MAX_SEQ)
    if direction == "f":
        recs = _cap_bytes(_forward(ctx, key, pos, start, end, limit), keep_newest=False)
    else:
        recs = _cap_bytes(_backward(ctx, key, pos, start, end, limit), keep_newest=True)
    events = [{"timestamp": r.doc["t"], "message": r.doc["m"], "ingestionTime": r.doc["i"]} for r in recs]
    if recs:
        forward, backward = _token("f", _pos(recs[-1])), _token("b", _pos(recs[0]))
    elif token:
        forward = token if direction == "f" else _token("f", pos)
        backward = token if direction == "b" else _token("b", pos)
    else:
        forward = _token("f", (start or 0, 0))
        backward = _token("b", ((end - 1) if end is not None else _FAR_FUTURE_MS, _MAX_SEQ))
    return {"events": events, "nextForwardToken": forward, "nextBackwardToken": backward}


# -- FilterLogEvents ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Hit:
    pos: Position
    stream: str
    record: Record


def _scan(ctx: RequestContext, key: str, stream: str, after: Position | None, start: int | None, end: int | None) -> Iterator[_Hit]:
    lo = start
    if after is not None:
        lo = after[0] if lo is None else max(lo, after[0])
    last_seq = after[1] if after is not None else None
    first = True
    while True:
        recs = ctx.store.series(EVENTS, ctx.scope, key, start=_secs(lo), end=_secs(end), after_seq=last_seq, limit=_SCAN_CHUNK)
        for r in recs:
            if first and after is not None and _pos(r) <= after:
                continue
            yield _Hit(_pos(r), stream, r)
        if len(recs) < _SCAN_CHUNK:
            return
        first = False
        last_seq = recs[-1].seq
        lo = int(recs[-1].doc["t"])


def _streams_to_search(ctx: RequestContext, group: str, req: dict[str, Any]) -> list[str]:
    names = req.get("logStreamNames")
    prefix = req.get("logStreamNamePrefix")
    if names and prefix:
        raise invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
    if names:
        return sorted(set(names))
    return [doc["logStreamName"] for _, doc in ctx.store.list(STREAM, ctx.scope, prefix=f"{group}:{prefix or ''}")]


def _cursor(req: dict[str, Any]) -> Position | None:
    if not req.get("nextToken"):
        return None
    value = decode_token(req["nextToken"])
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise invalid("The specified nextToken is invalid.")
    return (value[0], value[1])


def _pattern(req: dict[str, Any]) -> FilterPattern:
    try:
        return parse(req.get("filterPattern"))
    except FilterPatternError as exc:
        raise invalid(str(exc)) from exc


def filter_log_events(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    group = group_from_request(req)
    get_group(ctx.store, ctx.scope, group)
    streams = _streams_to_search(ctx, group, req)
    pattern = _pattern(req)
    after = _cursor(req)
    start, end = req.get("startTime"), req.get("endTime")
    limit = int(req.get("limit") or MAX_PAGE_EVENTS)
    merged = heapq.merge(
        *(_scan(ctx, stream_key(group, s), s, after, start, end) for s in streams), key=lambda h: h.pos
    )
    events: list[dict[str, Any]] = []
    size = scanned = 0
    position: Position | None = None
    more = False
    for hit in merged:
        message = hit.record.doc["m"]
        if scanned >= SCAN_BUDGET:
            more = True
            break
        scanned += 1
        if pattern.matches(message):
            nbytes = len(message.encode("utf-8"))
            if len(events) >= limit or (events and size + nbytes > MAX_PAGE_BYTES):
                more = True
                break
            size += nbytes
            events.append(_filtered(hit))
        position = hit.pos
    out: dict[str, Any] = {
        "events": events,
        "searchedLogStreams": [{"logStreamName": s, "searchedCompletely": not more} for s in streams],
    }
    if more and position is not None:
        out["nextToken"] = encode_token(list(position))
    return out


def _filtered(hit: _Hit) -> dict[str, Any]:
    doc = hit.record.doc
    return {
        "logStreamName": hit.stream,
        "timestamp": doc["t"],
        "message": doc["m"],
        "ingestionTime": doc["i"],
        "eventId": f"{hit.pos[0]:020d}{hit.pos[1]:036d}",
    }


OPERATIONS = {
    "PutLogEvents": put_log_events,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
}
