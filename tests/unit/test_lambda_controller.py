"""Handlers + controller + public functions on a real App (store and files in a temp dir)."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gureum.app import App
from gureum.core.clock import RealClock
from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.protocol.http import Headers, HttpRequest
from gureum.services.api import RequestContext
from gureum.settings import Settings

SCOPE = Scope("000000000000", "us-east-1")
KEY = "000000000000|us-east-1|fn"


def package(body: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", f"def handler(event, context):\n    print('ran', event)\n    return {body}\n")
    return buf.getvalue()


class Lambda:
    def __init__(self, app: App) -> None:
        self.app = app
        api = app.service_api("lambda")
        assert api is not None
        self.handlers = api.handlers

    async def call(self, op: str, **req: Any) -> dict[str, Any]:
        ctx = RequestContext("lambda", op, SCOPE.account, SCOPE.region, "rid", self.app, HttpRequest("POST", "/", headers=Headers()))
        out = self.handlers[op](ctx, req)
        return await out if inspect.isawaitable(out) else out  # type: ignore[no-any-return]

    async def reconcile(self) -> None:
        from gureum.services.lambda_.controller import reconcile_function

        await reconcile_function(self.app, KEY)

    def folder(self) -> Path:
        return self.app.data_path / "lambda" / SCOPE.account / SCOPE.region / "fn"


def run_with_app(tmp_path: Path, body: Any) -> None:
    async def main() -> None:
        app = App(Settings(data_dir=str(tmp_path)), clock=RealClock())
        try:
            await body(Lambda(app))
        finally:
            from gureum.services.lambda_.state import state

            state(app).pools.kill_all()
            app.store.close()

    asyncio.run(main())


def test_pending_to_active_updates_and_collection(tmp_path: Path) -> None:
    async def body(lam: Lambda) -> None:
        cfg = await lam.call("CreateFunction", FunctionName="fn", Runtime="python3.12", Handler="app.handler",
                             Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": package("1")})
        assert cfg["State"] == "Pending"
        assert lam.app.runner.controllers["lambda.function"].queued == {KEY}
        await lam.reconcile()
        got = await lam.call("GetFunctionConfiguration", FunctionName="fn")
        assert (got["State"], got["LastUpdateStatus"]) == ("Active", "Successful")
        first = got["CodeSha256"]
        await lam.call("PublishVersion", FunctionName="fn")
        await lam.call("UpdateFunctionCode", FunctionName="fn", ZipFile=package("2"))
        await lam.call("UpdateFunctionCode", FunctionName="fn", ZipFile=package("3"))
        got = await lam.call("GetFunctionConfiguration", FunctionName="fn")
        assert got["LastUpdateStatus"] == "InProgress"
        await lam.reconcile()
        got = await lam.call("GetFunctionConfiguration", FunctionName="fn")
        assert got["LastUpdateStatus"] == "Successful" and got["CodeSha256"] != first
        # Version 1's package and $LATEST's stay; the package of "2" (named by nothing) goes.
        zips = sorted(p.name for p in lam.folder().glob("*.zip"))
        assert len(zips) == 2

    run_with_app(tmp_path, body)


def test_a_package_that_vanished_fails_the_update(tmp_path: Path) -> None:
    async def body(lam: Lambda) -> None:
        await lam.call("CreateFunction", FunctionName="fn", Runtime="python3.12", Handler="app.handler",
                       Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": package("1")})
        for p in lam.folder().iterdir():
            p.unlink()
        await lam.reconcile()
        got = await lam.call("GetFunctionConfiguration", FunctionName="fn")
        assert got["State"] == "Failed" and got["LastUpdateStatus"] == "Failed"
        assert got["StateReason"].startswith("Gureum could not unpack the function's code")
        with pytest.raises(ServiceError) as exc:
            await lam.call("Invoke", FunctionName="fn", Payload=b"{}")
        assert exc.value.code == "ResourceConflictException"

    run_with_app(tmp_path, body)


def test_public_invoke_and_code_download(tmp_path: Path) -> None:
    from gureum.services.lambda_ import public
    from gureum.services.logs.models import GROUP

    async def body(lam: Lambda) -> None:
        zipped = package("{'ok': event['n']}")
        await lam.call("CreateFunction", FunctionName="fn", Runtime="python3.12", Handler="app.handler",
                       Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": zipped})
        status, payload, error, log_tail = await public.invoke(lam.app, SCOPE, "fn", b'{"n": 5}')
        assert (status, json.loads(payload), error) == (200, {"ok": 5}, None)
        assert "ran {'n': 5}" in log_tail and "REPORT RequestId:" in log_tail
        status, payload, error, _ = await public.invoke(lam.app, SCOPE, "fn", b"{}")
        assert error == "Unhandled" and json.loads(payload)["errorType"] == "KeyError"
        assert lam.app.store.get(GROUP, SCOPE, "/aws/lambda/fn") is not None
        with pytest.raises(ServiceError) as exc:
            await public.invoke(lam.app, SCOPE, "fn", b"{}", qualifier="9")
        assert exc.value.code == "ResourceNotFoundException"
        assert await public.invoke_event(lam.app, SCOPE, "fn", b'{"n": 1}') == 202

        got = await lam.call("GetFunction", FunctionName="fn")
        location = got["Code"]["Location"]
        path = location.split("127.0.0.1:4566", 1)[1]
        resp = public.code_response(lam.app, HttpRequest("GET", path, headers=Headers()))
        assert resp is not None and resp.status == 200 and resp.body == zipped
        assert public.code_response(lam.app, HttpRequest("GET", path.replace("/fn/", "/other/"), headers=Headers())).status == 404  # type: ignore[union-attr]
        assert public.code_response(lam.app, HttpRequest("GET", "/_gureum/health", headers=Headers())) is None

    run_with_app(tmp_path, body)


def test_a_cancelled_invocation_does_not_return_its_worker_to_the_pool(tmp_path: Path) -> None:
    from gureum.services.lambda_ import public
    from gureum.services.lambda_.state import state

    async def body(lam: Lambda) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("app.py", "import os, time\ndef handler(e, c):\n    time.sleep(e.get('s', 0))\n    return os.getpid()\n")
        await lam.call("CreateFunction", FunctionName="fn", Runtime="python3.12", Handler="app.handler",
                       Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": buf.getvalue()}, Timeout=30)
        first = json.loads((await public.invoke(lam.app, SCOPE, "fn", b"{}"))[1])
        task = asyncio.ensure_future(public.invoke(lam.app, SCOPE, "fn", b'{"s": 20}'))
        pools = state(lam.app).pools
        while not any(p.busy for p in pools.pools.values()):
            await asyncio.sleep(0.01)  # noqa: TID251 - until the slow invocation holds the worker
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not any(p.idle or p.busy for p in pools.pools.values())
        second = json.loads((await public.invoke(lam.app, SCOPE, "fn", b"{}"))[1])
        assert second != first  # a fresh worker, not the one left mid-invocation

    run_with_app(tmp_path, body)
