"""Helpers for S3 handler unit tests: an App on a temp dir and direct handler calls."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gureum.app import App
from gureum.core.clock import SimClock
from gureum.core.errors import ProtocolError
from gureum.protocol.http import Headers, HttpRequest
from gureum.services.api import RequestContext
from gureum.settings import Settings


class Body:
    """A request body stream that yields ``pieces`` then, if ``cut``, fails like a disconnect."""

    def __init__(self, pieces: Iterable[bytes], cut: bool = False) -> None:
        self.pieces = list(pieces)
        self.cut = cut

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[bytes]:
        for p in self.pieces:
            yield p
        if self.cut:
            raise ProtocolError("IncompleteBody", "The client closed the connection before the body ended")

    async def read(self, n: int = -1) -> bytes:
        return b"".join(self.pieces)


@dataclass
class S3:
    app: App
    account: str = "000000000000"
    region: str = "us-east-1"
    last_ctx: RequestContext | None = field(default=None)

    def call(self, op: str, headers: dict[str, str] | None = None, **req: Any) -> dict[str, Any]:
        api = self.app.service_api("s3")
        assert api is not None
        ctx = RequestContext(
            service="s3",
            operation=op,
            account=self.account,
            region=self.region,
            request_id="test",
            app=self.app,
            request=HttpRequest("PUT", "/", headers=Headers((headers or {}).items())),
        )
        self.last_ctx = ctx
        result = api.handlers[op](ctx, req)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        return result  # type: ignore[return-value]

    def put(self, bucket: str, key: str, data: bytes, headers: dict[str, str] | None = None, **req: Any) -> dict[str, Any]:
        return self.call("PutObject", headers=headers, Bucket=bucket, Key=key, Body=Body([data]), **req)

    def get_bytes(self, bucket: str, key: str, **req: Any) -> tuple[dict[str, Any], bytes]:
        out = self.call("GetObject", Bucket=bucket, Key=key, **req)
        body = asyncio.run(out.pop("Body").read_all())
        return out, body

    @property
    def status(self) -> int | None:
        return getattr(self.last_ctx, "response_status", None)

    def s3_files(self) -> list[Path]:
        root = self.app.data_path / "s3"
        return sorted(p for p in root.rglob("*") if p.is_file())


async def _await(x: Any) -> Any:
    return await x


def make_s3(tmp_path: Path) -> S3:
    app = App(Settings(data_dir=str(tmp_path / "data")), clock=SimClock())
    return S3(app)
