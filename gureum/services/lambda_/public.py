"""What other services may use of Lambda (CodePipeline invoke actions, CodeDeploy
hooks…), and the download of a function's package.

* :func:`invoke` — run a function synchronously, exactly as ``Invoke`` with
  ``InvocationType=RequestResponse`` does (warm workers, logs in
  ``/aws/lambda/<name>``, metrics).  Returns ``(status, payload,
  function_error, log_tail)``: status 200; the function's JSON result or,
  when it failed, AWS's error document with ``function_error ==
  "Unhandled"`` (else ``None``); ``log_tail`` the last 4 KB of the
  invocation's log as text.  A missing function, version or alias raises
  ``ServiceError("ResourceNotFoundException")``; a payload that is not JSON
  ``InvalidRequestContentException``; too many concurrent invocations
  ``TooManyRequestsException``.
* :func:`invoke_event` — the ``Event`` invocation type: checks, then runs in
  the background; returns 202.
* :func:`alias` / :func:`update_alias` — GetAlias / UpdateAlias (CodeDeploy
  shifts an alias's traffic from one version to another with them; the
  same checks and errors as the API).
* :func:`code_response` — the answer to ``GET /_gureum/lambda/code/<account>/
  <region>/<name>/<sha256 hex>.zip`` (the ``Code.Location`` GetFunction
  returns), or ``None`` for a path it does not know.  For the gateway.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gureum.core.store import Scope
from gureum.protocol.http import HttpRequest, HttpResponse
from gureum.services.lambda_ import telemetry
from gureum.services.lambda_.invoke import invoke as _invoke
from gureum.services.lambda_.names import parse_ref
from gureum.services.lambda_.records import code_digests

if TYPE_CHECKING:
    from gureum.app import App

CODE_PREFIX = "/_gureum/lambda/code/"
_CODE_RE = re.compile(r"/_gureum/lambda/code/(\d{12})/([a-z0-9-]+)/([A-Za-z0-9_-]{1,64})/([0-9a-f]{64})\.zip")


async def invoke(
    app: App, scope: Scope, function_name: str, payload: bytes, qualifier: str | None = None
) -> tuple[int, bytes, str | None, str]:
    ref = parse_ref(function_name)
    result = await _invoke(app, scope, ref.name, qualifier or ref.qualifier, payload)
    return result.status, result.payload, result.function_error, telemetry.tail(list(result.lines))


async def invoke_event(
    app: App, scope: Scope, function_name: str, payload: bytes, qualifier: str | None = None
) -> int:
    ref = parse_ref(function_name)
    result = await _invoke(app, scope, ref.name, qualifier or ref.qualifier, payload, "Event")
    return result.status


def code_response(app: App, request: HttpRequest) -> HttpResponse | None:
    if not request.path.startswith(CODE_PREFIX):
        return None
    m = _CODE_RE.fullmatch(request.path)
    if m is None or request.method not in ("GET", "HEAD"):
        return _not_found()
    account, region, name, digest = m.groups()
    scope = Scope(account, region)
    if digest not in code_digests(app.store, scope, name):
        return _not_found()
    from gureum.services.lambda_.state import state

    path = state(app).code.zip_path(scope, name, digest)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _not_found()
    headers = [
        ("content-type", "application/zip"),
        ("content-length", str(len(data))),
        ("content-disposition", f'attachment; filename="{name}-{digest[:12]}.zip"'),
    ]
    return HttpResponse(200, headers, b"" if request.method == "HEAD" else data)


def _not_found() -> HttpResponse:
    body = b'{"__type":"ResourceNotFoundException","message":"No such function package"}'
    return HttpResponse(404, [("content-type", "application/json"), ("content-length", str(len(body)))], body)


def alias(app: App, scope: Scope, function_name: str, name: str) -> dict[str, Any] | None:
    """The alias as GetAlias shows it, or None (no such function or alias)."""
    from gureum.services.lambda_.records import get_alias

    doc = get_alias(app.store, scope, parse_ref(function_name).name, name)
    return None if doc is None else dict(doc)


def update_alias(app: App, scope: Scope, function_name: str, name: str, version: str,
                 weights: dict[str, float] | None = None) -> dict[str, Any]:  # fmt: skip
    """UpdateAlias to ``version``, with ``weights`` (AdditionalVersionWeights) or none."""
    from gureum.core.ids import request_id
    from gureum.services.api import RequestContext
    from gureum.services.lambda_.aliases import update_alias as handler

    app.service_api("lambda")
    ctx = RequestContext("lambda", "UpdateAlias", scope.account, scope.region, request_id(), app)
    req: dict[str, Any] = {"FunctionName": function_name, "Name": name, "FunctionVersion": version,
                           "RoutingConfig": {"AdditionalVersionWeights": dict(weights or {})}}  # fmt: skip
    out = handler(ctx, req)
    assert isinstance(out, dict)
    return out
